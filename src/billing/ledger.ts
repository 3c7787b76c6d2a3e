import { AppError } from "../errors.js";
import type { Queryable } from "../persistence/sql.js";
import type { LedgerKind } from "./ledger-entry.entity.js";
import type { Money } from "./money.js";

export interface LedgerPosting {
  accountId: string;
  kind: LedgerKind;
  /** Signed: credits positive, debits negative. */
  amount: Money;
  /** The outside event this records (Stripe event id, grant id…); unique per kind, which makes postings exactly-once. */
  reference: string | null;
  description: string;
}

/**
 * Appends one entry to an account's ledger and moves its balance with it, atomically. Returns the new balance.
 * A second posting with the same kind and reference is refused with `conflict` and changes nothing.
 */
export async function postLedgerEntry(db: Queryable, posting: LedgerPosting): Promise<Money> {
  try {
    const [row] = await db.query<{ balance: bigint }>("select sy_post_ledger($1, $2, $3, $4, $5) as balance", [
      posting.accountId,
      posting.kind,
      posting.amount.toString(),
      posting.reference,
      posting.description,
    ]);
    return row.balance;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "23505") {
      throw new AppError("conflict", `The ledger already has a ${posting.kind} entry for ${posting.reference}.`, { cause: error });
    }
    if (code === "P0002") throw new AppError("not_found", "The account does not exist.", { cause: error });
    throw error;
  }
}

/** The account's balance and the sum of its ledger entries: equal, always (checked by tests after every billing test). */
export async function ledgerTotals(db: Queryable, accountId: string): Promise<{ balance: Money; ledgerSum: Money; held: Money }> {
  const [row] = await db.query<{ balance: bigint; held: bigint; ledger_sum: string }>(
    `select a.balance, a.held, coalesce((select sum(amount) from ledger_entry where account_id = a.id), 0)::text as ledger_sum
       from account a where a.id = $1`,
    [accountId],
  );
  if (!row) throw new AppError("not_found", "The account does not exist.");
  return { balance: row.balance, held: row.held, ledgerSum: BigInt(row.ledger_sum) };
}
