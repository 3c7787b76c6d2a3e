/**
 * Catalogs for tests: simulated providers that answer at once (no pacing), with known prices, quantizations and data
 * policies, and a `flaky` provider whose endpoints each inject one fault. Prices are USD per token.
 */

const PARAMS = ["max_tokens", "temperature", "top_p", "stop", "seed"];

const fault = (subTag: string, simulation: Record<string, unknown>) => ({
  provider: "flaky",
  subTag,
  upstreamModel: `faulty-${subTag}`,
  maxCompletionTokens: 1024,
  pricing: { prompt: "0.000001", completion: "0.000002" },
  supportedParameters: PARAMS,
  simulation,
});

export const TEST_CATALOG = {
  providers: [
    { slug: "alpha", name: "Alpha", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } },
    { slug: "beta", name: "Beta", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: true } },
    { slug: "gamma", name: "Gamma", adapter: "simulated", dataPolicy: { training: true, retainsPrompts: true } },
    { slug: "flaky", name: "Flaky", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } },
  ],
  models: [
    {
      id: "test/chat",
      name: "Test Chat",
      contextLength: 4096,
      endpoints: [
        {
          provider: "alpha",
          upstreamModel: "chat-alpha",
          maxCompletionTokens: 1024,
          quantization: "bf16",
          pricing: { prompt: "0.000001", completion: "0.000002" },
          supportedParameters: [...PARAMS, "tools", "tool_choice"],
        },
        {
          provider: "beta",
          upstreamModel: "chat-beta",
          maxCompletionTokens: 512,
          quantization: "fp8",
          pricing: { prompt: "0.000002", completion: "0.000004" },
          supportedParameters: PARAMS,
        },
        {
          provider: "gamma",
          upstreamModel: "chat-gamma",
          maxCompletionTokens: 256,
          quantization: "int4",
          pricing: { prompt: "0.0000005", completion: "0.000001" },
          supportedParameters: ["max_tokens"],
        },
      ],
    },
    {
      id: "test/other",
      name: "Test Other",
      contextLength: 8192,
      endpoints: [{ provider: "alpha", upstreamModel: "other", maxCompletionTokens: 1024, pricing: { prompt: "0.000003", completion: "0.000006" }, supportedParameters: PARAMS }],
    },
    {
      id: "test/small",
      name: "Test Small Context",
      contextLength: 64,
      endpoints: [{ provider: "alpha", upstreamModel: "small", maxCompletionTokens: 32, pricing: { prompt: "0.000001", completion: "0.000001" }, supportedParameters: PARAMS }],
    },
    {
      id: "test/variants",
      name: "Test Variants",
      contextLength: 4096,
      endpoints: [
        { provider: "alpha", upstreamModel: "v", maxCompletionTokens: 1024, pricing: { prompt: "0.000001", completion: "0.000002" }, supportedParameters: PARAMS },
        { provider: "gamma", variant: "free", upstreamModel: "v-free", maxCompletionTokens: 512, pricing: { prompt: "0", completion: "0" }, supportedParameters: PARAMS },
        { provider: "alpha", variant: "extended", upstreamModel: "v-long", contextLength: 65536, maxCompletionTokens: 4096, pricing: { prompt: "0.000002", completion: "0.000004" }, supportedParameters: PARAMS },
        {
          provider: "alpha",
          variant: "thinking",
          upstreamModel: "v-think",
          maxCompletionTokens: 4096,
          pricing: { prompt: "0.000001", completion: "0.000002", reasoning: "0.000003" },
          supportedParameters: [...PARAMS, "reasoning"],
          simulation: { reasoning: "First I think, then I answer." },
        },
      ],
    },
    {
      id: "test/slow",
      name: "Test Slow",
      contextLength: 4096,
      endpoints: [
        {
          provider: "alpha",
          upstreamModel: "slow",
          maxCompletionTokens: 1024,
          pricing: { prompt: "0.000001", completion: "0.000002" },
          supportedParameters: PARAMS,
          simulation: { ttftMs: 300, tokensPerSecond: 20, reply: "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty" },
        },
      ],
    },
    {
      id: "test/faulty",
      name: "Test Faulty",
      contextLength: 4096,
      endpoints: [
        fault("e503", { fault: { type: "http_error", status: 503 } }),
        fault("e500", { fault: { type: "http_error", status: 500 } }),
        fault("e429", { fault: { type: "http_error", status: 429, retryAfter: 1 }, faultTimes: 1 }),
        fault("reset", { fault: { type: "connection_reset" } }),
        fault("silent", { fault: { type: "no_answer" } }),
        fault("late", { ttftMs: 400 }),
        fault("stall", { fault: { type: "stall", afterTokens: 3 } }),
        fault("cut", { fault: { type: "cut", afterTokens: 3 } }),
        fault("malformed", { fault: { type: "malformed_chunk", afterTokens: 2 } }),
        fault("nodone", { fault: { type: "missing_done" } }),
        fault("context", { fault: { type: "context_length" } }),
        fault("policy", { fault: { type: "content_policy" } }),
        fault("nousage", { reportUsage: false }),
        fault("breaker", { fault: { type: "http_error", status: 503 } }),
        { provider: "alpha", upstreamModel: "healthy", maxCompletionTokens: 1024, pricing: { prompt: "0.000001", completion: "0.000002" }, supportedParameters: PARAMS },
      ],
    },
    { id: "test/context-error", name: "Test Context Error", contextLength: 4096, endpoints: [fault("context", { fault: { type: "context_length" } })] },
    { id: "test/policy-error", name: "Test Policy Error", contextLength: 4096, endpoints: [fault("policy", { fault: { type: "content_policy" } })] },
  ],
};

/** A chat body for `model` with one user message. */
export function chatBody(model: string, extra: Record<string, unknown> = {}, content = "Hello there"): Record<string, unknown> {
  return { model, messages: [{ role: "user", content }], ...extra };
}
