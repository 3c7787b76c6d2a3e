import { AppError } from "../errors.js";
import type { UpstreamCall } from "../core/ports.js";
import type { Delta, ProviderInfo, TokenUsage, ToolCallDelta, UpstreamEvent } from "../core/types.js";
import { readAllText } from "../streaming/body.js";
import type { SseEvent } from "../streaming/sse-parser.js";
import { readSseAnswer, type SseTranslator } from "./sse-answer.js";
import { classifyInBandError, droppedMidAnswer, invalidJsonAnswer, readRefusal } from "./upstream-errors.js";

/**
 * The OpenAI chat-completions wire format, shared by every adapter that speaks it (`openai-compatible`, and the
 * simulated provider, which produces the same bytes in-process): the request body, and the reading of a response —
 * JSON or server-sent events — into canonical upstream events.
 */

/** A response as the transport delivered it. */
export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array | string>;
}

/** The upstream request body: the client's parameters as reduced for this endpoint, with the upstream model name. */
export function chatRequestBody(call: UpstreamCall): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...call.params,
    model: call.endpoint.upstreamModel,
    messages: call.request.messages,
    stream: call.stream,
  };
  // Usage in streams: OpenAI sends it only when asked; servers that do not know the option ignore it.
  if (call.stream) body.stream_options = { include_usage: true };
  return body;
}

/**
 * Reads a response. A non-2xx status, or a 200 whose body is an error, rejects with the classified error. The
 * returned events end normally only when the answer is complete: for a stream, on `[DONE]` or, tolerating servers
 * that omit it, at the end of a stream that delivered a finish reason. A stream cut before that throws.
 */
export async function readChatResponse(
  response: WireResponse,
  provider: ProviderInfo,
  streamRequested: boolean,
): Promise<AsyncIterable<UpstreamEvent>> {
  if (response.status < 200 || response.status >= 300) throw await readRefusal(response, provider);
  const contentType = String(response.headers["content-type"] ?? "");
  if (streamRequested && !contentType.includes("application/json")) return readSseAnswer(response.body, provider, new ChunkStream(provider));
  let text: string;
  try {
    text = await readAllText(response.body);
  } catch (error) {
    throw droppedMidAnswer(provider, error);
  }
  const event = parseCompletion(text, provider);
  return (async function* () {
    yield event;
  })();
}

/**
 * The state of one chat-completions stream: whether `[DONE]` or a finish reason arrived. `translate` turns one
 * server-sent event into an upstream event (none for `[DONE]`, an empty or a malformed event); it throws the classified
 * error of an in-band error.
 */
class ChunkStream implements SseTranslator {
  stopped = false;
  private finishReasonSeen = false;

  constructor(private readonly provider: ProviderInfo) {}

  get finished(): boolean {
    return this.stopped || this.finishReasonSeen;
  }

  translate(sse: SseEvent): UpstreamEvent | null {
    const data = sse.data.trim();
    if (data === "[DONE]") {
      this.stopped = true;
      return null;
    }
    if (data.length === 0) return null;
    const content = contentChunk(data);
    if (content) return content;
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(data) as Record<string, unknown>;
    } catch {
      // A malformed event is skipped: one bad line must not lose an otherwise good answer.
      return null;
    }
    if (chunk.error !== undefined && chunk.error !== null) throw classifyInBandError(chunk.error, this.provider);
    const event = chunkEvent(chunk, this.provider);
    if (event.nativeFinishReason) this.finishReasonSeen = true;
    return event;
  }
}

/**
 * The pass-through for the chunk that makes up nearly all of a stream: a choice whose delta is only text (the first
 * may also carry the role), not finished, beside plain fields (id, object, created, model, system_fingerprint, usage
 * null…). Such a chunk is recognised and its text taken out without building its object graph, which saves most of the
 * cost of reading a stream; anything else (a finish reason, usage, tool calls, reasoning, an error, other choices,
 * escapes JSON.parse would reject) returns null and is parsed in full. The pattern matches only valid JSON: its
 * strings exclude control characters, and escapes in the text are decoded by JSON.parse.
 */
export function contentChunk(data: string): UpstreamEvent | null {
  const match = CONTENT_CHUNK.exec(data);
  if (!match) return null;
  const [, id, raw] = match;
  let content = raw!;
  if (content.includes("\\")) {
    try {
      content = JSON.parse(`"${content}"`) as string;
    } catch {
      return null;
    }
  }
  const event: UpstreamEvent = {};
  if (id !== undefined) event.upstreamId = id;
  if (content.length > 0) event.delta = { content };
  return event;
}

/** A JSON string without escapes, or a number, or a literal: the values of the plain fields around the choice. */
const PLAIN_VALUE = String.raw`(?:"[^"\\\u0000-\u001f]*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|null|true|false)`;
/**
 * A plain field other than `id` (taken first, or the chunk is parsed in full), `error` (an in-band error must never
 * pass as content) and `choices`.
 */
