import type { FastifyInstance, FastifyRequest } from "fastify";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import type { AutoTopUpService, AutoTopUpView } from "../billing/auto-top-up.service.js";
import { creditTotals } from "../billing/credit-totals.js";
import { readPurchaseAmount, type FeeSchedule } from "../billing/fees.js";
import { usdToNumber } from "../billing/money.js";
import type { PurchasesService } from "../billing/purchases.service.js";
import type { StripeWebhooks } from "../billing/stripe-webhook.js";
import { AppError } from "../errors.js";
import type { Sql } from "../persistence/sql.js";
import { ANY_KEY, INFERENCE, requireKey } from "./auth.js";

export interface CreditRouteDeps {
  auth: KeyAuthenticator;
  sql: Sql;
  purchases: PurchasesService;
  autoTopUp: AutoTopUpService;
  webhooks: StripeWebhooks;
  fees: FeeSchedule;
}

/**
 * Credits: totals (`GET /credits`), buying through Stripe Checkout (`POST /credits/checkout`), Stripe's webhook
 * (`POST /credits/webhook`, authenticated by its signature, not a key) and auto top-up settings
 * (`GET`/`PUT /credits/auto-top-up`). Money is USD: JSON numbers out; numbers or decimal strings in.
 */
export function registerCreditRoutes(app: FastifyInstance, deps: CreditRouteDeps): void {
  app.get("/api/v1/credits", async (request) => {
    const key = await requireKey(deps.auth, request, ANY_KEY);
    const totals = await creditTotals(deps.sql, key.accountId);
    return { data: { total_credits: usdToNumber(totals.totalCredits), total_usage: usdToNumber(totals.totalUsage) } };
  });

  app.post("/api/v1/credits/checkout", async (request) => {
    const key = await requireKey(deps.auth, request, INFERENCE);
    const amount = readPurchaseAmount(bodyOf(request).amount, deps.fees, "amount");
    const session = await deps.purchases.checkout(key.accountId, amount);
    return {
      data: {
        url: session.url,
        session_id: session.sessionId,
        amount: usdToNumber(session.quote.amount),
        fee: usdToNumber(session.quote.fee),
        total: usdToNumber(session.quote.total),
      },
    };
  });

  app.post("/api/v1/credits/webhook", async (request) => {
    const rawBody = (request as unknown as { rawBody?: Buffer }).rawBody;
    const { event, result } = await deps.webhooks.handle(rawBody, request.headers["stripe-signature"]);
    return { received: true, event_id: event.id, result };
  });

  app.get("/api/v1/credits/auto-top-up", async (request) => {
    const key = await requireKey(deps.auth, request, INFERENCE);
    return { data: autoTopUpJson(await deps.autoTopUp.get(key.accountId)) };
  });

  app.put("/api/v1/credits/auto-top-up", async (request) => {
    const key = await requireKey(deps.auth, request, INFERENCE);
    const body = bodyOf(request);
    const view = await deps.autoTopUp.save(key.accountId, {
      enabled: body.enabled,
      threshold: body.threshold,
      amount: body.amount,
      paymentMethodId: body.payment_method_id,
    });
    return { data: autoTopUpJson(view) };
  });
}

function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AppError("invalid_request", "The request body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}

function autoTopUpJson(view: AutoTopUpView) {
  return {
    enabled: view.enabled,
    threshold: view.threshold === null ? null : usdToNumber(view.threshold),
    amount: view.amount === null ? null : usdToNumber(view.amount),
    fee: view.fee === null ? null : usdToNumber(view.fee),
    payment_method_id: view.paymentMethodId,
    status: view.status,
    consecutive_failures: view.consecutiveFailures,
    max_failures: view.maxFailures,
    last_error: view.lastError,
    last_error_at: view.lastErrorAt ? view.lastErrorAt.toISOString() : null,
  };
}
