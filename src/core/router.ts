import { randomFillSync, randomUUID } from "node:crypto";
import { formatUsd, maxMoney, type Money } from "../billing/money.js";
import { AppError, toAppError } from "../errors.js";
import { AnswerAccumulator } from "../streaming/accumulator.js";
import { CallAbort } from "./call-signal.js";
import { normaliseFinishReason } from "./finish-reason.js";
import type { HealthTracker } from "./health.js";
import { flaggedError, moderationInputs } from "./moderation.js";
import { planEndpoints, ROUTABLE_PARAMETERS } from "./plan.js";
import type {
  AdapterRegistry,
  CatalogPort,
  Clock,
  CreditsPort,
  GenerationRecord,
  LimitsPort,
  ModerationPort,
  ModerationResult,
  RequestKind,
  SearchPort,
  SearchResult,
} from "./ports.js";
import { fixedFees, generationCost, maxOutputTokens, worstCaseCost } from "./pricing.js";
import { isEffort, reasoningEffortFor, reasoningRequest } from "./reasoning.js";
import { MAX_MODELS, resolveModel, type ModelTarget } from "./resolve.js";
import { sleep } from "./sleep.js";
import { countImages, countPromptTokens, countTextTokens, messagesText } from "./tokens.js";
import type {
  AttemptSummary,
  Caller,
  CompletionRequest,
  CompletionResult,
  Delta,
  EndpointInfo,
  FinishReason,
  OutputChunk,
  RunEvent,
  TokenUsage,
  UpstreamEvent,
} from "./types.js";
import { citationAnnotations, DEFAULT_WEB_SEARCH, searchQuery, trimResults, withSearchResults } from "./web-search.js";

/**
 * The routing core: one completion request, from the catalog to the ledger.
 *
 * `start` resolves the model ids, plans the first model that can serve the request and places the credit hold; it
 * rejects with a request error (400/402/404…) before anything is sent upstream. The returned run then attempts the
 * planned endpoints in order — moving on after connection errors, timeouts, 408, 429 (honouring `Retry-After`) and
 * 5xx, moving to the next model in `models` after any other failure — until one starts answering. From that first
 * token on there is no fail-over: a later failure ends the run with an error result. Every run ends settled: the cost
 * debited with the generation record, or the hold released.
 *
 * Around that: a web search (the web plugin, `:online`) runs before a model is planned, once per request, and its
 * results go into the prompt and come back as `url_citation` annotations; the moderation step runs before the first
 * attempt on a moderated endpoint (not for `:beta`), once per request, and flagged input ends that model's turn with a
 * 403; reasoning the request hid (`reasoning.exclude`, `include_reasoning: false`) is left out of every chunk and of
 * the result, and still counted and billed.
 */

export interface RouterOptions {
  /** Streamed attempts: from sending the request to the first token. */
  firstTokenTimeoutMs: number;
  /** Streamed attempts: the longest silence between two events. */
  idleTimeoutMs: number;
  /** The whole request, all attempts included. */
  requestTimeoutMs: number;
  /** Upstream attempts per request, across all models and endpoints. */
  maxAttempts: number;
}

export interface RouterLogger {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface RouterDeps {
  catalog: CatalogPort;
  credits: CreditsPort;
  limits: LimitsPort;
  adapters: AdapterRegistry;
  health: HealthTracker;
  clock: Clock;
  random: () => number;
  options: RouterOptions;
  logger: RouterLogger;
  /** Web search for the web plugin and `:online`; null when none is configured (such requests are then refused). */
  search: SearchPort | null;
  /** Moderation for moderated endpoints; null when none is configured (those endpoints then serve only `:beta`). */
  moderation: ModerationPort | null;
}

/** A started completion: iterate it for `start`, `chunk` and one final `done` event. */
export interface CompletionRun extends AsyncIterable<RunEvent> {
  /** The generation id (`gen-…`), known before any output. */
  readonly id: string;
  /**
   * Milliseconds spent so far waiting on upstream providers (connecting, first token, every later event). The time a
   * request spends in Switchyard itself is its total time less this.
   */
  readonly upstreamMs: number;
  /** Unix seconds when the request arrived (`created` on every chunk). */
  readonly created: number;
  /** The client went away: stops the upstream call, and the run ends settling what was generated. */
  cancel(): void;
  /**
   * Runs the completion to its end without its chunks and returns the result: what the non-streamed front doors
   * answer with. A run that ended without a result (the client went away) is `cancelled`. Use either this or the
   * iterator, not both.
   */
  result(): Promise<CompletionResult>;
}

/** Each endpoint is tried at most this often per request. */
const ATTEMPTS_PER_ENDPOINT = 2;
/** The router waits at most this long for a `Retry-After` before giving up on an endpoint for this request. */
const MAX_RETRY_WAIT_MS = 10_000;
const BACKOFF_BASE_MS = 250;
/** Holds outlive the request by this much before the reaper may take them. */
const HOLD_GRACE_MS = 5 * 60_000;
const SETTLE_RETRY_DELAYS_MS = [100, 500, 2000];

/** Why the router aborted an upstream call. */
class Abort {
  constructor(readonly kind: "client" | "deadline" | "first_token" | "idle") {}
}

export class CompletionRouter {
  constructor(private readonly deps: RouterDeps) {}

