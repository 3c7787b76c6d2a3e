import type { Redis } from "ioredis";
import type pg from "pg";
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { PICO_PER_USD, formatUsd, maxMoney, type Money } from "../billing/money.js";
import type { Clock, LimitsPort, RequestKind } from "../core/ports.js";
import type { Caller } from "../core/types.js";
import { AppError } from "../errors.js";

/**
 * Request limits per account, counted with `rate-limiter-flexible` in PostgreSQL (one node, or several sharing the
 * database) or in Redis when it is configured (several nodes, one count). The paid-model rate, checked on every
 * request, is counted in Redis when there is one and otherwise in this node's memory, so the request path makes no
 * database round trip for it (without Redis each node then allows the rate on its own):
 * - `:free` models: at most `freePerMinute` requests a minute and `freePerDay` a UTC day, across all free models;
 * - paid models: `paidPerDollar` requests a second for each whole dollar of balance, between `paidMinimum` and
 *   `paidMaximum`.
 * A refusal is a 429 whose message names the limit, with `X-RateLimit-Limit`, `-Remaining`, `-Reset` (ms since the
 * epoch) and `Retry-After`. If the counter store cannot be reached the request is let through and the failure logged:
 * credit holds, not rate limits, are what protect money.
 */
export interface LimitSettings {
  freePerDay: number;
  freePerMinute: number;
  paidPerDollar: number;
  paidMinimum: number;
  paidMaximum: number;
}

export type CounterBackend = { kind: "postgres"; pool: pg.Pool } | { kind: "redis"; client: Redis };

/** An account's balance for the limiter and the credit leases (kept fresh by settlement events; see BalanceCache). */
export interface BalanceSource {
  balance(accountId: string): Promise<Money>;
}

export interface FreeUsage {
  used: number;
  limit: number;
  remaining: number;
}

const DAY_MS = 86_400_000;
/** Paid limits are checked against the count, not by the library, so its own ceiling only has to be out of reach. */
const UNBOUNDED = 2 ** 30;

export class RateLimits implements LimitsPort {
  private readonly freeMinute: RateLimiterAbstract;
  private readonly freeDay: RateLimiterAbstract;
  private readonly paidSecond: RateLimiterAbstract;

  constructor(
    backend: CounterBackend,
    private readonly settings: LimitSettings,
    private readonly balances: BalanceSource,
    private readonly clock: Clock,
    private readonly onStoreError: (error: unknown) => void,
  ) {
    this.freeMinute = limiter(backend, "free-minute", settings.freePerMinute, 60);
    // Keys carry the UTC date, so the day's count starts afresh at midnight; rows outlive the day by an hour.
    this.freeDay = limiter(backend, "free-day", settings.freePerDay, 25 * 3600);
    this.paidSecond =
      backend.kind === "redis" ? limiter(backend, "paid-second", UNBOUNDED, 1) : new RateLimiterMemory({ keyPrefix: "paid-second", points: UNBOUNDED, duration: 1 });
  }

  async admit(caller: Caller, kind: RequestKind): Promise<void> {
    try {
      if (kind === "free") await this.admitFree(caller.accountId);
      else await this.admitPaid(caller.accountId);
    } catch (error) {
      if (error instanceof AppError) throw error;
      this.onStoreError(error);
    }
  }

  /** Free-model requests made today (UTC) and what is left of the quota, for `GET /key`. */
  async freeUsageToday(accountId: string): Promise<FreeUsage> {
    const limit = this.settings.freePerDay;
    let used = 0;
    try {
      used = (await this.freeDay.get(this.dayKey(accountId)))?.consumedPoints ?? 0;
    } catch (error) {
      this.onStoreError(error);
    }
    return { used: Math.min(used, limit), limit, remaining: Math.max(0, limit - used) };
  }

  /** Requests per second allowed to this account on paid models right now. */
  async paidRequestsPerSecond(accountId: string): Promise<number> {
    const { paidPerDollar, paidMinimum, paidMaximum } = this.settings;
    const balance = await this.balances.balance(accountId);
    const dollars = maxMoney(balance, 0n) / PICO_PER_USD;
    const allowed = dollars * BigInt(paidPerDollar);
    return Number(allowed < BigInt(paidMinimum) ? BigInt(paidMinimum) : allowed > BigInt(paidMaximum) ? BigInt(paidMaximum) : allowed);
  }

  private async admitFree(accountId: string): Promise<void> {
    const { freePerMinute, freePerDay } = this.settings;
    const now = this.clock.now();
    try {
      await this.freeMinute.consume(accountId);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw refused(
        "free-models-per-minute",
        `Rate limit exceeded: free-models-per-minute. At most ${freePerMinute} requests a minute go to free models; try again in ${Math.ceil(refusal.msBeforeNext / 1000)} s.`,
        freePerMinute,
        now + refusal.msBeforeNext,
      );
    }
    try {
      await this.freeDay.consume(this.dayKey(accountId));
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const midnight = Math.ceil((now + 1) / DAY_MS) * DAY_MS;
      throw refused(
        "free-models-per-day",
        `Rate limit exceeded: free-models-per-day. ${freePerDay} requests a day (UTC) go to free models and today's are used up; the quota resets at 00:00 UTC.`,
        freePerDay,
        midnight,
      );
    }
  }

  private async admitPaid(accountId: string): Promise<void> {
    const allowed = await this.paidRequestsPerSecond(accountId);
    const result = await this.paidSecond.consume(accountId);
    if (result.consumedPoints <= allowed) return;
    const { paidPerDollar } = this.settings;
    const balance = await this.balances.balance(accountId);
    throw refused(
      "requests-per-second",
      `Rate limit exceeded: ${allowed} request${allowed === 1 ? "" : "s"} per second for this account (${paidPerDollar} per second for each dollar of ` +
        `balance; the balance is ${formatUsd(maxMoney(balance, 0n))} USD). Add credits to raise it.`,
      allowed,
      this.clock.now() + Math.max(result.msBeforeNext, 1),
    );
  }

  private dayKey(accountId: string): string {
    return `${accountId}:${new Date(this.clock.now()).toISOString().slice(0, 10)}`;
  }
}

function limiter(backend: CounterBackend, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  if (backend.kind === "redis") return new RateLimiterRedis({ storeClient: backend.client, keyPrefix: `sy:${keyPrefix}`, points, duration });
  // The library names its prepared statements; the embedded PostgreSQL is one backend shared by every connection, where
  // a name prepared on one connection collides on the next. Unnamed statements behave the same on both databases.
  const pool = backend.pool;
  const unnamed = { query: (q: { text: string; values?: unknown[] }) => pool.query({ text: q.text, values: q.values }) };
  return new RateLimiterPostgres({
    storeClient: unnamed,
    storeType: "pool",
    tableName: "rate_limit_counter",
    // The table belongs to our migrations; expired rows are removed by `purgeExpiredCounters`.
    tableCreated: true,
    clearExpiredByTimeout: false,
    keyPrefix,
    points,
    duration,
  });
}

function refused(limit: string, message: string, max: number, resetAt: number): AppError {
  return new AppError("rate_limited", message, {
    metadata: { limit, limit_source: limit.startsWith("free") ? "free_tier" : "balance" },
    headers: { "x-ratelimit-limit": String(max), "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(resetAt) },
    retryAfterMs: Math.max(resetAt - Date.now(), 1000),
  });
}

/** Deletes counters that expired over an hour ago (the PostgreSQL store keeps them until then). */
export async function purgeExpiredCounters(pool: pg.Pool): Promise<void> {
  await pool.query("delete from rate_limit_counter where expire < $1", [Date.now() - 3_600_000]);
}
