import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { dataPolicyViolations, matchesSlug, planEndpoints, type HealthView, type PlanContext } from "../../src/core/plan.js";
import { listedVariants, resolveModel, type ModelTarget } from "../../src/core/resolve.js";
import type {
  AccountPrivacy,
  Caller,
  CatalogSnapshot,
  CompletionRequest,
  EndpointInfo,
  EndpointVariant,
  ModelInfo,
  Pricing,
  ProviderInfo,
  ProviderPreferences,
} from "../../src/core/types.js";

const MODEL_ID = "acme/model";
/** $1 per million tokens, in picodollars per token. */
const PER_MILLION = 1_000_000n;

function provider(slug: string, overrides: Partial<ProviderInfo> = {}): ProviderInfo {
  return {
    slug,
    name: slug.toUpperCase(),
    adapter: "openai-compatible",
    baseUrl: `http://127.0.0.1:9000/${slug}`,
    apiKey: "key",
    dataPolicy: { training: false, retainsPrompts: false },
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

interface EndpointOptions extends Omit<Partial<EndpointInfo>, "pricing" | "supportedParameters"> {
  /** Prompt + completion price in USD per million tokens (all of it on the prompt side). */
  usdPerMillion?: number;
  pricing?: Partial<Pricing>;
  params?: string[];
}

/** An endpoint of MODEL_ID tagged `tag` (`provider` or `provider/sub`), $1 per million unless told otherwise. */
function endpoint(tag: string, options: EndpointOptions = {}): EndpointInfo {
  const { usdPerMillion = 1, pricing, params = [], ...rest } = options;
  const variant: EndpointVariant = rest.variant ?? "standard";
  return {
    id: `${MODEL_ID}:${variant}@${tag}`,
    modelId: MODEL_ID,
    variant,
    tag,
    provider: provider(tag.split("/")[0]),
    upstreamModel: "model",
    contextLength: 8192,
    maxCompletionTokens: null,
    maxPromptTokens: null,
    quantization: null,
    pricing: {
      prompt: BigInt(usdPerMillion) * PER_MILLION,
      completion: 0n,
      request: 0n,
      image: 0n,
      reasoning: null,
      cacheRead: null,
      cacheWrite: null,
      webSearch: 0n,
      ...pricing,
    },
    supportedParameters: new Set(params),
    inputModalities: ["text"],
    dataPolicy: { training: false, retainsPrompts: false },
    moderated: false,
    status: 0,
    simulation: null,
    ...rest,
  };
}

function model(endpoints: EndpointInfo[], id = MODEL_ID): ModelInfo {
  return {
    id,
    name: "Acme Model",
    description: "",
    contextLength: 8192,
    inputModalities: ["text"],
    outputModalities: ["text"],
    tokenizer: "Other",
    instructType: null,
    huggingFaceId: null,
    defaultParameters: null,
    createdAt: new Date(0),
    endpoints,
  };
}

function target(endpoints: EndpointInfo[], overrides: Partial<ModelTarget> = {}): ModelTarget {
  return {
    requested: MODEL_ID,
    model: model(endpoints),
    variant: "standard",
    answerId: MODEL_ID,
    sort: null,
    skipModeration: false,
    forceReasoning: false,
    online: false,
    ...overrides,
  };
}

function request(provider: Partial<ProviderPreferences> = {}, overrides: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    apiType: "chat",
    models: [MODEL_ID],
    messages: [{ role: "user", content: "Hello" }],
    stream: false,
    maxTokens: null,
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
      ...provider,
    },
    webSearch: null,
    params: {},
    ...overrides,
  };
}

function caller(privacy: Partial<AccountPrivacy> = {}): Caller {
  return {
    accountId: "account-1",
    keyHash: null,
    logPrompts: false,
    privacy: {
      allowTraining: true,
      allowFreeTraining: true,
      allowRetention: true,
      allowedProviders: null,
      ignoredProviders: [],
      ...privacy,
    },
  };
}

class FakeHealth implements HealthView {
  readonly unhealthy = new Set<string>();
  readonly latency = new Map<string, number>();
  readonly throughput = new Map<string, number>();
  isHealthy(endpointId: string): boolean {
    return !this.unhealthy.has(endpointId);
  }
  latencyP50(endpointId: string): number | null {
    return this.latency.get(endpointId) ?? null;
  }
  throughputP50(endpointId: string): number | null {
    return this.throughput.get(endpointId) ?? null;
  }
}

/** mulberry32: a small seeded generator, so the weighted draws are the same on every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PlanOptions {
  request?: CompletionRequest;
  caller?: Caller;
  promptTokens?: number;
  images?: number;
  health?: HealthView;
  random?: () => number;
  target?: Partial<ModelTarget>;
  canModerate?: boolean;
}

function plan(endpoints: EndpointInfo[], options: PlanOptions = {}): EndpointInfo[] {
  const ctx: PlanContext = {
    target: target(endpoints, options.target),
    request: options.request ?? request(),
    caller: options.caller ?? caller(),
    promptTokens: options.promptTokens ?? 100,
    images: options.images ?? 0,
    health: options.health ?? new FakeHealth(),
    random: options.random ?? seededRandom(1),
    canModerate: options.canModerate,
  };
  return planEndpoints(ctx);
}

const tags = (endpoints: EndpointInfo[]) => endpoints.map((e) => e.tag);
/** The plan's tags in sorted order, for filters (where the random order does not matter). */
const kept = (endpoints: EndpointInfo[], options: PlanOptions = {}) => tags(plan(endpoints, options)).sort();

/** The AppError `fn` throws (fails the test when it throws none). */
function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error("expected an AppError");
}

