import type { MikroORM } from "@mikro-orm/postgresql";
import { randomUUID } from "node:crypto";
import { postLedgerEntry } from "../billing/ledger.js";
import type { Money } from "../billing/money.js";
import { AppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import { ormWork } from "../persistence/orm-work.js";
import type { Sql } from "../persistence/sql.js";
import { Account } from "./account.entity.js";
import { ApiKey, type ApiKeyKind, type LimitReset } from "./api-key.entity.js";
import { generateApiKey } from "./api-keys.js";
import { User } from "./user.entity.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What passes for an email address (after `normalizeEmail`): something@domain.tld, no spaces or control characters. */
export const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

/** Emails are stored and looked up trimmed and lower-case, so one address is one user however it is typed. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface NewKeyOptions {
  kind: ApiKeyKind;
  name: string;
  limit?: Money | null;
  limitReset?: LimitReset | null;
  expiresAt?: Date | null;
  creatorUserId?: string | null;
}

/** Accounts, their users and API keys, and manual credit grants: the operations behind the CLI and key provisioning. */
export class AccountsService {
  constructor(
    private readonly orm: MikroORM,
    private readonly sql: Sql,
    private readonly bus: EventBus,
    /** Credits every new account receives to try paid models (its own `grant` entry); 0 for none. */
    private readonly signupCredits: Money = 0n,
  ) {}

  /** Creates an account with one user and the sign-up allowance. A taken email is a `conflict`. */
  async createAccount(input: { email: string; name?: string; passwordHash?: string | null }): Promise<{ account: Account; user: User }> {
    const email = normalizeEmail(input.email);
    if (!EMAIL.test(email)) throw new AppError("invalid_request", `"${input.email}" is not an email address.`);
    const { account, user } = await ormWork(this.orm, async (em) => {
      if (await em.count(User, { email })) throw new AppError("conflict", `An account with the email ${email} already exists.`);
      const account = em.create(Account, { name: input.name?.trim() || email });
      const user = em.create(User, { account, email, passwordHash: input.passwordHash ?? null });
      try {
        await em.flush();
      } catch (error) {
        if ((error as { code?: string }).code === "23505") throw new AppError("conflict", `An account with the email ${email} already exists.`);
        throw error;
      }
      return { account, user };
    });
    if (this.signupCredits > 0n) {
      account.balance = await this.grantCredits(account.id, this.signupCredits, "Free allowance for new accounts", `signup:${account.id}`);
    }
    return { account, user };
  }

  /** Finds an active account by its id or the email of one of its users. */
  async findAccount(ref: string): Promise<Account> {
    const account = await ormWork(this.orm, async (em) => {
      if (UUID.test(ref)) return em.findOne(Account, { id: ref, deletedAt: null });
      const user = await em.findOne(User, { email: normalizeEmail(ref) }, { populate: ["account"] });
      return user && user.account.deletedAt === null ? user.account : null;
    });
    if (!account) throw new AppError("not_found", `No account matches "${ref}" (give its id or email).`);
    return account;
  }

  async createKey(accountId: string, options: NewKeyOptions): Promise<{ key: ApiKey; plaintext: string }> {
    const generated = generateApiKey();
    const key = await ormWork(this.orm, async (em) => {
      const created = em.create(ApiKey, {
        hash: generated.hash,
        account: em.getReference(Account, accountId),
        name: options.name,
        label: generated.label,
        kind: options.kind,
        limit: options.limit ?? null,
        limitReset: options.limitReset ?? null,
        expiresAt: options.expiresAt ?? null,
        creatorUserId: options.creatorUserId ?? null,
      });
      await em.flush();
      return created;
    });
    return { key, plaintext: generated.plaintext };
  }

  async listKeys(accountId: string, options: { includeDisabled?: boolean } = {}): Promise<ApiKey[]> {
    return ormWork(this.orm, (em) =>
      em.find(
        ApiKey,
        { account: accountId, ...(options.includeDisabled === false ? { disabled: false } : {}) },
        { orderBy: { createdAt: "asc", hash: "asc" } },
      ),
    );
  }

  /**
   * Adds credits to (or, negative, removes them from) an account as one ledger entry: `grant` for credits,
   * `adjustment` for debits. Returns the new balance.
   */
  async grantCredits(accountId: string, amount: Money, reason: string, reference: string = `grant:${randomUUID()}`): Promise<Money> {
    if (amount === 0n) throw new AppError("invalid_request", "The amount must not be zero.");
    const balance = await postLedgerEntry(this.sql, {
      accountId,
      kind: amount > 0n ? "grant" : "adjustment",
      amount,
      reference,
      description: reason,
    });
    this.bus.publish("balance.changed", { accountId, balance: balance.toString() });
    return balance;
  }
}