const PLAIN_FIELD = String.raw`(?!"(?:id|error|choices)")"[a-z_]+":${PLAIN_VALUE}`;
/** A text-only chunk: its id (group 1, when it comes first) and its text as written in JSON (group 2). */
const CONTENT_CHUNK = new RegExp(
  String.raw`^\{(?:"id":"([^"\\\u0000-\u001f]*)",)?(?:${PLAIN_FIELD},)*` +
    String.raw`"choices":\[\{"index":0,"delta":\{(?:"role":"assistant",)?"content":"((?:[^"\\\u0000-\u001f]|\\.)*)"\}` +
    String.raw`(?:,"logprobs":null)?,"finish_reason":null(?:,"logprobs":null)?\}\]` +
    String.raw`(?:,${PLAIN_FIELD})*\}$`,
);

function chunkEvent(chunk: Record<string, unknown>, provider: ProviderInfo): UpstreamEvent {
  const event: UpstreamEvent = {};
  if (typeof chunk.id === "string") event.upstreamId = chunk.id;
  const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as Record<string, unknown> | undefined) : undefined;
  if (choice) {
    throwIfFinishedWithError(choice, provider);
    const delta = toDelta(choice.delta as Record<string, unknown> | undefined);
    if (delta) event.delta = delta;
    if (typeof choice.finish_reason === "string") event.nativeFinishReason = choice.finish_reason;
  }
  const usage = toUsage(chunk.usage);
  if (usage) event.usage = usage;
  return event;
}

function parseCompletion(text: string, provider: ProviderInfo): UpstreamEvent {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw invalidJsonAnswer(provider);
  }
  if (body.error !== undefined && body.error !== null) throw classifyInBandError(body.error, provider);
  const choice = Array.isArray(body.choices) ? (body.choices[0] as Record<string, unknown> | undefined) : undefined;
  if (!choice) {
    throw new AppError("provider_error", `${provider.name} returned a response without choices.`, {
      metadata: { provider_name: provider.name, provider_code: 200 },
    });
  }
  throwIfFinishedWithError(choice, provider);
  const message = (choice.message ?? {}) as Record<string, unknown>;
  const delta: Delta = { role: "assistant" };
  if (typeof message.content === "string") delta.content = message.content;
  else if (typeof choice.text === "string") delta.content = choice.text;
  const reasoning = message.reasoning ?? message.reasoning_content;
  if (typeof reasoning === "string" && reasoning) delta.reasoning = reasoning;
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    delta.tool_calls = (message.tool_calls as Array<Record<string, unknown>>).map((call, index) => ({
      index,
      id: call.id as string,
      type: "function",
      function: call.function as { name: string; arguments: string },
    }));
  }
  return {
    upstreamId: typeof body.id === "string" ? body.id : undefined,
    delta,
    nativeFinishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : "stop",
    usage: toUsage(body.usage),
  };
}

/**
 * An upstream that is itself a router (OpenRouter-style) reports a failure after acceptance as
 * `finish_reason: "error"` with `choices[0].error`: that answer is broken off, not complete.
 */
function throwIfFinishedWithError(choice: Record<string, unknown>, provider: ProviderInfo): void {
  if (choice.finish_reason !== "error") return;
  throw classifyInBandError(choice.error ?? { message: "The answer finished with an error." }, provider);
}

function toDelta(raw: Record<string, unknown> | undefined): Delta | undefined {
  if (!raw) return undefined;
  const delta: Delta = {};
  if (typeof raw.content === "string" && raw.content.length > 0) delta.content = raw.content;
  const reasoning = raw.reasoning ?? raw.reasoning_content;
  if (typeof reasoning === "string" && reasoning.length > 0) delta.reasoning = reasoning;
  if (Array.isArray(raw.tool_calls) && raw.tool_calls.length > 0) delta.tool_calls = raw.tool_calls as ToolCallDelta[];
  return delta.content !== undefined || delta.reasoning !== undefined || delta.tool_calls ? delta : undefined;
}

function toUsage(raw: unknown): TokenUsage | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const u = raw as Record<string, unknown>;
  if (typeof u.prompt_tokens !== "number" && typeof u.completion_tokens !== "number") return undefined;
  const promptDetails = (u.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const completionDetails = (u.completion_tokens_details ?? {}) as Record<string, unknown>;
  return {
    promptTokens: asCount(u.prompt_tokens),
    completionTokens: asCount(u.completion_tokens),
    reasoningTokens: asCount(completionDetails.reasoning_tokens),
    cachedTokens: asCount(promptDetails.cached_tokens),
    cacheWriteTokens: asCount(promptDetails.cache_write_tokens ?? u.cache_write_tokens),
  };
}

/** A token count as an upstream reports it: a positive finite number, floored; anything else counts 0. */
export function asCount(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