describe("planEndpoints: hard filters", () => {
  it("routes only among the endpoints of the target's variant", () => {
    const endpoints = [endpoint("a"), endpoint("b", { variant: "free" }), endpoint("c", { variant: "extended" })];
    expect(kept(endpoints)).toEqual(["a"]);
    expect(kept(endpoints, { target: { variant: "free", answerId: `${MODEL_ID}:free` } })).toEqual(["b"]);
  });

  it("leaves out unavailable endpoints and inactive providers", () => {
    const endpoints = [
      endpoint("a"),
      endpoint("b", { status: -1 }),
      endpoint("c", { provider: provider("c", { active: false, inactiveReason: "C_API_KEY is not set" }) }),
    ];
    expect(kept(endpoints)).toEqual(["a"]);
  });

  it("names the availability step when no endpoint is up", () => {
    const endpoints = [
      endpoint("b", { status: -1 }),
      endpoint("c", { provider: provider("c", { active: false, inactiveReason: "C_API_KEY is not set" }) }),
    ];
    const error = appError(() => plan(endpoints));
    expect(error.code).toBe("no_endpoints");
    expect(error.message).toBe("No endpoints found for acme/model.");
    expect(error.metadata).toEqual({
      model: MODEL_ID,
      failed_routing_step: "availability",
      excluded: ["b", "c"],
      inactive: [
        { provider: "b", reason: "endpoint status -1" },
        { provider: "c", reason: "C_API_KEY is not set" },
      ],
    });
  });

  it("names the availability step for a variant with no endpoints", () => {
    const error = appError(() => plan([endpoint("a")], { target: { variant: "free", answerId: `${MODEL_ID}:free` } }));
    expect(error.code).toBe("no_endpoints");
    expect(error.metadata).toMatchObject({ model: `${MODEL_ID}:free`, failed_routing_step: "availability", excluded: [] });
  });

  describe("provider.only and the account's allowed providers", () => {
    const endpoints = [endpoint("prov"), endpoint("prov/turbo"), endpoint("other")];

    it("matches every endpoint of a provider by its base slug", () => {
      expect(kept(endpoints, { request: request({ only: ["prov"] }) })).toEqual(["prov", "prov/turbo"]);
    });

    it("matches one endpoint by its full tag", () => {
      expect(kept(endpoints, { request: request({ only: ["prov/turbo"] }) })).toEqual(["prov/turbo"]);
    });

    it("matches slugs in any case", () => {
      expect(kept(endpoints, { request: request({ only: ["PROV/Turbo", "Other"] }) })).toEqual(["other", "prov/turbo"]);
    });

    it("applies the account's allowed providers", () => {
      expect(kept(endpoints, { caller: caller({ allowedProviders: ["other"] }) })).toEqual(["other"]);
    });

    it("uses the intersection of the account's allowed providers and provider.only", () => {
      const options = { caller: caller({ allowedProviders: ["prov", "nobody"] }), request: request({ only: ["other", "prov"] }) };
      expect(kept(endpoints, options)).toEqual(["prov", "prov/turbo"]);
    });

    it("narrows an allowed provider to the tag provider.only names", () => {
      const options = { caller: caller({ allowedProviders: ["prov"] }), request: request({ only: ["prov/turbo"] }) };
      expect(kept(endpoints, options)).toEqual(["prov/turbo"]);
    });

    it("narrows provider.only to the tag the account allows", () => {
      const options = { caller: caller({ allowedProviders: ["prov/turbo"] }), request: request({ only: ["prov"] }) };
      expect(kept(endpoints, options)).toEqual(["prov/turbo"]);
    });

    it("names the allowed_providers step when nothing is left", () => {
      const error = appError(() => plan(endpoints, { request: request({ only: ["nobody"] }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe("No endpoints found for acme/model among the allowed providers (provider.only: nobody).");
      expect(error.metadata).toEqual({ model: MODEL_ID, failed_routing_step: "allowed_providers", excluded: ["prov", "prov/turbo", "other"] });
    });

    it("says none are allowed when the account and provider.only do not overlap", () => {
      const error = appError(() => plan(endpoints, { caller: caller({ allowedProviders: ["prov"] }), request: request({ only: ["other"] }) }));
      expect(error.message).toBe(
        "No endpoints found for acme/model among the allowed providers (this account's allowed providers: prov; provider.only: other).",
      );
      expect(error.metadata?.failed_routing_step).toBe("allowed_providers");
    });
  });

  describe("provider.ignore and the account's ignored providers", () => {
    const endpoints = [endpoint("prov"), endpoint("prov/turbo"), endpoint("other")];

    it("drops every endpoint of a provider by its base slug", () => {
      expect(kept(endpoints, { request: request({ ignore: ["prov"] }) })).toEqual(["other"]);
    });

    it("drops one endpoint by its full tag", () => {
      expect(kept(endpoints, { request: request({ ignore: ["prov/turbo"] }) })).toEqual(["other", "prov"]);
    });

    it("adds the account's ignored providers to the request's", () => {
      const options = { caller: caller({ ignoredProviders: ["other"] }), request: request({ ignore: ["prov/turbo"] }) };
      expect(kept(endpoints, options)).toEqual(["prov"]);
    });

    it("names the ignored_providers step when nothing is left", () => {
      const error = appError(() => plan(endpoints, { caller: caller({ ignoredProviders: ["other"] }), request: request({ ignore: ["prov"] }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe("No endpoints found for acme/model: every provider is on the ignore list (other, prov).");
      expect(error.metadata).toMatchObject({ failed_routing_step: "ignored_providers" });
    });
  });

  describe("quantizations", () => {
    const endpoints = [endpoint("a", { quantization: "fp8" }), endpoint("b", { quantization: "int4" }), endpoint("c")];

    it("keeps endpoints with a listed quantization", () => {
      expect(kept(endpoints, { request: request({ quantizations: ["fp8", "bf16"] }) })).toEqual(["a"]);
    });

    it("counts an endpoint without a declared quantization as unknown", () => {
      expect(kept(endpoints, { request: request({ quantizations: ["unknown", "int4"] }) })).toEqual(["b", "c"]);
    });

    it("names the quantization step when nothing is left", () => {
      const error = appError(() => plan(endpoints, { request: request({ quantizations: ["fp16", "bf16"] }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe("No endpoints found for acme/model with quantization fp16 or bf16.");
      expect(error.metadata).toMatchObject({ failed_routing_step: "quantization" });
    });
  });

  describe("data policy", () => {
    const trains = { training: true, retainsPrompts: false };
    const retains = { training: false, retainsPrompts: true };
    const endpoints = [endpoint("safe"), endpoint("trains", { dataPolicy: trains }), endpoint("retains", { dataPolicy: retains })];

    it("keeps every endpoint for an account that allows training and retention", () => {
      expect(kept(endpoints)).toEqual(["retains", "safe", "trains"]);
    });

    it("drops paid endpoints that train when the account disallows training", () => {
      expect(kept(endpoints, { caller: caller({ allowTraining: false }) })).toEqual(["retains", "safe"]);
    });

    it("drops endpoints that train when the request denies data collection", () => {
      expect(kept(endpoints, { request: request({ dataCollection: "deny" }) })).toEqual(["retains", "safe"]);
    });

    it("drops endpoints that retain prompts when the request requires zero data retention", () => {
      expect(kept(endpoints, { request: request({ zdr: true }) })).toEqual(["safe", "trains"]);
    });

    it("drops endpoints that retain prompts when the account disallows retention", () => {
      expect(kept(endpoints, { caller: caller({ allowRetention: false }) })).toEqual(["safe", "trains"]);
    });

    it("names the data_policy step when nothing is left", () => {
      const error = appError(() => plan([endpoint("trains", { dataPolicy: trains })], { request: request({ dataCollection: "deny" }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.metadata).toEqual({ model: MODEL_ID, failed_routing_step: "data_policy", excluded: ["trains"] });
    });

    it("says which data policy rules out the endpoints", () => {
      const endpoints = [endpoint("trains", { dataPolicy: trains }), endpoint("retains", { dataPolicy: retains })];
      const error = appError(() => plan(endpoints, { request: request({ dataCollection: "deny", zdr: true }) }));
      expect(error.message).toBe(
        "No endpoints found for acme/model matching your data policy (data_collection is deny and the provider may train on data; " +
          "zdr is required and the provider retains prompts). " +
          "Relax the account's privacy settings or the request's provider.data_collection / provider.zdr.",
      );
    });
  });

  describe("max_price", () => {
    const endpoints = [
      endpoint("cheap", { pricing: { prompt: 100n, completion: 200n, request: 0n, image: 0n } }),
      endpoint("dear", { pricing: { prompt: 300n, completion: 600n, request: 5n, image: 7n } }),
    ];

    it("keeps endpoints at or under every given maximum", () => {
      expect(kept(endpoints, { request: request({ maxPrice: { prompt: 300n } }) })).toEqual(["cheap", "dear"]);
      expect(kept(endpoints, { request: request({ maxPrice: { prompt: 299n } }) })).toEqual(["cheap"]);
      expect(kept(endpoints, { request: request({ maxPrice: { completion: 599n } }) })).toEqual(["cheap"]);
      expect(kept(endpoints, { request: request({ maxPrice: { request: 4n } }) })).toEqual(["cheap"]);
      expect(kept(endpoints, { request: request({ maxPrice: { image: 6n } }) })).toEqual(["cheap"]);
      expect(kept(endpoints, { request: request({ maxPrice: {} }) })).toEqual(["cheap", "dear"]);
    });

    it("names the max_price step when nothing is left", () => {
      const error = appError(() => plan(endpoints, { request: request({ maxPrice: { prompt: 50n } }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe("No endpoints found for acme/model that satisfy the max price for this request.");
      expect(error.metadata).toMatchObject({ failed_routing_step: "max_price" });
    });
  });

  describe("image input", () => {
    const endpoints = [endpoint("text"), endpoint("vision", { inputModalities: ["text", "image"] })];

    it("keeps every endpoint for a text-only request", () => {
      expect(kept(endpoints)).toEqual(["text", "vision"]);
    });

    it("keeps only endpoints that take images when the request has one", () => {
      expect(kept(endpoints, { images: 1 })).toEqual(["vision"]);
    });

    it("names the modalities step when nothing is left", () => {
      const error = appError(() => plan([endpoint("text")], { images: 2 }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe("No endpoints found for acme/model that support image input.");
      expect(error.metadata).toMatchObject({ failed_routing_step: "modalities" });
    });
  });

  describe("context length", () => {
    const endpoints = [endpoint("small", { contextLength: 4096 }), endpoint("large", { contextLength: 32768 })];

    it("keeps endpoints whose context holds the prompt and max_tokens", () => {
      expect(kept(endpoints, { promptTokens: 4000, request: request({}, { maxTokens: 96 }) })).toEqual(["large", "small"]);
      expect(kept(endpoints, { promptTokens: 4000, request: request({}, { maxTokens: 97 }) })).toEqual(["large"]);
      expect(kept(endpoints, { promptTokens: 4097 })).toEqual(["large"]);
    });

    it("respects an endpoint's prompt limit", () => {
      const limited = [endpoint("limited", { contextLength: 32768, maxPromptTokens: 1000 }), endpoint("open")];
      expect(kept(limited, { promptTokens: 1000 })).toEqual(["limited", "open"]);
      expect(kept(limited, { promptTokens: 1001 })).toEqual(["open"]);
    });

    it("fails with context_length_exceeded when no context is large enough", () => {
      const error = appError(() => plan(endpoints, { promptTokens: 32000, request: request({}, { maxTokens: 1000 }) }));
      expect(error.code).toBe("context_length_exceeded");
      expect(error.metadata).toEqual({ model: MODEL_ID, failed_routing_step: "context_length", excluded: ["small", "large"] });
    });

    it("states the largest context and the tokens requested", () => {
      const error = appError(() => plan(endpoints, { promptTokens: 32000, request: request({}, { maxTokens: 1000 }) }));
      expect(error.message).toBe(
        "This model's maximum context length is 32768 tokens. However, you requested about 33000 tokens " +
          "(32000 of text input, 1000 in the output). Please reduce the length of either one.",
      );
    });
  });

  describe("max_tokens", () => {
    const endpoints = [endpoint("short", { maxCompletionTokens: 1024 }), endpoint("long", { maxCompletionTokens: 4096 }), endpoint("open")];

    it("keeps every endpoint without max_tokens", () => {
      expect(kept(endpoints)).toEqual(["long", "open", "short"]);
    });

    it("keeps endpoints whose completion limit covers max_tokens, and those without a limit", () => {
      expect(kept(endpoints, { request: request({}, { maxTokens: 1024 }) })).toEqual(["long", "open", "short"]);
      expect(kept(endpoints, { request: request({}, { maxTokens: 1025 }) })).toEqual(["long", "open"]);
      expect(kept(endpoints, { request: request({}, { maxTokens: 5000 }) })).toEqual(["open"]);
    });

    it("names the max_tokens step when nothing is left", () => {
      const error = appError(() => plan(endpoints.slice(0, 2), { request: request({}, { maxTokens: 5000 }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.metadata).toEqual({ model: MODEL_ID, failed_routing_step: "max_tokens", excluded: ["short", "long"] });
    });

    it("states the most tokens an endpoint can produce", () => {
      const error = appError(() => plan(endpoints.slice(0, 2), { request: request({}, { maxTokens: 5000 }) }));
      expect(error.message).toBe("No endpoints found for acme/model that can produce 5000 tokens (the most is 4096). Lower max_tokens.");
    });
  });

  describe("require_parameters", () => {
    const endpoints = [
      endpoint("all", { params: ["tools", "temperature", "max_tokens"] }),
      endpoint("completion-limit", { params: ["tools", "temperature", "max_completion_tokens"] }),
      endpoint("no-tools", { params: ["temperature", "max_tokens"] }),
    ];

    it("keeps only endpoints that support every routable parameter sent", () => {
      const req = request({ requireParameters: true }, { params: { tools: [{ type: "function" }], temperature: 0.2 } });
      expect(kept(endpoints, { request: req })).toEqual(["all", "completion-limit"]);
    });

    it("counts max_completion_tokens support as max_tokens support", () => {
      const req = request({ requireParameters: true }, { maxTokens: 100 });
      expect(kept(endpoints, { request: req })).toEqual(["all", "completion-limit", "no-tools"]);
      const onlyMax = [endpoint("none"), endpoint("completion-limit", { params: ["max_completion_tokens"] })];
      expect(kept(onlyMax, { request: req })).toEqual(["completion-limit"]);
    });

    it("ignores null parameters and parameters it does not route on", () => {
      const req = request({ requireParameters: true }, { params: { tools: null, user: "u-1", transforms: ["middle-out"] } });
      expect(kept(endpoints, { request: req })).toEqual(["all", "completion-limit", "no-tools"]);
    });

    it("keeps every endpoint without require_parameters", () => {
      const req = request({}, { params: { tools: [{ type: "function" }], top_k: 5 } });
      expect(kept(endpoints, { request: req })).toEqual(["all", "completion-limit", "no-tools"]);
    });

    it("names the require_parameters step and the parameters when nothing is left", () => {
      const req = request({ requireParameters: true }, { params: { temperature: 0.2, top_k: 5 }, maxTokens: 10 });
      const error = appError(() => plan(endpoints, { request: req }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe(
        "No endpoints found for acme/model that support all the parameters of this request (temperature, top_k, max_tokens).",
      );
      expect(error.metadata).toMatchObject({ failed_routing_step: "require_parameters" });
    });

    it("counts reasoning_effort as reasoning (and the reverse), and reasoning as legacy include_reasoning", () => {
      const reasoners = [endpoint("effort", { params: ["reasoning_effort"] }), endpoint("reasoning", { params: ["reasoning"] }), endpoint("none")];
      const required = (params: Record<string, unknown>) => kept(reasoners, { request: request({ requireParameters: true }, { params }) });
      expect(required({ reasoning: { effort: "high" } })).toEqual(["effort", "reasoning"]);
      expect(required({ reasoning_effort: "high" })).toEqual(["effort", "reasoning"]);
      expect(required({ include_reasoning: true })).toEqual(["reasoning"]);
    });
  });

  describe(":thinking on standard endpoints", () => {
    it("keeps the endpoints that can be asked to reason", () => {
      const endpoints = [endpoint("effort", { params: ["reasoning_effort"] }), endpoint("reasoning", { params: ["reasoning"] }), endpoint("none")];
      expect(kept(endpoints, { target: { forceReasoning: true } })).toEqual(["effort", "reasoning"]);
      const error = appError(() => plan([endpoint("none")], { target: { forceReasoning: true, answerId: `${MODEL_ID}:thinking` } }));
      expect(error.message).toBe("No endpoints found for acme/model:thinking that support reasoning.");
      expect(error.metadata).toMatchObject({ failed_routing_step: "reasoning" });
    });
  });

  describe("moderation", () => {
    const endpoints = [endpoint("checked", { moderated: true }), endpoint("open")];

    it("keeps moderated endpoints when a moderation backend is configured", () => {
      expect(kept(endpoints)).toEqual(["checked", "open"]);
      expect(kept(endpoints, { canModerate: true })).toEqual(["checked", "open"]);
    });

    it("leaves moderated endpoints out without a backend, unless the id skips moderation (:beta)", () => {
      expect(kept(endpoints, { canModerate: false })).toEqual(["open"]);
      expect(kept(endpoints, { canModerate: false, target: { skipModeration: true } })).toEqual(["checked", "open"]);
      const error = appError(() => plan([endpoint("checked", { moderated: true })], { canModerate: false }));
      expect(error.message).toBe(
        "No endpoints found for acme/model: its endpoints require moderation and this server has no moderation backend configured. " +
          "acme/model:beta selects them without the moderation step.",
      );
      expect(error.metadata).toMatchObject({ failed_routing_step: "moderation" });
    });
  });

  it("runs the filters in order and names the first that empties the plan", () => {
    const endpoints = [endpoint("a", { quantization: "fp8", inputModalities: ["text"] })];
    const options = { request: request({ ignore: ["a"], quantizations: ["int4"] }), images: 1 };
    expect(appError(() => plan(endpoints, options)).metadata?.failed_routing_step).toBe("ignored_providers");
  });

  it("reports the endpoints left by the earlier steps as excluded", () => {
    const endpoints = [endpoint("a"), endpoint("b"), endpoint("c", { quantization: "fp8" })];
    const error = appError(() => plan(endpoints, { request: request({ ignore: ["a"], quantizations: ["int4"] }) }));
    expect(error.metadata).toMatchObject({ failed_routing_step: "quantization", excluded: ["b", "c"] });
  });
});

describe("planEndpoints: soft preferences", () => {
  const endpoints = [
    endpoint("cheap", { usdPerMillion: 1 }),
    endpoint("tools", { usdPerMillion: 2, params: ["tools"] }),
    endpoint("format", { usdPerMillion: 3, params: ["response_format"] }),
    endpoint("both", { usdPerMillion: 4, params: ["tools", "response_format"] }),
  ];
  const byPrice = (params: Record<string, unknown>) => request({ sort: "price" }, { params });

  it("puts endpoints that support tools first when tools are sent, keeping the rest", () => {
    expect(tags(plan(endpoints, { request: byPrice({ tools: [{ type: "function" }] }) }))).toEqual(["tools", "both", "cheap", "format"]);
  });

  it("puts endpoints that support response_format first when it is sent", () => {
    expect(tags(plan(endpoints, { request: byPrice({ response_format: { type: "json_object" } }) }))).toEqual([
      "format",
      "both",
      "cheap",
      "tools",
    ]);
  });

  it("puts endpoints supporting both first when both are sent", () => {
    const params = { tools: [{ type: "function" }], response_format: { type: "json_object" } };
    expect(tags(plan(endpoints, { request: byPrice(params) }))[0]).toBe("both");
  });

  it("leaves the order alone when neither is sent", () => {
    expect(tags(plan(endpoints, { request: byPrice({ temperature: 1 }) }))).toEqual(["cheap", "tools", "format", "both"]);
  });

  it("prefers an endpoint that supports tools when only one endpoint may be tried", () => {
    const req = request({ sort: "price", allowFallbacks: false }, { params: { tools: [{ type: "function" }] } });
    expect(tags(plan(endpoints, { request: req }))).toEqual(["tools"]);
  });
});

describe("planEndpoints: ordering", () => {
  describe("provider.order", () => {
    const endpoints = [endpoint("a", { usdPerMillion: 1 }), endpoint("b/turbo", { usdPerMillion: 2 }), endpoint("b", { usdPerMillion: 3 }), endpoint("c", { usdPerMillion: 4 })];

    it("tries the listed providers first, in the listed order, then the rest", () => {
      const result = tags(plan(endpoints, { request: request({ order: ["c", "b"] }) }));
      expect(result.slice(0, 3)).toEqual(["c", "b/turbo", "b"]);
      expect(result.slice(3)).toEqual(["a"]);
    });

    it("matches a full tag in provider.order to that endpoint only", () => {
      const result = tags(plan(endpoints, { request: request({ order: ["b/turbo", "B"], sort: "price" }) }));
      expect(result).toEqual(["b/turbo", "b", "a", "c"]);
    });

    it("sorts the rest when a sort is given", () => {
      expect(tags(plan(endpoints, { request: request({ order: ["c"], sort: "price" }) }))).toEqual(["c", "a", "b/turbo", "b"]);
    });

    it("tries only the listed providers when allow_fallbacks is false", () => {
      expect(tags(plan(endpoints, { request: request({ order: ["c", "a"], allowFallbacks: false }) }))).toEqual(["c", "a"]);
    });

    it("names the order step when none of the listed providers is left and allow_fallbacks is false", () => {
      const error = appError(() => plan(endpoints, { request: request({ order: ["x", "y"], allowFallbacks: false }) }));
      expect(error.code).toBe("no_endpoints");
      expect(error.message).toBe("No endpoints found for acme/model among provider.order (x, y) and allow_fallbacks is false.");
      expect(error.metadata).toEqual({ model: MODEL_ID, failed_routing_step: "order" });
    });

    it("ignores listed providers that the filters removed", () => {
      expect(tags(plan(endpoints, { request: request({ order: ["c", "a"], ignore: ["c"], sort: "price" }) }))).toEqual(["a", "b/turbo", "b"]);
    });
  });

  it("tries only the first endpoint when allow_fallbacks is false without provider.order", () => {
    const endpoints = [endpoint("a", { usdPerMillion: 3 }), endpoint("b", { usdPerMillion: 1 })];
    expect(tags(plan(endpoints, { request: request({ allowFallbacks: false, sort: "price" }) }))).toEqual(["b"]);
    expect(plan(endpoints, { request: request({ allowFallbacks: false }) })).toHaveLength(1);
  });

  describe("sort", () => {
    const endpoints = [
      endpoint("a", { usdPerMillion: 3 }),
      endpoint("b", { usdPerMillion: 1 }),
      endpoint("c", { usdPerMillion: 2 }),
      endpoint("d", { usdPerMillion: 2 }),
    ];

    it("orders by prompt + completion price, ties in catalog order", () => {
      const split = [
        endpoint("a", { pricing: { prompt: 1n, completion: 5n } }),
        endpoint("b", { pricing: { prompt: 4n, completion: 1n } }),
        endpoint("c", { pricing: { prompt: 3n, completion: 3n } }),
      ];
      expect(tags(plan(split, { request: request({ sort: "price" }) }))).toEqual(["b", "a", "c"]);
      expect(tags(plan(endpoints, { request: request({ sort: "price" }) }))).toEqual(["b", "c", "d", "a"]);
    });

    it("orders by throughput, fastest first and unknown last", () => {
      const health = new FakeHealth();
      health.throughput.set(endpoints[0].id, 50).set(endpoints[2].id, 120).set(endpoints[3].id, 80);
      expect(tags(plan(endpoints, { request: request({ sort: "throughput" }), health }))).toEqual(["c", "d", "a", "b"]);
    });

    it("orders by latency, quickest first and unknown last", () => {
      const health = new FakeHealth();
      health.latency.set(endpoints[0].id, 900).set(endpoints[1].id, 300).set(endpoints[3].id, 450);
      expect(tags(plan(endpoints, { request: request({ sort: "latency" }), health }))).toEqual(["b", "d", "a", "c"]);
    });

    it("puts unhealthy endpoints last, sorted among themselves", () => {
      const health = new FakeHealth();
      health.unhealthy.add(endpoints[1].id).add(endpoints[2].id);
      expect(tags(plan(endpoints, { request: request({ sort: "price" }), health }))).toEqual(["d", "a", "b", "c"]);
    });

    it("takes the sort from a :nitro or :floor target", () => {
      const health = new FakeHealth();
      health.throughput.set(endpoints[0].id, 200);
      expect(tags(plan(endpoints, { target: { sort: "throughput" }, health }))[0]).toBe("a");
      expect(tags(plan(endpoints, { target: { sort: "price" } }))).toEqual(["b", "c", "d", "a"]);
    });

    it("lets the request's sort win over the target's", () => {
      const health = new FakeHealth();
      health.throughput.set(endpoints[0].id, 200);
      expect(tags(plan(endpoints, { target: { sort: "throughput" }, request: request({ sort: "price" }), health }))).toEqual([
        "b",
        "c",
        "d",
        "a",
      ]);
    });
  });

  describe("default weighting by 1/price²", () => {
    const DRAWS = 20_000;

    /** How often each tag comes first over many plans with one seeded generator. */
    function firstShares(endpoints: EndpointInfo[], health: HealthView = new FakeHealth()): Record<string, number> {
      const random = seededRandom(42);
      const counts: Record<string, number> = {};
      for (let i = 0; i < DRAWS; i++) {
        const [first] = plan(endpoints, { random, health });
        counts[first.tag] = (counts[first.tag] ?? 0) + 1;
      }
      return Object.fromEntries(Object.entries(counts).map(([tag, n]) => [tag, n / DRAWS]));
    }

    it("puts a $1 endpoint before a $3 one about 90% of the time", () => {
      const shares = firstShares([endpoint("dear", { usdPerMillion: 3 }), endpoint("cheap", { usdPerMillion: 1 })]);
      expect(Math.abs(shares.cheap - 0.9)).toBeLessThan(0.01);
      expect(Math.abs(shares.dear - 0.1)).toBeLessThan(0.01);
    });

    it("weighs three endpoints by the inverse square of their price", () => {
      // Weights 1, 1/4, 1/16 → 16/21, 4/21, 1/21.
      const shares = firstShares([endpoint("one", { usdPerMillion: 1 }), endpoint("two", { usdPerMillion: 2 }), endpoint("four", { usdPerMillion: 4 })]);
      expect(Math.abs(shares.one - 16 / 21)).toBeLessThan(0.01);
      expect(Math.abs(shares.two - 4 / 21)).toBeLessThan(0.01);
      expect(Math.abs(shares.four - 1 / 21)).toBeLessThan(0.01);
    });

    it("weighs a free endpoint like the cheapest paid one", () => {
      // Weights 1, 1, 1/4 → 4/9, 4/9, 1/9.
      const shares = firstShares([
        endpoint("free", { usdPerMillion: 0 }),
        endpoint("one", { usdPerMillion: 1 }),
        endpoint("two", { usdPerMillion: 2 }),
      ]);
      expect(Math.abs(shares.free - 4 / 9)).toBeLessThan(0.01);
      expect(Math.abs(shares.one - 4 / 9)).toBeLessThan(0.01);
      expect(Math.abs(shares.two - 1 / 9)).toBeLessThan(0.01);
    });

    it("draws free endpoints evenly when all are free", () => {
      const shares = firstShares([endpoint("x", { usdPerMillion: 0 }), endpoint("y", { usdPerMillion: 0 })]);
      expect(Math.abs(shares.x - 0.5)).toBeLessThan(0.01);
    });

    it("lists every endpoint once in each plan", () => {
      const endpoints = [endpoint("a"), endpoint("b", { usdPerMillion: 2 }), endpoint("c", { usdPerMillion: 5 })];
      const random = seededRandom(7);
      for (let i = 0; i < 200; i++) expect(tags(plan(endpoints, { random })).sort()).toEqual(["a", "b", "c"]);
    });

    it("follows the random draw", () => {
      const endpoints = [endpoint("dear", { usdPerMillion: 3 }), endpoint("cheap", { usdPerMillion: 1 })];
      // total weight 1 + 1/9; a draw below 1/9 of it picks "dear", the first in the pool.
      expect(tags(plan(endpoints, { random: () => 0.05 }))).toEqual(["dear", "cheap"]);
      expect(tags(plan(endpoints, { random: () => 0.5 }))).toEqual(["cheap", "dear"]);
      expect(tags(plan(endpoints, { random: () => 0.999_999_999_999 }))).toEqual(["cheap", "dear"]);
    });

    it("always puts unhealthy endpoints last, cheapest first", () => {
      const endpoints = [
        endpoint("sick-cheap", { usdPerMillion: 1 }),
        endpoint("well", { usdPerMillion: 10 }),
        endpoint("sick-dear", { usdPerMillion: 5 }),
        endpoint("well-too", { usdPerMillion: 20 }),
      ];
      const health = new FakeHealth();
      health.unhealthy.add(endpoints[0].id).add(endpoints[2].id);
      const random = seededRandom(3);
      for (let i = 0; i < 500; i++) {
        const result = tags(plan(endpoints, { random, health }));
        expect(result.slice(0, 2).sort()).toEqual(["well", "well-too"]);
        expect(result.slice(2)).toEqual(["sick-cheap", "sick-dear"]);
      }
    });

    it("still plans when every endpoint is unhealthy", () => {
      const endpoints = [endpoint("b", { usdPerMillion: 2 }), endpoint("a", { usdPerMillion: 1 })];
      const health = new FakeHealth();
      for (const e of endpoints) health.unhealthy.add(e.id);
      expect(tags(plan(endpoints, { health }))).toEqual(["a", "b"]);
    });
  });
});

describe("dataPolicyViolations", () => {
  const trains = endpoint("t", { dataPolicy: { training: true, retainsPrompts: false } });
  const trainsFree = endpoint("tf", { variant: "free", dataPolicy: { training: true, retainsPrompts: false } });
  const trainsZeroPrice = endpoint("tz", { usdPerMillion: 0, dataPolicy: { training: true, retainsPrompts: false } });
  const retains = endpoint("r", { dataPolicy: { training: false, retainsPrompts: true } });
  const both = endpoint("b", { dataPolicy: { training: true, retainsPrompts: true } });

  it("finds nothing wrong with an endpoint that neither trains nor retains", () => {
    const strict = caller({ allowTraining: false, allowFreeTraining: false, allowRetention: false });
    expect(dataPolicyViolations(endpoint("safe"), request({ dataCollection: "deny", zdr: true }), strict)).toEqual([]);
  });

  it("rules out a paid endpoint that trains when the account disallows paid training", () => {
    const account = caller({ allowTraining: false, allowFreeTraining: true });
    expect(dataPolicyViolations(trains, request(), account)).toEqual(["paid endpoints that may train on data are disabled for this account"]);
    expect(dataPolicyViolations(trainsFree, request(), account)).toEqual([]);
    expect(dataPolicyViolations(trainsZeroPrice, request(), account)).toEqual([]);
  });

  it("rules out a free endpoint that trains when the account disallows free training", () => {
    const account = caller({ allowTraining: true, allowFreeTraining: false });
    const reason = "free endpoints that may train on data are disabled for this account";
    expect(dataPolicyViolations(trainsFree, request(), account)).toEqual([reason]);
    expect(dataPolicyViolations(trainsZeroPrice, request(), account)).toEqual([reason]);
    expect(dataPolicyViolations(trains, request(), account)).toEqual([]);
  });

  it("rules out any endpoint that trains when the request denies data collection", () => {
    const reason = "data_collection is deny and the provider may train on data";
    expect(dataPolicyViolations(trains, request({ dataCollection: "deny" }), caller())).toEqual([reason]);
    expect(dataPolicyViolations(trainsFree, request({ dataCollection: "deny" }), caller())).toEqual([reason]);
  });

  it("rules out an endpoint that retains prompts under zdr or an account that disallows retention", () => {
    expect(dataPolicyViolations(retains, request({ zdr: true }), caller())).toEqual(["zdr is required and the provider retains prompts"]);
    expect(dataPolicyViolations(retains, request(), caller({ allowRetention: false }))).toEqual([
      "endpoints that retain prompts are disabled for this account",
    ]);
    expect(dataPolicyViolations(retains, request(), caller())).toEqual([]);
  });

  it("lists training and retention together", () => {
    expect(dataPolicyViolations(both, request({ dataCollection: "deny", zdr: true }), caller())).toEqual([
      "data_collection is deny and the provider may train on data",
      "zdr is required and the provider retains prompts",
    ]);
  });
});

describe("matchesSlug", () => {
  const base = endpoint("prov");
  const turbo = endpoint("prov/turbo");

  it("matches every endpoint of a provider by its base slug", () => {
    expect(matchesSlug(base, "prov")).toBe(true);
    expect(matchesSlug(turbo, "prov")).toBe(true);
  });

  it("matches only the endpoint with that full tag", () => {
    expect(matchesSlug(turbo, "prov/turbo")).toBe(true);
    expect(matchesSlug(base, "prov/turbo")).toBe(false);
    expect(matchesSlug(turbo, "prov/slow")).toBe(false);
  });

  it("ignores case", () => {
    expect(matchesSlug(turbo, "PROV")).toBe(true);
    expect(matchesSlug(turbo, "Prov/Turbo")).toBe(true);
  });

  it("does not match another provider or a prefix", () => {
    expect(matchesSlug(base, "pro")).toBe(false);
    expect(matchesSlug(base, "other")).toBe(false);
  });
});

describe("resolveModel", () => {
  const reasoning = ["reasoning", "include_reasoning"];
  const snapshotOf = (models: ModelInfo[]): CatalogSnapshot => ({
    models: new Map(models.map((m) => [m.id, m])),
    providers: new Map(),
    endpoints: new Map(models.flatMap((m) => m.endpoints.map((e) => [e.id, e] as const))),
  });
  const full = model([
    endpoint("a"),
    endpoint("a", { variant: "free", usdPerMillion: 0 }),
    endpoint("b", { variant: "extended" }),
    endpoint("c", { variant: "thinking" }),
  ]);
  const plain = model([endpoint("a")], "acme/plain");
  const reasons = model([endpoint("a"), endpoint("b", { params: reasoning })], "acme/reasons");
  const snapshot = snapshotOf([full, plain, reasons]);

  it("resolves a plain id to the standard endpoints", () => {
    expect(resolveModel(MODEL_ID, snapshot)).toEqual({
      requested: MODEL_ID,
      model: full,
      variant: "standard",
      answerId: MODEL_ID,
      sort: null,
      skipModeration: false,
      forceReasoning: false,
      online: false,
    });
  });

  it("resolves :free, :extended and :thinking to their endpoint sets", () => {
    for (const variant of ["free", "extended", "thinking"] as const) {
      expect(resolveModel(`${MODEL_ID}:${variant}`, snapshot)).toMatchObject({
        variant,
        answerId: `${MODEL_ID}:${variant}`,
        forceReasoning: false,
      });
    }
  });

  it("refuses a static variant the model does not have", () => {
    const error = appError(() => resolveModel("acme/plain:free", snapshot));
    expect(error.code).toBe("model_not_found");
    expect(error.message).toBe("acme/plain:free is not a valid model ID: acme/plain has no :free variant.");
    expect(error.metadata).toEqual({ model: "acme/plain:free" });
  });

  it("falls back to standard endpoints that support reasoning for :thinking, switching reasoning on", () => {
    expect(resolveModel("acme/reasons:thinking", snapshot)).toEqual({
      requested: "acme/reasons:thinking",
      model: reasons,
      variant: "standard",
      answerId: "acme/reasons:thinking",
      sort: null,
      skipModeration: false,
      forceReasoning: true,
      online: false,
    });
  });

  it("refuses :thinking on a model with neither thinking endpoints nor reasoning support", () => {
    const error = appError(() => resolveModel("acme/plain:thinking", snapshot));
    expect(error.code).toBe("model_not_found");
    expect(error.message).toBe("acme/plain:thinking is not a valid model ID: acme/plain has no :thinking variant.");
  });

  it("resolves :beta to the standard endpoints without moderation", () => {
    expect(resolveModel(`${MODEL_ID}:beta`, snapshot)).toMatchObject({
      variant: "standard",
      answerId: `${MODEL_ID}:beta`,
      skipModeration: true,
    });
  });

  it("resolves :nitro to a throughput sort and :floor to a price sort without changing the answer id", () => {
    expect(resolveModel(`${MODEL_ID}:nitro`, snapshot)).toMatchObject({ variant: "standard", answerId: MODEL_ID, sort: "throughput" });
    expect(resolveModel(`${MODEL_ID}:floor`, snapshot)).toMatchObject({ variant: "standard", answerId: MODEL_ID, sort: "price" });
  });

  it("stacks a static variant with dynamic ones", () => {
    expect(resolveModel(`${MODEL_ID}:free:nitro`, snapshot)).toMatchObject({ variant: "free", answerId: `${MODEL_ID}:free`, sort: "throughput" });
    expect(resolveModel(`${MODEL_ID}:floor:extended`, snapshot)).toMatchObject({ variant: "extended", answerId: `${MODEL_ID}:extended`, sort: "price" });
    expect(resolveModel(`${MODEL_ID}:beta:free:floor`, snapshot)).toEqual({
      requested: `${MODEL_ID}:beta:free:floor`,
      model: full,
      variant: "free",
      answerId: `${MODEL_ID}:free:beta`,
      sort: "price",
      skipModeration: true,
      forceReasoning: false,
      online: false,
    });
  });

  it("refuses an unknown suffix and lists the known ones", () => {
    const error = appError(() => resolveModel(`${MODEL_ID}:turbo`, snapshot));
    expect(error.code).toBe("model_not_found");
    expect(error.message).toBe('acme/model:turbo is not a valid model ID: unknown variant ":turbo".');
    expect(error.metadata).toEqual({
      model: `${MODEL_ID}:turbo`,
      variants: ["free", "extended", "thinking", "beta", "nitro", "floor", "online"],
    });
  });

  it("refuses two static variants", () => {
    const error = appError(() => resolveModel(`${MODEL_ID}:free:extended`, snapshot));
    expect(error.code).toBe("invalid_request");
    expect(error.message).toBe("acme/model:free:extended combines the variants :free and :extended; use one.");
  });

  it("resolves :online to a web search that stacks with other suffixes and leaves the answer id alone", () => {
    expect(resolveModel(`${MODEL_ID}:online`, snapshot)).toMatchObject({ variant: "standard", answerId: MODEL_ID, online: true });
    expect(resolveModel(`${MODEL_ID}:free:online:nitro`, snapshot)).toMatchObject({
      variant: "free",
      answerId: `${MODEL_ID}:free`,
      sort: "throughput",
      online: true,
    });
    expect(resolveModel(MODEL_ID, snapshot).online).toBe(false);
  });

  it("resolves :thinking on standard endpoints that take only reasoning_effort", () => {
    const effort = model([endpoint("a", { params: ["reasoning_effort"] })], "acme/effort");
    expect(resolveModel("acme/effort:thinking", snapshotOf([effort]))).toMatchObject({ variant: "standard", forceReasoning: true });
  });

  it("refuses an unknown model", () => {
    for (const id of ["nobody/model", "nobody/model:free", "acme"]) {
      const error = appError(() => resolveModel(id, snapshot));
      expect(error.code).toBe("model_not_found");
      expect(error.message).toBe(`${id} is not a valid model ID.`);
      expect(error.metadata).toEqual({ model: id });
    }
  });
});

describe("listedVariants", () => {
  const ids = (m: ModelInfo) => listedVariants(m).map((v) => [v.id, v.variant, v.endpoints.map((e) => e.tag), v.skipModeration]);

  it("lists the base id and each static variant with endpoints of its own", () => {
    const full = model([endpoint("a"), endpoint("b", { variant: "free" }), endpoint("c", { variant: "extended" }), endpoint("d", { variant: "thinking" })]);
    expect(ids(full)).toEqual([
      [MODEL_ID, "standard", ["a"], false],
      [`${MODEL_ID}:free`, "free", ["b"], false],
      [`${MODEL_ID}:extended`, "extended", ["c"], false],
      [`${MODEL_ID}:thinking`, "thinking", ["d"], false],
    ]);
  });

  it("lists :thinking for standard endpoints that can reason, and :beta when a standard endpoint is moderated", () => {
    const m = model([endpoint("a", { params: ["reasoning"], moderated: true }), endpoint("b", { params: ["reasoning_effort"] }), endpoint("c")]);
    expect(ids(m)).toEqual([
      [MODEL_ID, "standard", ["a", "b", "c"], false],
      [`${MODEL_ID}:thinking`, "standard", ["a", "b"], false],
      [`${MODEL_ID}:beta`, "standard", ["a", "b", "c"], true],
    ]);
    expect(ids(model([endpoint("a")]))).toEqual([[MODEL_ID, "standard", ["a"], false]]);
  });
});
