import { describe, expect, it } from "vitest";
import { fixedFees, generationCost, maxOutputTokens, unitPrice, worstCaseCost, type CostInputs } from "../../src/core/pricing.js";
import type { EndpointInfo, Pricing, ProviderInfo, TokenUsage } from "../../src/core/types.js";

const PRICING: Pricing = {
  prompt: 1_000_000n, // $1 per million
  completion: 2_000_000n, // $2 per million
  request: 0n,
  image: 0n,
  reasoning: null,
  cacheRead: null,
  cacheWrite: null,
  webSearch: 0n,
};

const pricing = (overrides: Partial<Pricing> = {}): Pricing => ({ ...PRICING, ...overrides });

const usage = (overrides: Partial<TokenUsage> = {}): TokenUsage => ({
  promptTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  ...overrides,
});

const inputs = (overrides: Partial<CostInputs> = {}): CostInputs => ({
  usage: usage({ promptTokens: 1000, completionTokens: 500 }),
  images: 0,
  finishReason: "stop",
  discounted: false,
  ...overrides,
});

const PROVIDER: ProviderInfo = {
  slug: "acme",
  name: "Acme",
  adapter: "openai-compatible",
  baseUrl: "http://127.0.0.1:9000/v1",
  apiKey: null,
  dataPolicy: null,
  supportsCancellation: false,
  active: true,
  inactiveReason: null,
  privacyPolicyUrl: null,
  termsOfServiceUrl: null,
  statusPageUrl: null,
  headquarters: null,
  datacenters: [],
};

function endpoint(overrides: Partial<EndpointInfo> = {}): EndpointInfo {
  return {
    id: "acme/model:standard@acme",
    modelId: "acme/model",
    variant: "standard",
    tag: "acme",
    provider: PROVIDER,
    upstreamModel: "model",
    contextLength: 8192,
    maxCompletionTokens: null,
    maxPromptTokens: null,
    quantization: null,
    pricing: PRICING,
    supportedParameters: new Set(),
    inputModalities: ["text"],
    dataPolicy: { training: false, retainsPrompts: false },
    moderated: false,
    status: 0,
    simulation: null,
    ...overrides,
  };
}

