import Stripe from "stripe";
import { AppError, isAppError } from "../errors.js";
import type { AutoTopUpService } from "./auto-top-up.service.js";
import { decodePaymentMetadata, type PaymentMetadata } from "./payment-metadata.js";
import type { BillingLog, PurchasesService } from "./purchases.service.js";
import { stripeId, stripeNotConfigured } from "./stripe-client.js";

/** What a webhook delivery did: credited a payment, found it already credited, recorded a failure, or nothing. */
export type WebhookResult = "credited" | "duplicate" | "recorded" | "ignored";

export interface StripeWebhookDeps {
  webhookSecret: string | undefined;
  purchases: PurchasesService;
  autoTopUp: AutoTopUpService;
  log: BillingLog;
}

/**
 * Stripe's webhook: verifies the `Stripe-Signature` over the raw body, then applies the event.
 *
 * A Checkout payment announces itself twice — `checkout.session.completed` (or `…async_payment_succeeded`) and
 * `payment_intent.succeeded` — in either order, and Stripe redelivers until it gets a 2xx. Whichever arrives first
 * credits the account; the ledger's unique (kind, PaymentIntent id) turns every later one into a no-op. Auto top-ups
 * are credited by `payment_intent.succeeded` and fail by `payment_intent.payment_failed`. Other events are ignored.
 */
export class StripeWebhooks {
  constructor(private readonly deps: StripeWebhookDeps) {}

  /** Verifies and applies one delivery. A missing or wrong signature is `invalid_request` (400) and changes nothing. */
  async handle(rawBody: Buffer | undefined, signature: string | string[] | undefined): Promise<{ event: Stripe.Event; result: WebhookResult }> {
    const secret = this.deps.webhookSecret;
    if (!secret) throw stripeNotConfigured("The Stripe webhook");
    if (typeof signature !== "string" || signature === "") {
      throw new AppError("invalid_request", "Missing Stripe-Signature header: this endpoint only accepts webhooks signed by Stripe.");
    }
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(rawBody ?? Buffer.alloc(0), signature, secret);
    } catch {
      throw new AppError("invalid_request", "The Stripe-Signature header does not match the request body (is STRIPE_WEBHOOK_SECRET this endpoint's signing secret?).");
    }
    return { event, result: await this.apply(event) };
  }

  /** Applies a verified event. */
  async apply(event: Stripe.Event): Promise<WebhookResult> {
    switch (event.type) {
      case "checkout.session.completed":
      case "checkout.session.async_payment_succeeded": {
        const session = event.data.object;
        const meta = decodePaymentMetadata(session.metadata);
        if (!meta || meta.purpose !== "checkout" || session.mode !== "payment") return "ignored";
        // A delayed payment method (bank debit…) completes the session unpaid; its async_payment_succeeded credits it.
        if (session.payment_status !== "paid") return "ignored";
        const intent = stripeId(session.payment_intent);
        return this.credit(meta, intent ?? session.id, session.id);
      }
      case "checkout.session.expired":
      case "checkout.session.async_payment_failed": {
        const meta = decodePaymentMetadata(event.data.object.metadata);
        if (!meta || meta.purpose !== "checkout") return "ignored";
        await this.deps.purchases.closeCheckout(meta.purchaseId, event.type === "checkout.session.expired" ? "expired" : "failed");
        return "recorded";
      }
      case "payment_intent.succeeded": {
        const intent = event.data.object;
        const meta = decodePaymentMetadata(intent.metadata);
        if (!meta) return "ignored";
        const result = await this.credit(meta, intent.id, null);
        if (meta.purpose === "checkout") await this.deps.purchases.rememberPaymentMethod(meta.accountId, intent);
        return result;
      }
      case "payment_intent.payment_failed": {
        const intent = event.data.object;
        const meta = decodePaymentMetadata(intent.metadata);
        // A failed Checkout attempt is retried by the buyer on the same page; only auto top-ups count failures.
        if (!meta || meta.purpose !== "auto_top_up") return "ignored";
        const error = intent.last_payment_error;
        const message = (error?.message ?? "The payment failed.") + (error?.decline_code ?? error?.code ? ` (${error?.decline_code ?? error?.code})` : "");
        await this.deps.autoTopUp.recordFailure(meta.purchaseId, message);
        return "recorded";
      }
      default:
        return "ignored";
    }
  }

  private async credit(meta: PaymentMetadata, paymentIntentId: string, checkoutSessionId: string | null): Promise<WebhookResult> {
    try {
      return await this.deps.purchases.creditPayment({
        kind: meta.purpose === "auto_top_up" ? "auto_top_up" : "purchase",
        accountId: meta.accountId,
        purchaseId: meta.purchaseId,
        paymentIntentId,
        checkoutSessionId,
        amount: meta.amount,
        fee: meta.fee,
      });
    } catch (error) {
      // The account is gone: retrying cannot help, so acknowledge the event (and leave a trace for the operator).
      if (isAppError(error) && error.code === "not_found") {
        this.deps.log.error({ accountId: meta.accountId, paymentIntentId }, "a Stripe payment arrived for an account that does not exist");
        return "ignored";
      }
      throw error;
    }
  }
}
