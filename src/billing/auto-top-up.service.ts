import { randomUUID } from "node:crypto";
import type Stripe from "stripe";
import type { Config } from "../config.js";
import { AppError } from "../errors.js";
import type { Sql } from "../persistence/sql.js";
import { quotePurchase, readPurchaseAmount, readUsdAmount, stripeCents } from "./fees.js";
import { parseUsd, type Money } from "./money.js";
import { encodePaymentMetadata } from "./payment-metadata.js";
import type { BillingLog } from "./purchases.service.js";
import { stripeErrorMessage, stripeId, stripeNotConfigured, type StripeClient } from "./stripe-client.js";

export type AutoTopUpStatus = "disabled" | "active" | "pending" | "paused";

/** An account's auto top-up settings and state, as shown to its owner. */
export interface AutoTopUpView {
  enabled: boolean;
  threshold: Money | null;
  amount: Money | null;
  /** The fee charged on top of `amount` (null without an amount). */
  fee: Money | null;
  paymentMethodId: string | null;
  status: AutoTopUpStatus;
  consecutiveFailures: number;
  maxFailures: number;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/** New settings as a client sent them (unvalidated). */
export interface AutoTopUpInput {
  enabled: unknown;
  threshold?: unknown;
  amount?: unknown;
  paymentMethodId?: unknown;
}

export interface AutoTopUpDeps {
  sql: Sql;
  stripe: StripeClient | null;
  settings: Config["credits"];
  log: BillingLog;
}

/** A top-up claimed but not confirmed for this long is considered lost (its process died) and may be replaced. */
const PENDING_TIMEOUT_S = 3600;
/** How long a node trusts its cached copy of an account's threshold before reading it again. */
const SETTINGS_TTL_MS = 30_000;
/**
 * After a settlement below the threshold found a top-up already in flight (or auto top-up paused), the next settlements
 * of that account skip the check for this long, so a busy account costs at most a query or two per interval.
 */
const QUIET_MS = 5_000;
const MAX_THRESHOLD = parseUsd("1000000");

interface SettingsRow {
  enabled: boolean;
  threshold: bigint | null;
  amount: bigint | null;
  payment_method: string | null;
  customer: string | null;
  pending: string | null;
  failures: number;
  last_error: string | null;
  last_error_at: Date | null;
}

/**
 * Auto top-up: when a settlement leaves an account's balance below its threshold, charge its saved payment method
 * off-session for the configured amount plus the fee. The credit lands when the PaymentIntent's webhook arrives.
 *
 * At most one top-up per account is in flight: starting one is an atomic claim on the account row (`auto_top_up_pending`
 * set only while null), cleared by the webhook's credit or by the failure. Failures (declines, Stripe errors,
 * `payment_intent.payment_failed`) are counted once per attempt; after `autoTopUpMaxFailures` in a row auto top-up
 * pauses until the account saves its settings again.
 *
 * Settlement calls {@link notifySettled} synchronously; with a warm cache of the account's threshold a balance above it
 * costs no query at all.
 */
export class AutoTopUpService {
  private readonly cache = new Map<string, { enabled: boolean; threshold: Money | null; until: number; quietUntil: number }>();
  private readonly running = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: AutoTopUpDeps) {}

  async get(accountId: string): Promise<AutoTopUpView> {
    return this.view(await this.load(accountId));
  }

  /**
   * Saves an account's settings and resumes a paused auto top-up (the failure count restarts at zero). Enabling needs
   * a threshold, an amount within the purchase limits, and a payment method saved to the account's Stripe customer —
   * the card of its last Checkout purchase, or `paymentMethodId`. When the balance is already below the new threshold a
   * top-up starts at once.
   */
  async save(accountId: string, input: AutoTopUpInput): Promise<AutoTopUpView> {
    const { settings, sql } = this.deps;
    if (typeof input.enabled !== "boolean") {
      throw new AppError("invalid_request", "enabled must be true or false.", { metadata: { param: "enabled" } });
    }
    const current = await this.load(accountId);
    const threshold =
      input.threshold === undefined ? current.threshold : input.threshold === null ? null : readUsdAmount(input.threshold, "threshold", 0n, MAX_THRESHOLD);
    const amount = input.amount === undefined ? current.amount : input.amount === null ? null : readPurchaseAmount(input.amount, settings, "amount");
    let paymentMethod = current.payment_method;
    if (input.paymentMethodId !== undefined && input.paymentMethodId !== null) {
      if (typeof input.paymentMethodId !== "string" || !/^pm_[A-Za-z0-9_]+$/.test(input.paymentMethodId)) {
        throw new AppError("invalid_request", "payment_method_id must be a Stripe payment method id (pm_…).", { metadata: { param: "payment_method_id" } });
      }
      paymentMethod = await this.verifyPaymentMethod(current.customer, input.paymentMethodId);
    }
    if (input.enabled) {
      if (!this.deps.stripe) throw stripeNotConfigured("Auto top-up");
      if (threshold === null) throw new AppError("invalid_request", "threshold is required to enable auto top-up.", { metadata: { param: "threshold" } });
      if (amount === null) throw new AppError("invalid_request", "amount is required to enable auto top-up.", { metadata: { param: "amount" } });
      if (!paymentMethod || !current.customer) {
        throw new AppError(
          "invalid_request",
          "Auto top-up needs a saved card: buy credits once through checkout with a card (it is saved for auto top-up), or give payment_method_id.",
          { metadata: { param: "payment_method_id" } },
        );
      }
    }
    await sql.query(
      `update account set auto_top_up_enabled = $2, auto_top_up_threshold = $3, auto_top_up_amount = $4,
              stripe_payment_method_id = $5, auto_top_up_failures = 0
        where id = $1`,
      [accountId, input.enabled, threshold?.toString() ?? null, amount?.toString() ?? null, paymentMethod],
    );
    this.cache.delete(accountId);
    if (input.enabled) this.track(this.check(accountId));
    return this.get(accountId);
  }