  /** Starts a run; `signal`, when given, cancels it when aborted (else call the run's `cancel`). */
  async start(request: CompletionRequest, caller: Caller, signal?: AbortSignal): Promise<CompletionRun> {
    if (request.models.length === 0) throw new AppError("invalid_request", "A model is required: set `model` (or `models`).");
    if (request.models.length > MAX_MODELS) {
      throw new AppError("invalid_request", `'models' array must have ${MAX_MODELS} items or fewer (including \`model\`).`);
    }
    const snapshot = this.deps.catalog.snapshot();
    // Each id resolves on its own: an unknown id among the fall-backs is that model's error, and the next one is tried.
    const targets = request.models.map((id): ModelTarget | AppError => {
      try {
        return resolveModel(id, snapshot);
      } catch (error) {
        return toAppError(error);
      }
    });
    const run = new Run(this.deps, request, caller, targets, signal);
    await run.admitFirst();
    return run;
  }
}

/** A model's request as sent upstream: with the web search results in the prompt, when it asked for a search. */
interface Prepared {
  request: CompletionRequest;
  /** The prompt estimate of `request` (for planning, the hold, and usage when the provider reports none). */
  promptTokens: number;
  /** The results added to the prompt; empty without a web search. */
  results: SearchResult[];
}

/** How the moderation step went: the backend's results, or why there are none. */
type ModerationOutcome = { results: ModerationResult[] } | { error: AppError };

interface Committed {
  endpoint: EndpointInfo;
  target: ModelTarget;
  prepared: Prepared;
  iterator: AsyncIterator<UpstreamEvent>;
  first: UpstreamEvent;
  controller: CallAbort;
  sentAt: number;
  firstTokenAt: number;
  /** The idle timeout, re-armed on every event. */
  watchdog: NodeJS.Timeout;
  /** A non-streamed answer, read in full before committing (null when streamed). */
  buffer: UpstreamEvent[] | null;
  /** Why reading that answer stopped early (the client left), raised after the buffer. */
  bufferError: unknown;
}

class Run implements CompletionRun {
  readonly id = generationId();
  private readonly holdId = randomUUID();
  readonly created = Math.floor(Date.now() / 1000);
  private upstreamWaitMs = 0;
  private readonly startedAt: number;
  private readonly deadline: number;
  private readonly images: number;
  /** Leave reasoning out of the output (it is still counted and billed). */
  private readonly hideReasoning: boolean;
  /** The current model's prepared request (set with the plan). */
  private prepared: Prepared | null = null;
  /** The request without a web search, prepared once. */
  private plainRequest: Prepared | null = null;
  /** Web searches by size and query: one search serves every model of the request that asks for the same. */
  private readonly searches = new Map<string, Promise<SearchResult[]>>();
  /** The texts moderation judges, and its outcome once asked (at most once per request). */
  private moderationTexts: string[] | null = null;
  private moderation: Promise<ModerationOutcome> | null = null;
  private readonly attempts: AttemptSummary[] = [];
  /** Aborts everything: the client went away, or the request's time is up. */
  private readonly runAbort = new CallAbort();
  /** The upstream call in progress (or committed to), which aborting the run aborts too. */
  private attemptController: CallAbort | null = null;
  private targetIndex = -1;
  private plan: EndpointInfo[] = [];
  private lastError: AppError | null = null;
  private holdPlaced = false;
  /** Limits already counted for this request (a fall-back to another model of the same kind is not counted again). */
  private readonly counted = new Set<RequestKind>();
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** False when the run is read for its result only: its chunks are then not made. */
  private chunksWanted = true;

  constructor(
    private readonly deps: RouterDeps,
    private readonly request: CompletionRequest,
    private readonly caller: Caller,
    private readonly targets: Array<ModelTarget | AppError>,
    clientSignal: AbortSignal | undefined,
  ) {
    this.startedAt = deps.clock.now();
    this.deadline = this.startedAt + deps.options.requestTimeoutMs;
    this.images = countImages(request.messages);
    this.hideReasoning = reasoningRequest(request.params).exclude;
    if (clientSignal?.aborted) this.cancel();
    else clientSignal?.addEventListener("abort", () => this.cancel(), { once: true });
  }

  cancel(): void {
    this.abortRun(new Abort("client"));
  }

  /** Aborts the run and the upstream call in progress (one call at a time: no listener per attempt needed). */
  private abortRun(reason: Abort): void {
    if (this.runAbort.aborted) return;
    this.runAbort.abort(reason);
    this.attemptController?.abort(reason);
  }

  /** Plans and admits the first model that can take the request; throws the last error if none can. */
  async admitFirst(): Promise<void> {
    if (!(await this.advanceTarget())) throw this.finalError();
    this.deadlineTimer = setTimeout(() => this.abortRun(new Abort("deadline")), this.deps.options.requestTimeoutMs);
    this.deadlineTimer.unref();
  }

