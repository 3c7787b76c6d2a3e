import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { Account } from "./account.entity.js";

/** A person who signs in to an account's dashboard. The password hash is hidden and lazy: never serialised or loaded by default. */
@Entity({ tableName: "app_user" })
export class User {
  [OptionalProps]?: "id" | "passwordHash" | "createdAt";

  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  /** Stored lower-cased. */
  @Property({ type: "text", unique: true })
  email!: string;

  @Property({ type: "text", nullable: true, hidden: true, lazy: true })
  passwordHash: string | null = null;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();
}