describe("generationCost", () => {
  it("charges prompt and completion tokens at their prices", () => {
    // 1000 × 1,000,000 + 500 × 2,000,000
    expect(generationCost(PRICING, inputs())).toBe(2_000_000_000n);
  });

  it("charges cached prompt tokens at the cache-read price", () => {
    const cost = generationCost(
      pricing({ cacheRead: 100_000n }),
      inputs({ usage: usage({ promptTokens: 1000, cachedTokens: 400, completionTokens: 500 }) }),
    );
    // 600 × 1,000,000 + 400 × 100,000 + 500 × 2,000,000
    expect(cost).toBe(1_640_000_000n);
  });

  it("charges cached tokens at the prompt price when the endpoint has no cache-read price", () => {
    const cost = generationCost(PRICING, inputs({ usage: usage({ promptTokens: 1000, cachedTokens: 400, completionTokens: 500 }) }));
    expect(cost).toBe(2_000_000_000n);
  });

  it("never counts more cached tokens than prompt tokens", () => {
    const cost = generationCost(pricing({ cacheRead: 100_000n }), inputs({ usage: usage({ promptTokens: 10, cachedTokens: 50 }) }));
    expect(cost).toBe(1_000_000n);
  });

  it("charges reasoning tokens at the reasoning price, as part of the completion tokens", () => {
    const cost = generationCost(
      pricing({ reasoning: 5_000_000n }),
      inputs({ usage: usage({ promptTokens: 1000, completionTokens: 500, reasoningTokens: 300 }) }),
    );
    // 1000 × 1,000,000 + 200 × 2,000,000 + 300 × 5,000,000
    expect(cost).toBe(2_900_000_000n);
  });

  it("charges reasoning tokens at the completion price when the endpoint has no reasoning price", () => {
    const cost = generationCost(PRICING, inputs({ usage: usage({ promptTokens: 1000, completionTokens: 500, reasoningTokens: 300 }) }));
    expect(cost).toBe(2_000_000_000n);
  });

  it("never counts more reasoning tokens than completion tokens", () => {
    const cost = generationCost(pricing({ reasoning: 5_000_000n }), inputs({ usage: usage({ completionTokens: 10, reasoningTokens: 50 }) }));
    expect(cost).toBe(50_000_000n);
  });

  it("adds the per-request fee and the per-image fee", () => {
    const cost = generationCost(pricing({ request: 5_000_000_000n, image: 700_000_000n }), inputs({ images: 3 }));
    // 2,000,000,000 + 5,000,000,000 + 3 × 700,000,000
    expect(cost).toBe(9_100_000_000n);
  });

  it("adds the web search price once for a search, and nothing without one", () => {
    const searching = pricing({ webSearch: 10_000_000_000n });
    expect(generationCost(searching, inputs({ webSearches: 1 }))).toBe(12_000_000_000n);
    expect(generationCost(searching, inputs())).toBe(2_000_000_000n);
    // Zero completion insurance covers the search too: a failed answer costs nothing.
    expect(generationCost(searching, inputs({ webSearches: 1, finishReason: "error" }))).toBe(0n);
  });

  it("charges cache-write tokens as prompt tokens on an endpoint without a cache-write price", () => {
    const cost = generationCost(PRICING, inputs({ usage: usage({ promptTokens: 1000, cacheWriteTokens: 400, completionTokens: 0 }) }));
    expect(cost).toBe(1_000_000_000n);
  });

  // Cache-write tokens are part of prompt_tokens (as the adapter reads them and the REST API re-emits them in
  // prompt_tokens_details): they are charged once, at the cache-write price.
  it("does not charge cache-write tokens at the prompt price as well", () => {
    const cost = generationCost(
      pricing({ cacheWrite: 1_250_000n }),
      inputs({ usage: usage({ promptTokens: 1000, cacheWriteTokens: 400, completionTokens: 0 }) }),
    );
    // 600 × 1,000,000 + 400 × 1,250,000
    expect(cost).toBe(1_100_000_000n);
  });

  describe("zero-completion insurance", () => {
    const fees = pricing({ request: 5_000_000_000n, image: 700_000_000n });

    it("charges nothing, not even fees, for an answer that ended in an error", () => {
      expect(generationCost(fees, inputs({ finishReason: "error", images: 2 }))).toBe(0n);
    });

    it("charges a cancelled answer for the tokens it generated", () => {
      const cost = generationCost(fees, inputs({ finishReason: null, usage: usage({ promptTokens: 1000, completionTokens: 10 }) }));
      // 1000 × 1,000,000 + 10 × 2,000,000 + the request fee
      expect(cost).toBe(6_020_000_000n);
    });

    it("charges nothing for an answer cancelled before any completion token", () => {
      expect(generationCost(fees, inputs({ finishReason: null, images: 1, usage: usage({ promptTokens: 1000 }) }))).toBe(0n);
    });

    it("charges a finished answer with no completion tokens for its prompt and fees", () => {
      const cost = generationCost(fees, inputs({ finishReason: "stop", usage: usage({ promptTokens: 1000 }) }));
      expect(cost).toBe(6_000_000_000n);
    });

    it("charges answers cut off by length, tool calls or the content filter", () => {
      for (const finishReason of ["length", "tool_calls", "content_filter"] as const) {
        expect(generationCost(PRICING, inputs({ finishReason })), finishReason).toBe(2_000_000_000n);
      }
    });
  });

  describe("prompt-logging discount", () => {
    it("takes 1% off", () => {
      expect(generationCost(PRICING, inputs({ discounted: true }))).toBe(1_980_000_000n);
    });

    it("rounds the discounted cost half away from zero to the picodollar", () => {
      // 150 × 0.99 = 148.5 → 149; 149 × 0.99 = 147.51 → 148; 50 × 0.99 = 49.5 → 50
      const perToken = pricing({ prompt: 1n, completion: 0n });
      expect(generationCost(perToken, inputs({ discounted: true, usage: usage({ promptTokens: 150 }) }))).toBe(149n);
      expect(generationCost(perToken, inputs({ discounted: true, usage: usage({ promptTokens: 149 }) }))).toBe(148n);
      expect(generationCost(perToken, inputs({ discounted: true, usage: usage({ promptTokens: 50 }) }))).toBe(50n);
    });

    it("discounts the fees too", () => {
      expect(generationCost(pricing({ request: 1_000n }), inputs({ discounted: true, usage: usage() }))).toBe(990n);
    });

    it("leaves a free answer free", () => {
      expect(generationCost(pricing({ prompt: 0n, completion: 0n }), inputs({ discounted: true }))).toBe(0n);
    });
  });
});