  get upstreamMs(): number {
    return this.upstreamWaitMs;
  }

  [Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    return this.events();
  }

  async result(): Promise<CompletionResult> {
    this.chunksWanted = false;
    let result: CompletionResult | null = null;
    for await (const event of this.events()) if (event.type === "done") result = event.result;
    if (!result) throw new AppError("cancelled");
    return result;
  }

  private async *events(): AsyncGenerator<RunEvent> {
    let committed: Committed | null = null;
    const answer = new AnswerAccumulator();
    let usage: TokenUsage | null = null;
    let nativeFinish: string | null = null;
    let upstreamId: string | null = null;
    let outcome: "completed" | "failed" | "cancelled" | null = null;
    let failure: AppError | null = null;
    let result: CompletionResult | null = null;
    try {
      committed = await this.attemptUntilCommitted();
      const { endpoint, target } = committed;
      yield { type: "start", model: target.answerId, providerName: endpoint.provider.name, providerSlug: endpoint.provider.slug };
      const { results } = committed.prepared;
      let event: UpstreamEvent | null = committed.first;
      let roleSent = false;
      let annotated = false;
      const output = (chunk: OutputChunk): RunEvent => {
        // The first chunk the client sees opens with the assistant role.
        const delta = roleSent ? chunk.delta : { role: "assistant" as const, ...chunk.delta };
        roleSent = true;
        return { type: "chunk", chunk: { ...chunk, delta } };
      };
      while (event) {
        if (event.upstreamId) upstreamId ??= event.upstreamId;
        if (event.usage) usage = event.usage;
        if (event.delta) answer.add(event.delta);
        if (event.nativeFinishReason) nativeFinish = event.nativeFinishReason;
        if (this.chunksWanted && (event.delta || event.nativeFinishReason)) {
          let delta = event.delta ? this.visible(event.delta) : {};
          if (event.nativeFinishReason && results.length > 0) {
            // The sources go with the chunk that finishes the answer, pointing at where the answer cites them.
            annotated = true;
            delta = { ...delta, annotations: citationAnnotations(answer.content, results) };
          }
          const finishReason = event.nativeFinishReason ? normaliseFinishReason(event.nativeFinishReason) : null;
          if (finishReason || hasOutput(delta)) {
            yield output({ delta, finishReason, nativeFinishReason: event.nativeFinishReason ?? null });
          }
        }
        const next = this.nextEvent(committed);
        event = next instanceof Promise ? await next : next;
      }
      if (this.chunksWanted && results.length > 0 && !annotated) {
        // A complete answer without a finish reason still gets its sources.
        yield output({ delta: { annotations: citationAnnotations(answer.content, results) }, finishReason: null, nativeFinishReason: null });
      }
      if (this.chunksWanted && !roleSent) {
        // A complete answer with nothing in it still opens with the assistant role.
        yield output({ delta: { content: "" }, finishReason: null, nativeFinishReason: null });
      }
      outcome = "completed";
    } catch (error) {
      const reason = this.runAbort.reason;
      if (reason instanceof Abort && reason.kind === "client") {
        outcome = "cancelled";
      } else if (!committed) {
        // Nothing was output: the front door turns this into an HTTP error.
        throw error instanceof AppError ? error : toAppError(error);
      } else {
        outcome = "failed";
        failure = this.afterCommitError(error, committed);
      }
    } finally {
      clearTimeout(this.deadlineTimer);
      if (!committed) {
        // Failed, or the client left, before any output: nothing to charge.
        this.abortRun(new Abort("client"));
        await this.releaseHold();
      } else {
        // `outcome` is still null when the consumer stopped iterating (the client went away) at a yield.
        outcome ??= "cancelled";
        clearTimeout(committed.watchdog);
        // The attempt is over: a late cancel (the client leaving after the end) must not abort its drained connection.
        this.attemptController = null;
        // A complete answer needs no abort (aborting a finished request still costs undici an error object).
        if (outcome !== "completed") committed.controller.abort(new Abort("client"));
        result = await this.settle(committed, { answer, usage, nativeFinish, upstreamId, failure, cancelled: outcome === "cancelled" });
      }
    }
    if (result) yield { type: "done", result };
  }

  /** Tries endpoints (and then the next models) until one starts answering. */
  private async attemptUntilCommitted(): Promise<Committed> {
    for (;;) {
      const committed = await this.attemptCurrentTarget();
      if (committed) return committed;
      if (this.runAbort.aborted) throw this.abortError();
      if (!(await this.advanceTarget())) throw this.finalError();
    }
  }

  /** A delta as the client may see it: without reasoning when the request hid it. */
  private visible(delta: Delta): Delta {
    if (!this.hideReasoning || delta.reasoning === undefined) return delta;
    const { reasoning: _hidden, ...rest } = delta;
    return rest;
  }

