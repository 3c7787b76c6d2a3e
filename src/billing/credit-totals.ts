import { AppError } from "../errors.js";
import type { Queryable } from "../persistence/sql.js";
import type { Money } from "./money.js";

/**
 * An account's credits and usage, as `GET /credits` reports them: `totalCredits` is the sum of every ledger entry that
 * is not usage — purchases net of their fees (the fee is charged on top, so it is paid in and taken out again), auto
 * top-ups, grants, refunds, adjustments, and minus expiries and forfeits; `totalUsage` is what usage has debited. Their
 * difference is the balance.
 *
 * One statement, so it sees one snapshot; it reads only the non-usage entries (a partial index) and gets the usage
 * total from the balance, which always equals the sum of the entries.
 */
export async function creditTotals(db: Queryable, accountId: string): Promise<{ totalCredits: Money; totalUsage: Money; balance: Money }> {
  const [row] = await db.query<{ balance: bigint; credits: string }>(
    `select a.balance,
            coalesce((select sum(l.amount) from ledger_entry l where l.account_id = a.id and l.kind <> 'usage'), 0)::text as credits
       from account a where a.id = $1`,
    [accountId],
  );
  if (!row) throw new AppError("not_found", "The account does not exist.");
  const totalCredits = BigInt(row.credits);
  return { totalCredits, totalUsage: totalCredits - row.balance, balance: row.balance };
}
