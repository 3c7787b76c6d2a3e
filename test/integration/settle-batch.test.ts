import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySettlements, generationRow, type SettlementItem } from "../../src/billing/settlement-batcher.js";
import { startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { TEST_CATALOG } from "../helpers/catalogs.js";
import { generationRecord } from "../helpers/generation-record.js";

const USD = 1_000_000_000_000n;

/**
 * The batch statement (sy_settle_batch) applies a batch set by set; these pin what it must give, item for item: each
 * settlement takes its cost out of its lease only up to what the lease still holds, each ledger entry carries the
 * balance after it, the key's usage and the daily roll-up add up, and a replayed batch changes nothing.
 */
describe("settling a batch", () => {
  let t: TestApp;
  let endpointId: string;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
    endpointId = [...t.app.catalog.snapshot().endpoints.keys()][0]!;
  });
  afterAll(() => t?.close());

  /** A lease of `amount` picodollars for the account and its key, placed as a node places one. */
  async function lease(user: TestAccount, amount: bigint): Promise<string> {
    const id = randomUUID();
    const [row] = await t.app.db.sql.query<{ outcome: string; amount: bigint }>("select outcome, amount from sy_lease($1, $2, $3, $4, $5, $6)", [
      id,
      user.accountId,
      user.keyHash,
      amount.toString(),
      amount.toString(),
      60_000,
    ]);
    expect(row).toMatchObject({ outcome: "ok" });
    return id;
  }

  function item(user: TestAccount, leaseId: string, cost: bigint, model = "test/chat"): SettlementItem {
    const record = generationRecord({ id: `gen-test-${randomUUID()}`, accountId: user.accountId, keyHash: user.keyHash, cost, endpointId, model });
    return { lease: leaseId, account: user.accountId, key: user.keyHash, cost: cost.toString(), description: "test", generation: generationRow(record) };
  }

  const state = async (user: TestAccount) => {
    const sql = t.app.db.sql;
    const [account] = await sql.query<{ balance: string; held: string }>("select balance::text, held::text from account where id = $1", [user.accountId]);
    const [key] = await sql.query<{ held: string; usage: string; usage_daily: string }>(
      "select held::text, usage::text, usage_daily::text from api_key where hash = $1",
      [user.keyHash],
    );
    const ledger = await sql.query<{ amount: string; balance_after: string; reference: string }>(
      "select amount::text, balance_after::text, reference from ledger_entry where account_id = $1 and kind = 'usage' order by id",
      [user.accountId],
    );
    const activity = await sql.query<{ model: string; requests: number; prompt_tokens: string; cost: string }>(
      "select model, requests, prompt_tokens::text, cost::text from activity_day where account_id = $1 order by model",
      [user.accountId],
    );
    return { account: account!, key: key!, ledger, activity };
  };

  it("takes each cost out of its lease up to what is left of it, and keeps the ledger's running balance", async () => {
    const user = await t.account({ credits: "10" });
    const leaseId = await lease(user, 5n * USD);
    // 2 + 2 + 3 USD against a 5 USD lease: the last one releases only the 1 USD left (the rest is charged beyond it).
    const items = [item(user, leaseId, 2n * USD), item(user, leaseId, 2n * USD), item(user, leaseId, 3n * USD, "test/other")];
    const balances = await applySettlements(t.app.db.sql, items);
    expect(balances.get(user.accountId)).toBe(3n * USD);
    const after = await state(user);
    expect(after.account).toEqual({ balance: String(3n * USD), held: "0" });
    expect(after.key).toEqual({ held: "0", usage: String(7n * USD), usage_daily: String(7n * USD) });
    const [leaseRow] = await t.app.db.sql.query<{ amount: string }>("select amount::text from credit_hold where id = $1", [leaseId]);
    expect(leaseRow?.amount).toBe("0");
    expect(after.ledger).toEqual(
      items.map((it, i) => ({ amount: `-${it.cost}`, balance_after: String([8n, 6n, 3n][i]! * USD), reference: it.generation.id })),
    );
    expect(after.activity).toEqual([
      { model: "test/chat", requests: 2, prompt_tokens: "20", cost: String(4n * USD) },
      { model: "test/other", requests: 1, prompt_tokens: "10", cost: String(3n * USD) },
    ]);
  });

  it("changes nothing when a batch is replayed, and settles only the new items of a mixed one", async () => {
    const user = await t.account({ credits: "10" });
    const leaseId = await lease(user, 1n * USD);
    const first = [item(user, leaseId, USD / 4n), item(user, leaseId, USD / 4n)];
    await applySettlements(t.app.db.sql, first);
    const settled = await state(user);
    expect(await applySettlements(t.app.db.sql, first)).toEqual(new Map());
    expect(await state(user)).toEqual(settled);
    const extra = item(user, leaseId, USD / 4n);
    expect((await applySettlements(t.app.db.sql, [...first, extra])).get(user.accountId)).toBe(10n * USD - (3n * USD) / 4n);
    const after = await state(user);
    expect(after.ledger.map((e) => e.balance_after)).toEqual([USD * 10n - USD / 4n, USD * 10n - USD / 2n, USD * 10n - (3n * USD) / 4n].map(String));
    expect(after.account.held).toBe(String(USD / 4n));
    expect(after.activity).toEqual([{ model: "test/chat", requests: 3, prompt_tokens: "30", cost: String((3n * USD) / 4n) }]);
  });

  it("settles several accounts in one batch and returns each final balance", async () => {
    const [a, b] = [await t.account({ credits: "10" }), await t.account({ credits: "10" })];
    const [la, lb] = [await lease(a, USD), await lease(b, USD)];
    const balances = await applySettlements(t.app.db.sql, [item(b, lb, USD / 2n), item(a, la, USD / 10n), item(b, lb, USD / 2n)]);
    expect(balances).toEqual(
      new Map([
        [a.accountId, 10n * USD - USD / 10n],
        [b.accountId, 9n * USD],
      ]),
    );
    expect((await state(b)).ledger.map((e) => e.balance_after)).toEqual([String(10n * USD - USD / 2n), String(9n * USD)]);
  });
});