describe("maxOutputTokens", () => {
  it("is max_tokens when it fits in the context", () => {
    expect(maxOutputTokens(endpoint({ maxCompletionTokens: 4096 }), 1000, 100)).toBe(100);
  });

  it("is the endpoint's completion limit without max_tokens", () => {
    expect(maxOutputTokens(endpoint({ maxCompletionTokens: 4096 }), 1000, null)).toBe(4096);
  });

  it("is the rest of the context without max_tokens or a completion limit", () => {
    expect(maxOutputTokens(endpoint(), 1000, null)).toBe(7192);
  });

  it("never exceeds the room left in the context", () => {
    expect(maxOutputTokens(endpoint({ maxCompletionTokens: 4096 }), 6000, null)).toBe(2192);
    expect(maxOutputTokens(endpoint(), 6000, 5000)).toBe(2192);
  });

  it("is zero when the prompt fills or overflows the context", () => {
    expect(maxOutputTokens(endpoint(), 8192, null)).toBe(0);
    expect(maxOutputTokens(endpoint(), 9000, 100)).toBe(0);
  });
});

describe("worstCaseCost", () => {
  it("prices every prompt token and the largest possible answer", () => {
    // 1000 × 1,000,000 + 4096 × 2,000,000
    expect(worstCaseCost(endpoint({ maxCompletionTokens: 4096 }), 1000, null, 0)).toBe(9_192_000_000n);
  });

  it("uses max_tokens for the answer when given", () => {
    expect(worstCaseCost(endpoint({ maxCompletionTokens: 4096 }), 1000, 100, 0)).toBe(1_200_000_000n);
  });

  it("prices the answer at the reasoning price when it is dearer than the completion price", () => {
    const e = endpoint({ pricing: pricing({ reasoning: 5_000_000n }) });
    expect(worstCaseCost(e, 1000, 100, 0)).toBe(1_500_000_000n);
  });

  it("prices the answer at the completion price when reasoning is cheaper", () => {
    const e = endpoint({ pricing: pricing({ reasoning: 1_000n }) });
    expect(worstCaseCost(e, 1000, 100, 0)).toBe(1_200_000_000n);
  });

  it("adds the per-request and per-image fees", () => {
    const e = endpoint({ pricing: pricing({ request: 5_000n, image: 300n }) });
    expect(worstCaseCost(e, 1000, 100, 4)).toBe(1_200_000_000n + 5_000n + 1_200n);
  });

  it("adds the web search price when the request searches", () => {
    const e = endpoint({ pricing: pricing({ webSearch: 7_000n }) });
    expect(worstCaseCost(e, 1000, 100, 0, 1) - worstCaseCost(e, 1000, 100, 0)).toBe(7_000n);
  });

  it("is never less than the cost of any answer the endpoint can give", () => {
    const e = endpoint({ maxCompletionTokens: 4096, pricing: pricing({ reasoning: 3_000_000n, request: 7n, image: 11n }) });
    const worst = worstCaseCost(e, 1000, null, 2);
    const full = generationCost(e.pricing, {
      usage: usage({ promptTokens: 1000, completionTokens: 4096, reasoningTokens: 2000 }),
      images: 2,
      finishReason: "length",
      discounted: false,
    });
    expect(full).toBeLessThanOrEqual(worst);
  });
});

describe("fixedFees", () => {
  it("adds the request fee, the image fee per image and the web search fee per search", () => {
    expect(fixedFees(pricing({ request: 5n, image: 70n, webSearch: 900n }), 2, 1)).toBe(5n + 140n + 900n);
  });

  it("is the request fee alone without images or searches", () => {
    expect(fixedFees(pricing({ request: 5n, image: 70n, webSearch: 900n }), 0, 0)).toBe(5n);
  });
});

describe("unitPrice", () => {
  it("adds the prompt and completion prices", () => {
    expect(unitPrice(PRICING)).toBe(3_000_000n);
  });
});