  /** Moves to the next model that plans and admits. False when none is left; `lastError` says why. */
  private async advanceTarget(): Promise<boolean> {
    while (this.targetIndex + 1 < this.targets.length) {
      this.targetIndex += 1;
      const target = this.targets[this.targetIndex];
      if (target instanceof AppError) {
        this.lastError = target;
        continue;
      }
      try {
        const kind: RequestKind = target.variant === "free" ? "free" : "paid";
        if (!this.counted.has(kind)) {
          this.counted.add(kind);
          await this.deps.limits.admit(this.caller, kind);
        }
        const prepared = await this.prepare(target);
        const plan = planEndpoints({
          target,
          request: this.request,
          caller: this.caller,
          promptTokens: prepared.promptTokens,
          images: this.images,
          health: this.deps.health,
          random: this.deps.random,
          canModerate: this.deps.moderation !== null,
        });
        this.plan = await this.admit(target, plan, prepared);
        this.prepared = prepared;
        return true;
      } catch (error) {
        this.lastError = toAppError(error);
      }
    }
    return false;
  }

  /**
   * The model's request as it goes upstream. With a web search (the request's web plugin, else `:online`) and a user
   * message to search for, the search runs — once per request for the same query and size — and its results are
   * added to the prompt. Without a search backend such a request is refused (503 `not_configured`).
   */
  private async prepare(target: ModelTarget): Promise<Prepared> {
    const requested = this.request.webSearch;
    const settings = requested === "off" ? null : (requested ?? (target.online ? DEFAULT_WEB_SEARCH : null));
    const query = settings ? searchQuery(this.request.messages) : null;
    const plain = () =>
      (this.plainRequest ??= {
        request: this.request,
        promptTokens: countPromptTokens(this.request.messages, this.request.params.tools),
        results: [],
      });
    if (!settings || query === null) return plain();
    const backend = this.deps.search;
    if (!backend) throw new AppError("not_configured", "Web search (the web plugin, :online) is not configured on this server.");
    const key = `${settings.maxResults}:${query}`;
    let pending = this.searches.get(key);
    if (!pending) {
      pending = this.timeUpstream(backend.search(query, { maxResults: settings.maxResults, signal: this.runAbort.domSignal })).then(
        (results) => trimResults(results, settings.maxResults),
        (error: unknown) => {
          throw error instanceof AppError ? error : new AppError("provider_error", "The web search failed.", { cause: error });
        },
      );
      this.searches.set(key, pending);
    }
    const results = await pending;
    if (results.length === 0) return plain();
    const messages = withSearchResults(this.request.messages, results, settings, new Date(this.deps.clock.now()));
    return { request: { ...this.request, messages }, promptTokens: countPromptTokens(messages, this.request.params.tools), results };
  }

  /**
   * Holds the worst-case cost of the dearest planned endpoint. When that does not fit, the plan shrinks to the
   * endpoints whose worst case does; when none fits, 402 with `metadata.limit_source`.
   */
  private async admit(target: ModelTarget, plan: EndpointInfo[], prepared: Prepared): Promise<EndpointInfo[]> {
    const searches = prepared.results.length > 0 ? 1 : 0;
    const worst = (e: EndpointInfo) => worstCaseCost(e, prepared.promptTokens, this.request.maxTokens, this.images, searches);
    const maxOf = (endpoints: EndpointInfo[]) => endpoints.map(worst).reduce(maxMoney, 0n);
    const hold = (amount: Money) =>
      this.deps.credits.hold({
        holdId: this.holdId,
        accountId: this.caller.accountId,
        keyHash: this.caller.keyHash,
        amount,
        ttlMs: this.deps.options.requestTimeoutMs + HOLD_GRACE_MS,
      });
    let outcome = await hold(maxOf(plan));
    if (!outcome.ok && outcome.reason !== "negative_balance") {
      const available = outcome.available;
      const affordable = plan.filter((e) => worst(e) <= available);
      if (affordable.length > 0) {
        outcome = await hold(maxOf(affordable));
        if (outcome.ok) plan = affordable;
      }
    }
    if (outcome.ok) {
      this.holdPlaced = true;
      return plan;
    }
    throw this.paymentError(target, plan, prepared, outcome.reason, outcome.available);
  }

  private paymentError(
    target: ModelTarget,
    plan: EndpointInfo[],
    prepared: Prepared,
    reason: "negative_balance" | "credits" | "key_limit",
    available: Money,
  ): AppError {
    const limitSource = reason === "key_limit" ? "key_limit" : "credits";
    if (reason === "negative_balance") {
      return new AppError("payment_required", "Your account has a negative balance. Add credits to make requests, including to free models.", {
        metadata: { limit_source: limitSource, model: target.answerId },
      });
    }
    const cheapest = plan.reduce((a, b) => (b.pricing.completion < a.pricing.completion ? b : a));
    const { promptTokens } = prepared;
    const requested = maxOutputTokens(cheapest, promptTokens, this.request.maxTokens);
    const searches = prepared.results.length > 0 ? 1 : 0;
    const fixed = fixedFees(cheapest.pricing, this.images, searches) + BigInt(promptTokens) * cheapest.pricing.prompt;
    const perToken = cheapest.pricing.completion > 0n ? cheapest.pricing.completion : 1n;
    const affordable = available > fixed ? Number((available - fixed) / perToken) : 0;
    const where = reason === "key_limit" ? "this key's limit" : "your credits";
    return new AppError(
      "payment_required",
      `This request requires more credits, or fewer max_tokens. You requested up to ${requested} tokens, but ${where} can only afford ${affordable}.` +
        (reason === "key_limit" ? " Raise the key's limit or wait for it to reset." : " Add credits to continue."),
      { metadata: { limit_source: limitSource, model: target.answerId, available: formatUsd(available > 0n ? available : 0n) } },
    );
  }

