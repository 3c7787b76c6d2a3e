import { BigIntType, Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * Daily usage roll-up: one row per account, UTC day, key, model and provider, kept up to date by each settlement (in
 * the same statement), so activity queries read a few rows per day instead of scanning generations.
 * `keyHash` is the empty string for requests made without a key (dashboard sessions).
 */
@Entity({ tableName: "activity_day" })
export class ActivityDay {
  @PrimaryKey({ type: "uuid" })
  accountId!: string;

  @PrimaryKey({ type: "date" })
  day!: string;

  @PrimaryKey({ type: "string", length: 64 })
  keyHash!: string;

  @PrimaryKey({ type: "text" })
  model!: string;

  @PrimaryKey({ type: "text" })
  provider!: string;

  @Property({ type: "integer", defaultRaw: "0" })
  requests: number = 0;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  promptTokens: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  completionTokens: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  reasoningTokens: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  cost: bigint = 0n;
}
