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
    | "deletedAt";

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
}