  /** Tries the current model's plan. Returns null when it is exhausted (or failed in a way another model may not). */
  private async attemptCurrentTarget(): Promise<Committed | null> {
    const target = this.targets[this.targetIndex] as ModelTarget;
    const tries = new Map<string, { count: number; retryAt: number }>();
    const { health, clock } = this.deps;
    let triedAny = false;
    let moderationFailed = false;
    for (;;) {
      if (this.runAbort.aborted) return null;
      if (this.attempts.length >= this.deps.options.maxAttempts) return null;
      const now = clock.now();
      let next: EndpointInfo | null = null;
      let soonest = Number.POSITIVE_INFINITY;
      for (const endpoint of this.plan) {
        const tried = tries.get(endpoint.id);
        if (tried && tried.count >= ATTEMPTS_PER_ENDPOINT) continue;
        const readyAt = Math.max(tried?.retryAt ?? 0, health.availableAt(endpoint.id) ?? 0);
        if (readyAt > now) {
          soonest = Math.min(soonest, readyAt);
          continue;
        }
        const refusal = await this.moderate(target, endpoint);
        if (refusal?.flagged) {
          // Flagged input is a refusal of the request, not of this endpoint: the next model in `models` gets its turn.
          this.lastError = refusal.flagged;
          return null;
        }
        if (refusal?.failed) {
          // Without a verdict no moderated endpoint may serve; others still can.
          this.lastError = refusal.failed;
          moderationFailed = true;
          tries.set(endpoint.id, { count: ATTEMPTS_PER_ENDPOINT, retryAt: 0 });
          continue;
        }
        if (!health.tryAcquire(endpoint.id)) continue;
        next = endpoint;
        break;
      }
      if (!next) {
        if (soonest - now <= MAX_RETRY_WAIT_MS && soonest < this.deadline) {
          await sleep(soonest - now, this.runAbort).catch(() => {});
          continue;
        }
        if (!triedAny && !moderationFailed) {
          // Every endpoint is cooling down or behind an open breaker: say so, and when to come back.
          this.lastError = new AppError("provider_unavailable", `No provider of ${target.answerId} is taking requests right now. Try again shortly.`, {
            metadata: { model: target.answerId },
            retryAfterMs: Number.isFinite(soonest) ? Math.max(0, soonest - now) : undefined,
          });
        }
        return null;
      }
      triedAny = true;
      const result = await this.attemptOnce(target, next);
      if ("endpoint" in result) return result;
      const error = result.error;
      this.lastError = error;
      const tried = tries.get(next.id) ?? { count: 0, retryAt: 0 };
      tried.count += 1;
      if (!error.spec.retryable) {
        // The request itself was refused (context length, content policy, bad request): no other endpoint of this
        // model is likely to differ, so the next model in `models` gets its turn.
        return null;
      }
      const backoff = BACKOFF_BASE_MS * 2 ** (tried.count - 1) * (0.5 + this.deps.random() / 2);
      if (error.retryAfterMs !== undefined) {
        health.coolDown(next.id, clock.now() + error.retryAfterMs);
        if (error.retryAfterMs > MAX_RETRY_WAIT_MS) tried.count = ATTEMPTS_PER_ENDPOINT;
      }
      tried.retryAt = clock.now() + Math.max(backoff, error.retryAfterMs ?? 0);
      tries.set(next.id, tried);
    }
  }

  /**
   * The moderation step before an attempt on `endpoint`: nothing to do (null) unless the endpoint is moderated and the
   * id does not skip moderation (`:beta`). The backend is asked once per request; its verdict then holds for every
   * endpoint and model. Returns the 403 for flagged input, or the backend's failure.
   */
  private async moderate(target: ModelTarget, endpoint: EndpointInfo): Promise<{ flagged?: AppError; failed?: AppError } | null> {
    if (!endpoint.moderated || target.skipModeration) return null;
    const texts = (this.moderationTexts ??= moderationInputs(this.request.messages));
    if (texts.length === 0) return null;
    const backend = this.deps.moderation;
    if (!backend) return { failed: new AppError("not_configured", "Moderation is not configured on this server.") };
    this.moderation ??= this.timeUpstream(backend.moderate(texts, { signal: this.runAbort.domSignal })).then(
      (results): ModerationOutcome => ({ results }),
      (error: unknown): ModerationOutcome => ({
        error: error instanceof AppError ? error : new AppError("provider_error", "The moderation service failed.", { cause: error }),
      }),
    );
    const outcome = await this.moderation;
    if ("error" in outcome) return { failed: outcome.error };
    const flagged = flaggedError(texts, outcome.results, { model: target.answerId, providerName: endpoint.provider.name });
    return flagged ? { flagged } : null;
  }

