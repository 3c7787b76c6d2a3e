import { BigIntType, Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { Account } from "../accounts/account.entity.js";

/**
 * Credits reserved for a request in flight: the worst-case cost, counted in `account.held` (and the key's `held`) until
 * the request settles. A hold whose process died is released by the reaper once `expiresAt` has passed.
 */
@Entity({ tableName: "credit_hold" })
@Index({ properties: ["expiresAt"] })
export class CreditHold {
  [OptionalProps]?: "keyHash" | "createdAt";

  @PrimaryKey({ type: "uuid" })
  id!: string;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  /** The key whose limit also carries this hold (no foreign key: deleting a key must not lose the hold). */
  @Property({ type: "character", length: 64, nullable: true })
  keyHash: string | null = null;

  @Property({ type: new BigIntType("bigint") })
  amount!: bigint;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz" })
  expiresAt!: Date;
}
