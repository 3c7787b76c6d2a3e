import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUsd } from "../../src/billing/money.js";
import { expectLedgerBalanced, ledgerOf, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";
import {
  buyCredits,
  deliver,
  FAKE_WEBHOOK_SECRET,
  signPayload,
  startStripeApp,
  type Json,
  type StripeApp,
  type StripeFake,
} from "../helpers/stripe-fake.js";

const usd = parseUsd;

describe("buying credits through Stripe", () => {
  let stripe: StripeApp;
  let fake: StripeFake;
  let t: TestApp;
  beforeAll(async () => {
    stripe = await startStripeApp();
    ({ t, fake } = stripe);
  });
  afterAll(() => stripe?.close());

  const checkout = (user: TestAccount, body: unknown) => t.fetch("/api/v1/credits/checkout", { key: user.key, body });
  const purchases = (accountId: string) =>
    t.app.db.sql.query<{ kind: string; status: string; amount: bigint; fee: bigint; stripe_checkout_session_id: string | null; stripe_payment_intent_id: string | null }>(
      "select kind, status, amount, fee, stripe_checkout_session_id, stripe_payment_intent_id from credit_purchase where account_id = $1 order by created_at",
      [accountId],
    );

  it("reports total credits and total usage in USD to any key of the account", async () => {
    const user = await t.account({ credits: "10" });
    const completion = await (await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat", { provider: { order: ["alpha"] } }) })).json();
    const cost = usd(String(completion.usage.cost));
    expect(cost).toBeGreaterThan(0n);
    const management = await t.app.accounts.createKey(user.accountId, { kind: "management", name: "ops" });
    for (const key of [user.key, management.plaintext]) {
      const response = await t.fetch("/api/v1/credits", { key });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { total_credits: 10, total_usage: completion.usage.cost } });
    }
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("10") - cost);
    expect((await t.fetch("/api/v1/credits")).status).toBe(401);
  });

  it("creates a Checkout Session for the amount plus the 5.5% fee, with the customer, metadata and payment methods", async () => {
    const user = await t.account({ credits: "0" });
    const response = await checkout(user, { amount: 100 });
    expect(response.status).toBe(200);
    const { data } = await response.json();
    expect(data).toEqual({ url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/), session_id: expect.stringMatching(/^cs_test_/), amount: 100, fee: 5.5, total: 105.5 });

    const calls = fake.requests.filter((r) => r.params.client_reference_id === user.accountId || r.params.metadata?.account_id === user.accountId);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/customers", "POST /v1/checkout/sessions"]);
    const [customerCall, sessionCall] = calls;
    expect(customerCall.idempotencyKey).toBe(`customer:${user.accountId}`);
    const [purchase] = await purchases(user.accountId);
    const metadata = {
      switchyard_purpose: "checkout",
      account_id: user.accountId,
      purchase_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      credit_amount_usd: "100",
      fee_usd: "5.5",
    };
    expect(sessionCall.params).toEqual({
      mode: "payment",
      customer: expect.stringMatching(/^cus_/),
      client_reference_id: user.accountId,
      line_items: [
        {
          quantity: "1",
          price_data: {
            currency: "usd",
            unit_amount: "10550",
            product_data: { name: "Switchyard credits", description: "$100.00 of Switchyard credits + $5.50 platform fee" },
          },
        },
      ],
      allowed_payment_method_types: ["card", "alipay", "crypto"],
      payment_intent_data: { setup_future_usage: "off_session", description: "$100.00 of Switchyard credits + $5.50 platform fee", metadata },
      payment_method_options: { crypto: { setup_future_usage: "none" } },
      metadata,
      success_url: "https://switchyard.test/credits?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://switchyard.test/credits",
    });
    expect(sessionCall.params.metadata.purchase_id).toBe(sessionCall.params.payment_intent_data.metadata.purchase_id);
    expect(sessionCall.idempotencyKey).toBe(`checkout:${sessionCall.params.metadata.purchase_id}`);
    expect(purchase).toEqual({
      kind: "checkout",
      status: "pending",
      amount: usd("100"),
      fee: usd("5.5"),
      stripe_checkout_session_id: data.session_id,
      stripe_payment_intent_id: null,
    });
    // Nothing is credited before Stripe says the payment went through.
    expect(await ledgerOf(t.app, user.accountId)).toEqual([]);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("charges the minimum fee of $0.80 on small amounts and rounds the fee to the cent", async () => {
    const user = await t.account({ credits: "0" });
    const quotes = [];
    for (const amount of [1, "12.34", 20, 33.33, "5000"]) {
      const { data } = await (await checkout(user, { amount })).json();
      quotes.push([data.amount, data.fee, data.total]);
    }
    expect(quotes).toEqual([
      [1, 0.8, 1.8],
      [12.34, 0.8, 13.14],
      [20, 1.1, 21.1],
      [33.33, 1.83, 35.16], // 1.83315 rounds to 1.83
      [5000, 275, 5275],
    ]);
    // One Stripe customer per account, reused by every checkout.
    expect(fake.requests.filter((r) => r.path === "/v1/customers" && r.params.metadata?.account_id === user.accountId)).toHaveLength(1);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("refuses amounts that are missing, malformed, not whole cents or outside the limits, before calling Stripe", async () => {
    const user = await t.account({ credits: "0" });
    const before = fake.requests.length;
    const cases: Array<[unknown, string]> = [
      [{}, 'amount must be an amount in USD between 1 and 5000 USD, like 10 or "12.50".'],
      [{ amount: "ten" }, 'amount must be an amount in USD between 1 and 5000 USD, like 10 or "12.50".'],
      [{ amount: true }, 'amount must be an amount in USD between 1 and 5000 USD, like 10 or "12.50".'],
      [{ amount: 10.001 }, "amount must be whole cents (at most 2 decimals), got 10.001."],
      [{ amount: 0.99 }, "amount must be between 1 and 5000 USD, got 0.99."],
      [{ amount: -5 }, "amount must be between 1 and 5000 USD, got -5."],
      [{ amount: 5000.01 }, "amount must be between 1 and 5000 USD, got 5000.01."],
      [[10], "The request body must be a JSON object."],
    ];
    for (const [body, message] of cases) {
      const response = await checkout(user, body);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ code: 400, type: "invalid_request_error", message, metadata: { error_type: "invalid_request" } });
    }
    const management = await t.app.accounts.createKey(user.accountId, { kind: "management", name: "ops" });
    expect((await t.fetch("/api/v1/credits/checkout", { key: management.plaintext, body: { amount: 10 } })).status).toBe(403);
    expect((await t.fetch("/api/v1/credits/checkout", { body: { amount: 10 } })).status).toBe(401);
    expect(fake.requests.length).toBe(before);
    expect(await purchases(user.accountId)).toEqual([]);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("credits a paid checkout once, records the fee as its own entry, and saves the card for auto top-up", async () => {
    const user = await t.account({ credits: "0" });
    const { data } = await (await checkout(user, { amount: 10 })).json();
    const { session, intent } = fake.completeCheckout(data.session_id);

    const first = await deliver(t, fake.event("checkout.session.completed", session));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ received: true, result: "credited" });
    const second = await deliver(t, fake.event("payment_intent.succeeded", intent));
    expect(await second.json()).toMatchObject({ received: true, result: "duplicate" });

    expect(await ledgerOf(t.app, user.accountId)).toEqual([
      { kind: "purchase", amount: usd("10.8"), reference: intent.id, description: "Credits bought: $10.00 + $0.80 platform fee, paid through Stripe" },
      { kind: "purchase_fee", amount: -usd("0.8"), reference: intent.id, description: "Platform fee on $10.00 of credits" },
    ]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("10"));
    expect(await (await t.fetch("/api/v1/credits", { key: user.key })).json()).toEqual({ data: { total_credits: 10, total_usage: 0 } });
    expect(await purchases(user.accountId)).toEqual([
      expect.objectContaining({ status: "completed", stripe_checkout_session_id: session.id, stripe_payment_intent_id: intent.id }),
    ]);
    const [account] = await t.app.db.sql.query<{ stripe_payment_method_id: string; stripe_customer_id: string }>(
      "select stripe_payment_method_id, stripe_customer_id from account where id = $1",
      [user.accountId],
    );
    expect(account).toEqual({ stripe_payment_method_id: intent.payment_method, stripe_customer_id: session.customer });
    // The key now reports a paying account.
    expect((await (await t.fetch("/api/v1/key", { key: user.key })).json()).data.is_free_tier).toBe(false);
  });

  it("does not save a single-use payment method (crypto) for auto top-up", async () => {
    const user = await t.account({ credits: "0" });
    const { data } = await (await checkout(user, { amount: 10 })).json();
    const { session, intent } = fake.completeCheckout(data.session_id, { paymentMethodType: "crypto" });
    await deliver(t, fake.event("payment_intent.succeeded", intent));
    await deliver(t, fake.event("checkout.session.completed", session));
    const [account] = await t.app.db.sql.query<{ stripe_payment_method_id: string | null }>("select stripe_payment_method_id from account where id = $1", [user.accountId]);
    expect(account.stripe_payment_method_id).toBeNull();
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("10"));
  });

  it("credits once however often, in whatever order and however concurrently the two events of a payment arrive", async () => {
    const user = await t.account({ credits: "0" });
    const intents: string[] = [];
    const orders: Array<(events: Json[]) => Promise<unknown>> = [
      // checkout.session.completed first, then payment_intent.succeeded, then both replayed
      async ([s, i]) => {
        for (const event of [s, i, s, i]) await deliver(t, event);
      },
      // payment_intent.succeeded first
      async ([s, i]) => {
        for (const event of [i, s, i]) await deliver(t, event);
      },
      // all at once: the same deliveries racing each other (Stripe retrying while the first is still running)
      async ([s, i]) => Promise.all([s, i, s, i, s, i, s, i].map((event) => deliver(t, event))),
    ];
    for (const order of orders) {
      const { data } = await (await checkout(user, { amount: 20 })).json();
      const { session, intent } = fake.completeCheckout(data.session_id);
      intents.push(intent.id);
      const events = [fake.event("checkout.session.completed", session), fake.event("payment_intent.succeeded", intent)];
      await order(events);
    }
    const entries = await ledgerOf(t.app, user.accountId);
    expect(entries.map((e) => [e.kind, e.amount, e.reference])).toEqual(
      intents.flatMap((id) => [
        ["purchase", usd("21.1"), id],
        ["purchase_fee", -usd("1.1"), id],
      ]),
    );
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("60"));
  });

  it("credits a replayed event once (same event, same signature, delivered again and again)", async () => {
    const user = await t.account({ credits: "0" });
    const { data } = await (await checkout(user, { amount: 5 })).json();
    const { session } = fake.completeCheckout(data.session_id);
    const body = JSON.stringify(fake.event("checkout.session.completed", session));
    const signature = signPayload(body);
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await (await deliver(t, {}, { body, signature })).json()).result);
    expect(results).toEqual(["credited", "duplicate", "duplicate"]);
    expect((await ledgerOf(t.app, user.accountId)).map((e) => e.kind)).toEqual(["purchase", "purchase_fee"]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("5"));
  });

  it("refuses forged, tampered, unsigned and stale webhooks with 400 and changes nothing", async () => {
    const user = await t.account({ credits: "0" });
    const { data } = await (await checkout(user, { amount: 10 })).json();
    const { session } = fake.completeCheckout(data.session_id);
    const event = fake.event("checkout.session.completed", session);
    const body = JSON.stringify(event);
    const tampered = JSON.stringify(fake.event("checkout.session.completed", { ...session, metadata: { ...session.metadata, credit_amount_usd: "1000" } }));
    const attempts: Array<[string, Parameters<typeof deliver>[2]]> = [
      ["signed with another secret", { body, secret: "whsec_not_the_right_one" }],
      ["body changed after signing", { body: tampered, signature: signPayload(body) }],
      ["no signature", { body, signature: null }],
      ["garbage signature", { body, signature: "t=1,v1=deadbeef" }],
      ["signed 10 minutes ago (replay window is 5)", { body, signature: signPayload(body, FAKE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 600) }],
    ];
    for (const [what, options] of attempts) {
      const response = await deliver(t, event, options);
      expect(response.status, what).toBe(400);
      const { error } = await response.json();
      expect(error.metadata.error_type).toBe("invalid_request");
      expect(error.message).toMatch(/Stripe-Signature/);
      expect(error.message).not.toContain(FAKE_WEBHOOK_SECRET);
    }
    expect(await ledgerOf(t.app, user.accountId)).toEqual([]);
    expect((await purchases(user.accountId))[0].status).toBe("pending");
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("pays off a negative balance first with the next purchase", async () => {
    const user = await t.account({ credits: "0" });
    await t.app.accounts.grantCredits(user.accountId, -usd("3.25"), "test debt");
    const blocked = await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat") });
    expect(blocked.status).toBe(402);
    await buyCredits(t, fake, user, 10);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(usd("6.75"));
    expect((await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat") })).status).toBe(200);
    // The debt is not a credit: total_credits is what was added minus what was taken out other than by usage.
    const { data } = await (await t.fetch("/api/v1/credits", { key: user.key })).json();
    expect(data.total_credits).toBe(6.75);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("acknowledges and ignores events it does not handle, and payments it did not start", async () => {
    const user = await t.account({ credits: "0" });
    const foreign = fake.event("payment_intent.succeeded", { id: "pi_other_integration", object: "payment_intent", amount: 5000, metadata: { order: "42" } });
    const customer = fake.event("customer.created", { id: "cus_x", object: "customer" });
    const unpaid = fake.event("checkout.session.completed", {
      id: "cs_test_unpaid",
      object: "checkout.session",
      mode: "payment",
      payment_status: "unpaid",
      payment_intent: "pi_unpaid",
      metadata: { switchyard_purpose: "checkout", account_id: user.accountId, purchase_id: crypto.randomUUID(), credit_amount_usd: "10", fee_usd: "0.8" },
    });
    for (const event of [foreign, customer, unpaid]) {
      const response = await deliver(t, event);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true, event_id: event.id, result: "ignored" });
    }
    expect(await ledgerOf(t.app, user.accountId)).toEqual([]);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("marks an abandoned checkout expired", async () => {
    const user = await t.account({ credits: "0" });
    const { data } = await (await checkout(user, { amount: 10 })).json();
    const session = { ...fake.sessions.get(data.session_id)!, status: "expired" };
    expect(await (await deliver(t, fake.event("checkout.session.expired", session))).json()).toMatchObject({ result: "recorded" });
    expect((await purchases(user.accountId))[0].status).toBe("expired");
    expect(await ledgerOf(t.app, user.accountId)).toEqual([]);
    await expectLedgerBalanced(t.app, user.accountId);
  });
});

describe("buying credits without Stripe configured", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG, env: { SWITCHYARD_SIGNUP_CREDITS: "0" } });
  });
  afterAll(() => t?.close());

  it("answers 503 not_configured naming the variables to set, for checkout, the webhook and auto top-up", async () => {
    const user = await t.account({ credits: "1" });
    const responses = [
      await t.fetch("/api/v1/credits/checkout", { key: user.key, body: { amount: 10 } }),
      await t.fetch("/api/v1/credits/webhook", { body: "{}", headers: { "stripe-signature": "t=1,v1=x" } }),
      await t.fetch("/api/v1/credits/auto-top-up", { method: "PUT", key: user.key, body: { enabled: true, threshold: 1, amount: 10 } }),
    ];
    for (const response of responses) {
      expect(response.status).toBe(503);
      const { error } = await response.json();
      expect(error).toMatchObject({ code: 503, type: "api_error", metadata: { error_type: "not_configured" } });
      expect(error.message).toContain("set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET");
    }
    // Totals need no Stripe.
    expect(await (await t.fetch("/api/v1/credits", { key: user.key })).json()).toEqual({ data: { total_credits: 1, total_usage: 0 } });
    await expectLedgerBalanced(t.app, user.accountId);
  });
});