  /**
   * One upstream call. Upstream calls always stream, so the first-token and idle timeouts apply to every request.
   * For a streamed request the attempt is committed at its first token; for a non-streamed one, nothing reaches the
   * client before the whole answer, so the attempt reads the answer to its end first and a failure part-way is still
   * an attempt failure that the next endpoint can make good.
   */
  private async attemptOnce(target: ModelTarget, endpoint: EndpointInfo): Promise<Committed | { error: AppError }> {
    const { clock, health, options } = this.deps;
    const controller = new CallAbort();
    this.attemptController = controller;
    if (this.runAbort.aborted) controller.abort(this.runAbort.reason);
    const sentAt = clock.now();
    // One watchdog per attempt: the first-token timeout until the first token, then the idle timeout, re-armed on
    // every event (refreshing a timer is far cheaper than making one per event).
    const firstTokenTimer = setTimeout(() => controller.abort(new Abort("first_token")), options.firstTokenTimeoutMs);
    const summary = (status: number | null, error: string | null) =>
      this.attempts.push({
        provider: endpoint.provider.slug,
        model: target.answerId,
        endpoint: endpoint.id,
        status,
        error,
        latencyMs: clock.now() - sentAt,
      });
    const prepared = this.prepared!;
    const waitStarted = performance.now();
    let waitCounted = false;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const adapter = this.deps.adapters.get(endpoint.provider.adapter);
      if (!adapter) throw new AppError("provider_error", `No adapter for ${endpoint.provider.adapter}.`);
      const events = await adapter.send({
        endpoint,
        request: prepared.request,
        params: paramsFor(endpoint, this.request, target),
        stream: true,
        signal: controller,
      });
      const iterator = events[Symbol.asyncIterator]();
      let first: UpstreamEvent | null = null;
      let pending: UpstreamEvent = {};
      for (;;) {
        const step = await iterator.next();
        if (step.done) break;
        const event = step.value;
        // Events before the first token (role-only chunks, ids) are folded into it.
        pending = { ...pending, ...event, delta: event.delta ?? pending.delta };
        if (event.delta || event.nativeFinishReason) {
          first = pending;
          break;
        }
      }
      this.upstreamWaitMs += performance.now() - waitStarted;
      waitCounted = true;
      clearTimeout(firstTokenTimer);
      const committed: Committed = {
        endpoint,
        target,
        prepared,
        iterator,
        // A stream that completed without a token is an empty answer: commit to it as well.
        first: first ?? pending,
        controller,
        watchdog: (watchdog = setTimeout(() => controller.abort(new Abort("idle")), options.idleTimeoutMs)),
        sentAt,
        firstTokenAt: clock.now(),
        buffer: null,
        bufferError: null,
      };
      if (!this.request.stream) {
        const buffer: UpstreamEvent[] = [];
        try {
          for (let event = await this.nextUpstream(committed); event; event = await this.nextUpstream(committed)) buffer.push(event);
        } catch (error) {
          const reason = this.runAbort.reason;
          // The client left part-way: settle what was generated (the caller sees the error again after the buffer).
          if (!(reason instanceof Abort && reason.kind === "client")) throw error;
          committed.bufferError = error;
        }
        committed.buffer = buffer;
      }
      summary(200, null);
      return committed;
    } catch (caught) {
      // A non-streamed answer that fails while it is read has its wait counted already (up to the first token, then
      // event by event), and its idle watchdog running.
      if (!waitCounted) this.upstreamWaitMs += performance.now() - waitStarted;
      clearTimeout(firstTokenTimer);
      clearTimeout(watchdog);
      this.attemptController = null;
      const reason = controller.reason;
      const { name } = endpoint.provider;
      let error: AppError;
      if (reason instanceof Abort && (reason.kind === "client" || reason.kind === "deadline")) {
        summary(null, reason.kind === "client" ? "cancelled" : "request timeout");
        return { error: this.abortError() };
      } else if (reason instanceof Abort) {
        const message =
          reason.kind === "first_token"
            ? `${name} sent no first token within ${options.firstTokenTimeoutMs} ms.`
            : `${name} stopped sending tokens for ${options.idleTimeoutMs} ms.`;
        error = new AppError("timeout", message, { metadata: { provider_name: name, provider_code: null } });
      } else {
        error = caught instanceof AppError ? caught : new AppError("provider_error", `${name} failed.`, { cause: caught });
      }
      const status = typeof error.metadata?.provider_code === "number" ? error.metadata.provider_code : null;
      summary(status, error.message);
      health.record(endpoint.id, { ok: false, rateLimited: status === 429, ttftMs: null, tokensPerSecond: null });
      return { error };
    }
  }

