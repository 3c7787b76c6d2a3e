import { BigIntType, Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * The counters of `rate-limiter-flexible`'s PostgreSQL store, in the exact shape that library reads and writes (key,
 * points, expiry in ms). Declared here so the table is created and checked by our migrations like any other.
 */
@Entity({ tableName: "rate_limit_counter" })
export class RateLimitCounter {
  @PrimaryKey({ type: "string", length: 255 })
  key!: string;

  @Property({ type: "integer", defaultRaw: "0" })
  points: number = 0;

  @Property({ type: new BigIntType("string"), nullable: true })
  expire: string | null = null;
}
