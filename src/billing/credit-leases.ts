import { randomUUID } from "node:crypto";
import type { Clock, CreditsPort, GenerationRecord, HoldOutcome, HoldRequest } from "../core/ports.js";
import { AppError } from "../errors.js";
import type { BalanceSource } from "../limits/rate-limits.js";
import type { Sql } from "../persistence/sql.js";
import { maxMoney, minMoney, PICO_PER_USD, type Money } from "./money.js";
import { applySettlementJson, generationRow, SettlementBatcher, type QueuedSettlement, type SettlementItem } from "./settlement-batcher.js";
import type { SettlementLog } from "./settlement-log.js";

/** A lease expires (for the reaper) this long after its last renewal; live nodes renew at a third of it. */
const LEASE_TTL_MS = 60_000;
/** A lease with nothing in it for this long is returned. */
const LEASE_IDLE_MS = 5_000;
/** The least a lease grows by beyond what a request needs (when the account can spare it). */
const MIN_EXTENSION: Money = PICO_PER_USD / 100n;

interface Lease {
  id: string;
  accountId: string;
  keyHash: string | null;
  /** The lease's amount in the database, as far as this node knows (it changes only by this node's actions). */
  granted: Money;
  /** Holds of requests in flight, by hold id. */
  holds: Map<string, Money>;
  held: Money;
  /** Costs settled here but not yet committed (they are still inside `granted`). */
  pending: Money;
  lastUsed: number;
  renewedAt: number;
  /** The extension in progress: extensions of one lease run one at a time. */
  extending: Promise<unknown>;
  /**
   * Requests here waiting for an extension: the lease is in use while one waits, however long the database takes.
   * Counted down in the step that places the request's hold, so the idle sweep never sees the lease unused between.
   */
  extensions: number;
  /**
   * The database granted less than asked at the last extension: the account is running out, and what this lease
   * keeps in reserve may be what another node needs. A scarce lease gives back its free part whenever a request of
   * it ends, so credits never sit stranded here while another node refuses requests it could serve.
   */
  scarce: boolean;
}

/**
 * Credits on the request path without a database round trip in the common case, in the style of telecom online
 * charging. Each node holds a lease per account and key — a credit hold in the database, counted in the account's and
 * key's `held` like any other — and places the holds of its requests against it in memory. When a lease runs short the
 * node extends it (one round trip; the database never grants more than the account has free or the key may spend, so
 * nodes together can never overspend); when it idles the node gives it back. Settlements are applied in batches (see
 * SettlementBatcher) and debited from the lease they were reserved in. A node that dies leaves its leases to expire
 * and be released by the reaper; its logged settlements are replayed at the next start.
 */
export class LeasedCredits implements CreditsPort {
  /** Leases by `account/key`, and by lease id (for settlements coming back from the batcher). */
  private readonly leases = new Map<string, Lease>();
  private readonly byId = new Map<string, Lease>();
  private readonly byHold = new Map<string, Lease>();
  private readonly batcher: SettlementBatcher;
  /** The database writes that change lease amounts (see `exclusive`). */
  private writes: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private reaper: NodeJS.Timeout | undefined;
  /** A sweep is running (see `maintain`): a slow one must not overlap the next. */
  private maintaining = false;

  constructor(
    private readonly sql: Sql,
    log: SettlementLog | null,
    /** Whether an account's balance is negative, for requests that reserve nothing (free models). */
    private readonly balances: BalanceSource,
    private readonly clock: Clock,
    /** Called after each settlement commits, with the account's new balance (live events, auto top-up). */
    private readonly onSettled: (record: GenerationRecord, balance: Money) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.batcher = new SettlementBatcher(
      log,
      (batch) =>
        this.exclusive(async () => {
          const balances = await applySettlementJson(sql, batch.map((entry) => ({ account: entry.item.account, json: entry.json })));
          this.committed(batch, balances);
        }),
      onError,
    );
  }

  async hold(request: HoldRequest): Promise<HoldOutcome> {
    if (request.amount === 0n && (await this.balances.balance(request.accountId)) < 0n) {
      return { ok: false, reason: "negative_balance", available: 0n };
    }
    const lease = this.leaseFor(request.accountId, request.keyHash);
    // Used now: the idle sweep returns only a lease unused for a while (and none a request waits to extend).
    lease.lastUsed = this.clock.now();
    for (let attempt = 0; attempt < 3; attempt++) {
      const previous = lease.holds.get(request.holdId) ?? 0n;
      const delta = request.amount - previous;
      if (delta <= free(lease)) {
        lease.holds.set(request.holdId, request.amount);
        lease.held += delta;
        this.byHold.set(request.holdId, lease);
        return { ok: true };
      }
      lease.extensions += 1;
      let extension: HoldOutcome;
      try {
        extension = await this.extend(lease, delta);
      } finally {
        lease.extensions -= 1;
      }
      if (!extension.ok) {
        // What this request could have had: the most the lease could be, less what other requests here use of it.
        const others = lease.held - previous + lease.pending;
        return { ...extension, available: maxMoney(extension.available - others, 0n) };
      }
    }
    return { ok: false, reason: "credits", available: free(lease) };
  }

