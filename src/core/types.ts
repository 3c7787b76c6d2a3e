import type { AppError } from "../errors.js";
import type { Money } from "../billing/money.js";

/*
 * The core's vocabulary: the catalog as the router sees it, the canonical completion request, the chunks a run yields
 * and its final result. Plain data only: no HTTP, GraphQL or ORM types.
 */

export const ADAPTER_KINDS = ["openai-compatible", "anthropic", "simulated"] as const;
export type AdapterKind = (typeof ADAPTER_KINDS)[number];

export const ENDPOINT_VARIANTS = ["standard", "free", "extended", "thinking"] as const;
/** Static variants: an endpoint belongs to exactly one, and `model:variant` selects that set. */
export type EndpointVariant = (typeof ENDPOINT_VARIANTS)[number];

/** What a provider does with prompts. */
export interface DataPolicy {
  /** The provider may train on prompts and completions. */
  training: boolean;
  /** The provider stores prompts (anything short of zero data retention). */
  retainsPrompts: boolean;
}

/** Per-unit prices in picodollars. */
export interface Pricing {
  prompt: Money;
  completion: Money;
  request: Money;
  image: Money;
  /** Per reasoning token; null = the completion price. */
  reasoning: Money | null;
  cacheRead: Money | null;
  cacheWrite: Money | null;
  webSearch: Money;
}

export interface ProviderInfo {
  slug: string;
  name: string;
  adapter: AdapterKind;
  /** Resolved base URL (the `baseUrlEnv` variable wins over the catalog's `baseUrl`). */
  baseUrl: string | null;
  /** Resolved API key. Never rendered anywhere. */
  apiKey: string | null;
  /** Null when the catalog does not say; planning then assumes the worst (trains and retains). */
  dataPolicy: DataPolicy | null;
  supportsCancellation: boolean;
  /** False while credentials or the adapter are missing; `inactiveReason` says which. */
  active: boolean;
  inactiveReason: string | null;
  privacyPolicyUrl: string | null;
  termsOfServiceUrl: string | null;
  statusPageUrl: string | null;
  headquarters: string | null;
  datacenters: string[];
}

export interface EndpointInfo {
  /** `model:variant@tag`. */
  id: string;
  modelId: string;
  variant: EndpointVariant;
  /** Routing slug for `provider.order/only/ignore`: `provider` or `provider/sub-tag`. */
  tag: string;
  provider: ProviderInfo;
  upstreamModel: string;
  contextLength: number;
  maxCompletionTokens: number | null;
  maxPromptTokens: number | null;
  quantization: string | null;
  pricing: Pricing;
  supportedParameters: ReadonlySet<string>;
  inputModalities: readonly string[];
  /** The effective policy: the endpoint's, else the provider's, else the worst case. */
  dataPolicy: DataPolicy;
  moderated: boolean;
  /** 0 = active; negative = unavailable. */
  status: number;
  /** Settings for the `simulated` adapter (validated when the catalog is loaded); null for real providers. */
  simulation: Record<string, unknown> | null;
}

export interface ModelInfo {
  id: string;
  name: string;
  description: string;
  contextLength: number;
  inputModalities: readonly string[];
  outputModalities: readonly string[];
  tokenizer: string;
  instructType: string | null;
  huggingFaceId: string | null;
  defaultParameters: Record<string, number> | null;
  createdAt: Date;
  /** Every endpoint of every variant, active or not. */
  endpoints: readonly EndpointInfo[];
}

/** An immutable view of the catalog; replaced as a whole when the catalog changes. */
export interface CatalogSnapshot {
  models: ReadonlyMap<string, ModelInfo>;
  providers: ReadonlyMap<string, ProviderInfo>;
  endpoints: ReadonlyMap<string, EndpointInfo>;
}

// ---------------------------------------------------------------------------------------------------------------------
// Requests

export type Role = "system" | "developer" | "user" | "assistant" | "tool";

export interface TextPart {
  type: "text";
  text: string;
  [extra: string]: unknown;
}
export interface ImagePart {
  type: "image_url";
  image_url: { url: string; detail?: string };
  [extra: string]: unknown;
}
export type ContentPart = TextPart | ImagePart | { type: string; [extra: string]: unknown };

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** An OpenAI chat message, kept as the client sent it (extra fields pass through to OpenAI-compatible providers). */
export interface ChatMessage {
  role: Role;
  content: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  reasoning?: string;
  [extra: string]: unknown;
}

export const SORTS = ["price", "throughput", "latency"] as const;
export type Sort = (typeof SORTS)[number];

/** The `provider` object of a request, validated. `maxPrice` is converted from USD per million to picodollars per unit. */
export interface ProviderPreferences {
  order: string[] | null;
  allowFallbacks: boolean;
  requireParameters: boolean;
  dataCollection: "allow" | "deny";
  zdr: boolean;
  only: string[] | null;
  ignore: string[];
  quantizations: string[] | null;
  sort: Sort | null;
  maxPrice: { prompt?: Money; completion?: Money; request?: Money; image?: Money } | null;
}

