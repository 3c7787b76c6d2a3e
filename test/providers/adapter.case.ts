import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import type { ProviderAdapter } from "../../src/core/ports.js";
import { normaliseFinishReason } from "../../src/core/finish-reason.js";
import { countPromptTokens } from "../../src/core/tokens.js";
import type { ChatMessage, EndpointInfo, TokenUsage, UpstreamEvent } from "../../src/core/types.js";
import type { SimulationInput } from "../helpers/upstream-server.js";
import { USER_MESSAGES, upstreamCall } from "./fixtures.js";

/**
 * The conformance suite every provider adapter runs: the `ProviderAdapter` contract (src/core/ports.ts) checked against
 * an upstream that behaves as a simulation from src/providers/simulated/scenario.ts. An adapter joins by calling
 * {@link describeAdapterConformance} with a harness that turns a simulation into an endpoint it can call; cases it
 * cannot exercise go in a written skip list with the reason, and show as skipped.
 */

export const CONFORMANCE_CASES = [
  "answer",
  "max-tokens",
  "no-usage",
  "reasoning",
  "tools",
  "http-503",
  "http-429",
  "http-500",
  "context-length",
  "content-policy",
  "connection-reset",
  "no-answer",
  "stall",
  "cut",
  "malformed-chunk",
  "missing-done",
  "fault-times",
  "secret-in-error-message",
  "secret-in-echoed-header",
  "long-error-body",
] as const;
export type ConformanceCase = (typeof CONFORMANCE_CASES)[number];

/** Cases an adapter cannot exercise, each with the reason why. */
export type SkipList = Partial<Record<ConformanceCase, string>>;

export interface AdapterHarness {
  readonly adapter: ProviderAdapter;
  /**
   * A fresh endpoint (its own id and upstream model, so `faultTimes` counts from zero) served by this adapter, whose
   * upstream behaves as `simulation`; `apiKey` becomes the provider's key.
   */
  endpoint(simulation: SimulationInput, options?: { apiKey?: string }): EndpointInfo;
  /**
   * An endpoint whose upstream refuses with 401 and echoes the header that carried the key (`Authorization`,
   * `x-api-key`), and the bare key, in its error body (as some servers do). Needed by `secret-in-echoed-header` unless
   * that case is skipped.
   */
  authEchoEndpoint?(apiKey: string): EndpointInfo;
  /**
   * `estimated` when the upstream protocol reports no reasoning-token count (Anthropic) and the adapter estimates it:
   * the `reasoning` case then expects a count between 1 and the completion tokens instead of the exact one.
   */
  readonly reasoningTokens?: "reported" | "estimated";
  close(): Promise<void>;
}

const REPLY = "The quick brown fox jumps over the lazy dog.";
const REPLY_WORDS = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog."];
const REASONING = "Foxes are quick; dogs are lazy.";
const REASONING_WORDS = ["Foxes", " are", " quick;", " dogs", " are", " lazy."];
/** Not shaped like an `sk-` key or a Bearer token, so only the adapter's knowledge of the provider's key can hide it. */
const SECRET = "sy-test-8c1d5e7f9a2b4c6d";
const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, days: { type: "integer" } },
      required: ["city", "days"],
    },
  },
};
const PROMPT_TOKENS = countPromptTokens(USER_MESSAGES);
/** Long enough for anything but a hung call; hung calls are what some cases check for. */
const CASE_TIMEOUT_MS = 5_000;
/** How long a call that should hang is watched before it is aborted. */
const HANG_MS = 100;

