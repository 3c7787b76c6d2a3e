import { BigIntType, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { Account } from "../accounts/account.entity.js";

export const PURCHASE_KINDS = ["checkout", "auto_top_up"] as const;
export type PurchaseKind = (typeof PURCHASE_KINDS)[number];

export const PURCHASE_STATUSES = ["pending", "completed", "failed", "expired"] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];

/**
 * One attempt to buy credits through Stripe: a Checkout Session, or an auto top-up's off-session PaymentIntent. Written
 * `pending` before Stripe is called and moved on by the webhook (or by the failure). The ledger, not this row, is the
 * record of money: a payment is credited by its `purchase`/`auto_top_up` entry, whose reference is the PaymentIntent id.
 * Amounts are picodollars, always whole cents.
 */
@Entity({ tableName: "credit_purchase" })
@Index({ properties: ["account", "createdAt"] })
export class CreditPurchase {
  [OptionalProps]?: "id" | "status" | "stripeCheckoutSessionId" | "stripePaymentIntentId" | "error" | "createdAt" | "completedAt";

  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  @Enum({ items: () => PURCHASE_KINDS, type: "text" })
  kind!: PurchaseKind;

  @Enum({ items: () => PURCHASE_STATUSES, type: "text", default: "pending" })
  status: PurchaseStatus = "pending";

  /** The credits bought. */
  @Property({ type: new BigIntType("bigint") })
  amount!: bigint;

  /** The platform fee charged on top. */
  @Property({ type: new BigIntType("bigint") })
  fee!: bigint;

  @Property({ type: "text", nullable: true, unique: true })
  stripeCheckoutSessionId: string | null = null;

  @Property({ type: "text", nullable: true, unique: true })
  stripePaymentIntentId: string | null = null;

  /** Why the payment failed (the processor's message), for failed auto top-ups. */
  @Property({ type: "text", nullable: true })
  error: string | null = null;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", nullable: true })
  completedAt: Date | null = null;
}
