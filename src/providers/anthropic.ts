import type { ProviderAdapter, UpstreamCall } from "../core/ports.js";
import type { UpstreamEvent } from "../core/types.js";
import { ANTHROPIC_VERSION, messagesRequestBody, readMessagesResponse, reasoningHidden } from "./anthropic-wire.js";
import { UpstreamHttp, type UpstreamHttpOptions } from "./upstream-http.js";

/**
 * The `anthropic` adapter: the Anthropic Messages API (`POST <baseUrl>/v1/messages`, the provider's key as
 * `x-api-key`), with OpenAI-shaped requests and answers translated both ways (see `anthropic-wire.ts`; connections
 * in `upstream-http.ts`).
 */
export class AnthropicAdapter implements ProviderAdapter {
  readonly kind = "anthropic" as const;
  private readonly http: UpstreamHttp;

  constructor(options: UpstreamHttpOptions) {
    this.http = new UpstreamHttp(options);
  }

  async send(call: UpstreamCall): Promise<AsyncIterable<UpstreamEvent>> {
    const { provider } = call.endpoint;
    const url = messagesUrl(this.http.baseUrl(provider));
    const headers: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
    if (provider.apiKey) headers["x-api-key"] = provider.apiKey;
    const response = await this.http.post(call, url, headers, messagesRequestBody(call));
    return readMessagesResponse(response, provider, { stream: call.stream, hideReasoning: reasoningHidden(call.params) });
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** `<baseUrl>/v1/messages`; a base URL that already ends in `/v1` (as some proxies are configured) is not doubled. */
export function messagesUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return /\/v1$/.test(base) ? `${base}/messages` : `${base}/v1/messages`;
}
