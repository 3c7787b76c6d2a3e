import type { Money } from "../billing/money.js";
import type { CallSignal } from "./call-signal.js";
import type {
  AdapterKind,
  ApiType,
  AttemptSummary,
  Caller,
  CatalogSnapshot,
  CompletionRequest,
  EndpointInfo,
  TokenUsage,
  UpstreamEvent,
} from "./types.js";

/*
 * The ports through which the routing core reaches the rest of Switchyard. The composition root (src/app.ts) wires
 * an implementation of each; tests may wire their own.
 */

/** The catalog as currently loaded. Returns an immutable snapshot; callers keep it for the whole request. */
export interface CatalogPort {
  snapshot(): CatalogSnapshot;
}

export interface HoldRequest {
  holdId: string;
  accountId: string;
  keyHash: string | null;
  /** The new total of the hold; placing an existing hold again resizes it. */
  amount: Money;
  /** After this long a hold is considered orphaned and released by the reaper. */
  ttlMs: number;
}

export type HoldOutcome =
  | { ok: true }
  | {
      ok: false;
      /** `negative_balance`: the account owes credits; `credits`: not enough available; `key_limit`: the key's limit. */
      reason: "negative_balance" | "credits" | "key_limit";
      /** What could have been held for this request. */
      available: Money;
    };

/** The usage record written with a settlement. */
export interface GenerationRecord {
  id: string;
  accountId: string;
  keyHash: string | null;
  model: string;
  provider: string;
  endpointId: string;
  upstreamId: string | null;
  apiType: ApiType;
  streamed: boolean;
  cancelled: boolean;
  finishReason: string | null;
  nativeFinishReason: string | null;
  usage: TokenUsage;
  usageCounted: boolean;
  cost: Money;
  latencyMs: number | null;
  generationTimeMs: number | null;
  attempts: AttemptSummary[];
  /** Web search results added to the prompt (0 without a web search). */
  numSearchResults: number;
  /** Only when the account opted in to prompt logging; otherwise null and never stored. */
  promptText: string | null;
  completionText: string | null;
  createdAt: Date;
}

/**
 * Credits: each request's hold, placed at admission, and the settlement that debits its real cost. An implementation
 * may place holds in memory against credit it reserved in bulk (LeasedCredits keeps a lease per account and key on
 * each node), so a hold need not reach the database. Implementations make each call atomic; `settle` releases the
 * request's hold and records the debit, the key's usage and the generation record as one settlement, which may reach
 * the database after `settle` returns.
 */
export interface CreditsPort {
  hold(request: HoldRequest): Promise<HoldOutcome>;
  release(holdId: string): Promise<void>;
  settle(settlement: { holdId: string; description: string; generation: GenerationRecord }): Promise<void>;
}

/** One upstream call. `signal` aborts it (timeouts, client disconnect). */
export interface UpstreamCall {
  endpoint: EndpointInfo;
  request: CompletionRequest;
  /** The request's parameters reduced to what this endpoint accepts (unless `require_parameters` made that moot). */
  params: Record<string, unknown>;
  /**
   * Ask for a streamed answer. The router always does (so first-token and idle timeouts apply to every request);
   * adapters still read a whole JSON answer when a server ignores the request to stream.
   */
  stream: boolean;
  signal: CallSignal;
}

/**
 * A provider adapter: one per upstream protocol. `send` resolves once the upstream has accepted the request (2xx
 * headers), with the events of the answer; it rejects with an `AppError` (classified: retryable or not, with
 * `provider_name` and the upstream's body in metadata) when the upstream refuses or cannot be reached. The iterable
 * throws an `AppError` if the answer breaks off; it ends normally only on a complete answer.
 */
export interface ProviderAdapter {
  readonly kind: AdapterKind;
  send(call: UpstreamCall): Promise<AsyncIterable<UpstreamEvent>>;
}

export interface AdapterRegistry {
  get(kind: AdapterKind): ProviderAdapter | undefined;
  kinds(): ReadonlySet<AdapterKind>;
}

/** Which limits a request counts against: the free-model quotas, or the paid-model rate. */
export type RequestKind = "free" | "paid";

/**
 * Request limits per account. `admit` counts the request and throws a `rate_limited` AppError (with `X-RateLimit-*`
 * headers and `retryAfterMs`) when a limit is reached.
 */
export interface LimitsPort {
  admit(caller: Caller, kind: RequestKind): Promise<void>;
}

/** One web search result. */
export interface SearchResult {
  url: string;
  title: string;
  /** A snippet of the page. */
  content: string;
}

/**
 * A web search backend, for the web plugin and `:online`. `search` resolves with at most `maxResults` results (fewer,
 * or none, when the backend has no more) and rejects with an `AppError` when the backend cannot answer; `signal`
 * aborts it (the client went away).
 */
export interface SearchPort {
  search(query: string, options: { maxResults: number; signal: AbortSignal }): Promise<SearchResult[]>;
}

/** The verdict on one input of a moderation call. */
export interface ModerationResult {
  flagged: boolean;
  /** The categories that flagged it (`harassment`, `violence`…); empty when not flagged. */
  reasons: string[];
}

/**
 * A moderation backend, for endpoints the catalog marks `moderated`. `moderate` judges each input separately and
 * resolves with one result per input, in order; it rejects with an `AppError` when the backend cannot answer.
 */
export interface ModerationPort {
  moderate(inputs: string[], options: { signal: AbortSignal }): Promise<ModerationResult[]>;
}

/** Milliseconds since the epoch; injectable so tests of health windows need no real waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
