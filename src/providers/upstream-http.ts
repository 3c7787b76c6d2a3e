import { Agent, request } from "undici";
import type { UpstreamCall } from "../core/ports.js";
import type { ProviderInfo } from "../core/types.js";
import { AppError } from "../errors.js";
import type { WireResponse } from "./openai-wire.js";
import { transportError } from "./upstream-errors.js";

export interface UpstreamHttpOptions {
  connectTimeoutMs: number;
  /** Sockets kept per upstream origin. */
  connectionsPerOrigin?: number;
}

/**
 * The HTTP side every HTTP adapter shares: connections pooled and kept alive per origin, and one POST per attempt
 * whose transport failures (refused, reset, TLS, connect timeout) become the provider's `provider_error`. The router
 * owns every timeout except connecting, so undici's own header and body timeouts are off and the call's signal ends a
 * request.
 */
export class UpstreamHttp {
  private readonly agent: Agent;

  constructor(options: UpstreamHttpOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      connections: options.connectionsPerOrigin ?? 1024,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** The provider's base URL without trailing slashes; a provider without one cannot be called. */
  baseUrl(provider: ProviderInfo): string {
    if (!provider.baseUrl) {
      throw new AppError("provider_error", `${provider.name} has no base URL configured.`, {
        metadata: { provider_name: provider.name, provider_code: null },
      });
    }
    return provider.baseUrl.replace(/\/+$/, "");
  }

  /** Sends the JSON body; resolves with the response as soon as its headers arrive. */
  async post(call: UpstreamCall, url: string, headers: Record<string, string>, body: unknown): Promise<WireResponse> {
    try {
      const response = await request(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: call.stream ? "text/event-stream" : "application/json", ...headers },
        body: JSON.stringify(body),
        signal: call.signal,
        dispatcher: this.agent,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      if (call.signal.aborted) throw error;
      throw transportError(error, call.endpoint.provider);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