export type ApiType = "chat" | "completions";

/**
 * The web plugin (`plugins: [{id: "web"}]`, or the `:online` variant): search the web with the last user message and
 * add the results to the prompt.
 */
export interface WebSearchSettings {
  /** How many results to add (1 … 10; default 5). */
  maxResults: number;
  /** The instruction that precedes the results in the added system message; null for the default one. */
  searchPrompt: string | null;
}

/** The canonical completion request both front doors build. */
export interface CompletionRequest {
  apiType: ApiType;
  /** Model ids in the order to try: `model` first, then the `models` fall-backs (at most 3 in all). */
  models: string[];
  messages: ChatMessage[];
  stream: boolean;
  /** `max_tokens` / `max_completion_tokens`. */
  maxTokens: number | null;
  provider: ProviderPreferences;
  /**
   * The web plugin as the request configured it; `"off"` when the request disabled it (`enabled: false`, which also
   * turns `:online` off); null when it did not mention it (`:online` may still switch it on per model).
   */
  webSearch: WebSearchSettings | "off" | null;
  /**
   * Everything else the client sent that goes to the provider (sampling parameters, tools, response_format, and
   * unknown provider-specific fields), as sent.
   */
  params: Record<string, unknown>;
}

/** Who is asking, as the front door authenticated them. */
export interface Caller {
  accountId: string;
  /** The API key's hash, or null for a dashboard session. */
  keyHash: string | null;
  privacy: AccountPrivacy;
  /** Store prompt and completion text with the generation (and take the 1% discount). */
  logPrompts: boolean;
}

export interface AccountPrivacy {
  allowTraining: boolean;
  allowFreeTraining: boolean;
  allowRetention: boolean;
  allowedProviders: string[] | null;
  ignoredProviders: string[];
}

// ---------------------------------------------------------------------------------------------------------------------
// Output

export const FINISH_REASONS = ["stop", "length", "tool_calls", "content_filter", "error"] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/** A web source of the answer, in OpenRouter's shape (`message.annotations[]`). */
export interface UrlCitation {
  url: string;
  title: string;
  /** The text of the search result the model was given. */
  content: string;
  /**
   * Where the answer cites the source (a markdown link to its URL, the bare URL, or its `[n]` marker), as UTF-16
   * offsets into the answer's content, end exclusive; both 0 when the answer does not cite it.
   */
  start_index: number;
  end_index: number;
}

export interface Annotation {
  type: "url_citation";
  url_citation: UrlCitation;
}

export interface Delta {
  role?: "assistant";
  content?: string;
  reasoning?: string;
  tool_calls?: ToolCallDelta[];
  /** The web sources of the answer: sent once, with the chunk that finishes the answer. */
  annotations?: Annotation[];
}

/** Token counts as the provider reported them (or as Switchyard counted them). */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
}

/** What an adapter yields for one attempt; any field may be absent in a given event. */
export interface UpstreamEvent {
  /** The upstream's own id for the response. */
  upstreamId?: string;
  delta?: Delta;
  /** The provider's raw finish reason. */
  nativeFinishReason?: string | null;
  usage?: TokenUsage;
}

/** One piece of the answer, as a run yields it to a front door. */
export interface OutputChunk {
  delta: Delta;
  finishReason: FinishReason | null;
  nativeFinishReason: string | null;
}

/** One upstream attempt, as recorded with the generation and shown in `provider_responses`. */
export interface AttemptSummary {
  provider: string;
  model: string;
  endpoint: string;
  /** Upstream HTTP status, or null for a connection failure or timeout. */
  status: number | null;
  error: string | null;
  latencyMs: number;
}

/** The settled outcome of a run. */
export interface CompletionResult {
  id: string;
  created: number;
  /** The model that answered, with its static variant (`author/name:free`). */
  model: string;
  providerSlug: string;
  providerName: string;
  endpointId: string;
  upstreamId: string | null;
  content: string;
  /** The reasoning text; empty when the request hid it (`reasoning.exclude`, `include_reasoning: false`). */
  reasoning: string;
  toolCalls: ToolCall[];
  /** Web sources (the web plugin / `:online`); empty without a web search. */
  annotations: Annotation[];
  /** Results the web search added to the prompt (0 without one). */
  numSearchResults: number;
  finishReason: FinishReason;
  nativeFinishReason: string | null;
  usage: TokenUsage;
  /** True when the provider reported no usage and Switchyard counted the tokens. */
  usageCounted: boolean;
  cost: Money;
  cancelled: boolean;
  streamed: boolean;
  /** Set when the answer failed after output had started: the answer is partial. */
  error: AppError | null;
  attempts: AttemptSummary[];
  latencyMs: number | null;
  generationTimeMs: number | null;
}

/**
 * What a run yields: `start` once an endpoint has begun answering (the model and provider are known from then on),
 * `chunk`s of the answer, and one `done` with the settled result.
 */
export type RunEvent =
  | { type: "start"; model: string; providerName: string; providerSlug: string }
  | { type: "chunk"; chunk: OutputChunk }
  | { type: "done"; result: CompletionResult };
