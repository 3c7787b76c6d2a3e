import { AppError } from "../errors.js";
import type { UpstreamCall } from "../core/ports.js";
import { reasoningRequest, thinkingBudget } from "../core/reasoning.js";
import { countTextTokens } from "../core/tokens.js";
import type { ChatMessage, ContentPart, Delta, ProviderInfo, TokenUsage, ToolCallDelta, UpstreamEvent } from "../core/types.js";
import { readAllText } from "../streaming/body.js";
import type { SseEvent } from "../streaming/sse-parser.js";
import { asCount, type WireResponse } from "./openai-wire.js";
import { readSseAnswer, type SseTranslator } from "./sse-answer.js";
import {
  classifyAnthropicError,
  classifyAnthropicStreamError,
  droppedMidAnswer,
  invalidJsonAnswer,
  readRefusal,
} from "./upstream-errors.js";

/**
 * The Anthropic Messages wire format (`POST /v1/messages`, version 2023-06-01): an OpenAI-shaped request translated
 * into a Messages request body, and a Messages response — JSON or server-sent events — read into canonical upstream
 * events. Both directions are pure: the adapter (`anthropic.ts`) only adds the transport.
 */

export const ANTHROPIC_VERSION = "2023-06-01";

/** Anthropic requires `max_tokens`; without one from the client or the catalog, this many. */
const DEFAULT_MAX_TOKENS = 4096;
/** With thinking on, Anthropic accepts `top_p` only from here to 1. */
const MIN_TOP_P_WITH_THINKING = 0.95;

type Block = Record<string, unknown>;
type AnthropicRole = "user" | "assistant";

interface Turn {
  role: AnthropicRole;
  content: Block[];
}

// ---------------------------------------------------------------------------------------------------------------------
// Request

/**
 * The Messages request body for a call. System and developer messages become the top-level `system`; messages are
 * merged into alternating user and assistant turns (tool results are user-role `tool_result` blocks); images, tools,
 * `tool_choice`, sampling, stop sequences and reasoning are translated. Parameters Anthropic does not know are not
 * forwarded: it rejects unknown fields. Throws `upstream_invalid_request` for input Anthropic cannot take (an audio
 * part, a data URL that is not base64, tool-call arguments that are not a JSON object).
 */
export function messagesRequestBody(call: UpstreamCall): Record<string, unknown> {
  const { params, endpoint } = call;
  const provider = endpoint.provider;
  const system: Block[] = [];
  const turns: Turn[] = [];
  for (const message of call.request.messages) {
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...textBlocks(message.content, "system", provider));
        break;
      case "user":
        addTurn(turns, "user", userBlocks(message.content, provider));
        break;
      case "assistant":
        addTurn(turns, "assistant", assistantBlocks(message, provider));
        break;
      case "tool":
        addTurn(turns, "user", [toolResultBlock(message, provider)]);
        break;
    }
  }

  const tools = toolsOf(params.tools);
  const toolChoice = tools ? toolChoiceOf(params.tool_choice, params.parallel_tool_calls) : undefined;
  const requested = firstCount(params.max_completion_tokens, params.max_tokens, call.request.maxTokens);
  let maxTokens = requested ?? endpoint.maxCompletionTokens ?? DEFAULT_MAX_TOKENS;
  // The budget follows OpenRouter's mapping (src/core/reasoning.ts): `reasoning.max_tokens` as given, an effort as its share of max_tokens.
  let budget = thinkingBudget(reasoningRequest(params), maxTokens);
  // Anthropic refuses thinking together with a forced tool call, and in a tool loop whose last assistant turn has no
  // thinking block (the signed thinking of earlier answers is not kept in the OpenAI format): the request then goes
  // without thinking rather than being refused.
  if (budget !== null && (toolChoice?.type === "any" || toolChoice?.type === "tool" || inToolLoop(turns))) budget = null;
  if (budget !== null && budget >= maxTokens) {
    // `max_tokens` covers thinking and answer: raise it so the answer keeps the room asked for, within the endpoint's cap.
    const ceiling = endpoint.maxCompletionTokens ?? Number.POSITIVE_INFINITY;
    maxTokens = Math.max(maxTokens, Math.min(budget + maxTokens, ceiling));
    budget = Math.min(budget, maxTokens - 1);
  }

  const body: Record<string, unknown> = { model: endpoint.upstreamModel, max_tokens: maxTokens };
  if (system.length > 0) {
    // A plain string unless a part asks for prompt caching, which only the block form can carry.
    body.system = system.some((block) => block.cache_control !== undefined) ? system : system.map((block) => block.text).join("\n\n");
  }
  body.messages = turns.map((turn) => ({ role: turn.role, content: compact(turn) }));
  if (tools) body.tools = tools;
  if (toolChoice) body.tool_choice = toolChoice;
  if (budget !== null) body.thinking = { type: "enabled", budget_tokens: budget };
  // With thinking on, Anthropic fixes temperature and top_k and bounds top_p: those the client sent are left out.
  const temperature = finite(params.temperature);
  if (temperature !== undefined && budget === null) body.temperature = temperature;
  const topP = finite(params.top_p);
  if (topP !== undefined && (budget === null || topP >= MIN_TOP_P_WITH_THINKING)) body.top_p = topP;
  const topK = finite(params.top_k);
  if (topK !== undefined && budget === null) body.top_k = topK;
  const stop = stopSequences(params.stop);
  if (stop) body.stop_sequences = stop;
  body.stream = call.stream;
  return body;
}

