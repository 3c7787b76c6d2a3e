import { createHmac } from "node:crypto";
import { RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { AppError } from "../errors.js";
import type { Queryable } from "../persistence/sql.js";

/**
 * Login throttling. Every password check (login, and the password re-entered to delete an account) is counted before
 * the password is verified, so guesses sent in parallel are counted too; a correct password gives the attempt back.
 */
export interface LoginThrottle {
  /**
   * Counts one attempt for `email` from `ip`. Throws `rate_limited` (429, with `Retry-After`) when that pair has failed
   * too often in a row or the address has failed too often today; the password is then not checked at all.
   */
  attempt(email: string, ip: string): Promise<void>;
  /** The password was right: forget the pair's failures and give the address its attempt back. */
  succeeded(email: string, ip: string): Promise<void>;
  close(): void;
}

export interface LoginThrottleOptions {
  /** Failed attempts in a row for one email from one address; the next attempt is locked out. */
  maxFailures: number;
  /** Failed attempts from one address within a day (any email); the next attempt is locked out. */
  maxFailuresPerIp: number;
  lockoutMs: number;
}

/** Failures are counted within this window (seconds); a lockout restarts the count when it ends. */
const WINDOW_SECONDS = 24 * 3600;

/**
 * A {@link LoginThrottle} over two `rate-limiter-flexible` limiters, one keyed by email and address, one by address.
 * Any of the library's stores fits (PostgreSQL here; Redis for a deployment that has it). Keys are HMACs under the
 * session secret, so the store holds no email or IP address (deleting an account leaves nothing behind in it) and every
 * node with the same secret counts the same keys.
 */
export class RateLimiterLoginThrottle implements LoginThrottle {
  constructor(
    private readonly limiters: { byEmailAndIp: RateLimiterAbstract; byIp: RateLimiterAbstract },
    private readonly secret: string,
    private readonly onClose: () => void = () => {},
  ) {}

  async attempt(email: string, ip: string): Promise<void> {
    try {
      await this.limiters.byEmailAndIp.consume(this.key("email+ip", email, ip));
      await this.limiters.byIp.consume(this.key("ip", ip));
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw new AppError("rate_limited", "Too many failed logins. Try again later.", {
        retryAfterMs: Math.max(1000, error.msBeforeNext),
      });
    }
  }

  async succeeded(email: string, ip: string): Promise<void> {
    await this.limiters.byEmailAndIp.delete(this.key("email+ip", email, ip));
    await this.limiters.byIp.reward(this.key("ip", ip));
  }

  close(): void {
    this.onClose();
  }

  private key(...parts: string[]): string {
    return createHmac("sha256", this.secret).update(parts.join("\0")).digest("base64url");
  }
}

/** How often expired counters are deleted from the table. */
const CLEANUP_INTERVAL_MS = 5 * 60_000;

/**
 * Login throttling with its counters in PostgreSQL (`rate_limit_counter`, created by the migrations and shared with
 * other limiters through key prefixes), so every node against the same database counts the same failures.
 */
export function postgresLoginThrottle(db: Queryable, options: LoginThrottleOptions, secret: string): LoginThrottle {
  const common = {
    storeClient: pgStoreClient(db),
    storeType: "pool",
    tableName: "rate_limit_counter",
    tableCreated: true,
    clearExpiredByTimeout: false,
    duration: WINDOW_SECONDS,
    blockDuration: Math.ceil(options.lockoutMs / 1000),
  };
  const byEmailAndIp = new RateLimiterPostgres({ ...common, keyPrefix: "login_email_ip", points: options.maxFailures });
  const byIp = new RateLimiterPostgres({ ...common, keyPrefix: "login_ip", points: options.maxFailuresPerIp });
  const cleanup = setInterval(() => {
    db.query("delete from rate_limit_counter where expire < $1 and key like 'login\\_%'", [Date.now()]).catch(() => {
      // Not critical: expired counters are ignored by the limiter, and the next run tries again.
    });
  }, CLEANUP_INTERVAL_MS);
  cleanup.unref();
  return new RateLimiterLoginThrottle({ byEmailAndIp, byIp }, secret, () => clearInterval(cleanup));
}

/**
 * The `pg` pool interface `RateLimiterPostgres` calls (`query({text, values})` → `{rows, rowCount}`), over our own
 * pool. Our pool returns `bigint` columns as JS bigints; the library does arithmetic on `expire` with numbers, so it is
 * converted back (milliseconds since 1970 fit a double exactly). `rowCount` counts returned rows, which is all the
 * library reads it for except `delete()`'s result, which this module ignores.
 */
function pgStoreClient(db: Queryable) {
  return {
    async query(statement: { text: string; values?: unknown[] }) {
      const rows = await db.query<{ points?: number; expire?: bigint | string | number | null }>(statement.text, statement.values ?? []);
      return {
        rows: rows.map((row) => ({ ...row, expire: row.expire === null || row.expire === undefined ? null : Number(row.expire) })),
        rowCount: rows.length,
      };
    },
  };
}
