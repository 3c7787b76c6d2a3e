import type { Queryable } from "../../persistence/sql.js";

export interface AccountRow {
  id: string;
  name: string;
  balance: bigint;
  held: bigint;
  created_at: Date;
}

export interface UserRow {
  id: string;
  account_id: string;
  email: string;
  created_at: Date;
}

/** An active account, or null (unknown or deleted). */
export async function findAccount(db: Queryable, accountId: string): Promise<AccountRow | null> {
  const [row] = await db.query<AccountRow>("select id, name, balance, held, created_at from account where id = $1 and deleted_at is null", [
    accountId,
  ]);
  return row ?? null;
}

/** The users who sign in to an account's dashboard (never their password hashes), oldest first. */
export function usersOf(db: Queryable, accountId: string): Promise<UserRow[]> {
  return db.query<UserRow>("select id, account_id, email, created_at from app_user where account_id = $1 order by created_at, id", [accountId]);
}