export function describeAdapterConformance(name: string, setup: () => Promise<AdapterHarness>, skips: SkipList = {}): void {
  describe(`${name} adapter conformance`, () => {
    let harness: AdapterHarness;
    const controllers: AbortController[] = [];

    beforeAll(async () => {
      harness = await setup();
    });
    afterAll(async () => {
      await harness?.close();
    });
    // A case that failed half-way may leave a call hanging: end it so the next case starts clean.
    afterEach(() => {
      for (const controller of controllers.splice(0)) controller.abort(new Error("test over"));
    });

    function send(endpoint: EndpointInfo, options: { stream: boolean; params?: Record<string, unknown>; messages?: ChatMessage[] }) {
      const controller = new AbortController();
      controllers.push(controller);
      const promise = harness.adapter.send(upstreamCall(endpoint, { ...options, signal: controller.signal }));
      return { promise, controller };
    }

    function testCase(id: ConformanceCase, title: string, fn: () => Promise<void>): void {
      const reason = skips[id];
      if (reason) it.skip(`${title} [skipped: ${reason}]`, fn);
      else it(title, fn, CASE_TIMEOUT_MS);
    }

    for (const stream of [true, false]) {
      describe(`stream: ${stream}`, () => {
        testCase("answer", "answers with the whole reply, finish reason stop, reported usage and the upstream id", async () => {
          const answer = await collect(await send(harness.endpoint({ reply: REPLY }), { stream }).promise);
          expect(answer.content).toBe(REPLY);
          if (stream) expect(answer.contentDeltas).toEqual(REPLY_WORDS);
          expect(answer.finishReasons).toEqual(["stop"]);
          expect(answer.usage).toEqual([usage({ completionTokens: REPLY_WORDS.length })]);
          expect(answer.upstreamIds).toHaveLength(1);
          expect(answer.upstreamIds[0]).toMatch(/\S/);
        });

        testCase("answer", "sends the upstream model name and the messages (the simulated model echoes both)", async () => {
          const endpoint = harness.endpoint({});
          const answer = await collect(await send(endpoint, { stream }).promise);
          expect(answer.content).toBe(`This is a simulated answer from ${endpoint.upstreamModel}. You said: What is the weather in Paris?`);
          expect(answer.finishReasons).toEqual(["stop"]);
        });

        testCase("max-tokens", "stops at max_tokens with finish reason length and exactly max_tokens words", async () => {
          const answer = await collect(await send(harness.endpoint({ reply: REPLY }), { stream, params: { max_tokens: 5 } }).promise);
          expect(answer.content).toBe(REPLY_WORDS.slice(0, 5).join(""));
          if (stream) expect(answer.contentDeltas).toEqual(REPLY_WORDS.slice(0, 5));
          expect(answer.finishReasons).toEqual(["length"]);
          expect(answer.usage).toEqual([usage({ completionTokens: 5 })]);
        });

        testCase("no-usage", "yields no usage event when the upstream reports none", async () => {
          const answer = await collect(await send(harness.endpoint({ reply: REPLY, reportUsage: false }), { stream }).promise);
          expect(answer.content).toBe(REPLY);
          expect(answer.finishReasons).toEqual(["stop"]);
          expect(answer.usage).toEqual([]);
        });

        testCase("reasoning", "delivers reasoning as delta.reasoning, before the content", async () => {
          const answer = await collect(await send(harness.endpoint({ reply: REPLY, reasoning: REASONING }), { stream }).promise);
          expect(answer.reasoning).toBe(REASONING);
          expect(answer.content).toBe(REPLY);
          if (stream) {
            expect(answer.reasoningDeltas).toEqual(REASONING_WORDS);
            expect(answer.kinds).toEqual([...REASONING_WORDS.map(() => "reasoning"), ...REPLY_WORDS.map(() => "content")]);
          }
          expect(answer.finishReasons).toEqual(["stop"]);
          const completionTokens = REASONING_WORDS.length + REPLY_WORDS.length;
          if (harness.reasoningTokens === "estimated") {
            expect(answer.usage).toHaveLength(1);
            const [{ reasoningTokens, ...counts }] = answer.usage;
            expect({ ...counts, reasoningTokens: 0 }).toEqual(usage({ completionTokens }));
            expect(reasoningTokens).toBeGreaterThan(0);
            expect(reasoningTokens).toBeLessThanOrEqual(completionTokens);
          } else {
            expect(answer.usage).toEqual([usage({ completionTokens, reasoningTokens: REASONING_WORDS.length })]);
          }
        });

        testCase("tools", "calls an offered tool: id kept, name, arguments that join into valid JSON, finish reason tool_calls", async () => {
          const tools = [WEATHER_TOOL];
          const answer = await collect(await send(harness.endpoint({ reply: REPLY }), { stream, params: { tools } }).promise);
          expect(answer.toolCalls).toHaveLength(1);
          const [call] = answer.toolCalls;
          expect(call.ids).toHaveLength(1);
          expect(call.ids[0]).toMatch(/\S/);
          expect(call.names).toEqual(["get_weather"]);
          expect(JSON.parse(call.arguments)).toEqual({ city: "What is the weather in Paris?", days: 42 });
          if (stream) expect(call.argumentFragments).toBeGreaterThan(1);
          expect(answer.content).toBe("");
          expect(answer.finishReasons).toEqual(["tool_calls"]);
          // The simulated model counts a call as its argument words plus one.
          expect(answer.usage).toEqual([usage({ promptTokens: countPromptTokens(USER_MESSAGES, tools), completionTokens: 7 })]);
        });

        testCase("http-503", "rejects a 503 without Retry-After as provider_unavailable, retryable, naming the provider", async () => {
          const error = await rejection(send(harness.endpoint({ fault: { type: "http_error", status: 503 } }), { stream }).promise);
          expect(error.code).toBe("provider_unavailable");
          expect(error.spec.retryable).toBe(true);
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 503 });
          expect(error.retryAfterMs).toBeUndefined();
          expect(error.message).toContain("Test Provider");
          expect(error.message).toContain("Simulated upstream error 503");
        });

        testCase("http-429", "rejects a 429 with Retry-After: 2 as upstream_rate_limited with retryAfterMs 2000", async () => {
          const endpoint = harness.endpoint({ fault: { type: "http_error", status: 429, retryAfter: 2 } });
          const error = await rejection(send(endpoint, { stream }).promise);
          expect(error.code).toBe("upstream_rate_limited");
          expect(error.spec.retryable).toBe(true);
          expect(error.retryAfterMs).toBe(2000);
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 429 });
        });

        testCase("http-500", "rejects a 500 as provider_error, retryable", async () => {
          const error = await rejection(send(harness.endpoint({ fault: { type: "http_error", status: 500 } }), { stream }).promise);
          expect(error.code).toBe("provider_error");
          expect(error.spec.retryable).toBe(true);
          expect(error.retryAfterMs).toBeUndefined();
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 500 });
        });

        testCase("context-length", "rejects a context-length refusal as context_length_exceeded, not retryable", async () => {
          const error = await rejection(send(harness.endpoint({ fault: { type: "context_length" } }), { stream }).promise);
          expect(error.code).toBe("context_length_exceeded");
          expect(error.spec.retryable).toBe(false);
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 400 });
          expect(error.message).toContain("maximum context length");
        });

        testCase("content-policy", "rejects a content-policy refusal as content_policy_violation, not retryable", async () => {
          const error = await rejection(send(harness.endpoint({ fault: { type: "content_policy" } }), { stream }).promise);
          expect(error.code).toBe("content_policy_violation");
          expect(error.spec.retryable).toBe(false);
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 400 });
        });

        testCase("connection-reset", "rejects a connection reset as provider_error, retryable, naming the reset", async () => {
          const error = await rejection(send(harness.endpoint({ fault: { type: "connection_reset" } }), { stream }).promise);
          expect(error.code).toBe("provider_error");
          expect(error.spec.retryable).toBe(true);
          expect(error.message).toBe("Could not reach Test Provider: connection reset.");
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: null });
        });

        testCase("no-answer", "stays pending while the upstream is silent, and rejects once the call is aborted", async () => {
          const { promise, controller } = send(harness.endpoint({ fault: { type: "no_answer" } }), { stream });
          expect(await settlement(promise, HANG_MS)).toBe("pending");
          controller.abort(new Error("gave up"));
          expect(await settlement(promise, 1_000)).toBe("rejected");
        });

        testCase("fault-times", "fails only the first call when faultTimes is 1; the second gets the whole answer", async () => {
          const endpoint = harness.endpoint({ reply: REPLY, fault: { type: "http_error", status: 503 }, faultTimes: 1 });
          const error = await rejection(send(endpoint, { stream }).promise);
          expect(error.code).toBe("provider_unavailable");
          const answer = await collect(await send(endpoint, { stream }).promise);
          expect(answer.content).toBe(REPLY);
          expect(answer.finishReasons).toEqual(["stop"]);
        });

        testCase("missing-done", "ends normally when a finished answer closes without [DONE]", async () => {
          const answer = await collect(await send(harness.endpoint({ reply: REPLY, fault: { type: "missing_done" } }), { stream }).promise);
          expect(answer.content).toBe(REPLY);
          expect(answer.finishReasons).toEqual(["stop"]);
          expect(answer.usage).toEqual([usage({ completionTokens: REPLY_WORDS.length })]);
        });

        testCase("secret-in-error-message", "keeps the provider's key out of the error when the upstream's message echoes it", async () => {
          const endpoint = harness.endpoint(
            { fault: { type: "http_error", status: 401, message: `Incorrect API key provided: ${SECRET}.` } },
            { apiKey: SECRET },
          );
          const error = await rejection(send(endpoint, { stream }).promise);
          expect(error.code).toBe("provider_error");
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 401 });
          expect(error.message).toContain("Incorrect API key provided: [redacted].");
          expect(JSON.stringify({ message: error.message, metadata: error.metadata })).not.toContain(SECRET);
        });

        testCase("secret-in-echoed-header", "keeps the provider's key out of the error when the upstream echoes the Authorization header", async () => {
          if (!harness.authEchoEndpoint) throw new Error(`${name}: add authEchoEndpoint to the harness or skip this case with a reason`);
          const error = await rejection(send(harness.authEchoEndpoint(SECRET), { stream }).promise);
          expect(error.code).toBe("provider_error");
          expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 401 });
          expect(String(error.metadata?.raw)).toContain("[redacted]");
          expect(JSON.stringify({ message: error.message, metadata: error.metadata })).not.toContain(SECRET);
        });

        testCase("long-error-body", "classifies a refusal by its first 64 KiB: a longer error body is cut, and so no longer read as JSON", async () => {
          const refuse = (messageChars: number) =>
            rejection(send(harness.endpoint({ fault: { type: "http_error", status: 500, message: "x".repeat(messageChars) } }), { stream }).promise);
          const whole = await refuse(64_000);
          expect(whole.message).toBe(`Test Provider returned an error: ${"x".repeat(500)}`);
          const cut = await refuse(66_000);
          expect(cut.code).toBe("provider_error");
          expect(cut.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 500 });
          // The cut JSON is shown as it arrived: its first 500 characters.
          expect(cut.message).toMatch(/^Test Provider returned an error: \{"/);
          expect(cut.message).toHaveLength("Test Provider returned an error: ".length + 500);
        });
      });
    }

    describe("faults mid-answer", () => {
      testCase("stall", "stream: true — delivers the 3 tokens before a stall, then hangs until the call is aborted", async () => {
        const { promise, controller } = send(harness.endpoint({ reply: REPLY, fault: { type: "stall", afterTokens: 3 } }), { stream: true });
        const iterator = (await promise)[Symbol.asyncIterator]();
        expect(await contentDeltas(iterator, 3)).toEqual(REPLY_WORDS.slice(0, 3));
        const next = iterator.next();
        expect(await settlement(next, HANG_MS)).toBe("pending");
        controller.abort(new Error("idle timeout"));
        expect(await settlement(next, 1_000)).toBe("rejected");
      });

      testCase("stall", "stream: false — a stall before the answer is complete hangs the call until it is aborted", async () => {
        const { promise, controller } = send(harness.endpoint({ reply: REPLY, fault: { type: "stall", afterTokens: 3 } }), { stream: false });
        expect(await settlement(promise, HANG_MS)).toBe("pending");
        controller.abort(new Error("timeout"));
        expect(await settlement(promise, 1_000)).toBe("rejected");
      });

      testCase("cut", "stream: true — delivers the 3 tokens before a cut, then throws provider_error, retryable", async () => {
        const { promise } = send(harness.endpoint({ reply: REPLY, fault: { type: "cut", afterTokens: 3 } }), { stream: true });
        const iterator = (await promise)[Symbol.asyncIterator]();
        expect(await contentDeltas(iterator, 3)).toEqual(REPLY_WORDS.slice(0, 3));
        const error = await rejection(drain(iterator));
        expect(error.code).toBe("provider_error");
        expect(error.spec.retryable).toBe(true);
        expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: null });
      });

      testCase("cut", "stream: false — a cut before the answer is complete rejects as provider_error, retryable", async () => {
        const error = await rejection(send(harness.endpoint({ reply: REPLY, fault: { type: "cut", afterTokens: 3 } }), { stream: false }).promise);
        expect(error.code).toBe("provider_error");
        expect(error.spec.retryable).toBe(true);
        expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: null });
      });

      testCase("malformed-chunk", "stream: true — skips a malformed event and still delivers the whole answer", async () => {
        const endpoint = harness.endpoint({ reply: REPLY, fault: { type: "malformed_chunk", afterTokens: 2 } });
        const answer = await collect(await send(endpoint, { stream: true }).promise);
        expect(answer.contentDeltas).toEqual(REPLY_WORDS);
        expect(answer.finishReasons).toEqual(["stop"]);
        expect(answer.usage).toEqual([usage({ completionTokens: REPLY_WORDS.length })]);
      });

      testCase("malformed-chunk", "stream: false — rejects a body that is not valid JSON as provider_error", async () => {
        const endpoint = harness.endpoint({ reply: REPLY, fault: { type: "malformed_chunk", afterTokens: 2 } });
        const error = await rejection(send(endpoint, { stream: false }).promise);
        expect(error.code).toBe("provider_error");
        expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 200 });
      });
    });
  });
}

