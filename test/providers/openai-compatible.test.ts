import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { OpenAICompatibleAdapter } from "../../src/providers/openai-compatible.js";
import type { EndpointInfo, UpstreamEvent } from "../../src/core/types.js";
import {
  closedPortUrl,
  startUpstreamServer,
  type RecordedRequest,
  type SimulationInput,
  type UpstreamReply,
} from "../helpers/upstream-server.js";
import { rejection } from "../helpers/rejection.js";
import { describeAdapterConformance } from "./adapter.case.js";
import { endpointInfo, providerInfo, upstreamCall } from "./fixtures.js";

type Route = SimulationInput | ((request: RecordedRequest) => UpstreamReply);

/**
 * One upstream server for many endpoints: each endpoint gets its own upstream model name, and the server picks the
 * behaviour by the `model` in the request body.
 */
async function startHarnessUpstream() {
  const routes = new Map<string, Route>();
  const server = await startUpstreamServer((request) => {
    const route = routes.get(String(request.body?.model));
    if (route === undefined) return { status: 404, body: JSON.stringify({ error: { message: "The model does not exist.", code: "model_not_found" } }) };
    return typeof route === "function" ? route(request) : route;
  });
  const adapter = new OpenAICompatibleAdapter({ connectTimeoutMs: 1_000 });
  const endpoint = (route: Route, apiKey: string | null = null): EndpointInfo => {
    const info = endpointInfo(providerInfo({ adapter: "openai-compatible", baseUrl: server.baseUrl, apiKey }));
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

/** A 401 that echoes what it was sent, as some servers do: the Authorization header and the bare key. */
function echoAuthorization(request: RecordedRequest): UpstreamReply {
  const authorization = String(request.headers.authorization ?? "");
  const key = authorization.replace(/^Bearer /, "");
  return {
    status: 401,
    body: JSON.stringify({
      error: { message: `Incorrect API key provided: ${key}. You sent authorization: ${authorization}`, type: "invalid_request_error", code: "invalid_api_key" },
    }),
  };
}

describeAdapterConformance("openai-compatible", async () => {
  const upstream = await startHarnessUpstream();
  return {
    adapter: upstream.adapter,
    endpoint: (simulation, options = {}) => upstream.endpoint(simulation, options.apiKey ?? null),
    authEchoEndpoint: (apiKey) => upstream.endpoint(echoAuthorization, apiKey),
    close: () => upstream.close(),
  };
});

describe("openai-compatible adapter", () => {
  let upstream: Awaited<ReturnType<typeof startHarnessUpstream>>;
  beforeAll(async () => {
    upstream = await startHarnessUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  const send = (endpoint: EndpointInfo, options: { stream: boolean; params?: Record<string, unknown> }) =>
    upstream.adapter.send(upstreamCall(endpoint, { ...options, signal: new AbortController().signal }));
  const drain = async (events: AsyncIterable<UpstreamEvent>) => {
    for await (const _event of events) {
      // Only the request matters here.
    }
  };
  const lastRequest = () => upstream.server.requests[upstream.server.requests.length - 1];

  it("posts a streamed request to <baseUrl>/chat/completions with the key as a Bearer token and asks for usage", async () => {
    const endpoint = upstream.endpoint({ reply: "Hi." }, "sk-test-key-123456");
    await drain(await send(endpoint, { stream: true, params: { max_tokens: 7, temperature: 0.5 } }));
    const request = lastRequest();
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe("Bearer sk-test-key-123456");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers.accept).toBe("text/event-stream");
    expect(request.body).toEqual({
      max_tokens: 7,
      temperature: 0.5,
      model: endpoint.upstreamModel,
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("sends no stream_options on a request that does not stream", async () => {
    const endpoint = upstream.endpoint({ reply: "Hi." }, "sk-test-key-123456");
    await drain(await send(endpoint, { stream: false, params: { max_tokens: 7 } }));
    const request = lastRequest();
    expect(request.headers.accept).toBe("application/json");
    expect(request.body).toEqual({
      max_tokens: 7,
      model: endpoint.upstreamModel,
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      stream: false,
    });
  });

  it("sends no Authorization header when the provider has no key", async () => {
    await drain(await send(upstream.endpoint({ reply: "Hi." }, null), { stream: false }));
    expect(lastRequest().headers.authorization).toBeUndefined();
  });

  it("posts to <baseUrl>/chat/completions when the base URL ends with a slash", async () => {
    const endpoint = upstream.endpoint({ reply: "Hi." });
    const withSlash = { ...endpoint, provider: { ...endpoint.provider, baseUrl: `${upstream.server.baseUrl}/` } };
    await drain(await send(withSlash, { stream: false }));
    expect(lastRequest().url).toBe("/v1/chat/completions");
  });

  it("closes the upstream connection when the call is aborted mid-stream", async () => {
    const controller = new AbortController();
    const endpoint = upstream.endpoint({ reply: "one two three four", fault: { type: "stall", afterTokens: 1 } });
    const events = await upstream.adapter.send(upstreamCall(endpoint, { stream: true, signal: controller.signal }));
    const iterator = events[Symbol.asyncIterator]();
    for (;;) {
      const step = await iterator.next();
      if (step.done) throw new Error("the stream ended before its first token");
      if (step.value.delta?.content) break;
    }
    const request = lastRequest();
    expect(request.clientDisconnected).toBe(false);
    const next = iterator.next();
    controller.abort(new Error("client went away"));
    await expect(next).rejects.toBeDefined();
    await expect.poll(() => request.clientDisconnected, { timeout: 1_000 }).toBe(true);
  }, 5_000);

  it("rejects a closed port as provider_error, retryable, naming the refused connection", async () => {
    const endpoint = upstream.endpoint({});
    const refused = { ...endpoint, provider: { ...endpoint.provider, baseUrl: await closedPortUrl() } };
    const error = await rejection(send(refused, { stream: true }));
    expect(error).toMatchObject({
      code: "provider_error",
      message: "Could not reach Test Provider: connection refused.",
      metadata: { provider_name: "Test Provider", provider_code: null, transport: "ECONNREFUSED" },
    });
    expect(error.spec.retryable).toBe(true);
  });

  it("rejects a provider without a base URL as provider_error without sending anything", async () => {
    const endpoint = upstream.endpoint({});
    const before = upstream.server.requests.length;
    const noUrl = { ...endpoint, provider: { ...endpoint.provider, baseUrl: null } };
    await expect(send(noUrl, { stream: false })).rejects.toMatchObject({ code: "provider_error" });
    expect(upstream.server.requests.length).toBe(before);
  });

  it("honours retry-after-ms from the upstream over Retry-After", async () => {
    const endpoint = upstream.endpoint(() => ({
      status: 429,
      headers: { "retry-after-ms": "1500", "retry-after": "9" },
      body: JSON.stringify({ error: { message: "Slow down.", type: "rate_limit_error" } }),
    }));
    await expect(send(endpoint, { stream: true })).rejects.toMatchObject({ code: "upstream_rate_limited", retryAfterMs: 1500 });
  });

  it("reads a whole JSON answer when the server ignores the request to stream", async () => {
    const completion = {
      id: "chatcmpl-json",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi there." }, finish_reason: "stop" }],
      usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
    };
    const endpoint = upstream.endpoint(() => ({ status: 200, body: JSON.stringify(completion) }));
    const events: UpstreamEvent[] = [];
    for await (const event of await send(endpoint, { stream: true })) events.push(event);
    expect(events).toEqual([
      {
        upstreamId: "chatcmpl-json",
        delta: { role: "assistant", content: "Hi there." },
        nativeFinishReason: "stop",
        usage: { promptTokens: 12, completionTokens: 2, reasoningTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
      },
    ]);
  });

  describe("errors inside a 200 answer", () => {
    const sse = (...events: unknown[]) => ({
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: events.map((event) => `data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`).join(""),
    });
    const token = (content: string) => ({ id: "gen-1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] });

    /** Reads content until the iterable throws; fails if it ends normally. */
    const contentThenError = async (events: AsyncIterable<UpstreamEvent>) => {
      let content = "";
      try {
        for await (const event of events) content += event.delta?.content ?? "";
      } catch (error) {
        return { content, error };
      }
      throw new Error(`the answer ended normally after ${JSON.stringify(content)}`);
    };

    it("throws the classified error of a mid-stream error event, after the tokens before it", async () => {
      const endpoint = upstream.endpoint(() =>
        sse(token("Hello"), {
          id: "gen-1",
          object: "chat.completion.chunk",
          error: { code: 502, message: "Upstream went away" },
          choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
        }),
      );
      const { content, error } = await contentThenError(await send(endpoint, { stream: true }));
      expect(content).toBe("Hello");
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: "provider_error", metadata: { provider_name: "Test Provider", provider_code: 502 } });
    });

    it("throws when a stream finishes with finish_reason error, instead of passing it off as a complete answer", async () => {
      const endpoint = upstream.endpoint(() =>
        sse(
          token("Hello"),
          { id: "gen-1", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "error", error: { code: 502, message: "Upstream went away" } }] },
          "[DONE]",
        ),
      );
      const { content, error } = await contentThenError(await send(endpoint, { stream: true }));
      expect(content).toBe("Hello");
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: "provider_error", metadata: { provider_name: "Test Provider", provider_code: 502 } });
    });

    it("rejects a JSON answer whose choice finished with error, instead of passing off its partial content", async () => {
      const endpoint = upstream.endpoint(() => ({
        status: 200,
        body: JSON.stringify({
          id: "gen-1",
          object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: "Hel" }, finish_reason: "error", error: { code: 502, message: "Upstream went away" } }],
        }),
      }));
      await expect(send(endpoint, { stream: false })).rejects.toMatchObject({ code: "provider_error" });
    });

    it("classifies an in-band context-length error with a string code as context_length_exceeded", async () => {
      const message = "This model's maximum context length is 8192 tokens. Please reduce the length of the messages.";
      const endpoint = upstream.endpoint(() => sse({ error: { message, type: "invalid_request_error", param: null, code: "context_length_exceeded" } }));
      const { error } = await contentThenError(await send(endpoint, { stream: true }));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: "context_length_exceeded" });
    });
  });

  it("classifies a non-JSON error page by its status and keeps its text", async () => {
    const endpoint = upstream.endpoint(() => ({ status: 502, headers: { "content-type": "text/html" }, body: "<html>Bad gateway</html>" }));
    await expect(send(endpoint, { stream: false })).rejects.toMatchObject({
      code: "provider_error",
      message: "Test Provider returned an error: <html>Bad gateway</html>",
      metadata: { provider_name: "Test Provider", provider_code: 502, raw: "<html>Bad gateway</html>" },
    });
  });

  it("keeps every character of the key out of a long plain-text error body that echoes it", async () => {
    const key = "sy-test-8c1d5e7f9a2b4c6d";
    // The key straddles the 500th character, where the error's message is cut: its first 20 characters come before.
    const body = `${"x".repeat(475)} key ${key} was rejected`;
    const endpoint = upstream.endpoint(() => ({ status: 401, headers: { "content-type": "text/plain" }, body }), key);
    const error = await rejection(send(endpoint, { stream: false }));
    const rendered = JSON.stringify({ message: error.message, metadata: error.metadata });
    expect(rendered).not.toContain(key);
    expect(rendered).not.toContain(key.slice(0, 16));
  });
});
