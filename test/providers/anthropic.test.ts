import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import type { ChatMessage, EndpointInfo, UpstreamEvent } from "../../src/core/types.js";
import { AnthropicAdapter, messagesUrl } from "../../src/providers/anthropic.js";
import { messagesRequestBody } from "../../src/providers/anthropic-wire.js";
import { anthropicError, readTranscript, startAnthropicServer } from "../helpers/anthropic-server.js";
import { rejection } from "../helpers/rejection.js";
import { closedPortUrl, type RecordedRequest, type SimulationInput, type UpstreamReply } from "../helpers/upstream-server.js";
import { describeAdapterConformance } from "./adapter.case.js";
import { EFFORT_BUDGETS, endpointInfo, providerInfo, upstreamCall } from "./fixtures.js";

type Route = SimulationInput | ((request: RecordedRequest) => UpstreamReply);

/** One fake Anthropic server for many endpoints: each endpoint has its own upstream model, which picks the behaviour. */
async function startHarnessUpstream() {
  const routes = new Map<string, Route>();
  const server = await startAnthropicServer((request) => {
    const route = routes.get(String(request.body?.model));
    if (route === undefined) return anthropicError(404, `model: ${String(request.body?.model)}`);
    return typeof route === "function" ? route(request) : route;
  });
  const adapter = new AnthropicAdapter({ connectTimeoutMs: 1_000 });
  const endpoint = (route: Route, apiKey: string | null = null): EndpointInfo => {
    const info = endpointInfo(providerInfo({ adapter: "anthropic", baseUrl: server.baseUrl, apiKey }));
    routes.set(info.upstreamModel, route);
    return info;
  };
  return {
    server,
    adapter,
    endpoint,
    async close() {
      await adapter.close();
      await server.close();
    },
  };
}

/** A 401 that echoes the key it was sent, as some servers do. */
function echoApiKey(request: RecordedRequest): UpstreamReply {
  const key = String(request.headers["x-api-key"] ?? "");
  return anthropicError(401, `invalid x-api-key: ${key} (you sent x-api-key: ${key})`);
}

describeAdapterConformance("anthropic", async () => {
  const upstream = await startHarnessUpstream();
  return {
    adapter: upstream.adapter,
    endpoint: (simulation, options = {}) => upstream.endpoint(simulation, options.apiKey ?? null),
    authEchoEndpoint: (apiKey) => upstream.endpoint(echoApiKey, apiKey),
    reasoningTokens: "estimated",
    close: () => upstream.close(),
  };
});

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] },
  },
};
const TIME_TOOL = { type: "function", function: { name: "get_time" } };

/** An assistant message calling one tool. */
function callsTool(id: string, args: string, content: string | null = null): ChatMessage {
  return { role: "assistant", content, tool_calls: [{ id, type: "function", function: { name: "get_weather", arguments: args } }] };
}