/** Whether the client asked to think without seeing the thinking (`reasoning.exclude`, legacy `include_reasoning: false`). */
export function reasoningHidden(params: Record<string, unknown>): boolean {
  return reasoningRequest(params).exclude;
}

/** Appends blocks as a turn, merged into the previous turn when the role repeats (Anthropic needs alternating roles). */
function addTurn(turns: Turn[], role: AnthropicRole, blocks: Block[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

/**
 * A turn's content: a lone plain text block as a string (as the client most likely wrote it); otherwise the blocks,
 * with a user turn's tool results first, as Anthropic requires.
 */
function compact(turn: Turn): string | Block[] {
  const [only] = turn.content;
  if (turn.content.length === 1 && only.type === "text" && only.cache_control === undefined) return only.text as string;
  if (turn.role === "assistant") return turn.content;
  return [...turn.content.filter((b) => b.type === "tool_result"), ...turn.content.filter((b) => b.type !== "tool_result")];
}

/** A tool loop is under way when the last assistant turn called tools (its results follow in a user turn). */
function inToolLoop(turns: Turn[]): boolean {
  for (let i = turns.length - 1; i >= 0; i--) {
    if (turns[i].role === "assistant") return turns[i].content.some((block) => block.type === "tool_use");
  }
  return false;
}

function textBlocks(content: ChatMessage["content"], where: string, provider: ProviderInfo): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  return content.flatMap((part) => {
    if (part.type !== "text") throw untranslatable(provider, `Anthropic accepts only text in ${where} messages, not \`${part.type}\` parts.`);
    return textBlock(part);
  });
}

function userBlocks(content: ChatMessage["content"], provider: ProviderInfo): Block[] {
  if (content === null || typeof content === "string") return textBlocks(content, "user", provider);
  return content.flatMap((part) => partBlock(part, "user", provider));
}

function assistantBlocks(message: ChatMessage, provider: ProviderInfo): Block[] {
  const blocks = textBlocks(message.content, "assistant", provider);
  for (const call of message.tool_calls ?? []) {
    blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input: toolInput(call.id, call.function.arguments, provider) });
  }
  return blocks;
}

function toolResultBlock(message: ChatMessage, provider: ProviderInfo): Block {
  const block: Block = { type: "tool_result", tool_use_id: message.tool_call_id };
  if (typeof message.content === "string") {
    if (message.content.length > 0) block.content = message.content;
  } else if (Array.isArray(message.content)) {
    const parts = message.content.flatMap((part) => partBlock(part, "tool", provider));
    if (parts.length > 0) block.content = parts;
  }
  return block;
}

/** A text or image part as a content block (none for an empty text). */
function partBlock(part: ContentPart, where: string, provider: ProviderInfo): Block[] {
  if (part.type === "text") return textBlock(part);
  if (part.type === "image_url") return [imageBlock(part, provider)];
  throw untranslatable(provider, `Anthropic does not accept \`${part.type}\` parts in ${where} messages.`);
}

/** Anthropic refuses empty text blocks; `cache_control` (prompt caching) is kept. */
function textBlock(part: ContentPart): Block[] {
  const text = typeof part.text === "string" ? part.text : "";
  if (text.length === 0) return [];
  return [withCacheControl({ type: "text", text }, part)];
}

