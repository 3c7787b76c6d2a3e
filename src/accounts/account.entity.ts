import { BigIntType, Entity, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";

/**
 * An account holds prepaid credits and owns users, API keys, ledger entries and generations. `balance` is a cached
 * copy of the sum of the account's ledger entries, kept in step in the same statement that appends each entry;
 * `held` is the sum of its open credit holds. Money is in picodollars (see `billing/money.ts`).
 */
@Entity({ tableName: "account" })
export class Account {
  [OptionalProps]?:
    | "id"
    | "balance"
    | "held"
    | "allowTraining"
    | "allowFreeTraining"
    | "allowRetention"
    | "allowedProviders"
    | "ignoredProviders"
    | "logPrompts"
    | "createdAt"
    | "deletedAt"
    | "stripeCustomerId"
    | "stripePaymentMethodId"
    | "autoTopUpEnabled"
    | "autoTopUpThreshold"
    | "autoTopUpAmount"
    | "autoTopUpPending"
    | "autoTopUpPendingSince"
    | "autoTopUpFailures"
    | "autoTopUpLastError"
    | "autoTopUpLastErrorAt";

  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "text" })
  name!: string;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  balance: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  held: bigint = 0n;

  /** Allow paid endpoints whose provider may train on prompts. */
  @Property({ type: "boolean", defaultRaw: "false" })
  allowTraining: boolean = false;

  /** Allow free endpoints whose provider may train on prompts (free capacity is often paid for this way). */
  @Property({ type: "boolean", defaultRaw: "true" })
  allowFreeTraining: boolean = true;

  /** Allow endpoints whose provider retains prompts (anything but zero data retention). */
  @Property({ type: "boolean", defaultRaw: "true" })
  allowRetention: boolean = true;

  /** When set, only these provider slugs may serve this account. */
  @Property({ type: "text[]", nullable: true })
  allowedProviders: string[] | null = null;

  @Property({ type: "text[]", defaultRaw: "'{}'" })
  ignoredProviders: string[] = [];

  /** Opt-in to storing prompt and completion text with each generation (1% usage discount). */
  @Property({ type: "boolean", defaultRaw: "false" })
  logPrompts: boolean = false;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", nullable: true })
  deletedAt: Date | null = null;

  /** The Stripe customer that pays for this account's credits, created at its first checkout. */
  @Property({ type: "text", nullable: true, unique: true })
  stripeCustomerId: string | null = null;

  /** The payment method auto top-up charges: the card saved at the last checkout, or one set in the settings. */
  @Property({ type: "text", nullable: true })
  stripePaymentMethodId: string | null = null;

  /** Auto top-up: when a settlement leaves the balance below `autoTopUpThreshold`, buy `autoTopUpAmount` of credits. */
  @Property({ type: "boolean", defaultRaw: "false" })
  autoTopUpEnabled: boolean = false;

  @Property({ type: new BigIntType("bigint"), nullable: true })
  autoTopUpThreshold: bigint | null = null;

  @Property({ type: new BigIntType("bigint"), nullable: true })
  autoTopUpAmount: bigint | null = null;

  /** The `credit_purchase` of the auto top-up in flight; while set, no other top-up starts (one at a time). */
  @Property({ type: "uuid", nullable: true })
  autoTopUpPending: string | null = null;

  @Property({ type: "timestamptz", nullable: true })
  autoTopUpPendingSince: Date | null = null;

  /** Consecutive failed auto top-ups; at the configured maximum auto top-up pauses until the settings are saved. */
  @Property({ type: "integer", defaultRaw: "0" })
  autoTopUpFailures: number = 0;

  @Property({ type: "text", nullable: true })
  autoTopUpLastError: string | null = null;

  @Property({ type: "timestamptz", nullable: true })
  autoTopUpLastErrorAt: Date | null = null;
}