describe("anthropic adapter", () => {
  let upstream: Awaited<ReturnType<typeof startHarnessUpstream>>;
  beforeAll(async () => {
    upstream = await startHarnessUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  const send = (endpoint: EndpointInfo, options: { stream: boolean; params?: Record<string, unknown>; messages?: ChatMessage[] }) =>
    upstream.adapter.send(upstreamCall(endpoint, { ...options, signal: new AbortController().signal }));
  const events = async (iterable: AsyncIterable<UpstreamEvent>) => {
    const all: UpstreamEvent[] = [];
    for await (const event of iterable) all.push(event);
    return all;
  };
  const lastRequest = () => upstream.server.requests[upstream.server.requests.length - 1];

  describe("the request sent", () => {
    it("posts a rich OpenAI request to <baseUrl>/v1/messages as this exact Messages body, with the key and version headers", async () => {
      const endpoint = upstream.endpoint({ reply: "The first one." }, "sk-ant-api03-test-key");
      const messages: ChatMessage[] = [
        { role: "system", content: "You are a concise weather assistant." },
        { role: "developer", content: [{ type: "text", text: "Answer in metric units." }] },
        { role: "user", content: "What's the weather in Paris?" },
        { role: "user", content: [{ type: "text", text: "And tomorrow?" }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "toolu_01A", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","days":2}' } },
            { id: "toolu_01B", type: "function", function: { name: "get_time", arguments: "" } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_01A", content: '{"today":"18 °C, cloudy","tomorrow":"21 °C, sunny"}' },
        { role: "tool", tool_call_id: "toolu_01B", content: [{ type: "text", text: "09:41 CEST" }] },
        { role: "assistant", content: "Today 18 °C and cloudy; tomorrow 21 °C and sunny." },
        {
          role: "user",
          content: [
            { type: "text", text: "Which of these two photos was taken in Paris?" },
            { type: "image_url", image_url: { url: "https://example.com/eiffel.jpg", detail: "high" } },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==" } },
          ],
        },
      ];
      const params = {
        max_tokens: 2000,
        temperature: 0.3,
        top_p: 0.97,
        stop: ["\n\nHuman:"],
        tools: [WEATHER_TOOL, TIME_TOOL],
        tool_choice: "auto",
        parallel_tool_calls: false,
        reasoning: { effort: "high" },
        // Not Anthropic's: left out (Anthropic refuses unknown fields).
        frequency_penalty: 0.5,
        seed: 7,
        user: "user-42",
        response_format: { type: "text" },
      };
      await events(await send(endpoint, { stream: true, params, messages }));
      const request = lastRequest();
      expect(request.method).toBe("POST");
      expect(request.url).toBe("/v1/messages");
      expect(request.headers["x-api-key"]).toBe("sk-ant-api03-test-key");
      expect(request.headers["anthropic-version"]).toBe("2023-06-01");
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers.accept).toBe("text/event-stream");
      expect(request.headers.authorization).toBeUndefined();
      expect(request.body).toEqual({
        model: endpoint.upstreamModel,
        max_tokens: 2000,
        system: "You are a concise weather assistant.\n\nAnswer in metric units.",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What's the weather in Paris?" },
              { type: "text", text: "And tomorrow?" },
            ],
          },
          {
            role: "assistant",
            content: [
              { type: "tool_use", id: "toolu_01A", name: "get_weather", input: { city: "Paris", days: 2 } },
              { type: "tool_use", id: "toolu_01B", name: "get_time", input: {} },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "toolu_01A", content: '{"today":"18 °C, cloudy","tomorrow":"21 °C, sunny"}' },
              { type: "tool_result", tool_use_id: "toolu_01B", content: [{ type: "text", text: "09:41 CEST" }] },
            ],
          },
          { role: "assistant", content: "Today 18 °C and cloudy; tomorrow 21 °C and sunny." },
          {
            role: "user",
            content: [
              { type: "text", text: "Which of these two photos was taken in Paris?" },
              { type: "image", source: { type: "url", url: "https://example.com/eiffel.jpg" } },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgoAAAANSUhEUg==" } },
            ],
          },
        ],
        tools: [
          {
            name: "get_weather",
            description: "Current weather for a city.",
            input_schema: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] },
          },
          { name: "get_time", input_schema: { type: "object", properties: {} } },
        ],
        tool_choice: { type: "auto", disable_parallel_tool_use: true },
        // 80% of max_tokens for effort high; with thinking on, temperature is Anthropic's to fix, and top_p ≥ 0.95 stays.
        thinking: { type: "enabled", budget_tokens: 1600 },
        top_p: 0.97,
        stop_sequences: ["\n\nHuman:"],
        stream: true,
      });
    });

    it("asks for JSON with stream: false, sends no key header when the provider has none, and keeps a lone user text a string", async () => {
      const endpoint = upstream.endpoint({ reply: "Hi." });
      await events(await send(endpoint, { stream: false }));
      const request = lastRequest();
      expect(request.headers.accept).toBe("application/json");
      expect(request.headers["x-api-key"]).toBeUndefined();
      expect(request.body).toEqual({
        model: endpoint.upstreamModel,
        max_tokens: 4096,
        messages: [{ role: "user", content: "What is the weather in Paris?" }],
        stream: false,
      });
    });

    it("posts to <baseUrl>/v1/messages whether the base URL ends with a slash or already with /v1", async () => {
      expect(messagesUrl("https://api.anthropic.com")).toBe("https://api.anthropic.com/v1/messages");
      expect(messagesUrl("https://api.anthropic.com/")).toBe("https://api.anthropic.com/v1/messages");
      expect(messagesUrl("https://proxy.example.com/anthropic/v1/")).toBe("https://proxy.example.com/anthropic/v1/messages");
      const endpoint = upstream.endpoint({ reply: "Hi." });
      await events(await send({ ...endpoint, provider: { ...endpoint.provider, baseUrl: `${upstream.server.url}/v1/` } }, { stream: false }));
      expect(lastRequest().url).toBe("/v1/messages");
    });

    it("answers a tool round trip with the tool's result (the fake reads tool_result blocks as the tool message)", async () => {
      const endpoint = upstream.endpoint({});
      const messages: ChatMessage[] = [
        { role: "user", content: "What is the weather in Paris?" },
        callsTool("toolu_9", '{"city":"Paris"}'),
        { role: "tool", tool_call_id: "toolu_9", content: "18 °C, cloudy" },
      ];
      const answer = await events(await send(endpoint, { stream: true, messages, params: { tools: [WEATHER_TOOL] } }));
      expect(answer.map((e) => e.delta?.content ?? "").join("")).toBe("The tool returned: 18 °C, cloudy");
      expect(answer.map((e) => e.nativeFinishReason).filter(Boolean)).toEqual(["end_turn"]);
    });
  });

  describe("recorded Anthropic transcripts", () => {
    const noCache = { cachedTokens: 0, cacheWriteTokens: 0 };

    it("text, streamed: id, each text delta, end_turn with usage counting cache reads as prompt tokens", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("text.stream.http"));
      expect(await events(await send(endpoint, { stream: true }))).toEqual([
        { upstreamId: "msg_01XFDUDYJgAACzvnptvVoYEL" },
        { delta: { content: "Paris is" } },
        { delta: { content: " mild today: 18 °C and" } },
        { delta: { content: " partly cloudy." } },
        {
          nativeFinishReason: "end_turn",
          usage: { promptTokens: 14 + 2048, completionTokens: 14, reasoningTokens: 0, cachedTokens: 2048, cacheWriteTokens: 0 },
        },
      ]);
    });

    it("text, as JSON: one event with the whole answer", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("text.json.http"));
      expect(await events(await send(endpoint, { stream: false }))).toEqual([
        {
          upstreamId: "msg_01Aq9w938a90dw8q5ssEh4Vv",
          delta: { role: "assistant", content: "Paris is mild today: 18 °C and partly cloudy." },
          nativeFinishReason: "end_turn",
          usage: { promptTokens: 14 + 2048, completionTokens: 14, reasoningTokens: 0, cachedTokens: 2048, cacheWriteTokens: 0 },
        },
      ]);
    });

    // 96 output tokens, of which the visible answer is 10 (by Switchyard's tokenizer): 86 were thinking.
    const THINKING_USAGE = { promptTokens: 46, completionTokens: 96, reasoningTokens: 86, ...noCache };

    it("thinking, streamed: thinking deltas as reasoning (the signature dropped), then the text", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("thinking.stream.http"));
      expect(await events(await send(endpoint, { stream: true }))).toEqual([
        { upstreamId: "msg_01DfGoUwMtftE8VM22axQ2Jc" },
        { delta: { reasoning: "The user wants 27 * 453. 27 * 453 = 27 * 400 + 27 * 53" } },
        { delta: { reasoning: " = 10800 + 1431 = 12231." } },
        { delta: { content: "27 × 453 = **12,231**" } },
        { nativeFinishReason: "end_turn", usage: THINKING_USAGE },
      ]);
    });

    it("thinking with reasoning.exclude: asks for thinking, drops it from the output, still counts it", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("thinking.stream.http"));
      const answer = await events(await send(endpoint, { stream: true, params: { reasoning: { effort: "low", exclude: true } } }));
      expect(lastRequest().body?.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
      expect(answer).toEqual([
        { upstreamId: "msg_01DfGoUwMtftE8VM22axQ2Jc" },
        { delta: { content: "27 × 453 = **12,231**" } },
        { nativeFinishReason: "end_turn", usage: THINKING_USAGE },
      ]);
    });

    it("thinking, as JSON: thinking as reasoning, redacted thinking counted but not shown", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("thinking.json.http"));
      expect(await events(await send(endpoint, { stream: false }))).toEqual([
        {
          upstreamId: "msg_01K8RjLq1b7EyhVnC5zAuPxT",
          delta: {
            role: "assistant",
            reasoning: "The user wants 27 * 453. 27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231.",
            content: "27 × 453 = **12,231**",
          },
          nativeFinishReason: "end_turn",
          usage: THINKING_USAGE,
        },
      ]);
    });

    const TOOL_USE_ID = "toolu_01T1x1fJ34qAmk2tNTrN7Up6";
    const TOOL_USAGE = { promptTokens: 472 + 1536, completionTokens: 73, reasoningTokens: 0, cachedTokens: 0, cacheWriteTokens: 1536 };

    it("tool use, streamed: text, then a tool call opened with its id and name and argument fragments, tool_use", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("tool-use.stream.http"));
      expect(await events(await send(endpoint, { stream: true, params: { tools: [WEATHER_TOOL] } }))).toEqual([
        { upstreamId: "msg_014p7gG3wDgGV9EUtLvnow3U" },
        { delta: { content: "I'll check the current" } },
        { delta: { content: " weather in Paris." } },
        { delta: { tool_calls: [{ index: 0, id: TOOL_USE_ID, type: "function", function: { name: "get_weather", arguments: "" } }] } },
        { delta: { tool_calls: [{ index: 0, function: { arguments: '{"city": "Par' } }] } },
        { delta: { tool_calls: [{ index: 0, function: { arguments: 'is", "days": 1}' } }] } },
        { nativeFinishReason: "tool_use", usage: TOOL_USAGE },
      ]);
    });

    it("tool use, as JSON: the tool_use block as a tool call with its id and the input as JSON arguments", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("tool-use.json.http"));
      expect(await events(await send(endpoint, { stream: false, params: { tools: [WEATHER_TOOL] } }))).toEqual([
        {
          upstreamId: "msg_01Gx2fXzG7ZsjfVm3LJ1mQ8y",
          delta: {
            role: "assistant",
            content: "I'll check the current weather in Paris.",
            tool_calls: [{ index: 0, id: TOOL_USE_ID, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","days":1}' } }],
          },
          nativeFinishReason: "tool_use",
          usage: TOOL_USAGE,
        },
      ]);
    });

    it("an overloaded_error event mid-stream: the tokens before it, then provider_unavailable, retryable", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("error-mid-stream.stream.http"));
      const iterator = (await send(endpoint, { stream: true }))[Symbol.asyncIterator]();
      const seen: UpstreamEvent[] = [];
      const error = await rejection(
        (async () => {
          for (let step = await iterator.next(); !step.done; step = await iterator.next()) seen.push(step.value);
        })(),
      );
      expect(seen).toEqual([{ upstreamId: "msg_01NqXs4dGrb2mY8cTkVJ7hRw" }, { delta: { content: "Paris is" } }, { delta: { content: " mild" } }]);
      expect(error.code).toBe("provider_unavailable");
      expect(error.spec.retryable).toBe(true);
      expect(error.message).toBe("Test Provider returned an error: Overloaded");
      expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 529 });
    });

    it("a 529 overloaded: provider_unavailable, retryable, with Anthropic's body kept", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("overloaded.http"));
      const error = await rejection(send(endpoint, { stream: true }));
      expect(error.code).toBe("provider_unavailable");
      expect(error.spec.retryable).toBe(true);
      expect(error.metadata).toEqual({
        provider_name: "Test Provider",
        provider_code: 529,
        raw: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHsE1rTq6wJm8XbP4kYn"}\n',
      });
    });

    it("a 400 prompt too long: context_length_exceeded, not retryable, with Anthropic's message", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("prompt-too-long.http"));
      const error = await rejection(send(endpoint, { stream: true }));
      expect(error.code).toBe("context_length_exceeded");
      expect(error.spec.retryable).toBe(false);
      expect(error.message).toBe("prompt is too long: 208310 tokens > 200000 maximum");
      expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 400 });
    });

    it("a 400 where input and max_tokens exceed the context limit: context_length_exceeded", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("context-limit.http"));
      const error = await rejection(send(endpoint, { stream: false }));
      expect(error.code).toBe("context_length_exceeded");
      expect(error.message).toContain("exceed context limit");
    });

    it("a 429 with retry-after: upstream_rate_limited, retrying after that many seconds", async () => {
      const endpoint = upstream.endpoint(() => readTranscript("rate-limited.http"));
      const error = await rejection(send(endpoint, { stream: true }));
      expect(error.code).toBe("upstream_rate_limited");
      expect(error.retryAfterMs).toBe(17_000);
      expect(error.metadata).toMatchObject({ provider_name: "Test Provider", provider_code: 429 });
    });

    it("a stream that closes after message_delta without message_stop is complete; one closing before it is not", async () => {
      const full = readTranscript("text.stream.http");
      const withoutStop = { ...full, body: full.body.slice(0, full.body.indexOf("event: message_stop")) };
      const answer = await events(await send(upstream.endpoint(() => withoutStop), { stream: true }));
      expect(answer.at(-1)).toMatchObject({ nativeFinishReason: "end_turn" });
      const beforeDelta = { ...full, body: full.body.slice(0, full.body.indexOf("event: message_delta")) };
      const error = await rejection(events(await send(upstream.endpoint(() => beforeDelta), { stream: true })));
      expect(error.code).toBe("provider_error");
      expect(error.message).toBe("Test Provider ended the stream before the answer was complete.");
    });
  });

  describe("refusals by the adapter or before the upstream", () => {
    it("rejects an image data URL that is not base64 as upstream_invalid_request without sending anything", async () => {
      const endpoint = upstream.endpoint({});
      const before = upstream.server.requests.length;
      const messages: ChatMessage[] = [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/svg+xml,<svg/>" } }] }];
      const error = await rejection(send(endpoint, { stream: true, messages }));
      expect(error.code).toBe("upstream_invalid_request");
      expect(error.message).toBe("An image data URL must be base64-encoded (data:<media type>;base64,<data>).");
      expect(upstream.server.requests.length).toBe(before);
    });

    it("rejects a closed port as provider_error, retryable, naming the refused connection", async () => {
      const endpoint = upstream.endpoint({});
      const error = await rejection(send({ ...endpoint, provider: { ...endpoint.provider, baseUrl: await closedPortUrl() } }, { stream: true }));
      expect(error).toMatchObject({ code: "provider_error", message: "Could not reach Test Provider: connection refused." });
      expect(error.spec.retryable).toBe(true);
    });

    it("rejects a provider without a base URL as provider_error", async () => {
      const endpoint = upstream.endpoint({});
      await expect(send({ ...endpoint, provider: { ...endpoint.provider, baseUrl: null } }, { stream: false })).rejects.toMatchObject({
        code: "provider_error",
      });
    });

    it("closes the upstream connection when the call is aborted mid-stream", async () => {
      const controller = new AbortController();
      const endpoint = upstream.endpoint({ reply: "one two three four", fault: { type: "stall", afterTokens: 1 } });
      const iterator = (await upstream.adapter.send(upstreamCall(endpoint, { stream: true, signal: controller.signal })))[Symbol.asyncIterator]();
      for (let step = await iterator.next(); !step.value?.delta?.content; step = await iterator.next()) {
        if (step.done) throw new Error("the stream ended before its first token");
      }
      const request = lastRequest();
      const next = iterator.next();
      controller.abort(new Error("client went away"));
      await expect(next).rejects.toBeDefined();
      await expect.poll(() => request.clientDisconnected, { timeout: 1_000 }).toBe(true);
    }, 5_000);
  });
});