/** An `image_url` part: a base64 data URL as a `base64` source, any other URL as a `url` source (Anthropic fetches it). */
function imageBlock(part: ContentPart, provider: ProviderInfo): Block {
  const url = String((part.image_url as { url?: unknown } | undefined)?.url ?? "");
  if (!url.startsWith("data:")) return withCacheControl({ type: "image", source: { type: "url", url } }, part);
  const match = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (!match || !match[2].split(";").includes("base64")) {
    throw untranslatable(provider, "An image data URL must be base64-encoded (data:<media type>;base64,<data>).");
  }
  return withCacheControl({ type: "image", source: { type: "base64", media_type: match[1], data: match[3] } }, part);
}

function withCacheControl(block: Block, part: ContentPart): Block {
  if (part.cache_control !== undefined) block.cache_control = part.cache_control;
  return block;
}

/** A tool call's JSON arguments as the `input` object Anthropic wants; empty arguments are an empty object. */
function toolInput(id: string, args: string, provider: ProviderInfo): Record<string, unknown> {
  if (args.trim().length === 0) return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    input = undefined;
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw untranslatable(provider, `The arguments of tool call ${id} are not a JSON object.`);
  }
  return input as Record<string, unknown>;
}

/** OpenAI function tools as Anthropic tools; other kinds of tool (server tools) are not Anthropic's to run. */
function toolsOf(raw: unknown): Block[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const tools: Block[] = [];
  for (const tool of raw as Array<{ type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } }>) {
    const fn = tool?.function;
    if (tool?.type !== "function" || typeof fn?.name !== "string") continue;
    const translated: Block = { name: fn.name };
    if (typeof fn.description === "string") translated.description = fn.description;
    translated.input_schema = fn.parameters ?? { type: "object", properties: {} };
    tools.push(translated);
  }
  return tools.length > 0 ? tools : undefined;
}

function toolChoiceOf(choice: unknown, parallelToolCalls: unknown): Block | undefined {
  let translated: Block | undefined;
  if (choice === "auto") translated = { type: "auto" };
  else if (choice === "required") translated = { type: "any" };
  else if (choice === "none") return { type: "none" };
  else if (typeof (choice as { function?: { name?: unknown } } | null)?.function?.name === "string") {
    translated = { type: "tool", name: (choice as { function: { name: string } }).function.name };
  }
  if (parallelToolCalls === false) {
    translated ??= { type: "auto" };
    translated.disable_parallel_tool_use = true;
  }
  return translated;
}

/** `stop` as Anthropic's `stop_sequences`; it refuses sequences of only whitespace. */
function stopSequences(stop: unknown): string[] | undefined {
  const list = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
  const sequences = list.filter((s): s is string => typeof s === "string" && /\S/.test(s));
  return sequences.length > 0 ? sequences : undefined;
}

