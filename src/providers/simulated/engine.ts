import { reasoningRequest } from "../../core/reasoning.js";
import { contentText, countPromptTokens } from "../../core/tokens.js";
import type { CallSignal } from "../../core/call-signal.js";
import { sleep, untilAborted } from "../../core/sleep.js";
import type { ChatMessage } from "../../core/types.js";
import type { WireResponse } from "../openai-wire.js";
import type { SimulatedFault, Simulation } from "./scenario.js";

/**
 * The simulated model: a deterministic OpenAI-compatible server that lives in-process. Given an OpenAI chat request
 * body it produces the response bytes a real server would send — JSON, or server-sent events paced by the
 * simulation's time to first token and tokens per second — and misbehaves on request (see `SimulatedFault`).
 *
 * Answers are derived from the prompt, so they are reproducible: the reply is the catalog's fixed `reply`, or a
 * sentence echoing the last user message. With tools offered (and `tool_choice` not `none`) and no tool result yet,
 * it calls the first (or the chosen) tool with arguments filled from the tool's JSON schema. With the simulation's
 * `reasoning` it reasons first (at most `reasoning.max_tokens` words; not at all with `reasoning.enabled: false` or
 * effort `none`). Its own "tokens" are words: usage reports one completion token per word.
 */

/** Thrown where a real server would drop the connection; carries the errno a socket would. */
export class SimulatedConnectionReset extends Error {
  readonly code = "ECONNRESET";
  constructor() {
    super("socket hang up");
    this.name = "SimulatedConnectionReset";
  }
}

export interface SimulateOptions {
  signal: CallSignal;
  /** Whether this request gets the simulation's fault (`faultTimes` is counted by the caller). */
  injectFault: boolean;
  /** Seconds since the epoch for `created` (deterministic tests may fix it). */
  now?: () => number;
}

interface Plan {
  reasoning: string[];
  content: string[];
  toolCall: { id: string; name: string; arguments: string } | null;
  finishReason: "stop" | "length" | "tool_calls";
  promptTokens: number;
}

let sequence = 0;

export async function simulate(body: Record<string, unknown>, simulation: Simulation, options: SimulateOptions): Promise<WireResponse> {
  const { signal } = options;
  const fault = options.injectFault ? simulation.fault : undefined;
  const model = String(body.model ?? "simulated");
  const stream = body.stream === true;
  const includeUsage = simulation.reportUsage && (!stream || (body.stream_options as { include_usage?: boolean })?.include_usage === true);
  const id = `chatcmpl-sim-${++sequence}`;
  const created = Math.floor((options.now?.() ?? Date.now()) / 1000);

  const refusal = fault ? refusalFor(fault) : null;
  if (refusal) return refusal;
  if (fault?.type === "connection_reset") throw new SimulatedConnectionReset();
  if (fault?.type === "no_answer") await untilAborted(signal);

  const plan = planAnswer(body, simulation);
  const tokenDelay = simulation.tokensPerSecond > 0 ? 1000 / simulation.tokensPerSecond : 0;

  if (!stream) {
    await sleep(simulation.ttftMs + tokenDelay * (plan.reasoning.length + plan.content.length), signal);
    if (fault?.type === "stall") await untilAborted(signal);
    if (fault?.type === "cut") throw new SimulatedConnectionReset();
    const text = fault?.type === "malformed_chunk" ? '{"id": "broken' : JSON.stringify(completionBody(id, created, model, plan, includeUsage));
    return { status: 200, headers: { "content-type": "application/json" }, body: once(text) };
  }

  async function* events(): AsyncIterable<string> {
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      sse({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] });
    yield chunk({ role: "assistant", content: "" });
    await sleep(simulation.ttftMs, signal);
    let emitted = 0;
    const pieces: Array<Record<string, unknown>> = [
      ...plan.reasoning.map((text) => ({ reasoning: text })),
      ...plan.content.map((text) => ({ content: text })),
    ];
    if (plan.toolCall) {
      const { id: callId, name, arguments: args } = plan.toolCall;
      pieces.push({ tool_calls: [{ index: 0, id: callId, type: "function", function: { name, arguments: "" } }] });
      for (const part of splitArguments(args)) pieces.push({ tool_calls: [{ index: 0, function: { arguments: part } }] });
    }
    for (const [i, piece] of pieces.entries()) {
      if (fault && "afterTokens" in fault && emitted === fault.afterTokens) {
        if (fault.type === "stall") await untilAborted(signal);
        if (fault.type === "cut") throw new SimulatedConnectionReset();
        if (fault.type === "malformed_chunk") yield 'data: {"id": "broken", "choices": [{"delta": {"content": \n\n';
      }
      if (i > 0) await sleep(tokenDelay, signal);
      yield chunk(piece);
      emitted += 1;
    }
    if (fault && "afterTokens" in fault && emitted <= fault.afterTokens) {
      // The answer was shorter than the fault's threshold: the fault strikes at the end instead.
      if (fault.type === "stall") await untilAborted(signal);
      if (fault.type === "cut") throw new SimulatedConnectionReset();
    }
    yield chunk({}, plan.finishReason);
    if (includeUsage) yield sse({ id, object: "chat.completion.chunk", created, model, choices: [], usage: usageOf(plan) });
    if (fault?.type !== "missing_done") yield "data: [DONE]\n\n";
  }
  return { status: 200, headers: { "content-type": "text/event-stream" }, body: events() };
}

