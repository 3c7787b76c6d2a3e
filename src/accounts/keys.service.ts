import { AppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { Money } from "../billing/money.js";
import type { Sql } from "../persistence/sql.js";
import type { AccountsService } from "./accounts.service.js";
import type { LimitReset } from "./api-key.entity.js";
import { currentKeyUsage, type KeyCounters, type KeyUsage } from "./key-usage.js";

/** An API key as key management shows it: never the plaintext, always its current usage. */
export interface KeyView {
  hash: string;
  name: string;
  label: string;
  disabled: boolean;
  limit: Money | null;
  limitReset: LimitReset | null;
  usage: KeyUsage;
  createdAt: Date;
  updatedAt: Date | null;
  expiresAt: Date | null;
  creatorUserId: string | null;
}

export interface KeyPatch {
  name?: string;
  disabled?: boolean;
  limit?: Money | null;
  limitReset?: LimitReset | null;
  expiresAt?: Date | null;
}

/**
 * Key provisioning for an account: its inference keys, listed, created, changed and deleted. Management keys are
 * not managed here (they are created with the CLI), so one leaked management key cannot mint or revoke others.
 * Every change is published on the bus so authentication caches drop the key at once (on every node with Redis).
 */
export class KeysService {
  constructor(
    private readonly sql: Sql,
    private readonly bus: EventBus,
    private readonly accounts: AccountsService,
  ) {}

  async list(accountId: string, options: { includeDisabled: boolean; offset: number; limit: number }): Promise<KeyView[]> {
    const rows = await this.sql.query<KeyRow>(
      `${SELECT} where account_id = $1 and kind = 'inference' and ($2 or not disabled)
        order by created_at, hash offset $3 limit $4`,
      [accountId, options.includeDisabled, options.offset, options.limit],
    );
    return rows.map(toView);
  }

  async get(accountId: string, hash: string): Promise<KeyView> {
    const [row] = await this.sql.query<KeyRow>(`${SELECT} where account_id = $1 and kind = 'inference' and hash = $2`, [accountId, hash]);
    if (!row) throw keyNotFound(hash);
    return toView(row);
  }

  /** Several inference keys of an account by hash, in one query; hashes not found there are simply absent. */
  async getMany(accountId: string, hashes: readonly string[]): Promise<KeyView[]> {
    const rows = await this.sql.query<KeyRow>(`${SELECT} where account_id = $1 and kind = 'inference' and hash = any($2::text[])`, [
      accountId,
      hashes,
    ]);
    return rows.map(toView);
  }

  async create(
    accountId: string,
    input: { name: string; limit: Money | null; limitReset: LimitReset | null; expiresAt: Date | null; creatorUserId: string | null },
  ): Promise<{ key: KeyView; plaintext: string }> {
    const { key, plaintext } = await this.accounts.createKey(accountId, { kind: "inference", ...input });
    return { key: await this.get(accountId, key.hash), plaintext };
  }

  /** Changes what the patch sets, in one statement; a patch that sets nothing just reads the key. */
  async update(accountId: string, hash: string, patch: KeyPatch): Promise<KeyView> {
    const sets: string[] = [];
    const params: unknown[] = [accountId, hash];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.name !== undefined) set("name", patch.name);
    if (patch.disabled !== undefined) set("disabled", patch.disabled);
    if (patch.limit !== undefined) set(`"limit"`, patch.limit === null ? null : patch.limit.toString());
    if (patch.limitReset !== undefined) set("limit_reset", patch.limitReset);
    if (patch.expiresAt !== undefined) set("expires_at", patch.expiresAt);
    if (sets.length === 0) return this.get(accountId, hash);
    const [row] = await this.sql.query<KeyRow>(
      `update api_key set ${sets.join(", ")}, updated_at = now() where account_id = $1 and kind = 'inference' and hash = $2
        returning ${COLUMNS}`,
      params,
    );
    if (!row) throw keyNotFound(hash);
    this.bus.publish("key.changed", { hash });
    return toView(row);
  }

  async delete(accountId: string, hash: string): Promise<void> {
    const rows = await this.sql.query("delete from api_key where account_id = $1 and kind = 'inference' and hash = $2 returning hash", [
      accountId,
      hash,
    ]);
    if (rows.length === 0) throw keyNotFound(hash);
    this.bus.publish("key.changed", { hash });
  }
}

/** The `KeyCounterColumns` in a select list over `api_key` (period starts as YYYY-MM-DD text, as `currentKeyUsage` compares them). */
export const KEY_COUNTER_COLUMNS = `"limit", limit_reset, usage, usage_daily, usage_weekly, usage_monthly,
  to_char(usage_day, 'YYYY-MM-DD') as usage_day, to_char(usage_week, 'YYYY-MM-DD') as usage_week,
  to_char(usage_month, 'YYYY-MM-DD') as usage_month`;

/** The `KeyRow` columns of `api_key`. */
const COLUMNS = `hash, name, label, disabled, ${KEY_COUNTER_COLUMNS}, created_at, updated_at, expires_at, creator_user_id`;
const SELECT = `select ${COLUMNS} from api_key`;

function keyNotFound(hash: string): AppError {
  return new AppError("not_found", `No API key with hash ${hash} in this account.`);
}

/** A key's limit and usage counters as stored (`api_key` columns as `pg` returns them). */
export interface KeyCounterColumns {
  limit: bigint | null;
  limit_reset: LimitReset | null;
  usage: bigint;
  usage_daily: bigint;
  usage_weekly: bigint;
  usage_monthly: bigint;
  usage_day: string | null;
  usage_week: string | null;
  usage_month: string | null;
}

interface KeyRow extends KeyCounterColumns {
  hash: string;
  name: string;
  label: string;
  disabled: boolean;
  created_at: Date;
  updated_at: Date | null;
  expires_at: Date | null;
  creator_user_id: string | null;
}

/** The stored counters of a key row, for `currentKeyUsage`. */
export function keyCounters(row: KeyCounterColumns): KeyCounters {
  return {
    limit: row.limit,
    limitReset: row.limit_reset,
    usage: row.usage,
    usageDaily: row.usage_daily,
    usageWeekly: row.usage_weekly,
    usageMonthly: row.usage_monthly,
    usageDay: row.usage_day,
    usageWeek: row.usage_week,
    usageMonth: row.usage_month,
  };
}

function toView(row: KeyRow): KeyView {
  return {
    hash: row.hash,
    name: row.name,
    label: row.label,
    disabled: row.disabled,
    limit: row.limit,
    limitReset: row.limit_reset,
    usage: currentKeyUsage(keyCounters(row)),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    creatorUserId: row.creator_user_id,
  };
}
