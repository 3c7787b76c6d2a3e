import Stripe from "stripe";
import type { Config } from "../config.js";
import { AppError } from "../errors.js";

export type StripeClient = Stripe;

/**
 * The Stripe SDK client, or null when `STRIPE_SECRET_KEY` is unset (buying credits is then switched off). With
 * `STRIPE_API_BASE` it talks to that origin instead of api.stripe.com (a local fake in tests). Requests are retried
 * twice on network errors and 5xx with idempotency keys, and time out after 20 s.
 */
export function createStripeClient(config: Config["stripe"]): StripeClient | null {
  if (!config.secretKey) return null;
  const base = config.apiBase ? new URL(config.apiBase) : null;
  return new Stripe(config.secretKey, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    appInfo: { name: "Switchyard" },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === "https:" ? 443 : 80),
          protocol: base.protocol === "https:" ? "https" : "http",
        }
      : {}),
  });
}

/** The id of a Stripe reference, which the API gives as the id or, when expanded, as the object. */
export function stripeId(ref: string | { id: string } | null | undefined): string | undefined {
  return typeof ref === "string" ? ref : ref?.id;
}

/** The error for a Stripe feature used on a server without Stripe: says what to set. */
export function stripeNotConfigured(what: string): AppError {
  return new AppError(
    "not_configured",
    `${what} is not available on this server: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET to enable payments through Stripe.`,
  );
}

/**
 * A Stripe failure as a client-safe message: Stripe's own message for requests it refused (card declines, invalid
 * parameters), a fixed text for authentication and connection problems. API keys are masked either way.
 */
export function stripeErrorMessage(error: unknown): string {
  if (error instanceof Stripe.errors.StripeAuthenticationError || error instanceof Stripe.errors.StripePermissionError) {
    return "Stripe refused this server's API key.";
  }
  if (error instanceof Stripe.errors.StripeConnectionError) return "Stripe could not be reached.";
  if (error instanceof Stripe.errors.StripeError) {
    const message = error.message || "Stripe returned an error.";
    return message.replace(/\b(sk|rk|pk|whsec)_[A-Za-z0-9_*]+/g, "[redacted]");
  }
  return "The payment failed.";
}
