import { readFileSync } from "node:fs";
import { countPromptTokens } from "../../src/core/tokens.js";
import type { ChatMessage, ContentPart } from "../../src/core/types.js";
import type { WireResponse } from "../../src/providers/openai-wire.js";
import { simulate } from "../../src/providers/simulated/engine.js";
import { simulationSchema, type Simulation } from "../../src/providers/simulated/scenario.js";
import { SseParser } from "../../src/streaming/sse-parser.js";
import {
  FaultCounter,
  startTestServer,
  type RecordedRequest,
  type SimulationInput,
  type UpstreamReply,
  type UpstreamServer,
} from "./upstream-server.js";

/**
 * A fake Anthropic Messages API for tests: real HTTP on 127.0.0.1 (the server of `upstream-server.ts`), answering
 * `POST /v1/messages` as Anthropic does. It checks requests the way Anthropic does where an adapter could get them
 * wrong (the `anthropic-version` header, required and unknown fields, alternating roles, empty text, the thinking
 * budget) and refuses with Anthropic's error bodies. A request is then answered either with a fixed reply (a recorded
 * transcript, see {@link readTranscript}) or by the simulated model: the Messages request is turned back into an
 * OpenAI chat request, `simulate()` answers it, and its answer is re-encoded as Anthropic's JSON or event stream —
 * reasoning as a signed `thinking` block, tool calls as `tool_use` blocks streamed with `input_json_delta`, refusals
 * as Anthropic errors — keeping the simulation's faults (resets, stalls, cuts, malformed events, a missing
 * `message_stop`) on the wire. `faultTimes` is counted per `model`. Every request is recorded.
 */

type AnthropicBehaviour = (request: RecordedRequest) => SimulationInput | UpstreamReply;

const MESSAGES_PATH = "/v1/messages";
/** The top-level fields of a Messages request; Anthropic refuses any other. */
const KNOWN_FIELDS = new Set([
  "model",
  "messages",
  "max_tokens",
  "system",
  "metadata",
  "stop_sequences",
  "stream",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "thinking",
  "service_tier",
]);
const ERROR_TYPES = new Map<number, string>([
  [400, "invalid_request_error"],
  [401, "authentication_error"],
  [402, "billing_error"],
  [403, "permission_error"],
  [404, "not_found_error"],
  [413, "request_too_large"],
  [429, "rate_limit_error"],
  [500, "api_error"],
  [503, "overloaded_error"],
  [504, "timeout_error"],
  [529, "overloaded_error"],
]);
const TOOL_CHOICES = new Map([
  ["auto", "auto"],
  ["any", "required"],
  ["none", "none"],
]);
const STOP_REASONS: Record<string, string> = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use" };
/** What a thinking block's `signature` looks like: opaque base64. */
const SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds5U2Hs9y8P0uGMJIP4xOQJuC+NQQgQH4Qu1BSrFaOLyV";

let requestIds = 0;

export async function startAnthropicServer(behaviour: AnthropicBehaviour): Promise<UpstreamServer> {
  const faults = new FaultCounter();
  return startTestServer({
    // Anthropic's base URL has no version in it: the adapter adds `/v1/messages`.
    basePath: "",
    async respond(recorded, signal) {
      if (recorded.method !== "POST" || recorded.url !== MESSAGES_PATH) return anthropicError(404, `Not found: ${recorded.method} ${recorded.url}`);
      const refusal = checkRequest(recorded);
      if (refusal) return refusal;
      const choice = behaviour(recorded);
      if ("status" in choice) return choice;
      const simulation = simulationSchema.parse(choice);
      const body = recorded.body as Record<string, unknown>;
      const chat = chatRequestOf(body);
      const response = await simulate(chat, simulation, { signal, injectFault: faults.inject(String(body.model), simulation) });
      return anthropicResponse(response, chat, simulation);
    },
  });
}

/** An Anthropic error reply: `{type: "error", error: {type, message}, request_id}` with a `request-id` header. */
export function anthropicError(status: number, message: string, headers: Record<string, string> = {}): UpstreamReply {
  const requestId = `req_sim_${++requestIds}`;
  const type = ERROR_TYPES.get(status) ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return {
    status,
    headers: {
      "content-type": "application/json",
      "request-id": requestId,
      ...(status === 429 || status >= 500 ? { "x-should-retry": "true" } : {}),
      ...headers,
    },
    body: JSON.stringify({ type: "error", error: { type, message }, request_id: requestId }),
  };
}

/**
 * A recorded Anthropic response from `test/providers/transcripts/anthropic/<name>`: the status line, headers and body
 * as they came over the wire (an HTTP/1.1 response without its framing headers).
 */