  /**
   * Settlement hook: the account's balance is now `balance`. Starts a top-up in the background when it is below the
   * threshold. Never throws; failures are recorded on the account and logged.
   */
  notifySettled(accountId: string, balance: Money): void {
    if (!this.deps.stripe) return;
    const cached = this.cache.get(accountId);
    const now = Date.now();
    if (cached && cached.until > now && (!cached.enabled || cached.threshold === null || balance >= cached.threshold || cached.quietUntil > now)) {
      return;
    }
    this.track(this.check(accountId));
  }

  /**
   * Starts a top-up if the account needs one and none is in flight: `started` when a PaymentIntent was created and
   * awaits its webhook, `failed` when the charge failed (and was recorded), `not_needed` otherwise.
   */
  async check(accountId: string): Promise<"started" | "failed" | "not_needed"> {
    const stripe = this.deps.stripe;
    if (!stripe || this.running.has(accountId)) return "not_needed";
    this.running.add(accountId);
    try {
      const purchaseId = randomUUID();
      const [claim] = await this.deps.sql.query<{ amount: bigint; customer: string; payment_method: string }>(
        `update account set auto_top_up_pending = $2, auto_top_up_pending_since = now()
          where id = $1 and deleted_at is null and auto_top_up_enabled
            and auto_top_up_threshold is not null and balance < auto_top_up_threshold
            and auto_top_up_amount is not null and auto_top_up_failures < $3
            and stripe_customer_id is not null and stripe_payment_method_id is not null
            and (auto_top_up_pending is null or auto_top_up_pending_since < now() - make_interval(secs => $4))
          returning auto_top_up_amount as amount, stripe_customer_id as customer, stripe_payment_method_id as payment_method`,
        [accountId, purchaseId, this.deps.settings.autoTopUpMaxFailures, PENDING_TIMEOUT_S],
      );
      if (!claim) {
        await this.refreshCache(accountId);
        return "not_needed";
      }
      return await this.charge(stripe, accountId, { id: purchaseId, ...claim });
    } finally {
      this.running.delete(accountId);
    }
  }

  /**
   * Records a failed top-up once: the purchase is marked failed, the account's consecutive failures go up by one, the
   * error is kept for display, and the pending claim is released. A second report of the same failure (the decline the
   * API returned, then its `payment_intent.payment_failed` webhook) changes nothing.
   */
  async recordFailure(purchaseId: string, message: string): Promise<void> {
    const [row] = await this.deps.sql.query<{ id: string; failures: number }>(
      `with failed as (
         update credit_purchase set status = 'failed', error = $2, completed_at = now()
          where id = $1 and kind = 'auto_top_up' and status = 'pending'
          returning account_id
       )
       update account a set auto_top_up_failures = a.auto_top_up_failures + 1,
              auto_top_up_last_error = $2, auto_top_up_last_error_at = now(),
              auto_top_up_pending_since = case when a.auto_top_up_pending = $1 then null else a.auto_top_up_pending_since end,
              auto_top_up_pending = case when a.auto_top_up_pending = $1 then null else a.auto_top_up_pending end
         from failed where a.id = failed.account_id
       returning a.id, a.auto_top_up_failures as failures`,
      [purchaseId, message],
    );
    if (row && row.failures >= this.deps.settings.autoTopUpMaxFailures) {
      this.deps.log.warn({ accountId: row.id, failures: row.failures }, "auto top-up paused after repeated failures");
    }
  }

