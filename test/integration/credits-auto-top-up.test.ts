import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AutoTopUpService } from "../../src/billing/auto-top-up.service.js";
import { parseUsd } from "../../src/billing/money.js";
import { createStripeClient } from "../../src/billing/stripe-client.js";
import { expectLedgerBalanced, ledgerOf, type TestAccount, type TestApp } from "../helpers/app.js";
import { chatBody } from "../helpers/catalogs.js";
import { buyCredits, deliver, startStripeApp, type Json, type StripeApp, type StripeFake } from "../helpers/stripe-fake.js";

const usd = parseUsd;

describe("auto top-up", () => {
  let stripe: StripeApp;
  let fake: StripeFake;
  let t: TestApp;
  beforeAll(async () => {
    stripe = await startStripeApp({ DATABASE_POOL_SIZE: "20" });
    ({ t, fake } = stripe);
  });
  afterAll(() => stripe?.close());

  const settings = async (user: TestAccount) => (await (await t.fetch("/api/v1/credits/auto-top-up", { key: user.key })).json()).data;
  const save = (user: TestAccount, body: unknown) => t.fetch("/api/v1/credits/auto-top-up", { method: "PUT", key: user.key, body });
  /** The PaymentIntents Switchyard asked Stripe for on behalf of this account. */
  const intentRequests = (user: TestAccount) => fake.requests.filter((r) => r.path === "/v1/payment_intents" && r.params.metadata?.account_id === user.accountId);
  /** An account that bought `amount` of credits with a card, which is now saved for auto top-up. */
  const payingAccount = async (amount = 10) => {
    const user = await t.account({ credits: "0" });
    const { intent } = await buyCredits(t, fake, user, amount);
    return { user, card: intent.payment_method as string };
  };
  /** Another node's auto top-up service on the same database and Stripe account. */
  const otherNode = () =>
    new AutoTopUpService({
      sql: t.app.db.sql,
      stripe: createStripeClient(t.app.config.stripe),
      settings: t.app.config.credits,
      log: { warn: () => {}, error: () => {} },
    });

  it("shows the settings, and enables auto top-up only with a threshold, an amount and a saved card", async () => {
    const user = await t.account({ credits: "1" });
    expect(await settings(user)).toEqual({
      enabled: false,
      threshold: null,
      amount: null,
      fee: null,
      payment_method_id: null,
      status: "disabled",
      consecutive_failures: 0,
      max_failures: 3,
      last_error: null,
      last_error_at: null,
    });
    const noCard = await save(user, { enabled: true, threshold: 5, amount: 20 });
    expect(noCard.status).toBe(400);
    expect((await noCard.json()).error.message).toBe(
      "Auto top-up needs a saved card: buy credits once through checkout with a card (it is saved for auto top-up), or give payment_method_id.",
    );
    const invalid: Array<[unknown, string]> = [
      [{ threshold: 5, amount: 20 }, "enabled must be true or false."],
      [{ enabled: true, threshold: -1, amount: 20 }, "threshold must be between 0 and 1000000 USD, got -1."],
      [{ enabled: true, threshold: 5, amount: 0.5 }, "amount must be between 1 and 5000 USD, got 0.5."],
      [{ enabled: true, amount: 20 }, "threshold is required to enable auto top-up."],
      [{ enabled: true, threshold: 5, amount: 20, payment_method_id: "card_123" }, "payment_method_id must be a Stripe payment method id (pm_…)."],
    ];
    for (const [body, message] of invalid) {
      const response = await save(user, body);
      expect(response.status).toBe(400);
      expect((await response.json()).error.message).toBe(message);
    }

    const { user: payer, card } = await payingAccount();
    const saved = await save(payer, { enabled: true, threshold: "5", amount: 20 });
    expect(saved.status).toBe(200);
    expect((await saved.json()).data).toEqual({
      enabled: true,
      threshold: 5,
      amount: 20,
      fee: 1.1,
      payment_method_id: card,
      status: "active",
      consecutive_failures: 0,
      max_failures: 3,
      last_error: null,
      last_error_at: null,
    });
    // A payment method that is not the account's own is refused.
    const stranger = fake.addPaymentMethod("cus_someone_else");
    const foreign = await save(payer, { enabled: true, threshold: 5, amount: 20, payment_method_id: stranger.id });
    expect(foreign.status).toBe(400);
    expect((await foreign.json()).error.message).toBe(`Payment method ${stranger.id} is not saved to this account.`);
    expect((await save(payer, { enabled: false })).status).toBe(200);
    expect(await settings(payer)).toMatchObject({ enabled: false, threshold: 5, amount: 20, status: "disabled" });
    expect(intentRequests(payer)).toEqual([]);
    await expectLedgerBalanced(t.app, user.accountId);
    await expectLedgerBalanced(t.app, payer.accountId);
  });

  it("charges the saved card once when 20 concurrent settlements take the balance below the threshold, and credits it on the webhook", async () => {
    const { user, card } = await payingAccount(10);
    // Any usage at all takes the balance below $10.
    expect((await save(user, { enabled: true, threshold: 10, amount: 20 })).status).toBe(200);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat", { provider: { order: ["alpha"] } }) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    await untilSettled(t, user.accountId, 20);
    await t.app.autoTopUp.idle();

    const requests = intentRequests(user);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    const [purchase] = await t.app.db.sql.query<{ id: string; status: string; amount: bigint; fee: bigint; stripe_payment_intent_id: string }>(
      "select id, status, amount, fee, stripe_payment_intent_id from credit_purchase where account_id = $1 and kind = 'auto_top_up'",
      [user.accountId],
    );
    expect(request.idempotencyKey).toBe(`auto-top-up:${purchase.id}`);
    expect(request.params).toEqual({
      amount: "2110",
      currency: "usd",
      customer: expect.stringMatching(/^cus_/),
      payment_method: card,
      off_session: "true",
      confirm: "true",
      description: "Switchyard credits (auto top-up)",
      metadata: { switchyard_purpose: "auto_top_up", account_id: user.accountId, purchase_id: purchase.id, credit_amount_usd: "20", fee_usd: "1.1" },
    });
    expect(purchase).toMatchObject({ status: "pending", amount: usd("20"), fee: usd("1.1") });
    expect((await settings(user)).status).toBe("pending");

    // While it is in flight, no node starts another: not this one after more usage, not others checking at once.
    await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat") });
    const nodes = [otherNode(), otherNode(), otherNode()];
    const outcomes = await Promise.all(nodes.flatMap((node) => Array.from({ length: 5 }, () => node.check(user.accountId))));
    expect(new Set(outcomes)).toEqual(new Set(["not_needed"]));
    await t.app.autoTopUp.idle();
    expect(intentRequests(user)).toHaveLength(1);

    const intent = fake.intents.get(purchase.stripe_payment_intent_id)!;
    const credited = await deliver(t, fake.event("payment_intent.succeeded", intent));
    expect(await credited.json()).toMatchObject({ result: "credited" });
    expect(await (await deliver(t, fake.event("payment_intent.succeeded", intent))).json()).toMatchObject({ result: "duplicate" });
    const entries = (await ledgerOf(t.app, user.accountId)).filter((e) => e.reference === intent.id);
    expect(entries).toEqual([
      { kind: "auto_top_up", amount: usd("21.1"), reference: intent.id, description: "Auto top-up: $20.00 + $1.10 platform fee, paid through Stripe" },
      { kind: "purchase_fee", amount: -usd("1.1"), reference: intent.id, description: "Platform fee on $20.00 of credits" },
    ]);
    expect(await settings(user)).toMatchObject({ status: "active", consecutive_failures: 0 });
    const { balance } = await expectLedgerBalanced(t.app, user.accountId);
    expect(balance).toBeGreaterThan(usd("29.99"));
    expect(balance).toBeLessThan(usd("30"));
  });

  it("never starts two top-ups when several nodes see the low balance at the same moment", async () => {
    const { user } = await payingAccount(10);
    expect((await save(user, { enabled: true, threshold: 5, amount: 10 })).status).toBe(200);
    await t.app.accounts.grantCredits(user.accountId, -usd("6"), "test: spent elsewhere");
    fake.latencyMs = 50;
    try {
      const nodes = [t.app.autoTopUp, otherNode(), otherNode(), otherNode()];
      const outcomes = await Promise.all(nodes.flatMap((node) => Array.from({ length: 5 }, () => node.check(user.accountId))));
      expect(outcomes.filter((o) => o === "started")).toHaveLength(1);
    } finally {
      fake.latencyMs = 0;
    }
    expect(intentRequests(user)).toHaveLength(1);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("records declined charges once each, shows them, and pauses after 3 in a row until the settings are saved again", async () => {
    const { user, card } = await payingAccount(10);
    fake.declining.add(card);
    // The balance is already below the new threshold, so saving starts a top-up at once — which is declined.
    expect((await save(user, { enabled: true, threshold: 50, amount: 10 })).status).toBe(200);
    await t.app.autoTopUp.idle();
    const first = await settings(user);
    expect(first).toMatchObject({ status: "active", consecutive_failures: 1, last_error: "Your card was declined. (generic_decline)" });
    expect(Date.parse(first.last_error_at)).toBeGreaterThan(Date.now() - 60_000);

    // Stripe also sends payment_intent.payment_failed for that intent: the same failure, not a second one.
    const declined = [...fake.intents.values()].find((i) => i.metadata.account_id === user.accountId && i.status === "requires_payment_method")!;
    expect(await (await deliver(t, fake.event("payment_intent.payment_failed", declined))).json()).toMatchObject({ result: "recorded" });
    expect((await settings(user)).consecutive_failures).toBe(1);

    expect(await t.app.autoTopUp.check(user.accountId)).toBe("failed");
    expect(await t.app.autoTopUp.check(user.accountId)).toBe("failed");
    expect(await settings(user)).toMatchObject({ status: "paused", consecutive_failures: 3 });
    // Paused: neither a check nor more usage tries again.
    expect(await t.app.autoTopUp.check(user.accountId)).toBe("not_needed");
    await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat") });
    await t.app.autoTopUp.idle();
    expect(intentRequests(user)).toHaveLength(3);
    const failed = await t.app.db.sql.query<{ status: string; error: string }>(
      "select status, error from credit_purchase where account_id = $1 and kind = 'auto_top_up' order by created_at",
      [user.accountId],
    );
    expect(failed).toEqual(Array(3).fill({ status: "failed", error: "Your card was declined. (generic_decline)" }));

    // The card is fixed and the settings saved again: auto top-up resumes (and starts at once, the balance being low).
    fake.declining.delete(card);
    expect((await (await save(user, { enabled: true, threshold: 50, amount: 10 })).json()).data).toMatchObject({ consecutive_failures: 0 });
    await t.app.autoTopUp.idle();
    expect(await settings(user)).toMatchObject({ status: "pending", consecutive_failures: 0, last_error: "Your card was declined. (generic_decline)" });
    expect(intentRequests(user)).toHaveLength(4);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("records a Stripe outage and a payment that fails after it was created, and releases the pending top-up", async () => {
    const { user } = await payingAccount(10);
    expect((await save(user, { enabled: true, threshold: 5, amount: 10 })).status).toBe(200);
    await t.app.accounts.grantCredits(user.accountId, -usd("6"), "test: spent elsewhere");

    fake.failIntentsWith = 500;
    try {
      expect(await t.app.autoTopUp.check(user.accountId)).toBe("failed");
    } finally {
      fake.failIntentsWith = null;
    }
    expect(await settings(user)).toMatchObject({ status: "active", consecutive_failures: 1, last_error: "An unknown error occurred (fake outage)." });

    expect(await t.app.autoTopUp.check(user.accountId)).toBe("started");
    expect((await settings(user)).status).toBe("pending");
    const [pending] = await t.app.db.sql.query<{ stripe_payment_intent_id: string }>(
      "select stripe_payment_intent_id from credit_purchase where account_id = $1 and kind = 'auto_top_up' and status = 'pending'",
      [user.accountId],
    );
    const intent: Json = {
      ...fake.intents.get(pending.stripe_payment_intent_id)!,
      status: "requires_payment_method",
      last_payment_error: { type: "card_error", code: "card_declined", decline_code: "insufficient_funds", message: "Your card has insufficient funds." },
    };
    expect(await (await deliver(t, fake.event("payment_intent.payment_failed", intent))).json()).toMatchObject({ result: "recorded" });
    expect(await settings(user)).toMatchObject({ status: "active", consecutive_failures: 2, last_error: "Your card has insufficient funds. (insufficient_funds)" });
    expect((await ledgerOf(t.app, user.accountId)).filter((e) => e.kind === "auto_top_up")).toEqual([]);
    await expectLedgerBalanced(t.app, user.accountId);
  });
});

async function untilSettled(t: TestApp, accountId: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await t.app.credits.flush();
    const [row] = await t.app.db.sql.query<{ n: string }>("select count(*)::text as n from generation where account_id = $1", [accountId]);
    if (Number(row.n) >= count && t.app.credits.inUse(accountId) === 0n) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`expected ${count} settled generations`);
}
