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

/** The key the feature catalog's Anthropic provider reads (`apiKeyEnv`); set it in the test app's env. */
export const FAKE_ANTHROPIC_ENV = { FAKE_ANTHROPIC_API_KEY: "sk-ant-test-0123456789" };

/** What `feat/cited` answers: it cites the first simulated search result for "Weather in Paris?". */
export const CITED_REPLY = "It is sunny in Paris, says [search.switchyard.invalid](https://search.switchyard.invalid/weather-in-paris/1).";

const TOOL_PARAMS = ["tools", "tool_choice", "parallel_tool_calls"];
const FORMAT_PARAMS = ["response_format", "structured_outputs"];

/**
 * A catalog for images, tools, structured output, reasoning, web search and moderation: simulated providers, an
 * OpenAI-compatible provider at `openaiUrl` (a test upstream server, which records requests) and an Anthropic
 * provider at `anthropicUrl` (the fake Anthropic server). Unit prices of `feat/chat`, cheapest first: cheap $1.5/M
 * (text only, few parameters), beta $2/M (structured output, no tools), alpha $3/M (everything), oai $4/M, claude $18/M.
 */
export function featureCatalog(urls: { openaiUrl: string; anthropicUrl: string }) {
  const cheap = (upstreamModel: string) => ({
    provider: "cheap",
    upstreamModel,
    maxCompletionTokens: 1024,
    pricing: { prompt: "0.0000005", completion: "0.000001" },
    supportedParameters: ["max_tokens", "temperature"],
  });
  return {
    providers: [
      { slug: "alpha", name: "Alpha", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } },
      { slug: "beta", name: "Beta", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } },
      { slug: "cheap", name: "Cheap", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } },
      { slug: "oai", name: "OAI", adapter: "openai-compatible", baseUrl: urls.openaiUrl, dataPolicy: { training: false, retainsPrompts: false } },
      {
        slug: "claude",
        name: "Claude",
        adapter: "anthropic",
        baseUrl: urls.anthropicUrl,
        apiKeyEnv: "FAKE_ANTHROPIC_API_KEY",
        dataPolicy: { training: false, retainsPrompts: false },
      },
    ],
    models: [
      {
        id: "feat/chat",
        name: "Feature Chat",
        contextLength: 16384,
        endpoints: [
          cheap("chat-cheap"),
          {
            provider: "beta",
            upstreamModel: "chat-beta",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.0000008", completion: "0.0000012" },
            supportedParameters: ["max_tokens", "temperature", ...FORMAT_PARAMS],
          },
          {
            provider: "alpha",
            upstreamModel: "chat-alpha",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000001", completion: "0.000002", image: "0.001" },
            supportedParameters: ["max_tokens", "temperature", ...TOOL_PARAMS, ...FORMAT_PARAMS],
            inputModalities: ["text", "image"],
          },
          {
            provider: "oai",
            upstreamModel: "chat-oai",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000001", completion: "0.000003", image: "0.002" },
            supportedParameters: ["max_tokens", "temperature", "tools", "tool_choice", ...FORMAT_PARAMS],
            inputModalities: ["text", "image"],
          },
          {
            provider: "claude",
            upstreamModel: "claude-chat",
            maxCompletionTokens: 4096,
            pricing: { prompt: "0.000003", completion: "0.000015" },
            supportedParameters: ["max_tokens", "temperature", ...TOOL_PARAMS],
            inputModalities: ["text", "image"],
          },
        ],
      },
      { id: "feat/text", name: "Feature Text Only", contextLength: 8192, endpoints: [cheap("text-cheap")] },
      {
        id: "feat/reasoner",
        name: "Feature Reasoner",
        contextLength: 16384,
        endpoints: [
          {
            provider: "alpha",
            upstreamModel: "reasoner-alpha",
            maxCompletionTokens: 2048,
            pricing: { prompt: "0.000001", completion: "0.000002", reasoning: "0.000003" },
            supportedParameters: ["max_tokens", "reasoning"],
            simulation: { reasoning: "First I think, then I answer." },
          },
          {
            provider: "oai",
            upstreamModel: "reasoner-oai",
            maxCompletionTokens: 2048,
            pricing: { prompt: "0.000001", completion: "0.000002" },
            supportedParameters: ["max_tokens", "reasoning_effort"],
          },
          {
            provider: "claude",
            upstreamModel: "claude-reasoner",
            maxCompletionTokens: 8192,
            pricing: { prompt: "0.000003", completion: "0.000015" },
            supportedParameters: ["max_tokens", "reasoning", "include_reasoning"],
          },
          cheap("reasoner-cheap"),
        ],
      },
      {
        id: "feat/cited",
        name: "Feature Cited",
        contextLength: 16384,
        endpoints: [
          {
            provider: "alpha",
            upstreamModel: "cited-alpha",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000001", completion: "0.000002", webSearch: "0.01" },
            supportedParameters: ["max_tokens"],
            simulation: { reply: CITED_REPLY },
          },
          {
            provider: "cheap",
            variant: "free",
            upstreamModel: "cited-free",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0", completion: "0" },
            supportedParameters: ["max_tokens"],
            simulation: { reply: CITED_REPLY },
          },
        ],
      },
      {
        id: "feat/moderated",
        name: "Feature Moderated",
        contextLength: 8192,
        endpoints: [
          {
            provider: "alpha",
            upstreamModel: "moderated-alpha",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000001", completion: "0.000002" },
            supportedParameters: ["max_tokens"],
            moderated: true,
          },
          {
            provider: "beta",
            upstreamModel: "moderated-beta",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000002", completion: "0.000004" },
            supportedParameters: ["max_tokens"],
            moderated: true,
          },
          {
            provider: "beta",
            subTag: "down",
            upstreamModel: "moderated-down",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000001", completion: "0.000002" },
            supportedParameters: ["max_tokens"],
            moderated: true,
            simulation: { fault: { type: "http_error", status: 503 } },
          },
        ],
      },
      {
        id: "feat/mixed",
        name: "Feature Mixed Moderation",
        contextLength: 8192,
        endpoints: [
          {
            provider: "alpha",
            upstreamModel: "mixed-alpha",
            maxCompletionTokens: 1024,
            pricing: { prompt: "0.000001", completion: "0.000002" },
            supportedParameters: ["max_tokens"],
            moderated: true,
          },
          cheap("mixed-cheap"),
        ],
      },
    ],
  };
}
