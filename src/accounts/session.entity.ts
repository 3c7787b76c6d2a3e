import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, PrimaryKeyProp, Property } from "@mikro-orm/core";
import { Account } from "./account.entity.js";
import { User } from "./user.entity.js";

/**
 * A dashboard session, identified by the SHA-256 hex of its cookie token; the token itself is never stored, so a copy
 * of this table lets no one in. Deleting the row ends the session (logout, account deletion).
 *
 * `expiresAt` slides forward with use (idle timeout) but never past `createdAt` plus the configured maximum age.
 */
@Entity({ tableName: "session" })
@Index({ properties: ["user"] })
@Index({ properties: ["account"] })
export class Session {
  [PrimaryKeyProp]?: "tokenHash";
  [OptionalProps]?: "createdAt" | "lastSeenAt" | "userAgent";

  @PrimaryKey({ type: "character", length: 64 })
  tokenHash!: string;

  @ManyToOne(() => User, { deleteRule: "cascade" })
  user!: User;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz" })
  expiresAt!: Date;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  lastSeenAt: Date = new Date();

  /** The browser's `User-Agent` at login (truncated), so a user can tell their sessions apart. */
  @Property({ type: "text", nullable: true })
  userAgent: string | null = null;
}