  /** Awaits an upstream operation, adding the wait to `upstreamMs`. */
  private async timeUpstream<T>(operation: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await operation;
    } finally {
      this.upstreamWaitMs += performance.now() - started;
    }
  }

  /** The next event of a committed attempt: from the buffer of a non-streamed answer (at once), or from upstream. */
  private nextEvent(committed: Committed): UpstreamEvent | null | Promise<UpstreamEvent | null> {
    if (committed.buffer) {
      if (committed.buffer.length > 0) return committed.buffer.shift()!;
      if (committed.bufferError) throw committed.bufferError;
      return null;
    }
    return this.nextUpstream(committed);
  }

  /** The next upstream event within the idle timeout; null at the end of a complete answer. */
  private async nextUpstream(committed: Committed): Promise<UpstreamEvent | null> {
    committed.watchdog.refresh();
    const started = performance.now();
    const step = await committed.iterator.next();
    this.upstreamWaitMs += performance.now() - started;
    return step.done ? null : step.value;
  }

  /** What a failure after the first token was: the request's deadline, the idle timeout, or the provider's error. */
  private afterCommitError(error: unknown, committed: Committed): AppError {
    const runReason = this.runAbort.reason;
    if (runReason instanceof Abort && runReason.kind === "deadline") return this.abortError();
    const { provider } = committed.endpoint;
    const attemptReason = committed.controller.reason;
    if (attemptReason instanceof Abort && attemptReason.kind === "idle") {
      return new AppError("timeout", `${provider.name} stopped sending tokens for ${this.deps.options.idleTimeoutMs} ms.`, {
        metadata: { provider_name: provider.name, provider_code: null },
      });
    }
    if (error instanceof AppError) return error;
    return new AppError("provider_error", `${provider.name} failed mid-answer.`, {
      metadata: { provider_name: provider.name, provider_code: null },
      cause: error,
    });
  }

  private abortError(): AppError {
    const reason = this.runAbort.reason;
    if (reason instanceof Abort && reason.kind === "deadline") {
      return new AppError("timeout", `The request did not complete within ${this.deps.options.requestTimeoutMs} ms.`);
    }
    return new AppError("cancelled");
  }

  private finalError(): AppError {
    const error = this.lastError ?? new AppError("provider_unavailable");
    if (this.attempts.length === 0) return error;
    return new AppError(error.code, error.message, {
      metadata: {
        ...error.metadata,
        attempts: this.attempts.map((a) => ({ provider: a.provider, model: a.model, status: a.status, error: a.error })),
      },
      headers: error.headers,
      retryAfterMs: error.retryAfterMs,
      cause: error,
    });
  }

  private async releaseHold(): Promise<void> {
    if (!this.holdPlaced) return;
    this.holdPlaced = false;
    await this.deps.credits.release(this.holdId).catch((error: unknown) => {
      this.deps.logger.error({ err: error, holdId: this.holdId }, "releasing a credit hold failed; the reaper will release it");
    });
  }

  private async settle(
    committed: Committed,
    outcome: {
      answer: AnswerAccumulator;
      usage: TokenUsage | null;
      nativeFinish: string | null;
      upstreamId: string | null;
      failure: AppError | null;
      cancelled: boolean;
    },
  ): Promise<CompletionResult> {
    this.holdPlaced = false;
    const { endpoint, target, prepared } = committed;
    const { answer, failure, cancelled } = outcome;
    const now = this.deps.clock.now();
    const usageCounted = outcome.usage === null;
    const usage: TokenUsage = outcome.usage ?? {
      promptTokens: prepared.promptTokens,
      completionTokens: countTextTokens(answer.generatedText),
      reasoningTokens: countTextTokens(answer.reasoning),
      cachedTokens: 0,
      cacheWriteTokens: 0,
    };
    const finishReason: FinishReason | null = failure
      ? "error"
      : cancelled
        ? null
        : normaliseFinishReason(outcome.nativeFinish);
    const numSearchResults = prepared.results.length;
    const cost = generationCost(endpoint.pricing, {
      usage,
      images: this.images,
      webSearches: numSearchResults > 0 ? 1 : 0,
      finishReason,
      discounted: this.caller.logPrompts,
    });
    const latencyMs = committed.firstTokenAt - this.startedAt;
    const generationTimeMs = now - committed.firstTokenAt;
    if (!failure && !cancelled) {
      const tokensPerSecond = generationTimeMs > 0 && usage.completionTokens > 1 ? (usage.completionTokens * 1000) / generationTimeMs : null;
      this.deps.health.record(endpoint.id, {
        ok: true,
        rateLimited: false,
        ttftMs: committed.firstTokenAt - committed.sentAt,
        tokensPerSecond,
      });
    } else if (failure) {
      this.deps.health.record(endpoint.id, { ok: false, rateLimited: false, ttftMs: null, tokensPerSecond: null });
      const last = this.attempts[this.attempts.length - 1];
      if (last) last.error = failure.message;
    }
    const record: GenerationRecord = {
      id: this.id,
      accountId: this.caller.accountId,
      keyHash: this.caller.keyHash,
      model: target.answerId,
      provider: endpoint.provider.slug,
      endpointId: endpoint.id,
      upstreamId: outcome.upstreamId,
      apiType: this.request.apiType,
      streamed: this.request.stream,
      cancelled,
      finishReason,
      nativeFinishReason: outcome.nativeFinish,
      usage,
      usageCounted,
      cost,
      latencyMs,
      generationTimeMs,
      attempts: this.attempts,
      numSearchResults,
      promptText: this.caller.logPrompts ? messagesText(this.request.messages) : null,
      completionText: this.caller.logPrompts ? answer.content : null,
      createdAt: new Date(this.startedAt),
    };
    await this.settleWithRetries(record);
    return {
      id: this.id,
      created: this.created,
      model: target.answerId,
      providerSlug: endpoint.provider.slug,
      providerName: endpoint.provider.name,
      endpointId: endpoint.id,
      upstreamId: outcome.upstreamId,
      content: answer.content,
      reasoning: this.hideReasoning ? "" : answer.reasoning,
      toolCalls: answer.toolCalls,
      annotations: numSearchResults > 0 ? citationAnnotations(answer.content, prepared.results) : [],
      numSearchResults,
      finishReason: finishReason ?? "stop",
      nativeFinishReason: outcome.nativeFinish,
      usage,
      usageCounted,
      cost,
      cancelled,
      streamed: this.request.stream,
      error: failure,
      attempts: this.attempts,
      latencyMs,
      generationTimeMs,
    };
  }

  private async settleWithRetries(record: GenerationRecord): Promise<void> {
    const description = `${record.model} via ${record.provider}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.credits.settle({ holdId: this.holdId, description, generation: record });
        return;
      } catch (error) {
        if (attempt >= SETTLE_RETRY_DELAYS_MS.length) {
          this.deps.logger.error({ err: error, generationId: record.id, cost: formatUsd(record.cost) }, "settling a generation failed");
          return;
        }
        await sleep(SETTLE_RETRY_DELAYS_MS[attempt]);
      }
    }
  }
}

/**
 * The request's parameters for one endpoint: routable parameters the endpoint does not declare are dropped (OpenRouter
 * drops unsupported parameters silently unless `require_parameters` is set, in which case planning already kept only
 * endpoints supporting all of them). Parameters Switchyard does not know pass through untouched. Reasoning is
 * translated for endpoints that know another spelling: legacy `include_reasoning` and `reasoning_effort` as `reasoning`
 * for endpoints that take only `reasoning`, and any reasoning parameter as OpenAI's `reasoning_effort` for endpoints
 * that take only that.
 */
function paramsFor(endpoint: EndpointInfo, request: CompletionRequest, target: ModelTarget): Record<string, unknown> {
  let requested = request.params;
  const absent = (name: string) => requested[name] === undefined || requested[name] === null;
  if (target.forceReasoning && absent("reasoning")) {
    // `:thinking` on a model without dedicated thinking endpoints switches reasoning on (unless the request set it).
    const effort = isEffort(requested.reasoning_effort) ? requested.reasoning_effort : "medium";
    requested = { ...requested, reasoning: { effort } };
  }
  const supported = endpoint.supportedParameters;
  if (supported.size === 0) return requested;
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(requested)) {
    if (ROUTABLE_PARAMETERS.has(name) && !supported.has(name)) {
      if (!(name === "max_tokens" && supported.has("max_completion_tokens"))) continue;
    }
    params[name] = value;
  }
  if (supported.has("reasoning") && absent("reasoning")) {
    const legacy = typeof requested.include_reasoning === "boolean" && !supported.has("include_reasoning");
    const effort = isEffort(requested.reasoning_effort) && !supported.has("reasoning_effort");
    if (legacy || effort) {
      params.reasoning = {
        ...(requested.include_reasoning === false ? { exclude: true } : {}),
        ...(effort ? { effort: requested.reasoning_effort } : {}),
      };
    }
  }
  if (supported.has("reasoning_effort") && !supported.has("reasoning") && absent("reasoning_effort")) {
    const effort = reasoningEffortFor(reasoningRequest(requested), request.maxTokens ?? endpoint.maxCompletionTokens);
    if (effort !== null) params.reasoning_effort = effort;
  }
  return params;
}

/** Whether a delta carries anything for the client beyond the role. */
function hasOutput(delta: Delta): boolean {
  return delta.content !== undefined || delta.reasoning !== undefined || delta.tool_calls !== undefined || delta.annotations !== undefined;
}

const ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `gen-<unix seconds>-<20 random base62 characters>`, like OpenRouter's generation ids. */
function generationId(): string {
  let suffix = "";
  for (let i = 0; i < 20; i++) suffix += ID_ALPHABET[randomByte() % 62];
  return `gen-${Math.floor(Date.now() / 1000)}-${suffix}`;
}

/** Random bytes drawn from a pool refilled 4 KiB at a time: one system call per ~200 ids instead of one per id. */
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

function randomByte(): number {
  if (randomOffset === randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  return randomPool[randomOffset++];
}
