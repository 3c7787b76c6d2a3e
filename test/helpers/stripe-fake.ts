import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { expect } from "vitest";
import { startTestApp, type TestAccount, type TestApp } from "./app.js";
import { TEST_CATALOG } from "./catalogs.js";

/**
 * A local fake of the slice of Stripe's API that Switchyard calls — customers, Checkout Sessions, PaymentIntents,
 * payment methods — for the real Stripe SDK to talk to (`STRIPE_API_BASE`). It speaks Stripe's wire format
 * (form-encoded bodies with bracketed keys, JSON answers, `{error:{…}}` failures), honours idempotency keys, records
 * every request, and builds the webhook events Stripe would send, for tests to sign and deliver.
 */
export interface StripeFake {
  /** `http://127.0.0.1:<port>`: the value for STRIPE_API_BASE. */
  url: string;
  requests: RecordedRequest[];
  customers: Map<string, Json>;
  sessions: Map<string, Json>;
  intents: Map<string, Json>;
  paymentMethods: Map<string, Json>;
  /** Payment methods whose off-session charges are declined (`card_declined`), like Stripe's `pm_card_chargeDeclined`. */
  declining: Set<string>;
  /** Answer PaymentIntent creation with this HTTP status and an api_error (e.g. 500: Stripe is down) while set. */
  failIntentsWith: number | null;
  /** Delay before every answer, to widen race windows. */
  latencyMs: number;
  /** Pays an open Checkout Session as a buyer would: returns the completed session and its succeeded PaymentIntent. */
  completeCheckout(sessionId: string, options?: { paymentMethodType?: string }): { session: Json; intent: Json };
  /** Saves a payment method of `type` to a customer (as a finished Checkout with setup_future_usage does). */
  addPaymentMethod(customerId: string | null, type?: string): Json;
  /** The event Stripe would send for `object`. */
  event(type: string, object: Json): Json;
  close(): Promise<void>;
}

export type Json = Record<string, any>;

export interface RecordedRequest {
  method: string;
  path: string;
  params: Json;
  idempotencyKey: string | undefined;
}

const FAKE_STRIPE_KEY = "sk_test_switchyard_fake";
export const FAKE_WEBHOOK_SECRET = "whsec_switchyard_fake_secret";

/** A `Stripe-Signature` header for `payload`, as Stripe computes it. */
export function signPayload(payload: string, secret: string = FAKE_WEBHOOK_SECRET, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/** Stripe-enabled app settings: the SDK talks to the local fake. */
function stripeEnv(fake: StripeFake, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: FAKE_STRIPE_KEY,
    STRIPE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET,
    STRIPE_API_BASE: fake.url,
    STRIPE_PAYMENT_METHOD_TYPES: "card,alipay,crypto",
    STRIPE_CHECKOUT_SUCCESS_URL: "https://switchyard.test/credits?session_id={CHECKOUT_SESSION_ID}",
    STRIPE_CHECKOUT_CANCEL_URL: "https://switchyard.test/credits",
    SWITCHYARD_CREDIT_MIN_PURCHASE_USD: "1",
    SWITCHYARD_CREDIT_MAX_PURCHASE_USD: "5000",
    SWITCHYARD_SIGNUP_CREDITS: "0",
    ...extra,
  };
}

export interface StripeApp {
  t: TestApp;
  fake: StripeFake;
  close(): Promise<void>;
}

/** Switchyard on the test catalog with Stripe enabled against a fresh local fake, for the credits test files. */
export async function startStripeApp(extraEnv: Record<string, string> = {}): Promise<StripeApp> {
  const fake = await startStripeFake();
  try {
    const t = await startTestApp({ catalog: TEST_CATALOG, env: stripeEnv(fake, extraEnv) });
    return {
      t,
      fake,
      async close() {
        await t.close();
        await fake.close();
      },
    };
  } catch (error) {
    await fake.close();
    throw error;
  }
}

/** Delivers an event to the webhook as Stripe does: the exact JSON bytes, signed. */
export function deliver(t: TestApp, event: Json, options: { secret?: string; signature?: string | null; body?: string } = {}) {
  const body = options.body ?? JSON.stringify(event);
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  const signature = options.signature === undefined ? signPayload(body, options.secret) : options.signature;
  if (signature !== null) headers["stripe-signature"] = signature;
  return t.fetch("/api/v1/credits/webhook", { body, headers });
}

