import type { Clock } from "../core/ports.js";
import { isAppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { Queryable, Sql } from "../persistence/sql.js";
import { postLedgerEntry } from "./ledger.js";
import { displayUsd } from "./fees.js";
import { maxMoney, type Money } from "./money.js";
import type { BillingLog } from "./purchases.service.js";

export interface CreditExpiryDeps {
  sql: Sql;
  clock: Clock;
  bus: EventBus;
  log: BillingLog;
  /** Purchased credits expire this many months after purchase; 0 means never. */
  expiryMonths: number;
}

interface NonUsageEntry {
  id: bigint;
  kind: string;
  amount: bigint;
  reference: string | null;
  created_at: Date;
}

/** How many accounts one pass looks at; the next pass (or the next tick) takes the rest. */
const ACCOUNTS_PER_PASS = 500;

/**
 * Expiry of purchased credits, one year (configurable) after purchase, oldest credits consumed first.
 *
 * Nothing on the settlement path tracks lots. At expiry time, what is left of a purchase lot L is computed from the
 * ledger as `clamp(C − D, 0, L)`, where C is the sum of every credit up to and including L in ledger order (purchases
 * and auto top-ups net of their fee, grants, refunds, positive adjustments) and D is every debit so far (usage,
 * negative adjustments, forfeits, earlier expiries): debits eat the oldest credits first, so L still holds whatever of
 * it the debits have not reached. That remainder is written as an `expiry` entry referenced `expiry:<lot reference>`
 * — exactly once per lot, even when it is zero (which marks the lot done), guarded by the ledger's unique
 * (kind, reference). Grants never expire, but they take their place in the order.
 *
 * Each account is handled in one transaction under its row lock (the lock settlement also takes), so the computation
 * sees a fixed ledger. Only non-usage entries are read (a partial index); the usage total comes from the balance.
 */
export class CreditExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly deps: CreditExpiryDeps) {}

  /**
   * Writes the expiry entries of every lot bought at least the expiry period before `asOf` (default: now) that has
   * none yet. Returns how many lots were expired and the credits removed. Safe to run concurrently and repeatedly.
   */
  async expireDue(asOf: Date = new Date(this.deps.clock.now())): Promise<{ lots: number; expired: Money }> {
    const total = { lots: 0, expired: 0n };
    if (this.deps.expiryMonths === 0) return total;
    const cutoff = subtractMonths(asOf, this.deps.expiryMonths);
    for (;;) {
      const accounts = await this.deps.sql.query<{ account_id: string }>(
        `select distinct l.account_id from ledger_entry l
          where l.kind in ('purchase', 'auto_top_up') and l.created_at <= $1
            and not exists (select 1 from ledger_entry e where e.kind = 'expiry' and e.reference = 'expiry:' || l.reference)
          limit ${ACCOUNTS_PER_PASS}`,
        [cutoff],
      );
      for (const { account_id } of accounts) {
        try {
          const done = await this.expireAccount(account_id, cutoff);
          total.lots += done.lots;
          total.expired += done.expired;
        } catch (error) {
          // Another node expired the same lot first: its entries stand, and the next pass finds nothing left here.
          if (!(isAppError(error) && error.code === "conflict")) throw error;
        }
      }
      if (accounts.length < ACCOUNTS_PER_PASS) return total;
    }
  }

  /** Runs {@link expireDue} every `intervalMs` (the first run after at most a minute). Errors are logged. */
  start(intervalMs: number): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.expireDue()
        .catch((err: unknown) => this.deps.log.error({ err }, "expiring credits failed"))
        .finally(() => (this.running = undefined));
    };
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, intervalMs);
      this.timer.unref();
    }, Math.min(intervalMs, 60_000));
    this.timer.unref();
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.running;
  }

  private async expireAccount(accountId: string, cutoff: Date): Promise<{ lots: number; expired: Money }> {
    const result = await this.deps.sql.transaction(async (tx) => {
      const [account] = await tx.query<{ balance: bigint }>("select balance from account where id = $1 for update", [accountId]);
      if (!account) return { lots: 0, expired: 0n, balance: 0n };
      const entries = await tx.query<NonUsageEntry>(
        "select id, kind, amount, reference, created_at from ledger_entry where account_id = $1 and kind <> 'usage' order by id",
        [accountId],
      );
      return expireLots(tx, accountId, account.balance, entries, cutoff);
    });
    if (result.lots > 0) this.deps.bus.publish("balance.changed", { accountId, balance: result.balance.toString() });
    return result;
  }
}

async function expireLots(
  tx: Queryable,
  accountId: string,
  balance: Money,
  entries: NonUsageEntry[],
  cutoff: Date,
): Promise<{ lots: number; expired: Money; balance: Money }> {
  const fees = new Map<string, Money>();
  const expired = new Set<string>();
  let nonUsageSum = 0n;
  for (const e of entries) {
    nonUsageSum += e.amount;
    if (e.kind === "purchase_fee" && e.reference) fees.set(e.reference, (fees.get(e.reference) ?? 0n) + e.amount);
    if (e.kind === "expiry" && e.reference) expired.add(e.reference);
  }
  const isLot = (e: NonUsageEntry) => (e.kind === "purchase" || e.kind === "auto_top_up") && e.reference !== null;
  const lotReferences = new Set(entries.filter(isLot).map((e) => e.reference));
  // Usage entries sum to balance − (sum of the rest); every other negative entry except a lot's fee is a debit too.
  let debits = nonUsageSum - balance;
  for (const e of entries) {
    const lotFee = e.kind === "purchase_fee" && lotReferences.has(e.reference);
    if (e.amount < 0n && !lotFee) debits -= e.amount;
  }
  let credits = 0n;
  let lots = 0;
  let removed = 0n;
  for (const e of entries) {
    if (e.amount <= 0n) continue;
    const lotAmount = isLot(e) ? e.amount + (fees.get(e.reference!) ?? 0n) : e.amount;
    credits += lotAmount;
    if (!isLot(e) || e.created_at > cutoff || expired.has(`expiry:${e.reference}`)) continue;
    const left = clamp(credits - debits, 0n, maxMoney(lotAmount, 0n));
    balance = await postLedgerEntry(tx, {
      accountId,
      kind: "expiry",
      amount: -left,
      reference: `expiry:${e.reference}`,
      description:
        left > 0n
          ? `${displayUsd(left)} of the credits bought ${e.created_at.toISOString().slice(0, 10)} expired unused`
          : `The credits bought ${e.created_at.toISOString().slice(0, 10)} were used up before they expired`,
    });
    debits += left;
    removed += left;
    lots += 1;
  }
  return { lots, expired: removed, balance };
}

function clamp(value: Money, min: Money, max: Money): Money {
  return value < min ? min : value > max ? max : value;
}

/** `date` minus whole calendar months, as PostgreSQL's `- make_interval(months => n)` computes it (end-of-month clamped). */
function subtractMonths(date: Date, months: number): Date {
  const result = new Date(date);
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() - months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}