  async release(holdId: string): Promise<void> {
    const lease = this.takeHold(holdId);
    if (lease?.scarce) this.shrink(lease);
  }

  async settle({ holdId, description, generation }: { holdId: string; description: string; generation: GenerationRecord }): Promise<void> {
    const lease = this.byHold.get(holdId) ?? this.leaseFor(generation.accountId, generation.keyHash);
    const item: SettlementItem = {
      lease: lease.id,
      account: generation.accountId,
      key: generation.keyHash,
      cost: generation.cost.toString(),
      description,
      generation: generationRow(generation),
    };
    // Logged first: should the log write fail (a full disk), the lease is as it was and the caller may settle again
    // without the cost being counted twice.
    this.batcher.add({ item, record: generation });
    this.takeHold(holdId);
    lease.pending += generation.cost;
  }

  /** Credits this node holds for requests of the account in flight (not what its leases have in reserve). */
  inUse(accountId: string): Money {
    let total = 0n;
    for (const lease of this.leases.values()) if (lease.accountId === accountId) total += lease.held;
    return total;
  }

  /**
   * Before an account is deleted: commits its settlements and gives back its leases. Refused with `conflict` while a
   * request of the account is in flight on this node.
   */
  async retire(accountId: string): Promise<void> {
    await this.flush();
    if (this.inUse(accountId) > 0n) {
      throw new AppError("conflict", "The account has requests in progress. Try again when they have finished.");
    }
    for (const lease of [...this.leases.values()]) {
      if (lease.accountId === accountId) await this.returnLease(lease);
    }
  }

  /** Resolves once every settlement so far is committed to the database. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Resolves once this generation's settlement is committed (reads of it then see it). */
  whenSettled(generationId: string): Promise<void> {
    return this.batcher.whenCommitted(generationId);
  }

  /**
   * Gives back what is unused of the leases of a key or account whose limits or state changed (a lowered key limit,
   * a disabled key, a deleted account): the next request extends them under the new rules.
   */
  shrinkLeases(of: { keyHash?: string; accountId?: string }): void {
    for (const lease of [...this.leases.values()]) {
      if (of.keyHash !== undefined && lease.keyHash !== of.keyHash) continue;
      if (of.accountId !== undefined && lease.accountId !== of.accountId) continue;
      this.shrink(lease);
    }
  }

  /** Renews live leases, returns idle ones and releases expired holds of dead nodes, on timers (unref'd). */
  start(reaperIntervalMs: number): void {
    const tick = Math.max(250, Math.min(1000, LEASE_TTL_MS / 6));
    this.timer = setInterval(() => this.maintain().catch(this.onError), tick);
    this.timer.unref();
    this.reaper = setInterval(() => this.reap().catch(this.onError), reaperIntervalMs);
    this.reaper.unref();
  }

  /** Releases expired holds (their node died). Returns how many. */
  async reap(): Promise<number> {
    const [row] = await this.sql.query<{ released: number }>("select sy_reap_holds() as released");
    return row.released;
  }

  /** Stops the timers, commits every settlement and gives every lease back. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.reaper);
    await this.flush();
    for (const lease of [...this.leases.values()]) await this.returnLease(lease).catch(this.onError);
  }

  private leaseFor(accountId: string, keyHash: string | null): Lease {
    const key = leaseKey(accountId, keyHash);
    let lease = this.leases.get(key);
    if (!lease) {
      const now = this.clock.now();
      lease = {
        id: randomUUID(),
        accountId,
        keyHash,
        granted: 0n,
        holds: new Map(),
        held: 0n,
        pending: 0n,
        lastUsed: now,
        renewedAt: now,
        extending: Promise.resolve(),
        extensions: 0,
        scarce: false,
      };
      this.leases.set(key, lease);
      this.byId.set(lease.id, lease);
    }
    return lease;
  }

  private takeHold(holdId: string): Lease | undefined {
    const lease = this.byHold.get(holdId);
    if (!lease) return undefined;
    this.byHold.delete(holdId);
    lease.held -= lease.holds.get(holdId) ?? 0n;
    lease.holds.delete(holdId);
    lease.lastUsed = this.clock.now();
    return lease;
  }

  /** Grows the lease until `need` of it is free (one extension at a time per lease). */
  private extend(lease: Lease, need: Money): Promise<HoldOutcome> {
    const run = lease.extending.then(async (): Promise<HoldOutcome> => {
      // An extension that ran meanwhile may have made room already.
      if (free(lease) >= need) return { ok: true };
      const min = lease.held + lease.pending + need;
      const extra = maxMoney(need * 3n, MIN_EXTENSION);
      const row = await this.exclusive(async () => {
        const [result] = await this.sql.query<{ outcome: string; amount: bigint; available: bigint }>(
          "select outcome, amount, available from sy_lease($1, $2, $3, $4, $5, $6)",
          [lease.id, lease.accountId, lease.keyHash, min.toString(), (min + extra).toString(), LEASE_TTL_MS],
        );
        if (result.outcome === "ok") {
          lease.granted = result.amount;
          lease.scarce = result.amount < min + extra;
        }
        return result;
      });
      if (row.outcome !== "ok") {
        const reason = row.outcome === "no_account" ? "credits" : (row.outcome as "negative_balance" | "credits" | "key_limit");
        return { ok: false, reason, available: maxMoney(row.available, 0n) };
      }
      lease.renewedAt = this.clock.now();
      return { ok: true };
    });
    lease.extending = run.catch(() => undefined);
    return run;
  }

