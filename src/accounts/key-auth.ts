import { AppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { Clock } from "../core/ports.js";
import type { Caller } from "../core/types.js";
import type { Sql } from "../persistence/sql.js";
import type { ApiKeyKind } from "./api-key.entity.js";
import { hashApiKey, parseBearer } from "./api-keys.js";

/** An authenticated API key and the account behind it, as the front doors see them. */
export interface AuthenticatedKey {
  hash: string;
  kind: ApiKeyKind;
  name: string;
  label: string;
  accountId: string;
  caller: Caller;
}

interface CachedKey {
  key: AuthenticatedKey;
  disabled: boolean;
  expiresAt: number | null;
  accountDeleted: boolean;
  loadedAt: number;
}

/**
 * Bearer-key authentication with an in-memory cache, so the hot path needs no database round trip for a key it has
 * seen. Entries are dropped when the bus reports the key or its account changed (on every node when the bus is
 * Redis-backed) and are re-read after `ttlMs` regardless, which bounds staleness when a change is made without the bus
 * (another node without Redis, the CLI). Unknown keys are not cached: a key created a moment ago works at once.
 */
export class KeyAuthenticator {
  private readonly cache = new Map<string, CachedKey>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly sql: Sql,
    bus: EventBus,
    private readonly clock: Clock,
    private readonly ttlMs = 30_000,
  ) {
    this.unsubscribe = [
      bus.subscribe("key.changed", ({ hash }) => this.cache.delete(hash)),
      bus.subscribe("account.changed", ({ accountId }) => {
        for (const [hash, entry] of this.cache) if (entry.key.accountId === accountId) this.cache.delete(hash);
      }),
    ];
  }

  /**
   * Authenticates an `Authorization` header. Missing, unknown, disabled and expired keys, and keys of deleted
   * accounts, are a 401 with a message saying which.
   */
  async authenticate(authorization: string | undefined): Promise<AuthenticatedKey> {
    const token = parseBearer(authorization);
    if (!token) {
      throw new AppError("unauthenticated", authorization ? "The Authorization header must be `Bearer <API key>`." : "No auth credentials found.");
    }
    const hash = hashApiKey(token);
    const now = this.clock.now();
    let entry = this.cache.get(hash);
    if (!entry || now - entry.loadedAt > this.ttlMs) {
      entry = (await this.load(hash, now)) ?? undefined;
      if (!entry) {
        this.cache.delete(hash);
        throw new AppError("unauthenticated", "Invalid API key.");
      }
      this.cache.set(hash, entry);
    }
    if (entry.disabled) throw new AppError("unauthenticated", "This API key is disabled.");
    if (entry.expiresAt !== null && entry.expiresAt <= now) throw new AppError("unauthenticated", "This API key has expired.");
    if (entry.accountDeleted) throw new AppError("unauthenticated", "This API key's account has been deleted.");
    return entry.key;
  }

  /** Forgets every cached key (tests, shutdown). */
  clear(): void {
    this.cache.clear();
  }

  close(): void {
    for (const stop of this.unsubscribe) stop();
  }

  private async load(hash: string, now: number): Promise<CachedKey | null> {
    const [row] = await this.sql.query<KeyRow>(
      `select k.hash, k.kind, k.name, k.label, k.disabled, k.expires_at, a.id as account_id, a.deleted_at,
              a.allow_training, a.allow_free_training, a.allow_retention, a.allowed_providers, a.ignored_providers, a.log_prompts
         from api_key k join account a on a.id = k.account_id
        where k.hash = $1`,
      [hash],
    );
    if (!row) return null;
    return {
      key: {
        hash: row.hash,
        kind: row.kind,
        name: row.name,
        label: row.label,
        accountId: row.account_id,
        caller: {
          accountId: row.account_id,
          keyHash: row.hash,
          logPrompts: row.log_prompts,
          privacy: {
            allowTraining: row.allow_training,
            allowFreeTraining: row.allow_free_training,
            allowRetention: row.allow_retention,
            allowedProviders: row.allowed_providers,
            ignoredProviders: row.ignored_providers ?? [],
          },
        },
      },
      disabled: row.disabled,
      expiresAt: row.expires_at ? row.expires_at.getTime() : null,
      accountDeleted: row.deleted_at !== null,
      loadedAt: now,
    };
  }
}

interface KeyRow {
  hash: string;
  kind: ApiKeyKind;
  name: string;
  label: string;
  disabled: boolean;
  expires_at: Date | null;
  account_id: string;
  deleted_at: Date | null;
  allow_training: boolean;
  allow_free_training: boolean;
  allow_retention: boolean;
  allowed_providers: string[] | null;
  ignored_providers: string[] | null;
  log_prompts: boolean;
}
