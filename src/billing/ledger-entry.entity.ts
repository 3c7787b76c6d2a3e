import { BigIntType, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from "@mikro-orm/core";
import { Account } from "../accounts/account.entity.js";

export const LEDGER_KINDS = [
  "purchase",
  "purchase_fee",
  "grant",
  "usage",
  "refund",
  "expiry",
  "adjustment",
  "auto_top_up",
  "forfeit",
] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * One append-only movement of an account's credits (picodollars; credits positive, debits negative). Entries are never
 * updated or deleted; `balanceAfter` is the account balance right after this entry, so the history can be audited
 * without summing. `(kind, reference)` is unique, which is what makes webhook credits and settlements exactly-once.
 */
@Entity({ tableName: "ledger_entry" })
@Index({ properties: ["account", "id"] })
@Unique({ properties: ["kind", "reference"] })
// Everything but usage: purchases, fees, grants, expiries… A few rows per account, so totals (`GET /credits`) and expiry
// never scan an account's usage entries (usage total = that sum − balance).
@Index({
  name: "ledger_entry_non_usage_index",
  expression: `create index "ledger_entry_non_usage_index" on "ledger_entry" ("account_id", "id") where "kind" <> 'usage'`,
})
export class LedgerEntry {
  [OptionalProps]?: "id" | "reference" | "description" | "createdAt";

  @PrimaryKey({ type: new BigIntType("bigint"), autoincrement: true })
  id!: bigint;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  @Enum({ items: () => LEDGER_KINDS, type: "text" })
  kind!: LedgerKind;

  @Property({ type: new BigIntType("bigint") })
  amount!: bigint;

  @Property({ type: new BigIntType("bigint") })
  balanceAfter!: bigint;

  /** The outside event this entry records: a generation id, a Stripe event id, a CLI grant id. */
  @Property({ type: "text", nullable: true })
  reference: string | null = null;

  @Property({ type: "text", defaultRaw: "''" })
  description: string = "";

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();
}
