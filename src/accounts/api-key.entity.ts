import { PrimaryKeyProp, BigIntType, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { Account } from "./account.entity.js";

export const API_KEY_KINDS = ["inference", "management"] as const;
export type ApiKeyKind = (typeof API_KEY_KINDS)[number];

export const LIMIT_RESETS = ["daily", "weekly", "monthly"] as const;
export type LimitReset = (typeof LIMIT_RESETS)[number];

/**
 * An API key, identified by the SHA-256 hex of its plaintext; the plaintext itself is never stored. Inference keys call
 * models and read their account; management keys only manage keys.
 *
 * Usage counters are in picodollars. The period counters (`usageDaily` …) belong to the period that starts at
 * `usageDay` / `usageWeek` / `usageMonth` (UTC dates; null before the first usage); a counter whose period has passed
 * reads as zero and is reset by the next settlement.
 */
@Entity({ tableName: "api_key" })
@Index({ properties: ["account"] })
export class ApiKey {
  [PrimaryKeyProp]?: "hash";
  [OptionalProps]?:
    | "disabled"
    | "limit"
    | "limitReset"
    | "usage"
    | "usageDaily"
    | "usageWeekly"
    | "usageMonthly"
    | "usageDay"
    | "usageWeek"
    | "usageMonth"
    | "held"
    | "expiresAt"
    | "createdAt"
    | "updatedAt"
    | "creatorUserId";

  @PrimaryKey({ type: "character", length: 64 })
  hash!: string;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  @Property({ type: "text" })
  name!: string;

  /** A recognisable, non-secret rendering of the key: `sk-sy-v1-abc…xyz`. */
  @Property({ type: "text" })
  label!: string;

  @Enum({ items: () => API_KEY_KINDS, type: "text" })
  kind!: ApiKeyKind;

  @Property({ type: "boolean", defaultRaw: "false" })
  disabled: boolean = false;

  /** Spending limit in picodollars for the current `limitReset` period (or for all time when there is none). */
  @Property({ type: new BigIntType("bigint"), nullable: true })
  limit: bigint | null = null;

  @Enum({ items: () => LIMIT_RESETS, type: "text", nullable: true })
  limitReset: LimitReset | null = null;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  usage: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  usageDaily: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  usageWeekly: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  usageMonthly: bigint = 0n;

  @Property({ type: "date", nullable: true })
  usageDay: string | null = null;

  @Property({ type: "date", nullable: true })
  usageWeek: string | null = null;

  @Property({ type: "date", nullable: true })
  usageMonth: string | null = null;

  /** Sum of this key's open credit holds, counted against its limit. */
  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  held: bigint = 0n;

  @Property({ type: "timestamptz", nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", nullable: true })
  updatedAt: Date | null = null;

  @Property({ type: "uuid", nullable: true })
  creatorUserId: string | null = null;
}