  private committed(batch: QueuedSettlement[], balances: Map<string, bigint>): void {
    // A scarce lease gives back its free part once per batch, however many of its settlements the batch holds.
    const scarce = new Set<Lease>();
    for (const { item, record } of batch) {
      const lease = this.byId.get(item.lease);
      if (lease) {
        lease.pending -= record.cost;
        lease.granted -= minMoney(record.cost, lease.granted);
        if (lease.scarce) scarce.add(lease);
      }
      const balance = balances.get(record.accountId);
      if (balance !== undefined) this.onSettled(record, balance);
    }
    for (const lease of scarce) this.shrink(lease);
  }

  private async maintain(): Promise<void> {
    if (this.maintaining) return;
    this.maintaining = true;
    try {
      const now = this.clock.now();
      const renew: string[] = [];
      for (const lease of [...this.leases.values()]) {
        const idle = lease.holds.size === 0 && lease.pending === 0n && lease.extensions === 0 && now - lease.lastUsed >= LEASE_IDLE_MS;
        if (idle) await this.returnLease(lease);
        else if (lease.granted > 0n && now - lease.renewedAt >= LEASE_TTL_MS / 3) {
          renew.push(lease.id);
          lease.renewedAt = now;
        }
      }
      if (renew.length > 0) {
        await this.sql.query("update credit_hold set expires_at = now() + make_interval(secs => $2::int / 1000.0) where id = any($1::uuid[])", [
          renew,
          LEASE_TTL_MS,
        ]);
      }
    } finally {
      this.maintaining = false;
    }
  }

  /** Gives back the lease's free part (what no request here holds or has spent), after the writes queued before. */
  private shrink(lease: Lease): void {
    if (lease.granted <= lease.held + lease.pending) return;
    lease.extending = lease.extending
      .then(() =>
        this.exclusive(async () => {
          const target = lease.held + lease.pending;
          if (lease.granted <= target) return;
          // Smaller here first: a request arriving during the write must not take what is being given back. Should
          // the write fail, the database keeps the larger amount, which only this node could spend.
          lease.granted = target;
          await this.sql.query("select sy_lease($1, $2, $3, $4, $4, $5)", [lease.id, lease.accountId, lease.keyHash, target.toString(), LEASE_TTL_MS]);
        }),
      )
      .catch(this.onError);
  }

  private async returnLease(lease: Lease): Promise<void> {
    // Returned already (the sweep, `retire` and `close` work from snapshots of the leases while they wait for writes);
    // a new lease may since have taken its place, which is not this one to return.
    if (this.byId.get(lease.id) !== lease) return;
    this.byId.delete(lease.id);
    const key = leaseKey(lease.accountId, lease.keyHash);
    if (this.leases.get(key) === lease) this.leases.delete(key);
    if (lease.granted > 0n || lease.holds.size > 0) await this.exclusive(() => this.sql.query("select sy_release_hold($1)", [lease.id]));
  }

  /**
   * Runs a database write that changes lease amounts after every earlier one has finished. Extensions set a lease's
   * amount and settlements take costs out of it; done one at a time, the results come back in the order they
   * committed, so this node's view of each lease never drifts from the database (which could let requests spend
   * credits another node was promised).
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

/** The key of `leases`: one lease per account and key. */
function leaseKey(accountId: string, keyHash: string | null): string {
  return `${accountId}/${keyHash ?? ""}`;
}

function free(lease: Lease): Money {
  return lease.granted - lease.held - lease.pending;
}