export function readTranscript(name: string): UpstreamReply {
  const text = readFileSync(new URL(`../providers/transcripts/anthropic/${name}`, import.meta.url), "utf8");
  const split = text.indexOf("\n\n");
  const [statusLine, ...headerLines] = text.slice(0, split).split("\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(split + 2) };
}

/** Refuses what Anthropic would refuse before answering; null for a request it accepts. */
function checkRequest(recorded: RecordedRequest): UpstreamReply | null {
  if (recorded.headers["anthropic-version"] === undefined) return anthropicError(400, "anthropic-version: header is required");
  const body = recorded.body;
  if (!body) return anthropicError(400, "There was an issue with the format of your request: the body is not a JSON object.");
  for (const field of ["model", "messages", "max_tokens"]) if (body[field] === undefined) return anthropicError(400, `${field}: Field required`);
  for (const field of Object.keys(body)) if (!KNOWN_FIELDS.has(field)) return anthropicError(400, `${field}: Extra inputs are not permitted`);
  const messages = body.messages as Array<{ role: string; content: unknown }>;
  for (const [i, message] of messages.entries()) {
    if (i > 0 && messages[i - 1].role === message.role) {
      const found = `found multiple "${message.role}" roles in a row`;
      return anthropicError(400, `messages: roles must alternate between "user" and "assistant", but ${found}`);
    }
    const blocks = Array.isArray(message.content) ? (message.content as Array<Record<string, unknown>>) : [{ type: "text", text: message.content }];
    for (const [j, block] of blocks.entries()) {
      if (block.type === "text" && block.text === "") {
        return anthropicError(400, `messages.${i}.content.${j}.text: text content blocks must be non-empty`);
      }
    }
  }
  const budget = (body.thinking as { budget_tokens?: number } | undefined)?.budget_tokens;
  if (budget !== undefined) {
    if (budget < 1024) return anthropicError(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
    if (budget >= Number(body.max_tokens)) return anthropicError(400, "`max_tokens` must be greater than `thinking.budget_tokens`.");
    if (body.temperature !== undefined && body.temperature !== 1) {
      return anthropicError(400, "`temperature` may only be set to 1 when thinking is enabled.");
    }
  }
  return null;
}

/** The OpenAI chat request a Messages request stands for, as the simulated model reads it. */
function chatRequestOf(body: Record<string, unknown>): Record<string, unknown> {
  const messages: ChatMessage[] = [];
  const system = body.system;
  if (typeof system === "string") messages.push({ role: "system", content: system });
  else if (Array.isArray(system)) messages.push({ role: "system", content: system.map((block: { text: string }) => block.text).join("\n\n") });
  for (const message of body.messages as Array<{ role: "user" | "assistant"; content: string | Array<Record<string, any>> }>) {
    if (typeof message.content === "string") {
      messages.push({ role: message.role, content: message.content });
      continue;
    }
    const parts: ContentPart[] = [];
    const toolCalls: NonNullable<ChatMessage["tool_calls"]> = [];
    for (const block of message.content) {
      if (block.type === "text") parts.push({ type: "text", text: block.text });
      else if (block.type === "image") {
        const url = block.source.type === "url" ? block.source.url : `data:${block.source.media_type};base64,${block.source.data}`;
        parts.push({ type: "image_url", image_url: { url } });
      } else if (block.type === "tool_use") {
        toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input) } });
      } else if (block.type === "tool_result") {
        const content =
          typeof block.content === "string" ? block.content : (block.content ?? []).map((b: { text?: string }) => b.text ?? "").join(" ");
        messages.push({ role: "tool", tool_call_id: block.tool_use_id, content });
      }
    }
    if (message.role === "assistant") {
      const calls = toolCalls.length > 0 ? { tool_calls: toolCalls } : {};
      messages.push({ role: "assistant", content: parts.length > 0 ? parts : null, ...calls });
    }
    else if (parts.length > 0) messages.push({ role: "user", content: parts });
  }
  const chat: Record<string, unknown> = { model: body.model, messages, max_tokens: body.max_tokens, stream: body.stream === true };
  if (chat.stream) chat.stream_options = { include_usage: true };
  if (Array.isArray(body.tools)) {
    chat.tools = body.tools.map((tool: { name: string; description?: string; input_schema: unknown }) => ({
      type: "function",
      function: { name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), parameters: tool.input_schema },
    }));
  }
  const choice = body.tool_choice as { type: string; name?: string } | undefined;
  if (choice) chat.tool_choice = TOOL_CHOICES.get(choice.type) ?? { type: "function", function: { name: choice.name } };
  return chat;
}

/** The simulated model's OpenAI answer re-encoded as Anthropic's. */
async function anthropicResponse(
  response: WireResponse,
  chat: Record<string, unknown>,
  simulation: Simulation,
): Promise<UpstreamReply | WireResponse> {
  const inputTokens = countPromptTokens(chat.messages as ChatMessage[], chat.tools);
  if (response.status !== 200) {
    const text = await readAll(response.body);
    const message = (JSON.parse(text) as { error: { message: string } }).error.message;
    const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => name === "retry-after")) as Record<string, string>;
    return anthropicError(response.status, message, headers);
  }
  const headers = { "request-id": `req_sim_${++requestIds}` };
  if (String(response.headers["content-type"]).includes("application/json")) {
    const text = await readAll(response.body);
    let completion;
    try {
      completion = JSON.parse(text) as Record<string, any>;
    } catch {
      // A broken body stays broken.
      return { status: 200, headers: { "content-type": "application/json", ...headers }, body: text };
    }
    return { status: 200, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(messageOf(completion, inputTokens)) };
  }
  return {
    status: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers },
    body: messageEvents(response.body, simulation.reportUsage ? inputTokens : null),
  };
}