  /** Resolves when every top-up started so far has been created or has failed (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async charge(
    stripe: StripeClient,
    accountId: string,
    claim: { id: string; amount: bigint; customer: string; payment_method: string },
  ): Promise<"started" | "failed"> {
    const quote = quotePurchase(claim.amount, this.deps.settings);
    await this.deps.sql.query("insert into credit_purchase (id, account_id, kind, amount, fee) values ($1, $2, 'auto_top_up', $3, $4)", [
      claim.id,
      accountId,
      quote.amount.toString(),
      quote.fee.toString(),
    ]);
    const metadata = encodePaymentMetadata({ purpose: "auto_top_up", accountId, purchaseId: claim.id, amount: quote.amount, fee: quote.fee });
    let intent: Stripe.PaymentIntent;
    try {
      intent = await stripe.paymentIntents.create(
        {
          amount: stripeCents(quote.total),
          currency: "usd",
          customer: claim.customer,
          payment_method: claim.payment_method,
          off_session: true,
          confirm: true,
          description: "Switchyard credits (auto top-up)",
          metadata,
        },
        { idempotencyKey: `auto-top-up:${claim.id}` },
      );
    } catch (error) {
      const failedIntent = (error as { payment_intent?: { id?: string } }).payment_intent?.id;
      if (failedIntent) await this.attachIntent(claim.id, failedIntent);
      const decline = (error as { decline_code?: string; code?: string }).decline_code ?? (error as { code?: string }).code;
      const message = stripeErrorMessage(error) + (decline ? ` (${decline})` : "");
      this.deps.log.warn({ err: error, accountId }, "auto top-up charge failed");
      await this.recordFailure(claim.id, message);
      return "failed";
    }
    await this.attachIntent(claim.id, intent.id);
    if (intent.status === "succeeded" || intent.status === "processing") return "started";
    await this.recordFailure(claim.id, `The payment needs the card holder (status ${intent.status}); pay once through checkout to refresh the card.`);
    return "failed";
  }

  private async attachIntent(purchaseId: string, intentId: string): Promise<void> {
    await this.deps.sql.query(
      "update credit_purchase set stripe_payment_intent_id = $2 where id = $1 and stripe_payment_intent_id is null",
      [purchaseId, intentId],
    );
  }

  private async verifyPaymentMethod(customer: string | null, methodId: string): Promise<string> {
    const stripe = this.deps.stripe;
    if (!stripe) throw stripeNotConfigured("Auto top-up");
    if (!customer) {
      throw new AppError("invalid_request", "This account has no Stripe customer yet: buy credits once through checkout first.", {
        metadata: { param: "payment_method_id" },
      });
    }
    let method: Stripe.PaymentMethod;
    try {
      method = await stripe.paymentMethods.retrieve(methodId);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) method = { customer: null } as Stripe.PaymentMethod;
      else throw new AppError("payment_error", `Stripe could not check the payment method: ${stripeErrorMessage(error)}`, { cause: error });
    }
    const owner = stripeId(method.customer);
    if (owner !== customer) {
      throw new AppError("invalid_request", `Payment method ${methodId} is not saved to this account.`, { metadata: { param: "payment_method_id" } });
    }
    return methodId;
  }

  private async load(accountId: string): Promise<SettingsRow> {
    const [row] = await this.deps.sql.query<SettingsRow>(
      `select auto_top_up_enabled as enabled, auto_top_up_threshold as threshold, auto_top_up_amount as amount,
              stripe_payment_method_id as payment_method, stripe_customer_id as customer, auto_top_up_pending as pending,
              auto_top_up_failures as failures, auto_top_up_last_error as last_error, auto_top_up_last_error_at as last_error_at
         from account where id = $1 and deleted_at is null`,
      [accountId],
    );
    if (!row) throw new AppError("not_found", "The account does not exist.");
    return row;
  }

  /**
   * Caches the account's threshold after a check that started nothing. When the balance is below it all the same (a
   * top-up in flight, auto top-up paused, no card), the next settlements stay quiet for a while.
   */
  private async refreshCache(accountId: string): Promise<void> {
    const [row] = await this.deps.sql.query<{ enabled: boolean; threshold: bigint | null; balance: bigint }>(
      "select auto_top_up_enabled as enabled, auto_top_up_threshold as threshold, balance from account where id = $1",
      [accountId],
    );
    if (this.cache.size > 100_000) this.cache.clear();
    const now = Date.now();
    const enabled = row?.enabled ?? false;
    const threshold = row?.threshold ?? null;
    const stuckBelow = enabled && threshold !== null && row.balance < threshold;
    this.cache.set(accountId, { enabled, threshold, until: now + SETTINGS_TTL_MS, quietUntil: stuckBelow ? now + QUIET_MS : 0 });
  }

  private view(row: SettingsRow): AutoTopUpView {
    const max = this.deps.settings.autoTopUpMaxFailures;
    const status: AutoTopUpStatus = !row.enabled ? "disabled" : row.failures >= max ? "paused" : row.pending ? "pending" : "active";
    return {
      enabled: row.enabled,
      threshold: row.threshold,
      amount: row.amount,
      fee: row.amount === null ? null : quotePurchase(row.amount, this.deps.settings).fee,
      paymentMethodId: row.payment_method,
      status,
      consecutiveFailures: row.failures,
      maxFailures: max,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
    };
  }

  private track(work: Promise<unknown>): void {
    const tracked = work
      .catch((error: unknown) => this.deps.log.error({ err: error }, "auto top-up failed"))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}
