import { randomUUID } from "node:crypto";
import type Stripe from "stripe";
import type { Config } from "../config.js";
import { AppError, isAppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { Sql } from "../persistence/sql.js";
import { displayUsd, quotePurchase, stripeCents, type PurchaseQuote } from "./fees.js";
import { postLedgerEntry } from "./ledger.js";
import type { Money } from "./money.js";
import { encodePaymentMetadata } from "./payment-metadata.js";
import { stripeErrorMessage, stripeId, stripeNotConfigured, type StripeClient } from "./stripe-client.js";

export interface BillingLog {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface PurchasesDeps {
  sql: Sql;
  /** Null when Stripe is not configured: checkout is then refused with `not_configured`. */
  stripe: StripeClient | null;
  settings: Config["credits"];
  bus: EventBus;
  log: BillingLog;
}

export interface CheckoutSession {
  url: string;
  sessionId: string;
  quote: PurchaseQuote;
}

/** A payment Stripe confirmed, to be credited to an account. */
export interface ConfirmedPayment {
  /** `purchase` for Checkout, `auto_top_up` for off-session top-ups: the ledger kind of the credit. */
  kind: "purchase" | "auto_top_up";
  accountId: string;
  purchaseId: string;
  /** The PaymentIntent: the ledger reference of the credit and its fee, so one payment is credited once. */
  paymentIntentId: string;
  checkoutSessionId: string | null;
  amount: Money;
  fee: Money;
}

/**
 * Payment methods that cannot be saved for later off-session charges (Stripe accepts only `setup_future_usage: "none"`
 * for them). Checkout asks to save every other method for auto top-up, and these are exempted one by one, so offering
 * crypto or Klarna never makes the session fail.
 */
const SINGLE_USE_METHODS = new Set([
  "affirm",
  "afterpay_clearpay",
  "au_becs_debit",
  "crypto",
  "customer_balance",
  "eps",
  "fpx",
  "giropay",
  "grabpay",
  "ideal",
  "klarna",
  "konbini",
  "mobilepay",
  "multibanco",
  "oxxo",
  "payco",
  "paynow",
  "samsung_pay",
  "sofort",
  "sunbit",
]);

/**
 * Buying credits through Stripe Checkout, and crediting confirmed payments to the ledger.
 *
 * Ledger rule for a payment of `amount + fee` (the fee is charged on top): one `purchase` (or `auto_top_up`) entry of
 * `+(amount + fee)` — what the buyer paid, matching Stripe's charge — and one `purchase_fee` entry of `−fee`, both
 * referencing the PaymentIntent. The balance rises by exactly `amount`; a negative balance is simply paid off first.
 * Both entries are posted in one transaction, and the ledger's unique (kind, reference) makes the credit exactly-once
 * however often, in whatever order, the webhook events for the payment arrive.
 */
export class PurchasesService {
  constructor(private readonly deps: PurchasesDeps) {}

  get enabled(): boolean {
    return this.deps.stripe !== null;
  }

  /**
   * Creates a Stripe Checkout Session for `amount` of credits (already validated against the purchase limits) plus the
   * fee, and records the purchase as pending. The buyer's Stripe customer is created on the first purchase and reused,
   * so the card they pay with is saved for auto top-up.
   */
  async checkout(accountId: string, amount: Money): Promise<CheckoutSession> {
    const stripe = this.deps.stripe;
    if (!stripe) throw stripeNotConfigured("Buying credits");
    const { settings, sql } = this.deps;
    const quote = quotePurchase(amount, settings);
    const customer = await this.customerFor(accountId);
    const purchaseId = randomUUID();
    await sql.query("insert into credit_purchase (id, account_id, kind, amount, fee) values ($1, $2, 'checkout', $3, $4)", [
      purchaseId,
      accountId,
      quote.amount.toString(),
      quote.fee.toString(),
    ]);
    const metadata = encodePaymentMetadata({ purpose: "checkout", accountId, purchaseId, amount: quote.amount, fee: quote.fee });
    const methods = settings.paymentMethodTypes;
    const singleUse = Object.fromEntries(
      methods.filter((type) => SINGLE_USE_METHODS.has(type)).map((type) => [type, { setup_future_usage: "none" }]),
    ) as Stripe.Checkout.SessionCreateParams.PaymentMethodOptions;
    const description = `${displayUsd(quote.amount)} of Switchyard credits + ${displayUsd(quote.fee)} platform fee`;
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create(
        {
          mode: "payment",
          customer,
          client_reference_id: accountId,
          line_items: [
            {
              quantity: 1,
              price_data: {
                currency: "usd",
                unit_amount: stripeCents(quote.total),
                product_data: { name: "Switchyard credits", description },
              },
            },
          ],
          allowed_payment_method_types: methods,
          payment_intent_data: { setup_future_usage: "off_session", description, metadata },
          ...(Object.keys(singleUse).length > 0 ? { payment_method_options: singleUse } : {}),
          metadata,
          success_url: settings.successUrl,
          cancel_url: settings.cancelUrl,
        },
        { idempotencyKey: `checkout:${purchaseId}` },
      );
    } catch (error) {
      const message = stripeErrorMessage(error);
      await sql.query("update credit_purchase set status = 'failed', error = $2 where id = $1", [purchaseId, message]);
      this.deps.log.warn({ err: error, accountId }, "creating a Stripe Checkout Session failed");
      throw new AppError("payment_error", `Stripe could not start the checkout: ${message}`, { cause: error });
    }
    await sql.query("update credit_purchase set stripe_checkout_session_id = $2 where id = $1", [purchaseId, session.id]);
    if (!session.url) throw new AppError("payment_error", "Stripe created the checkout session without a payment page URL.");
    return { url: session.url, sessionId: session.id, quote };
  }

  /**
   * Credits a confirmed payment: the credit and its fee as two ledger entries in one transaction, the purchase marked
   * completed, and for an auto top-up the account's pending top-up cleared and its failure count reset. Returns
   * `duplicate` (and changes nothing) when this PaymentIntent was already credited.
   */
  async creditPayment(payment: ConfirmedPayment): Promise<"credited" | "duplicate"> {
    const { accountId, kind, paymentIntentId, amount, fee, purchaseId } = payment;
    const what = kind === "auto_top_up" ? "Auto top-up" : "Credits bought";
    let balance: Money;
    try {
      balance = await this.deps.sql.transaction(async (tx) => {
        let after = await postLedgerEntry(tx, {
          accountId,
          kind,
          amount: amount + fee,
          reference: paymentIntentId,
          description: `${what}: ${displayUsd(amount)} + ${displayUsd(fee)} platform fee, paid through Stripe`,
        });
        if (fee !== 0n) {
          after = await postLedgerEntry(tx, {
            accountId,
            kind: "purchase_fee",
            amount: -fee,
            reference: paymentIntentId,
            description: `Platform fee on ${displayUsd(amount)} of credits`,
          });
        }
        await tx.query(
          `update credit_purchase set status = 'completed', completed_at = now(), error = null,
                  stripe_payment_intent_id = coalesce(stripe_payment_intent_id, $2),
                  stripe_checkout_session_id = coalesce(stripe_checkout_session_id, $3)
            where id = $1 and account_id = $4`,
          [purchaseId, paymentIntentId, payment.checkoutSessionId, accountId],
        );
        if (kind === "auto_top_up") {
          await tx.query(
            `update account set auto_top_up_failures = 0,
                    auto_top_up_pending_since = case when auto_top_up_pending = $2 then null else auto_top_up_pending_since end,
                    auto_top_up_pending = case when auto_top_up_pending = $2 then null else auto_top_up_pending end
              where id = $1`,
            [accountId, purchaseId],
          );
        }
        return after;
      });
    } catch (error) {
      if (isAppError(error) && error.code === "conflict") return "duplicate";
      throw error;
    }
    this.deps.bus.publish("balance.changed", { accountId, balance: balance.toString() });
    return "credited";
  }

  /** Marks a Checkout purchase that will not be paid (the session expired, or its delayed payment failed). */
  async closeCheckout(purchaseId: string, status: "expired" | "failed", error: string | null = null): Promise<void> {
    await this.deps.sql.query(
      "update credit_purchase set status = $2, error = $3, completed_at = now() where id = $1 and status = 'pending'",
      [purchaseId, status, error],
    );
  }

  /**
   * After a Checkout payment: remembers its payment method for auto top-up when Stripe saved it to the account's
   * customer (cards are; single-use methods such as crypto are not). Best effort: a failure is logged, not thrown.
   */
  async rememberPaymentMethod(accountId: string, intent: Stripe.PaymentIntent): Promise<void> {
    const stripe = this.deps.stripe;
    const methodId = stripeId(intent.payment_method);
    const customerId = stripeId(intent.customer);
    if (!stripe || !methodId || !customerId) return;
    try {
      const [account] = await this.deps.sql.query<{ customer: string | null; method: string | null }>(
        "select stripe_customer_id as customer, stripe_payment_method_id as method from account where id = $1",
        [accountId],
      );
      if (!account || account.customer !== customerId || account.method === methodId) return;
      const method = await stripe.paymentMethods.retrieve(methodId);
      const owner = stripeId(method.customer);
      if (owner !== customerId) return;
      await this.deps.sql.query("update account set stripe_payment_method_id = $2 where id = $1 and stripe_customer_id = $3", [
        accountId,
        methodId,
        customerId,
      ]);
    } catch (error) {
      this.deps.log.warn({ err: error, accountId }, "saving the payment method for auto top-up failed");
    }
  }

  /** The account's Stripe customer, created (once, even under concurrent checkouts) on first use. */
  private async customerFor(accountId: string): Promise<string> {
    const { sql } = this.deps;
    const stripe = this.deps.stripe!;
    const [account] = await sql.query<{ customer: string | null; name: string }>(
      "select stripe_customer_id as customer, name from account where id = $1 and deleted_at is null",
      [accountId],
    );
    if (!account) throw new AppError("not_found", "The account does not exist.");
    if (account.customer) return account.customer;
    let created: Stripe.Customer;
    try {
      // The idempotency key makes concurrent first checkouts of one account get the same customer.
      created = await stripe.customers.create(
        { name: account.name, metadata: { account_id: accountId } },
        { idempotencyKey: `customer:${accountId}` },
      );
    } catch (error) {
      this.deps.log.warn({ err: error, accountId }, "creating a Stripe customer failed");
      throw new AppError("payment_error", `Stripe could not start the checkout: ${stripeErrorMessage(error)}`, { cause: error });
    }
    const [row] = await sql.query<{ customer: string }>(
      `update account set stripe_customer_id = coalesce(stripe_customer_id, $2) where id = $1 returning stripe_customer_id as customer`,
      [accountId, created.id],
    );
    return row.customer;
  }
}