function messageOf(completion: Record<string, any>, inputTokens: number): Record<string, unknown> {
  const choice = completion.choices[0];
  const content: Array<Record<string, unknown>> = [];
  if (choice.message.reasoning) content.push({ type: "thinking", thinking: choice.message.reasoning, signature: SIGNATURE });
  if (choice.message.content) content.push({ type: "text", text: choice.message.content });
  for (const call of choice.message.tool_calls ?? []) {
    content.push({ type: "tool_use", id: toolUseId(call.id), name: call.function.name, input: JSON.parse(call.function.arguments) });
  }
  const message: Record<string, unknown> = {
    id: messageId(completion.id),
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: STOP_REASONS[choice.finish_reason],
    stop_sequence: null,
  };
  if (completion.usage) {
    message.usage = usageOf(inputTokens, completion.usage.completion_tokens);
  }
  return message;
}

/**
 * The simulated model's OpenAI event stream as Anthropic's, chunk for chunk, so stalls and cuts strike at the same
 * token: `message_start` and a `ping`, one content block per kind of output, `message_delta` with the stop reason and
 * output tokens once the OpenAI stream has finished, and `message_stop` for its `[DONE]`.
 */
async function* messageEvents(chunks: AsyncIterable<Uint8Array | string>, inputTokens: number | null): AsyncIterable<string> {
  const parser = new SseParser();
  const event = (type: string, payload: Record<string, unknown> = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  let started = false;
  let open: { index: number; type: string } | null = null;
  let blocks = 0;
  let stopReason: string | null = null;
  let outputTokens: number | null = null;

  const closeBlock = () => {
    if (!open) return "";
    const signatureDelta = { index: open.index, delta: { type: "signature_delta", signature: SIGNATURE } };
    const signature = open.type === "thinking" ? event("content_block_delta", signatureDelta) : "";
    const index = open.index;
    open = null;
    return signature + event("content_block_stop", { index });
  };
  const openBlock = (type: string, block: Record<string, unknown>) => {
    if (open?.type === type && type !== "tool_use") return "";
    const closed = closeBlock();
    open = { index: blocks++, type };
    return closed + event("content_block_start", { index: open.index, content_block: { type, ...block } });
  };
  const messageDelta = () => {
    const usage = outputTokens === null ? {} : { usage: { output_tokens: outputTokens } };
    return event("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, ...usage });
  };

  const translate = (data: string): string => {
    if (data === "[DONE]") return messageDelta() + event("message_stop");
    let chunk: Record<string, any>;
    try {
      chunk = JSON.parse(data) as Record<string, any>;
    } catch {
      return 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": \n\n';
    }
    let out = "";
    if (!started) {
      started = true;
      const usage = inputTokens === null ? {} : { usage: usageOf(inputTokens, 1) };
      const message = {
        id: messageId(chunk.id),
        type: "message",
        role: "assistant",
        model: chunk.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        ...usage,
      };
      out += event("message_start", { message }) + event("ping");
    }
    if (chunk.usage) outputTokens = chunk.usage.completion_tokens;
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    if (delta.reasoning) {
      out += openBlock("thinking", { thinking: "", signature: "" });
      out += event("content_block_delta", { index: open!.index, delta: { type: "thinking_delta", thinking: delta.reasoning } });
    }
    if (delta.content) {
      out += openBlock("text", { text: "" });
      out += event("content_block_delta", { index: open!.index, delta: { type: "text_delta", text: delta.content } });
    }
    for (const call of delta.tool_calls ?? []) {
      if (call.id) out += openBlock("tool_use", { id: toolUseId(call.id), name: call.function.name, input: {} });
      if (call.function?.arguments) {
        out += event("content_block_delta", { index: open!.index, delta: { type: "input_json_delta", partial_json: call.function.arguments } });
      }
    }
    if (choice.finish_reason) {
      out += closeBlock();
      stopReason = STOP_REASONS[choice.finish_reason];
    }
    return out;
  };

  let done = false;
  for await (const piece of chunks) {
    const out = parser
      .push(piece)
      .map((sse) => {
        if (sse.data === "[DONE]") done = true;
        return translate(sse.data);
      })
      .join("");
    if (out) yield out;
  }
  // The simulated stream ended without `[DONE]`: the answer is finished, but `message_stop` never comes.
  if (!done && stopReason) yield messageDelta();
}

function usageOf(inputTokens: number, outputTokens: number): Record<string, number> {
  return { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens };
}

function messageId(chatId: string): string {
  return String(chatId).replace("chatcmpl-sim-", "msg_sim_");
}

function toolUseId(callId: string): string {
  return String(callId).replace("call_sim_", "toolu_sim_");
}

async function readAll(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  let text = "";
  for await (const chunk of body) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return text;
}
