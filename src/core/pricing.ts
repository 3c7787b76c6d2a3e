import { mulDivRound, type Money } from "../billing/money.js";
import type { EndpointInfo, FinishReason, Pricing, TokenUsage } from "./types.js";

/**
 * What a generation costs, in exact picodollars.
 *
 * Rule: every token class is priced at its own per-token price (integers, so exact), plus the per-request and
 * per-image fees. Cache reads and cache writes are part of the prompt tokens and are charged at the cache-read and
 * cache-write prices instead of the prompt price (the prompt price where the endpoint has none); reasoning tokens are
 * part of the completion tokens and charged at the reasoning price when the endpoint has one. A web search (the web
 * plugin, `:online`) that added results to the prompt costs the endpoint's `webSearch` price once. The only
 * rounding is the prompt-logging discount (1%), rounded half away from zero to the picodollar, once per generation.
 */

/** The prompt-logging discount: accounts that opt in pay 99%. */
const LOGGING_DISCOUNT = { numerator: 99n, denominator: 100n };

export interface CostInputs {
  usage: TokenUsage;
  images: number;
  /** Web searches whose results were added to the prompt (0 or 1); default 0. */
  webSearches?: number;
  /** How the answer ended (null: cancelled before it finished). */
  finishReason: FinishReason | null;
  discounted: boolean;
}

export function generationCost(pricing: Pricing, inputs: CostInputs): Money {
  const { usage } = inputs;
  // Zero completion insurance: a failed answer, or one that produced nothing and did not finish, costs nothing.
  // A cancelled answer (no finish reason) pays for what was generated.
  const chargeTokens =
    inputs.finishReason !== "error" && (inputs.finishReason !== null || usage.completionTokens > 0);
  let cost = fixedFees(pricing, inputs.images, inputs.webSearches ?? 0);
  if (chargeTokens) {
    const cached = Math.min(usage.cachedTokens, usage.promptTokens);
    const written = Math.min(usage.cacheWriteTokens, usage.promptTokens - cached);
    const reasoning = Math.min(usage.reasoningTokens, usage.completionTokens);
    cost += BigInt(usage.promptTokens - cached - written) * pricing.prompt;
    cost += BigInt(cached) * (pricing.cacheRead ?? pricing.prompt);
    cost += BigInt(written) * (pricing.cacheWrite ?? pricing.prompt);
    cost += BigInt(usage.completionTokens - reasoning) * pricing.completion;
    cost += BigInt(reasoning) * (pricing.reasoning ?? pricing.completion);
  } else {
    cost = 0n;
  }
  return inputs.discounted ? mulDivRound(cost, LOGGING_DISCOUNT.numerator, LOGGING_DISCOUNT.denominator) : cost;
}

/**
 * The most a request can cost on this endpoint: every prompt token at the dearer of the prompt and cache-write
 * prices, the largest possible answer at the dearer of the completion and reasoning prices, and the fixed fees
 * (request, images, web searches). This is the credit hold.
 */
export function worstCaseCost(endpoint: EndpointInfo, promptTokens: number, maxTokens: number | null, images: number, webSearches = 0): Money {
  const p = endpoint.pricing;
  const output = BigInt(maxOutputTokens(endpoint, promptTokens, maxTokens));
  const inputPrice = p.cacheWrite !== null && p.cacheWrite > p.prompt ? p.cacheWrite : p.prompt;
  const outputPrice = p.reasoning !== null && p.reasoning > p.completion ? p.reasoning : p.completion;
  return fixedFees(p, images, webSearches) + BigInt(promptTokens) * inputPrice + output * outputPrice;
}

/** The fees that do not depend on tokens: per request, per image and per web search. */
export function fixedFees(pricing: Pricing, images: number, webSearches: number): Money {
  return pricing.request + BigInt(images) * pricing.image + BigInt(webSearches) * pricing.webSearch;
}

/** The largest answer this endpoint may produce for the request: `max_tokens`, else the endpoint's limit, within the context. */
export function maxOutputTokens(endpoint: EndpointInfo, promptTokens: number, maxTokens: number | null): number {
  const room = Math.max(endpoint.contextLength - promptTokens, 0);
  const limit = maxTokens ?? endpoint.maxCompletionTokens ?? room;
  return Math.min(limit, room);
}

/**
 * A price in picodollars per million tokens (as clients write ceilings and filters) → picodollars per token, rounded
 * toward zero: a ceiling must not admit more than it says.
 */
export function perTokenPrice(perMillion: Money): Money {
  return perMillion / 1_000_000n;
}

/** Prompt + completion per-token price: the figure `sort: "price"` and the default 1/price² weighting compare. */
export function unitPrice(pricing: Pricing): Money {
  return pricing.prompt + pricing.completion;
}