interface CollectedToolCall {
  ids: string[];
  names: string[];
  arguments: string;
  argumentFragments: number;
}

interface Answer {
  events: UpstreamEvent[];
  content: string;
  reasoning: string;
  contentDeltas: string[];
  reasoningDeltas: string[];
  /** What each delta carried, in arrival order. */
  kinds: Array<"content" | "reasoning" | "tool_calls">;
  toolCalls: CollectedToolCall[];
  /** Normalised (`stop`, `length`, `tool_calls`…), so that every protocol's own reasons compare alike. */
  finishReasons: string[];
  usage: TokenUsage[];
  /** The distinct upstream ids seen. */
  upstreamIds: string[];
}

/** Reads an answer to its end (rejecting as the iterable does). */
async function collect(events: AsyncIterable<UpstreamEvent>): Promise<Answer> {
  const answer: Answer = {
    events: [],
    content: "",
    reasoning: "",
    contentDeltas: [],
    reasoningDeltas: [],
    kinds: [],
    toolCalls: [],
    finishReasons: [],
    usage: [],
    upstreamIds: [],
  };
  for await (const event of events) {
    answer.events.push(event);
    if (event.upstreamId !== undefined && !answer.upstreamIds.includes(event.upstreamId)) answer.upstreamIds.push(event.upstreamId);
    if (event.nativeFinishReason) answer.finishReasons.push(normaliseFinishReason(event.nativeFinishReason));
    if (event.usage) answer.usage.push(event.usage);
    const delta = event.delta;
    if (!delta) continue;
    if (delta.reasoning) {
      answer.reasoning += delta.reasoning;
      answer.reasoningDeltas.push(delta.reasoning);
      answer.kinds.push("reasoning");
    }
    if (delta.content) {
      answer.content += delta.content;
      answer.contentDeltas.push(delta.content);
      answer.kinds.push("content");
    }
    for (const part of delta.tool_calls ?? []) {
      answer.toolCalls[part.index] ??= { ids: [], names: [], arguments: "", argumentFragments: 0 };
      const call = answer.toolCalls[part.index];
      if (part.id) call.ids.push(part.id);
      if (part.function?.name) call.names.push(part.function.name);
      if (part.function?.arguments) {
        call.arguments += part.function.arguments;
        call.argumentFragments += 1;
      }
      answer.kinds.push("tool_calls");
    }
  }
  return answer;
}

