import type { UpstreamCall } from "../../src/core/ports.js";
import type { AdapterKind, ChatMessage, CompletionRequest, EndpointInfo, ProviderInfo } from "../../src/core/types.js";

/** The smallest catalog and request objects an adapter needs for one upstream call. */

let endpoints = 0;

export function providerInfo(overrides: Partial<ProviderInfo> & { adapter: AdapterKind }): ProviderInfo {
  return {
    slug: "test-provider",
    name: "Test Provider",
    baseUrl: null,
    apiKey: null,
    dataPolicy: null,
    supportsCancellation: true,
    active: true,
    inactiveReason: null,
    privacyPolicyUrl: null,
    termsOfServiceUrl: null,
    statusPageUrl: null,
    headquarters: null,
    datacenters: [],
    ...overrides,
  };
}

/** A fresh endpoint: its own id and upstream model name, so per-endpoint state (`faultTimes`) starts at zero. */
export function endpointInfo(provider: ProviderInfo, simulation: Record<string, unknown> | null = null): EndpointInfo {
  endpoints += 1;
  const modelId = `test/model-${endpoints}`;
  return {
    id: `${modelId}:standard@${provider.slug}`,
    modelId,
    variant: "standard",
    tag: provider.slug,
    provider,
    upstreamModel: `upstream-model-${endpoints}`,
    contextLength: 8192,
    maxCompletionTokens: null,
    maxPromptTokens: null,
    quantization: null,
    pricing: { prompt: 0n, completion: 0n, request: 0n, image: 0n, reasoning: null, cacheRead: null, cacheWrite: null, webSearch: 0n },
    supportedParameters: new Set(["max_tokens", "temperature", "tools", "tool_choice"]),
    inputModalities: ["text"],
    dataPolicy: { training: false, retainsPrompts: false },
    moderated: false,
    status: 0,
    simulation,
  };
}

export const USER_MESSAGES: ChatMessage[] = [{ role: "user", content: "What is the weather in Paris?" }];

export function completionRequest(options: { stream: boolean; params?: Record<string, unknown>; messages?: ChatMessage[] }): CompletionRequest {
  const params = options.params ?? {};
  return {
    apiType: "chat",
    models: ["test/model"],
    messages: options.messages ?? USER_MESSAGES,
    stream: options.stream,
    maxTokens: typeof params.max_tokens === "number" ? params.max_tokens : null,
    provider: {
      order: null,
      allowFallbacks: true,
      requireParameters: false,
      dataCollection: "allow",
      zdr: false,
      only: null,
      ignore: [],
      quantizations: null,
      sort: null,
      maxPrice: null,
    },
    webSearch: null,
    params,
  };
}

/** One call; `params` is both the request's parameters and what the adapter forwards, `stream` both the client's wish and the call's. */
export function upstreamCall(
  endpoint: EndpointInfo,
  options: { stream: boolean; signal: AbortSignal; params?: Record<string, unknown>; messages?: ChatMessage[] },
): UpstreamCall {
  const request = completionRequest(options);
  return { endpoint, request, params: request.params, stream: options.stream, signal: options.signal };
}

/** Anthropic's thinking budget for each reasoning effort, out of max_tokens 10,000 (as OpenRouter documents it). */
export const EFFORT_BUDGETS = [
  ["max", 9500],
  ["xhigh", 9500],
  ["high", 8000],
  ["medium", 5000],
  ["low", 2000],
  ["minimal", 1024],
] as const;
