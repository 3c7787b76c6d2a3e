import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountDocument, BalanceChangedDocument, PurchaseCreditsDocument, SetAutoTopUpDocument } from "../generated/graphql.js";
import { expectLedgerBalanced, ledgerOf, type TestApp } from "../helpers/app.js";
import { connectWs, subscribed } from "../helpers/graphql.js";
import { buyCredits, deliver, startStripeApp, type StripeApp, type StripeFake } from "../helpers/stripe-fake.js";

let t: TestApp;

async function gql<R, V>(doc: TypedDocumentNode<R, V>, variables: V, key: string): Promise<{ data?: R | null; errors?: any[] }> {
  const response = await t.fetch("/graphql", { key, body: { query: print(doc), variables } });
  return response.json();
}

describe("buying credits and auto top-up over GraphQL", () => {
  let stripe: StripeApp;
  let fake: StripeFake;
  beforeAll(async () => {
    stripe = await startStripeApp();
    ({ t, fake } = stripe);
  });
  afterAll(() => stripe?.close());

  it("starts a Stripe Checkout with purchaseCredits; the webhook credits the account and balanceChanged says so", async () => {
    const user = await t.account({ credits: "0" });
    const client = connectWs(t.url, { params: { authorization: `Bearer ${user.key}` } });
    try {
      const balances = await subscribed(client, BalanceChangedDocument);

      const { data, errors } = await gql(PurchaseCreditsDocument, { amount: "10" }, user.key);
      expect(errors).toBeUndefined();
      // 5.5% of 10 USD is below the 0.80 USD minimum fee.
      expect(data!.purchaseCredits).toEqual({ url: expect.stringMatching(/^https?:\/\//), sessionId: expect.stringMatching(/^cs_/), amount: "10", fee: "0.8", total: "10.8" });
      const paid = fake.completeCheckout(data!.purchaseCredits.sessionId);
      expect((await deliver(t, fake.event("checkout.session.completed", paid.session))).status).toBe(200);
      expect((await deliver(t, fake.event("payment_intent.succeeded", paid.intent))).status).toBe(200);

      const event = await balances.next();
      expect(event.value?.data).toEqual({ balanceChanged: { accountId: user.accountId, balance: "10" } });
      await balances.return!();
      const account = await gql(AccountDocument, {}, user.key);
      expect(account.data!.account.credits).toEqual({ totalCredits: "10", totalUsage: "0", balance: "10" });
      expect((await ledgerOf(t.app, user.accountId)).map((e) => [e.kind, e.amount])).toEqual([
        ["purchase", 10_800_000_000_000n],
        ["purchase_fee", -800_000_000_000n],
      ]);
      await expectLedgerBalanced(t.app, user.accountId);
    } finally {
      await client.dispose();
    }
  });

  it("validates the amount as POST /credits/checkout does", async () => {
    const user = await t.account({ credits: "0" });
    const small = await gql(PurchaseCreditsDocument, { amount: "0.5" }, user.key);
    expect(small.errors![0]).toMatchObject({ message: "amount must be between 1 and 5000 USD, got 0.5.", extensions: { code: "BAD_USER_INPUT" } });
    const fraction = await gql(PurchaseCreditsDocument, { amount: "10.001" }, user.key);
    expect(fraction.errors![0].message).toBe("amount must be whole cents (at most 2 decimals), got 10.001.");
    const notMoney = await gql(PurchaseCreditsDocument, { amount: "ten" }, user.key);
    expect(notMoney.errors![0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("saves auto top-up settings with setAutoTopUp, once a card is saved", async () => {
    const user = await t.account({ credits: "0" });
    const noCard = await gql(SetAutoTopUpDocument, { input: { enabled: true, threshold: "5", amount: "20" } }, user.key);
    expect(noCard.errors![0].extensions.code).toBe("BAD_USER_INPUT");
    expect(noCard.errors![0].message).toMatch(/needs a saved card/);

    const { intent } = await buyCredits(t, fake, user, 10);
    const saved = await gql(SetAutoTopUpDocument, { input: { enabled: true, threshold: "5", amount: "20" } }, user.key);
    expect(saved.errors).toBeUndefined();
    expect(saved.data!.setAutoTopUp).toEqual({
      enabled: true,
      threshold: "5",
      amount: "20",
      fee: "1.1",
      paymentMethodId: intent.payment_method,
      status: "ACTIVE",
      consecutiveFailures: 0,
    });
    expect((await gql(AccountDocument, {}, user.key)).data!.account.autoTopUp).toEqual({ enabled: true, threshold: "5", amount: "20", status: "ACTIVE" });

    // Omitted fields keep their values; disabling keeps the threshold and amount for later.
    const off = await gql(SetAutoTopUpDocument, { input: { enabled: false } }, user.key);
    expect(off.data!.setAutoTopUp).toMatchObject({ enabled: false, threshold: "5", amount: "20", status: "DISABLED" });
  });
});