/** Reads events until `count` content deltas have arrived; returns them. */
async function contentDeltas(iterator: AsyncIterator<UpstreamEvent>, count: number): Promise<string[]> {
  const deltas: string[] = [];
  while (deltas.length < count) {
    const step = await iterator.next();
    if (step.done) throw new Error(`the answer ended after ${deltas.length} of ${count} content deltas`);
    if (step.value.delta?.content) deltas.push(step.value.delta.content);
  }
  return deltas;
}

async function drain(iterator: AsyncIterator<UpstreamEvent>): Promise<void> {
  while (!(await iterator.next()).done) {
    // Reading on until the iterator ends or throws.
  }
}

/** The `AppError` a promise rejects with; fails the test if it resolves or rejects with anything else. */
async function rejection(promise: Promise<unknown>): Promise<AppError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error("expected a rejection with an AppError, but the call succeeded");
  expect(caught).toBeInstanceOf(AppError);
  return caught as AppError;
}

/** Whether a promise has settled within `ms`. */
async function settlement(promise: Promise<unknown>, ms: number): Promise<"pending" | "resolved" | "rejected"> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => "resolved" as const,
        () => "rejected" as const,
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function usage(counts: Partial<TokenUsage> & { completionTokens: number }): TokenUsage {
  return { promptTokens: PROMPT_TOKENS, reasoningTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, ...counts };
}