function firstCount(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  return undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function untranslatable(provider: ProviderInfo, message: string): AppError {
  return new AppError("upstream_invalid_request", message, { metadata: { provider_name: provider.name, provider_code: null } });
}

// ---------------------------------------------------------------------------------------------------------------------
// Response

export interface ReadOptions {
  /** A streamed answer was asked for (a server may still answer with JSON). */
  stream: boolean;
  /** Drop thinking from the output (it is still counted in usage). */
  hideReasoning: boolean;
}

/**
 * Reads a Messages response. A non-2xx status, or a body or event of type `error`, rejects (or throws) with the
 * classified error. The returned events end normally only when the answer is complete: for a stream, at
 * `message_stop` or, when the connection then closes, after a `message_delta` with a stop reason. A stream cut before
 * that throws.
 */
export async function readMessagesResponse(
  response: WireResponse,
  provider: ProviderInfo,
  options: ReadOptions,
): Promise<AsyncIterable<UpstreamEvent>> {
  if (response.status < 200 || response.status >= 300) throw await readRefusal(response, provider, classifyAnthropicError);
  const contentType = String(response.headers["content-type"] ?? "");
  if (contentType.includes("text/event-stream") || (options.stream && !contentType.includes("application/json"))) {
    return readSseAnswer(response.body, provider, new MessageStream(provider, options.hideReasoning));
  }
  let text: string;
  try {
    text = await readAllText(response.body);
  } catch (error) {
    throw droppedMidAnswer(provider, error);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalidJsonAnswer(provider);
  }
  const event = messageEvent(body, provider, options.hideReasoning);
  return (async function* () {
    yield event;
  })();
}

/**
 * A whole Messages JSON answer as one event: text blocks as content, thinking as reasoning (unless hidden),
 * `tool_use` blocks as tool calls with their ids and the input as JSON arguments.
 */
function messageEvent(body: unknown, provider: ProviderInfo, hideReasoning: boolean): UpstreamEvent {
  const message = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (message.type === "error") throw classifyAnthropicStreamError(message.error, provider);
  if (!Array.isArray(message.content)) {
    throw new AppError("provider_error", `${provider.name} returned a response without content.`, {
      metadata: { provider_name: provider.name, provider_code: 200 },
    });
  }
  const tally = new OutputTally();
  const delta: Delta = { role: "assistant" };
  const toolCalls: ToolCallDelta[] = [];
  for (const block of message.content as Block[]) {
    if (block.type === "text" && typeof block.text === "string") {
      delta.content = (delta.content ?? "") + block.text;
      tally.visible(block.text);
    } else if (block.type === "thinking" || block.type === "redacted_thinking") {
      tally.thinking(typeof block.thinking === "string" ? block.thinking : "");
      if (!hideReasoning && typeof block.thinking === "string" && block.thinking.length > 0) {
        delta.reasoning = (delta.reasoning ?? "") + block.thinking;
      }
    } else if (block.type === "tool_use") {
      const args = JSON.stringify(block.input ?? {});
      toolCalls.push({ index: toolCalls.length, id: String(block.id), type: "function", function: { name: String(block.name), arguments: args } });
      tally.visible(String(block.name) + args);
    }
  }
  if (toolCalls.length > 0) delta.tool_calls = toolCalls;
  const usage = RawUsage.from(message.usage);
  return {
    upstreamId: typeof message.id === "string" ? message.id : undefined,
    delta,
    nativeFinishReason: typeof message.stop_reason === "string" ? message.stop_reason : "end_turn",
    usage: usage?.toTokenUsage(tally),
  };
}

type BlockKind = "text" | "thinking" | "tool_use" | "other";
const BLOCK_KINDS = new Map<string, BlockKind>([
  ["text", "text"],
  ["thinking", "thinking"],
  ["redacted_thinking", "thinking"],
  ["tool_use", "tool_use"],
]);

/**
 * The state of one Messages stream: which content block each index is, which tool call each `tool_use` block is,
 * the usage reported so far and the stop reason. `translate` turns one server-sent event into at most one upstream
 * event; it throws the classified error of an `error` event.
 */
class MessageStream implements SseTranslator {
  private readonly blocks = new Map<number, { kind: BlockKind; toolIndex: number }>();
  private tools = 0;
  private usage: RawUsage | null = null;
  private readonly tally = new OutputTally();
  private stopReason: string | null = null;
  /** `message_stop` arrived: the answer is complete and nothing more is read. */
  stopped = false;

  constructor(
    private readonly provider: ProviderInfo,
    private readonly hideReasoning: boolean,
  ) {}

  /** Complete: `message_stop` arrived, or a stop reason did (the closing event may be lost with the connection). */
  get finished(): boolean {
    return this.stopped || this.stopReason !== null;
  }

  translate(sse: SseEvent): UpstreamEvent | null {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(sse.data) as Record<string, unknown>;
    } catch {
      // A malformed event is skipped: one bad line must not lose an otherwise good answer.
      return null;
    }
    switch (data.type ?? sse.event) {
      case "message_start": {
        const message = (data.message ?? {}) as Record<string, unknown>;
        this.usage = RawUsage.merge(this.usage, RawUsage.from(message.usage));
        return typeof message.id === "string" ? { upstreamId: message.id } : null;
      }
      case "content_block_start":
        return this.blockStart(Number(data.index), (data.content_block ?? {}) as Block);
      case "content_block_delta":
        return this.blockDelta(Number(data.index), (data.delta ?? {}) as Block);
      case "message_delta": {
        this.usage = RawUsage.merge(this.usage, RawUsage.from(data.usage));
        const stopReason = (data.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
        if (typeof stopReason !== "string") return null;
        this.stopReason = stopReason;
        const event: UpstreamEvent = { nativeFinishReason: stopReason };
        if (this.usage) event.usage = this.usage.toTokenUsage(this.tally);
        return event;
      }
      case "message_stop":
        this.stopped = true;
        return null;
      case "error":
        throw classifyAnthropicStreamError(data.error, this.provider);
      default:
        // `ping`, `content_block_stop`, and event types added after this was written.
        return null;
    }
  }

  private blockStart(index: number, block: Block): UpstreamEvent | null {
    const kind = BLOCK_KINDS.get(String(block.type)) ?? "other";
    const toolIndex = kind === "tool_use" ? this.tools++ : -1;
    this.blocks.set(index, { kind, toolIndex });
    if (kind === "thinking") {
      this.tally.thinking("");
      return this.reasoningEvent(typeof block.thinking === "string" ? block.thinking : "");
    }
    if (kind === "text") return this.contentEvent(typeof block.text === "string" ? block.text : "");
    if (kind !== "tool_use") return null;
    const name = String(block.name);
    this.tally.visible(name);
    return { delta: { tool_calls: [{ index: toolIndex, id: String(block.id), type: "function", function: { name, arguments: "" } }] } };
  }

  private blockDelta(index: number, delta: Block): UpstreamEvent | null {
    const block = this.blocks.get(index);
    if (delta.type === "text_delta" && typeof delta.text === "string") return this.contentEvent(delta.text);
    if (delta.type === "thinking_delta" && typeof delta.thinking === "string") return this.reasoningEvent(delta.thinking);
    if (delta.type === "input_json_delta" && block?.kind === "tool_use" && typeof delta.partial_json === "string" && delta.partial_json.length > 0) {
      this.tally.visible(delta.partial_json);
      return { delta: { tool_calls: [{ index: block.toolIndex, function: { arguments: delta.partial_json } }] } };
    }
    // `signature_delta` (the thinking's signature), `citations_delta` and deltas of server-tool blocks carry no output.
    return null;
  }

  private contentEvent(text: string): UpstreamEvent | null {
    if (text.length === 0) return null;
    this.tally.visible(text);
    return { delta: { content: text } };
  }

  private reasoningEvent(text: string): UpstreamEvent | null {
    if (text.length === 0) return null;
    this.tally.thinking(text);
    return this.hideReasoning ? null : { delta: { reasoning: text } };
  }
}

/**
 * What the model output, for estimating reasoning tokens: Anthropic bills thinking as output tokens but reports no
 * separate count, and Claude 4 models return only a summary of their thinking. The estimate is the output tokens not
 * accounted for by the visible answer (text and tool calls, counted with Switchyard's tokenizer), and at least the
 * tokens of the thinking text received, never more than all output tokens.
 */
class OutputTally {
  private visibleText = "";
  private thinkingText = "";
  private thought = false;

  visible(text: string): void {
    this.visibleText += text;
  }

  thinking(text: string): void {
    this.thought = true;
    this.thinkingText += text;
  }

  reasoningTokens(outputTokens: number): number {
    if (!this.thought || outputTokens === 0) return 0;
    const unaccounted = outputTokens - countTextTokens(this.visibleText);
    return Math.min(outputTokens, Math.max(unaccounted, countTextTokens(this.thinkingText)));
  }
}

/** Anthropic's usage counts. `message_delta` counts are cumulative, so merging keeps the larger of each. */
class RawUsage {
  private constructor(
    readonly input: number,
    readonly cacheRead: number,
    readonly cacheWrite: number,
    readonly output: number,
  ) {}

  static from(raw: unknown): RawUsage | null {
    if (typeof raw !== "object" || raw === null) return null;
    const u = raw as Record<string, unknown>;
    return new RawUsage(
      asCount(u.input_tokens),
      asCount(u.cache_read_input_tokens),
      asCount(u.cache_creation_input_tokens),
      asCount(u.output_tokens),
    );
  }

  static merge(a: RawUsage | null, b: RawUsage | null): RawUsage | null {
    if (!a || !b) return a ?? b;
    const max = (field: "input" | "cacheRead" | "cacheWrite" | "output") => Math.max(a[field], b[field]);
    return new RawUsage(max("input"), max("cacheRead"), max("cacheWrite"), max("output"));
  }

  /** Prompt tokens include the cached and the cache-written ones, as OpenAI counts them. */
  toTokenUsage(tally: OutputTally): TokenUsage {
    return {
      promptTokens: this.input + this.cacheRead + this.cacheWrite,
      completionTokens: this.output,
      reasoningTokens: tally.reasoningTokens(this.output),
      cachedTokens: this.cacheRead,
      cacheWriteTokens: this.cacheWrite,
    };
  }
}
