import type { LedgerKind } from "../../billing/ledger-entry.entity.js";
import type { Queryable } from "../../persistence/sql.js";

/** One `ledger_entry` row, as the GraphQL API shows it. */
export interface LedgerRow {
  id: bigint;
  account_id: string;
  kind: LedgerKind;
  amount: bigint;
  balance_after: bigint;
  reference: string | null;
  description: string;
  created_at: Date;
}

/**
 * One page of an account's ledger, newest first, in one query: `limit` entries with an id below `before` (the ids
 * only grow, so they order the ledger; served by the `(account_id, id)` index).
 */
export function ledgerPage(db: Queryable, accountId: string, before: bigint | null, limit: number): Promise<LedgerRow[]> {
  return db.query<LedgerRow>(
    `select id, account_id, kind, amount, balance_after, reference, description, created_at
       from ledger_entry
      where account_id = $1 and ($2::bigint is null or id < $2)
      order by id desc
      limit $3`,
    [accountId, before?.toString() ?? null, limit],
  );
}
