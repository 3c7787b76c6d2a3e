import type { ProviderAdapter, UpstreamCall } from "../core/ports.js";
import type { UpstreamEvent } from "../core/types.js";
import { chatRequestBody, readChatResponse } from "./openai-wire.js";
import { UpstreamHttp, type UpstreamHttpOptions } from "./upstream-http.js";

/**
 * The `openai-compatible` adapter: chat completions over HTTP to OpenAI and every server that speaks its API (vLLM,
 * llama.cpp, Ollama, Together, Groq, DeepInfra, Fireworks…), at the provider's base URL with its key as a Bearer
 * token (see `openai-wire.ts` for the bytes, `upstream-http.ts` for the connections).
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly kind = "openai-compatible" as const;
  private readonly http: UpstreamHttp;

  constructor(options: UpstreamHttpOptions) {
    this.http = new UpstreamHttp(options);
  }

  async send(call: UpstreamCall): Promise<AsyncIterable<UpstreamEvent>> {
    const { provider } = call.endpoint;
    const url = `${this.http.baseUrl(provider)}/chat/completions`;
    const headers: Record<string, string> = provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {};
    const response = await this.http.post(call, url, headers, chatRequestBody(call));
    return readChatResponse(response, provider, call.stream);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
