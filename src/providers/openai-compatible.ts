import { Agent, request } from "undici";
import { AppError } from "../errors.js";
import type { ProviderAdapter, UpstreamCall } from "../core/ports.js";
import type { UpstreamEvent } from "../core/types.js";
import { chatRequestBody, readChatResponse } from "./openai-wire.js";
import { transportError } from "./upstream-errors.js";

export interface OpenAICompatibleOptions {
  connectTimeoutMs: number;
  /** Sockets kept per upstream origin. */
  connectionsPerOrigin?: number;
}

/**
 * The `openai-compatible` adapter: chat completions over HTTP to OpenAI and every server that speaks its API (vLLM,
 * llama.cpp, Ollama, Together, Groq, DeepInfra, Fireworks…), at the provider's base URL with its key as a Bearer
 * token. Connections are pooled and kept alive per origin. The router owns every timeout except connecting, so
 * undici's own header and body timeouts are off and the call's signal ends a request.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly kind = "openai-compatible" as const;
  private readonly agent: Agent;

  constructor(options: OpenAICompatibleOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      connections: options.connectionsPerOrigin ?? 1024,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async send(call: UpstreamCall): Promise<AsyncIterable<UpstreamEvent>> {
    const { provider } = call.endpoint;
    if (!provider.baseUrl) {
      throw new AppError("provider_error", `${provider.name} has no base URL configured.`, {
        metadata: { provider_name: provider.name, provider_code: null },
      });
    }
    const headers: Record<string, string> = { "content-type": "application/json", accept: call.stream ? "text/event-stream" : "application/json" };
    if (provider.apiKey) headers.authorization = `Bearer ${provider.apiKey}`;
    let response;
    try {
      response = await request(`${provider.baseUrl.replace(/\/+$/, "")}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify(chatRequestBody(call)),
        signal: call.signal,
        dispatcher: this.agent,
      });
    } catch (error) {
      if (call.signal.aborted) throw error;
      throw transportError(error, provider);
    }
    return readChatResponse(
      { status: response.statusCode, headers: response.headers, body: response.body },
      provider,
      call.stream,
    );
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