describe("messagesRequestBody", () => {
  const provider = providerInfo({ adapter: "anthropic", baseUrl: "https://api.anthropic.com" });
  const body = (
    options: { params?: Record<string, unknown>; messages?: ChatMessage[]; stream?: boolean; maxTokens?: number | null } = {},
    endpoint: Partial<EndpointInfo> = {},
  ) => {
    const signal = new AbortController().signal;
    const call = upstreamCall({ ...endpointInfo(provider), ...endpoint }, { stream: options.stream ?? true, signal, ...options });
    if (options.maxTokens !== undefined) call.request.maxTokens = options.maxTokens;
    return messagesRequestBody(call);
  };
  /** `max_tokens` and the thinking budget sent for these parameters (null: no thinking). */
  const thinking = (params: Record<string, unknown>, endpoint: Partial<EndpointInfo> = {}) => {
    const sent = body({ params }, endpoint);
    const budget = (sent.thinking as { type: string; budget_tokens: number } | undefined)?.budget_tokens ?? null;
    if (budget !== null) expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: budget });
    return { maxTokens: sent.max_tokens, budget };
  };
  const untranslatable = (options: Parameters<typeof body>[0]) => {
    try {
      body(options);
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      return error as AppError;
    }
    throw new Error("expected the translation to refuse");
  };

  describe("max_tokens", () => {
    it("takes max_completion_tokens over max_tokens", () => {
      expect(body({ params: { max_tokens: 100, max_completion_tokens: 200 } }).max_tokens).toBe(200);
    });

    it("takes the request's max_tokens when the endpoint's parameters dropped it", () => {
      expect(body({ maxTokens: 300 }).max_tokens).toBe(300);
    });

    it("falls back to the endpoint's maxCompletionTokens, then 4096", () => {
      expect(body({}, { maxCompletionTokens: 64_000 }).max_tokens).toBe(64_000);
      expect(body().max_tokens).toBe(4096);
    });
  });

  describe("reasoning", () => {
    it.each(EFFORT_BUDGETS)("effort %s gives a budget of %i of max_tokens 10000", (effort, budget) => {
      expect(thinking({ max_tokens: 10_000, reasoning: { effort } })).toEqual({ maxTokens: 10_000, budget });
    });

    it("caps a budget from an effort at 128000", () => {
      expect(body({ params: { max_tokens: 200_000, reasoning: { effort: "high" } } }).thinking).toEqual({ type: "enabled", budget_tokens: 128_000 });
    });

    it("treats enabled: true, a bare reasoning object, include_reasoning: true and an unknown effort as medium", () => {
      for (const params of [{ reasoning: { enabled: true } }, { reasoning: {} }, { include_reasoning: true }, { reasoning: { effort: "extreme" } }]) {
        expect(thinking({ max_tokens: 10_000, ...params }), JSON.stringify(params)).toEqual({ maxTokens: 10_000, budget: 5000 });
      }
    });

    it("takes the top-level reasoning_effort", () => {
      expect(body({ params: { max_tokens: 10_000, reasoning_effort: "low" } }).thinking).toEqual({ type: "enabled", budget_tokens: 2000 });
    });

    it("does not think for effort none, enabled: false, exclude alone, include_reasoning: false, or no reasoning parameter", () => {
      const off = [
        { reasoning: { effort: "none" } },
        { reasoning: { enabled: false, effort: "high" } },
        { reasoning: { exclude: true } },
        { include_reasoning: false },
        {},
      ];
      for (const params of off) {
        expect(body({ params }).thinking, JSON.stringify(params)).toBeUndefined();
      }
    });

    it("takes reasoning.max_tokens as the budget, raising max_tokens so the answer keeps its room", () => {
      expect(thinking({ reasoning: { max_tokens: 8000 } })).toEqual({ maxTokens: 12_096, budget: 8000 });
      expect(thinking({ max_tokens: 20_000, reasoning: { max_tokens: 8000 } })).toEqual({ maxTokens: 20_000, budget: 8000 });
    });

    it("raises max_tokens above the 1024 minimum budget when max_tokens is small", () => {
      expect(thinking({ max_tokens: 500, reasoning: { effort: "low" } })).toEqual({ maxTokens: 1524, budget: 1024 });
    });

    it("keeps a raised max_tokens within the endpoint's maximum, and the budget below it", () => {
      const endpoint = { maxCompletionTokens: 10_000 };
      expect(thinking({ max_tokens: 4000, reasoning: { max_tokens: 8000 } }, endpoint)).toEqual({ maxTokens: 10_000, budget: 8000 });
      expect(thinking({ max_tokens: 4000, reasoning: { max_tokens: 12_000 } }, endpoint)).toEqual({ maxTokens: 10_000, budget: 9999 });
    });

    it("leaves out temperature, top_k and a top_p below 0.95 when thinking, and keeps them otherwise", () => {
      const sampling = { temperature: 0.2, top_k: 40, top_p: 0.9 };
      const thinking = body({ params: { ...sampling, reasoning: { effort: "high" } } });
      expect(thinking).not.toHaveProperty("temperature");
      expect(thinking).not.toHaveProperty("top_k");
      expect(thinking).not.toHaveProperty("top_p");
      expect(body({ params: sampling })).toMatchObject(sampling);
    });

    it("does not think when tool_choice forces a tool call", () => {
      for (const tool_choice of ["required", { type: "function", function: { name: "get_weather" } }]) {
        expect(body({ params: { tools: [WEATHER_TOOL], tool_choice, reasoning: { effort: "high" } } }).thinking).toBeUndefined();
      }
    });

    it("does not think in a tool loop, whose last assistant turn carries no thinking block", () => {
      const messages: ChatMessage[] = [
        { role: "user", content: "Weather?" },
        callsTool("toolu_1", "{}", "Let me look."),
        { role: "tool", tool_call_id: "toolu_1", content: "18 °C" },
      ];
      expect(body({ messages, params: { tools: [WEATHER_TOOL], reasoning: { effort: "high" } } }).thinking).toBeUndefined();
    });
  });

  describe("tools", () => {
    it.each([
      ["auto", { type: "auto" }],
      ["required", { type: "any" }],
      ["none", { type: "none" }],
      [{ type: "function", function: { name: "get_weather" } }, { type: "tool", name: "get_weather" }],
    ])("maps tool_choice %j to %j", (choice, expected) => {
      expect(body({ params: { tools: [WEATHER_TOOL], tool_choice: choice } }).tool_choice).toEqual(expected);
    });

    it("disables parallel tool use for parallel_tool_calls: false, also without a tool_choice", () => {
      const unchosen = body({ params: { tools: [WEATHER_TOOL], parallel_tool_calls: false } });
      expect(unchosen.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
      expect(body({ params: { tools: [WEATHER_TOOL], tool_choice: "required", parallel_tool_calls: false } }).tool_choice).toEqual({
        type: "any",
        disable_parallel_tool_use: true,
      });
    });

    it("sends no tool_choice without tools, and leaves out tools that are not functions", () => {
      expect(body({ params: { tool_choice: "auto", tools: [{ type: "openrouter:web_search" }] } })).not.toHaveProperty("tool_choice");
      expect(body({ params: { tools: [{ type: "openrouter:web_search" }] } })).not.toHaveProperty("tools");
    });

    it("rejects tool-call arguments that are not a JSON object", () => {
      const messages: ChatMessage[] = [
        { role: "user", content: "Weather?" },
        callsTool("toolu_1", '{"city": "Par'),
        { role: "tool", tool_call_id: "toolu_1", content: "18 °C" },
      ];
      const error = untranslatable({ messages });
      expect(error.code).toBe("upstream_invalid_request");
      expect(error.message).toBe("The arguments of tool call toolu_1 are not a JSON object.");
    });
  });

  describe("messages", () => {
    it("keeps cache_control: the system prompt then goes as blocks, and a cached text stays a block", () => {
      const messages: ChatMessage[] = [
        { role: "system", content: [{ type: "text", text: "A long manual.", cache_control: { type: "ephemeral" } }] },
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Summarise it.", cache_control: { type: "ephemeral", ttl: "1h" } }] },
      ];
      expect(body({ messages })).toMatchObject({
        system: [
          { type: "text", text: "A long manual.", cache_control: { type: "ephemeral" } },
          { type: "text", text: "Be brief." },
        ],
        messages: [{ role: "user", content: [{ type: "text", text: "Summarise it.", cache_control: { type: "ephemeral", ttl: "1h" } }] }],
      });
    });

    it("drops empty texts and the turns they leave empty, and puts tool results before text in a merged user turn", () => {
      const messages: ChatMessage[] = [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: "", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "user", content: "" },
        { role: "user", content: "Quickly, please." },
        { role: "tool", tool_call_id: "toolu_1", content: "18 °C" },
      ];
      expect(body({ messages }).messages).toEqual([
        { role: "user", content: "Weather?" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: {} }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: "18 °C" },
            { type: "text", text: "Quickly, please." },
          ],
        },
      ]);
    });

    it("rejects content parts Anthropic cannot take", () => {
      const audioPart = { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } };
      const audio = untranslatable({ messages: [{ role: "user", content: [audioPart] }] });
      expect(audio.message).toBe("Anthropic does not accept `input_audio` parts in user messages.");
      const imagePart = { type: "image_url", image_url: { url: "https://example.com/a.png" } };
      const systemImage = untranslatable({ messages: [{ role: "system", content: [imagePart] }] });
      expect(systemImage.message).toBe("Anthropic accepts only text in system messages, not `image_url` parts.");
    });

    it("sends stop as stop_sequences, leaving out sequences of only whitespace", () => {
      expect(body({ params: { stop: "END" } }).stop_sequences).toEqual(["END"]);
      expect(body({ params: { stop: ["END", " ", "\n\nHuman:"] } }).stop_sequences).toEqual(["END", "\n\nHuman:"]);
      expect(body({ params: { stop: [" "] } })).not.toHaveProperty("stop_sequences");
    });

    it("forwards nothing Anthropic does not know, and nothing null", () => {
      const unknown = { presence_penalty: 0.1, logit_bias: { 42: 1 }, metadata: { a: "b" }, provider_specific: true };
      const params = { temperature: null, top_p: null, stop: null, ...unknown };
      expect(Object.keys(body({ params, stream: false }))).toEqual(["model", "max_tokens", "messages", "stream"]);
    });
  });
});