function refusalFor(fault: SimulatedFault): WireResponse | null {
  const error = (status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}) => ({
    status,
    headers: { "content-type": "application/json", ...headers },
    body: once(JSON.stringify({ error: { message, type, param: null, code } })),
  });
  switch (fault.type) {
    case "http_error":
      return error(
        fault.status,
        fault.message ?? `Simulated upstream error ${fault.status}`,
        fault.status === 429 ? "rate_limit_error" : fault.status >= 500 ? "server_error" : "invalid_request_error",
        null,
        fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) },
      );
    case "context_length":
      return error(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "context_length_exceeded",
      );
    case "content_policy":
      return error(
        400,
        "Your request was rejected as a result of our safety system (content policy violation).",
        "invalid_request_error",
        "content_policy_violation",
      );
    default:
      return null;
  }
}

function planAnswer(body: Record<string, unknown>, simulation: Simulation): Plan {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as ChatMessage[];
  const promptTokens = countPromptTokens(messages, body.tools);
  const maxTokens = numberOr(body.max_completion_tokens, numberOr(body.max_tokens, Number.POSITIVE_INFINITY));
  const last = messages[messages.length - 1];
  const toolCall = last?.role === "tool" ? null : chooseToolCall(body, lastUserText(messages));
  if (toolCall) return { reasoning: [], content: [], toolCall, finishReason: "tool_calls", promptTokens };
  const reply =
    simulation.reply ??
    (last?.role === "tool"
      ? `The tool returned: ${contentText(last.content, " ")}`
      : `This is a simulated answer from ${String(body.model)}. You said: ${lastUserText(messages) || "nothing"}`);
  // A reasoning model reasons unless told not to; hiding the reasoning (`exclude`) is the gateway's business, not the model's.
  const reasoningParams = reasoningRequest(body);
  const reasoningBudget = reasoningParams.maxTokens ?? Number.POSITIVE_INFINITY;
  const reasoning = simulation.reasoning && !reasoningParams.disabled ? words(simulation.reasoning).slice(0, reasoningBudget) : [];
  const budget = Math.max(0, maxTokens - reasoning.length);
  const content = words(reply);
  const truncated = content.length > budget;
  return {
    reasoning: reasoning.slice(0, maxTokens),
    content: truncated ? content.slice(0, budget) : content,
    toolCall: null,
    finishReason: truncated ? "length" : "stop",
    promptTokens,
  };
}

function chooseToolCall(body: Record<string, unknown>, userText: string): Plan["toolCall"] {
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: string; parameters?: unknown } }>) : [];
  if (tools.length === 0 || body.tool_choice === "none") return null;
  const choice = body.tool_choice as { function?: { name?: string } } | undefined;
  const tool = tools.find((t) => t.function?.name === choice?.function?.name) ?? tools[0];
  const name = tool.function?.name;
  if (!name) return null;
  return { id: `call_sim_${sequence}`, name, arguments: JSON.stringify(argumentsFor(tool.function?.parameters, userText)) };
}

/** Fills a JSON schema's required (or, without any, all) properties with plausible values. */
function argumentsFor(schema: unknown, userText: string): Record<string, unknown> {
  const s = (schema ?? {}) as { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] };
  const properties = s.properties ?? {};
  const names = s.required && s.required.length > 0 ? s.required : Object.keys(properties);
  const args: Record<string, unknown> = {};
  for (const name of names) {
    const property = properties[name] ?? {};
    if (property.enum && property.enum.length > 0) args[name] = property.enum[0];
    else if (property.type === "number" || property.type === "integer") args[name] = 42;
    else if (property.type === "boolean") args[name] = true;
    else if (property.type === "array") args[name] = [];
    else if (property.type === "object") args[name] = {};
    else args[name] = userText || name;
  }
  return args;
}

function completionBody(id: string, created: number, model: string, plan: Plan, includeUsage: boolean): Record<string, unknown> {
  const message: Record<string, unknown> = { role: "assistant", content: plan.toolCall ? null : plan.content.join("") };
  if (plan.reasoning.length > 0) message.reasoning = plan.reasoning.join("");
  if (plan.toolCall) {
    const { id: callId, name, arguments: args } = plan.toolCall;
    message.tool_calls = [{ id: callId, type: "function", function: { name, arguments: args } }];
  }
  return {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [{ index: 0, message, finish_reason: plan.finishReason }],
    ...(includeUsage ? { usage: usageOf(plan) } : {}),
  };
}

function usageOf(plan: Plan): Record<string, unknown> {
  const toolTokens = plan.toolCall ? words(plan.toolCall.arguments).length + 1 : 0;
  const completion = plan.reasoning.length + plan.content.length + toolTokens;
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: completion,
    total_tokens: plan.promptTokens + completion,
    completion_tokens_details: { reasoning_tokens: plan.reasoning.length },
  };
}

function sse(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

/** Words with their leading whitespace: joined back they give the text exactly. */
function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

function splitArguments(args: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < args.length; i += 8) parts.push(args.slice(i, i + 8));
  return parts;
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === "user") return contentText(messages[i].content, " ").trim();
  }
  return "";
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}
