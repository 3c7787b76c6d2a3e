import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreditExpiry } from "../../src/billing/credit-expiry.service.js";
import { postLedgerEntry } from "../../src/billing/ledger.js";
import { parseUsd } from "../../src/billing/money.js";
import { expectLedgerBalanced, ledgerOf, type TestAccount, type TestApp } from "../helpers/app.js";
import { buyCredits, startStripeApp, type StripeApp, type StripeFake } from "../helpers/stripe-fake.js";

const usd = parseUsd;
const MONTH_MS = 31 * 24 * 3600 * 1000;

/**
 * Purchased credits expire a year after purchase, oldest consumed first. Lots are made old by moving their ledger
 * entries' timestamps back (the only way to buy something 13 months ago in a test); everything else goes through the
 * real checkout and webhook.
 */
describe("expiry of purchased credits", () => {
  let stripe: StripeApp;
  let fake: StripeFake;
  let t: TestApp;
  beforeAll(async () => {
    stripe = await startStripeApp();
    ({ t, fake } = stripe);
  });
  afterAll(() => stripe?.close());

  /** Buys credits, then pretends the purchase happened `monthsAgo` months ago. Returns the lot's reference. */
  const lot = async (user: TestAccount, amount: number, monthsAgo: number) => {
    const { intent } = await buyCredits(t, fake, user, amount);
    await t.app.db.sql.query(`update ledger_entry set created_at = now() - make_interval(months => $2) where reference = $1`, [intent.id, monthsAgo]);
    return intent.id as string;
  };
  const use = (user: TestAccount, amount: string, n: number) =>
    postLedgerEntry(t.app.db.sql, { accountId: user.accountId, kind: "usage", amount: -usd(amount), reference: `gen-${user.accountId}-${n}`, description: "test usage" });
  const expiries = async (user: TestAccount) => (await ledgerOf(t.app, user.accountId)).filter((e) => e.kind === "expiry");

  it("expires what is left of a year-old purchase after usage ate the oldest credits first, exactly once", async () => {
    const user = await t.account({ credits: "0" });
    await t.app.accounts.grantCredits(user.accountId, usd("1"), "welcome grant");
    await t.app.db.sql.query("update ledger_entry set created_at = now() - interval '14 months' where account_id = $1", [user.accountId]);
    const old = await lot(user, 10, 13);
    const recent = await lot(user, 5, 1);
    await use(user, "4", 1); // eats the $1 grant, then $3 of the old lot

    const [a, b] = await Promise.all([t.app.expiry.expireDue(), t.app.expiry.expireDue()]);
    expect(a.lots + b.lots).toBe(1);
    expect(a.expired + b.expired).toBe(usd("7"));
    expect(await t.app.expiry.expireDue()).toEqual({ lots: 0, expired: 0n });
    const [expiry] = await expiries(user);
    expect(await expiries(user)).toEqual([
      { kind: "expiry", amount: -usd("7"), reference: `expiry:${old}`, description: expect.stringMatching(/^\$7\.00 of the credits bought \d{4}-\d\d-\d\d expired unused$/) },
    ]);
    expect(expiry.reference).toBe(`expiry:${old}`);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("5"));
    // Expiries are not usage: they lower total_credits.
    expect(await (await t.fetch("/api/v1/credits", { key: user.key })).json()).toEqual({ data: { total_credits: 9, total_usage: 4 } });

    // A year on, the recent lot expires too, minus what later usage took from it; the grant never expires.
    await use(user, "2", 2);
    const later = new Date(Date.now() + 12 * MONTH_MS);
    await t.app.expiry.expireDue(later);
    await t.app.expiry.expireDue(later);
    expect((await expiries(user)).map((e) => [e.amount, e.reference])).toEqual([
      [-usd("7"), `expiry:${old}`],
      [-usd("3"), `expiry:${recent}`],
    ]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(0n);
  });

  it("marks a lot that usage used up before it expired with a zero entry, once", async () => {
    const user = await t.account({ credits: "0" });
    const spent = await lot(user, 10, 13);
    await use(user, "10.5", 1); // all of it and half a dollar more: the balance is negative
    await t.app.expiry.expireDue();
    await t.app.expiry.expireDue();
    expect(await expiries(user)).toEqual([
      { kind: "expiry", amount: 0n, reference: `expiry:${spent}`, description: expect.stringMatching(/were used up before they expired$/) },
    ]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(-usd("0.5"));
  });

  it("never expires grants, and leaves purchases younger than a year alone", async () => {
    const user = await t.account({ credits: "3" });
    await t.app.db.sql.query("update ledger_entry set created_at = now() - interval '5 years' where account_id = $1", [user.accountId]);
    await lot(user, 10, 11);
    await t.app.expiry.expireDue();
    expect(await expiries(user)).toEqual([]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("13"));
  });

  it("expires auto top-ups like purchases, net of their fee", async () => {
    const user = await t.account({ credits: "0" });
    const purchaseId = crypto.randomUUID();
    await t.app.purchases.creditPayment({
      kind: "auto_top_up",
      accountId: user.accountId,
      purchaseId,
      paymentIntentId: `pi_auto_${purchaseId}`,
      checkoutSessionId: null,
      amount: usd("20"),
      fee: usd("1.1"),
    });
    await t.app.db.sql.query("update ledger_entry set created_at = now() - interval '13 months' where account_id = $1", [user.accountId]);
    await use(user, "0.25", 1);
    await t.app.expiry.expireDue();
    expect((await expiries(user)).map((e) => [e.amount, e.reference])).toEqual([[-usd("19.75"), `expiry:pi_auto_${purchaseId}`]]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(0n);
  });

  it("runs on a schedule", async () => {
    const user = await t.account({ credits: "0" });
    const old = await lot(user, 2, 13);
    const job = new CreditExpiry({ sql: t.app.db.sql, clock: { now: () => Date.now() }, bus: t.app.bus, log: { warn: () => {}, error: () => {} }, expiryMonths: 12 });
    job.start(1000);
    try {
      for (let i = 0; i < 100 && (await expiries(user)).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await job.stop();
    }
    expect((await expiries(user)).map((e) => [e.amount, e.reference])).toEqual([[-usd("2"), `expiry:${old}`]]);
    await expectLedgerBalanced(t.app, user.accountId);
  });
});
