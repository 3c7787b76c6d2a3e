import { Agent, request } from "undici";
import { AppError } from "../errors.js";
import type { ProviderAdapter, UpstreamCall } from "../core/ports.js";
import type { UpstreamEvent } from "../core/types.js";
import { ANTHROPIC_VERSION, messagesRequestBody, readMessagesResponse, reasoningHidden } from "./anthropic-wire.js";
import { transportError } from "./upstream-errors.js";

export interface AnthropicOptions {
  connectTimeoutMs: number;
  /** Sockets kept per upstream origin. */
  connectionsPerOrigin?: number;
}

/**
 * The `anthropic` adapter: the Anthropic Messages API (`POST <baseUrl>/v1/messages`, the provider's key as
 * `x-api-key`), with OpenAI-shaped requests and answers translated both ways (see `anthropic-wire.ts`). Connections
 * are pooled and kept alive per origin. The router owns every timeout except connecting, so undici's own header and
 * body timeouts are off and the call's signal ends a request.
 */
export class AnthropicAdapter implements ProviderAdapter {
  readonly kind = "anthropic" as const;
  private readonly agent: Agent;

  constructor(options: AnthropicOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      connections: options.connectionsPerOrigin ?? 256,
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
    const body = JSON.stringify(messagesRequestBody(call));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: call.stream ? "text/event-stream" : "application/json",
      "anthropic-version": ANTHROPIC_VERSION,
    };
    if (provider.apiKey) headers["x-api-key"] = provider.apiKey;
    let response;
    try {
      response = await request(messagesUrl(provider.baseUrl), { method: "POST", headers, body, signal: call.signal, dispatcher: this.agent });
    } catch (error) {
      if (call.signal.aborted) throw error;
      throw transportError(error, provider);
    }
    return readMessagesResponse({ status: response.statusCode, headers: response.headers, body: response.body }, provider, {
      stream: call.stream,
      hideReasoning: reasoningHidden(call.params),
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** `<baseUrl>/v1/messages`; a base URL that already ends in `/v1` (as some proxies are configured) is not doubled. */
export function messagesUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return /\/v1$/.test(base) ? `${base}/messages` : `${base}/v1/messages`;
}
