import type { Money } from "../billing/money.js";
import type { Clock } from "../core/ports.js";
import type { EventBus } from "../events/event-bus.js";
import type { Sql } from "../persistence/sql.js";
import type { BalanceSource } from "./rate-limits.js";

/**
 * Account balances for rate limiting, from memory: each settlement, purchase or grant publishes the new balance on
 * the bus, and an entry older than `ttlMs` is read again from the database. Rate limits only need the balance
 * roughly (whole dollars); credit holds use the exact one in the database.
 */
export class BalanceCache implements BalanceSource {
  private readonly entries = new Map<string, { balance: Money; at: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly sql: Sql,
    bus: EventBus,
    private readonly clock: Clock,
    private readonly ttlMs = 10_000,
  ) {
    this.unsubscribe = bus.subscribe("balance.changed", ({ accountId, balance }) => {
      this.entries.set(accountId, { balance: BigInt(balance), at: this.clock.now() });
    });
  }

  async balance(accountId: string): Promise<Money> {
    const now = this.clock.now();
    const entry = this.entries.get(accountId);
    if (entry && now - entry.at <= this.ttlMs) return entry.balance;
    const [row] = await this.sql.query<{ balance: bigint }>("select balance from account where id = $1", [accountId]);
    const balance = row?.balance ?? 0n;
    this.entries.set(accountId, { balance, at: now });
    return balance;
  }

  close(): void {
    this.unsubscribe();
  }
}
