import { postLedgerEntry } from "../billing/ledger.js";
import type { Money } from "../billing/money.js";
import { AppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { Sql } from "../persistence/sql.js";

export interface DeletedAccount {
  accountId: string;
  /** Unused credits written off by the `forfeit` entry (0 when the balance was not positive). */
  forfeited: Money;
  /** A negative balance left standing on the deleted account's ledger (0 when there was none). */
  debt: Money;
  /** Hashes of the API keys deleted with the account. */
  deletedKeys: string[];
}

/** What a deleted account is called from then on; its name was often its owner's email. */
const DELETED_NAME = "Deleted account";

/**
 * Deletes an account, in one transaction:
 * - its API keys, sessions and users (emails, password hashes) are deleted;
 * - the text of logged prompts and completions is deleted; generation records keep their metadata (times, model,
 *   provider, tokens, cost, key hash), which holds no personal data, for the operator's accounting and statistics;
 * - a positive balance is forfeited with one `forfeit` ledger entry, so the balance becomes 0 and still equals the sum
 *   of the ledger; a negative balance stays as the account's debt (deleting an account does not write off what it owes);
 * - the account row stays, marked `deletedAt`, with its name scrubbed, prompt logging off, and auto top-up off with no
 *   saved payment method, so nothing charges or credits it again. The ledger and purchase records stay: they are the
 *   financial record.
 * Afterwards `account.changed` and `key.changed` are published so authentication caches drop the keys on every node.
 *
 * Refused with `conflict` while requests of the account hold credits (in flight), since their settlement would land
 * after the forfeit; the holds clear when the requests finish (or when the reaper releases them). This node's idle
 * credit leases are given back first; another node's, if any, within a few seconds of going idle.
 */
export class AccountDeletionService {
  constructor(
    private readonly sql: Sql,
    private readonly bus: EventBus,
    /** This node's credits: commits the account's settlements and gives back its idle leases first. */
    private readonly credits: { retire(accountId: string): Promise<void> },
  ) {}

  async deleteAccount(accountId: string): Promise<DeletedAccount> {
    await this.credits.retire(accountId);
    const result = await this.sql.transaction(async (tx) => {
      const [account] = await tx.query<{ balance: bigint; held: bigint }>(
        "select balance, held from account where id = $1 and deleted_at is null for update",
        [accountId],
      );
      if (!account) throw new AppError("not_found", "The account does not exist.");
      if (account.held > 0n) {
        throw new AppError("conflict", "The account has requests in progress. Try again when they have finished.");
      }
      let forfeited = 0n;
      if (account.balance > 0n) {
        forfeited = account.balance;
        await postLedgerEntry(tx, {
          accountId,
          kind: "forfeit",
          amount: -forfeited,
          reference: `account-deleted:${accountId}`,
          description: "Unused credits forfeited when the account was deleted",
        });
      }
      const keys = await tx.query<{ hash: string }>("delete from api_key where account_id = $1 returning hash", [accountId]);
      await tx.query("delete from session where account_id = $1", [accountId]);
      await tx.query("delete from app_user where account_id = $1", [accountId]);
      await tx.query(
        `update generation set prompt_text = null, completion_text = null
          where account_id = $1 and (prompt_text is not null or completion_text is not null)`,
        [accountId],
      );
      await tx.query(
        `update account
            set deleted_at = now(), name = $2, log_prompts = false,
                auto_top_up_enabled = false, stripe_payment_method_id = null
          where id = $1`,
        [accountId, DELETED_NAME],
      );
      return { accountId, forfeited, debt: account.balance < 0n ? -account.balance : 0n, deletedKeys: keys.map((k) => k.hash) };
    });
    this.bus.publish("account.changed", { accountId });
    for (const hash of result.deletedKeys) this.bus.publish("key.changed", { hash });
    if (result.forfeited > 0n) this.bus.publish("balance.changed", { accountId, balance: "0" });
    return result;
  }
}