/** Buys `amount` USD of credits the way a user does: checkout, pay on Stripe's page, Stripe's two webhooks. */
export async function buyCredits(t: TestApp, fake: StripeFake, user: TestAccount, amount: number) {
  const response = await t.fetch("/api/v1/credits/checkout", { key: user.key, body: { amount } });
  expect(response.status).toBe(200);
  const { data } = await response.json();
  const paid = fake.completeCheckout(data.session_id);
  expect((await deliver(t, fake.event("checkout.session.completed", paid.session))).status).toBe(200);
  expect((await deliver(t, fake.event("payment_intent.succeeded", paid.intent))).status).toBe(200);
  return { checkout: data, ...paid };
}

async function startStripeFake(): Promise<StripeFake> {
  const idempotent = new Map<string, { status: number; body: Json }>();
  const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;
  const now = () => Math.floor(Date.now() / 1000);

  const fake: Omit<StripeFake, "url" | "close"> = {
    requests: [],
    customers: new Map(),
    sessions: new Map(),
    intents: new Map(),
    paymentMethods: new Map(),
    declining: new Set(),
    failIntentsWith: null,
    latencyMs: 0,
    completeCheckout(sessionId, options = {}) {
      const session = fake.sessions.get(sessionId);
      if (!session) throw new Error(`no checkout session ${sessionId}`);
      const type = options.paymentMethodType ?? "card";
      const data = session.payment_intent_data ?? {};
      const saves = data.setup_future_usage === "off_session" && session.payment_method_options?.[type]?.setup_future_usage !== "none";
      const method = fake.addPaymentMethod(saves ? session.customer : null, type);
      const intent = paymentIntent({
        amount: session.amount_total,
        customer: session.customer,
        payment_method: method.id,
        metadata: data.metadata ?? {},
        description: data.description ?? null,
        setup_future_usage: data.setup_future_usage ?? null,
        status: "succeeded",
      });
      fake.intents.set(intent.id, intent);
      Object.assign(session, { status: "complete", payment_status: "paid", payment_intent: intent.id });
      return { session: structuredClone(session), intent: structuredClone(intent) };
    },
    addPaymentMethod(customerId, type = "card") {
      const method = {
        id: id("pm"),
        object: "payment_method",
        type,
        customer: customerId,
        created: now(),
        livemode: false,
        metadata: {},
        ...(type === "card" ? { card: { brand: "visa", last4: "4242", exp_month: 12, exp_year: 2030 } } : {}),
      };
      fake.paymentMethods.set(method.id, method);
      return method;
    },
    event(type, object) {
      return {
        id: id("evt"),
        object: "event",
        api_version: "2026-10-28.endive",
        created: now(),
        data: { object },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
      };
    },
  };

  function paymentIntent(fields: Json): Json {
    return {
      id: id("pi"),
      object: "payment_intent",
      amount: fields.amount,
      amount_received: fields.status === "succeeded" ? fields.amount : 0,
      currency: "usd",
      customer: fields.customer ?? null,
      description: fields.description ?? null,
      last_payment_error: fields.last_payment_error ?? null,
      latest_charge: fields.status === "succeeded" ? id("ch") : null,
      livemode: false,
      metadata: fields.metadata ?? {},
      payment_method: fields.payment_method ?? null,
      setup_future_usage: fields.setup_future_usage ?? null,
      status: fields.status,
      created: now(),
    };
  }

  const routes: Array<[string, RegExp, (params: Json, match: RegExpExecArray) => { status: number; body: Json }]> = [
    [
      "POST",
      /^\/v1\/customers$/,
      (params) => {
        const customer = { id: id("cus"), object: "customer", name: params.name ?? null, email: params.email ?? null, metadata: params.metadata ?? {}, created: now(), livemode: false };
        fake.customers.set(customer.id, customer);
        return { status: 200, body: customer };
      },
    ],
    [
      "POST",
      /^\/v1\/checkout\/sessions$/,
      (params) => {
        if (params.mode !== "payment") return invalid("mode must be payment in this fake", "mode");
        if (params.customer && !fake.customers.has(params.customer)) return missing("customer", params.customer);
        const items: Json[] = params.line_items ?? [];
        const amount = items.reduce((sum, item) => sum + Number(item.price_data.unit_amount) * Number(item.quantity ?? 1), 0);
        const sessionId = id("cs_test");
        const session = {
          id: sessionId,
          object: "checkout.session",
          mode: "payment",
          status: "open",
          payment_status: "unpaid",
          url: `https://checkout.stripe.test/c/pay/${sessionId}`,
          amount_subtotal: amount,
          amount_total: amount,
          currency: items[0]?.price_data?.currency ?? "usd",
          customer: params.customer ?? null,
          client_reference_id: params.client_reference_id ?? null,
          metadata: params.metadata ?? {},
          payment_intent: null,
          allowed_payment_method_types: params.allowed_payment_method_types ?? null,
          payment_method_types: params.allowed_payment_method_types ?? ["card"],
          payment_method_options: params.payment_method_options ?? null,
          success_url: params.success_url ?? null,
          cancel_url: params.cancel_url ?? null,
          livemode: false,
          created: now(),
          // Not part of Stripe's session object; kept so completeCheckout can build the PaymentIntent as Stripe would.
          payment_intent_data: params.payment_intent_data ?? null,
          line_items_requested: items,
        };
        fake.sessions.set(session.id, session);
        return { status: 200, body: session };
      },
    ],
    [
      "POST",
      /^\/v1\/payment_intents$/,
      (params) => {
        if (fake.failIntentsWith !== null) {
          return { status: fake.failIntentsWith, body: { error: { type: "api_error", message: "An unknown error occurred (fake outage)." } } };
        }
        if (params.customer && !fake.customers.has(params.customer)) return missing("customer", params.customer);
        const method = fake.paymentMethods.get(params.payment_method);
        if (!method) return missing("payment_method", params.payment_method);
        if (method.customer !== params.customer) {
          return invalid(`The provided PaymentMethod ${method.id} was previously used without being attached to a Customer.`, "payment_method");
        }
        const declined = fake.declining.has(method.id);
        const intent = paymentIntent({
          amount: Number(params.amount),
          customer: params.customer,
          payment_method: method.id,
          metadata: params.metadata ?? {},
          description: params.description ?? null,
          status: declined ? "requires_payment_method" : params.confirm === "true" ? "succeeded" : "requires_confirmation",
          last_payment_error: declined ? { type: "card_error", code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." } : null,
        });
        fake.intents.set(intent.id, intent);
        if (declined) {
          return {
            status: 402,
            body: {
              error: {
                type: "card_error",
                code: "card_declined",
                decline_code: "generic_decline",
                message: "Your card was declined.",
                payment_intent: intent,
                payment_method: method,
              },
            },
          };
        }
        return { status: 200, body: intent };
      },
    ],
    [
      "GET",
      /^\/v1\/payment_methods\/([^/]+)$/,
      (_params, match) => {
        const method = fake.paymentMethods.get(decodeURIComponent(match[1]));
        return method ? { status: 200, body: method } : missing("payment_method", match[1]);
      },
    ],
  ];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const body = Buffer.concat(chunks).toString("utf8");
      const params = parseForm(req.method === "GET" ? url.search.slice(1) : body);
      const idempotencyKey = header(req.headers["idempotency-key"]);
      fake.requests.push({ method: req.method ?? "GET", path: url.pathname, params, idempotencyKey });
      const send = (status: number, payload: Json) =>
        setTimeout(() => {
          res.writeHead(status, { "content-type": "application/json", "request-id": id("req") });
          res.end(JSON.stringify(payload));
        }, fake.latencyMs);
      if (header(req.headers.authorization) !== `Bearer ${FAKE_STRIPE_KEY}`) {
        return send(401, { error: { type: "invalid_request_error", message: "Invalid API Key provided." } });
      }
      const cacheKey = idempotencyKey ? `${req.method} ${url.pathname} ${idempotencyKey}` : undefined;
      const cached = cacheKey ? idempotent.get(cacheKey) : undefined;
      if (cached) return send(cached.status, cached.body);
      const route = routes.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
      if (!route) return send(404, { error: { type: "invalid_request_error", message: `Unrecognized request URL (${req.method}: ${url.pathname}).` } });
      const answer = route[2](params, route[1].exec(url.pathname)!);
      // Stripe does not store answers to requests that failed on its side (5xx): a retry runs again.
      if (cacheKey && answer.status < 500) idempotent.set(cacheKey, answer);
      send(answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as StripeFake;
}

function invalid(message: string, param: string): { status: number; body: Json } {
  return { status: 400, body: { error: { type: "invalid_request_error", message, param } } };
}

function missing(kind: string, value: unknown): { status: number; body: Json } {
  return { status: 404, body: { error: { type: "invalid_request_error", code: "resource_missing", message: `No such ${kind}: '${String(value)}'`, param: kind } } };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Parses Stripe's form encoding (`a[b][0][c]=x`) into nested objects and arrays; every leaf stays a string. */
function parseForm(text: string): Json {
  const root: Json = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const path = rawKey.replace(/\]/g, "").split("[");
    let node: any = root;
    path.forEach((segment, index) => {
      const last = index === path.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(path[index + 1]);
      if (last) node[segment] = value;
      else node = node[segment] ??= nextIsIndex ? [] : {};
    });
  }
  return root;
}
