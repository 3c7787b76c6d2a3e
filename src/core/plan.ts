import { AppError } from "../errors.js";
import { unitPrice } from "./pricing.js";
import { takesReasoning } from "./reasoning.js";
import type { ModelTarget } from "./resolve.js";
import type { Caller, CompletionRequest, EndpointInfo, Sort } from "./types.js";

/**
 * Planning: which endpoints of one model may serve a request, and in what order to try them.
 *
 * Hard filters run in a fixed order and the first one that leaves nothing names itself in the error (message and
 * `metadata.failed_routing_step`), so a user can tell which setting to change. Then ordering: an explicit
 * `provider.order` first; else `sort` (or `:nitro` / `:floor`) deterministically; else random weighted by 1/price²
 * among healthy endpoints, with unhealthy ones last. Soft preferences (tools, response_format) reorder but never
 * empty a plan. `:thinking` served by standard endpoints keeps those that take `reasoning`; moderated endpoints need a
 * moderation backend unless the id skips moderation (`:beta`).
 */

/** OpenAI/OpenRouter request parameters that endpoints declare support for (`supported_parameters`). */
export const ROUTABLE_PARAMETERS = new Set([
  "temperature",
  "top_p",
  "top_k",
  "min_p",
  "top_a",
  "frequency_penalty",
  "presence_penalty",
  "repetition_penalty",
  "max_tokens",
  "max_completion_tokens",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "prediction",
  "seed",
  "response_format",
  "structured_outputs",
  "stop",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "include_reasoning",
  "reasoning",
  "reasoning_effort",
  "web_search_options",
  "verbosity",
]);

/** Parameters that, when sent, steer routing towards endpoints that support them even without `require_parameters`. */
const SOFT_PREFERRED = ["tools", "response_format"] as const;

/** What a plan's health-based ordering needs to know. */
export interface HealthView {
  isHealthy(endpointId: string): boolean;
  latencyP50(endpointId: string): number | null;
  throughputP50(endpointId: string): number | null;
}

export interface PlanContext {
  target: ModelTarget;
  request: CompletionRequest;
  caller: Caller;
  promptTokens: number;
  images: number;
  health: HealthView;
  random: () => number;
  /**
   * Whether a moderation backend is configured (default true). Without one, moderated endpoints cannot serve a request
   * unless it skips moderation (`:beta`).
   */
  canModerate?: boolean;
}

export type RoutingStep =
  | "availability"
  | "allowed_providers"
  | "ignored_providers"
  | "quantization"
  | "data_policy"
  | "max_price"
  | "modalities"
  | "context_length"
  | "max_tokens"
  | "require_parameters"
  | "reasoning"
  | "moderation";

/** The parameters a request sets, by their OpenAI names, for `require_parameters` and the soft preferences. */
function sentParameters(request: CompletionRequest): Set<string> {
  const sent = new Set<string>();
  for (const [name, value] of Object.entries(request.params)) {
    if (value !== undefined && value !== null && ROUTABLE_PARAMETERS.has(name)) sent.add(name);
  }
  if (request.maxTokens !== null) sent.add("max_tokens");
  sent.delete("max_completion_tokens");
  return sent;
}

/** Endpoints of the target model that may serve the request, in the order to try them. Throws when none may. */
export function planEndpoints(ctx: PlanContext): EndpointInfo[] {
  const { target, request, caller } = ctx;
  const prefs = request.provider;
  const modelId = target.answerId;
  let candidates = target.model.endpoints.filter((e) => e.variant === target.variant);

  /** Applies one filter; `explain` gets the endpoints the filter removed, to say why. */
  const step = (name: RoutingStep, keep: (e: EndpointInfo) => boolean, explain: (removed: EndpointInfo[]) => string, details = {}) => {
    const before = candidates;
    candidates = candidates.filter(keep);
    if (candidates.length === 0) {
      throw new AppError(name === "context_length" ? "context_length_exceeded" : "no_endpoints", explain(before), {
        metadata: {
          model: modelId,
          failed_routing_step: name,
          excluded: before.map((e) => e.tag),
          ...details,
        },
      });
    }
  };

  step(
    "availability",
    (e) => e.status === 0 && e.provider.active,
    () => `No endpoints found for ${modelId}.`,
    {
      inactive: candidates
        .filter((e) => !e.provider.active || e.status !== 0)
        .map((e) => ({ provider: e.provider.slug, reason: e.provider.inactiveReason ?? `endpoint status ${e.status}` })),
    },
  );

  // The account's allowed providers and the request's `only` must both admit an endpoint (a request can only narrow).
  const allowedLists = [
    { name: "this account's allowed providers", slugs: caller.privacy.allowedProviders },
    { name: "provider.only", slugs: prefs.only },
  ].filter((list): list is { name: string; slugs: string[] } => list.slugs !== null);
  if (allowedLists.length > 0) {
    step(
      "allowed_providers",
      (e) => allowedLists.every((list) => list.slugs.some((slug) => matchesSlug(e, slug))),
      () =>
        `No endpoints found for ${modelId} among the allowed providers ` +
        `(${allowedLists.map((list) => `${list.name}: ${list.slugs.join(", ") || "none"}`).join("; ")}).`,
    );
  }
  const ignored = [...caller.privacy.ignoredProviders, ...prefs.ignore];
  if (ignored.length > 0) {
    step(
      "ignored_providers",
      (e) => !ignored.some((slug) => matchesSlug(e, slug)),
      () => `No endpoints found for ${modelId}: every provider is on the ignore list (${ignored.join(", ")}).`,
    );
  }
  if (prefs.quantizations) {
    const wanted = prefs.quantizations;
    step(
      "quantization",
      (e) => wanted.includes(e.quantization ?? "unknown"),
      () => `No endpoints found for ${modelId} with quantization ${wanted.join(" or ")}.`,
    );
  }
  const violations = (e: EndpointInfo) => dataPolicyViolations(e, request, caller);
  step(
    "data_policy",
    (e) => violations(e).length === 0,
    (removed) =>
      `No endpoints found for ${modelId} matching your data policy (${[...new Set(removed.flatMap(violations))].join("; ")}). ` +
      "Relax the account's privacy settings or the request's provider.data_collection / provider.zdr.",
  );
  if (prefs.maxPrice) {
    const max = prefs.maxPrice;
    step(
      "max_price",
      (e) =>
        (max.prompt === undefined || e.pricing.prompt <= max.prompt) &&
        (max.completion === undefined || e.pricing.completion <= max.completion) &&
        (max.request === undefined || e.pricing.request <= max.request) &&
        (max.image === undefined || e.pricing.image <= max.image),
      () => `No endpoints found for ${modelId} that satisfy the max price for this request.`,
    );
  }
  if (ctx.images > 0) {
    step(
      "modalities",
      (e) => e.inputModalities.includes("image"),
      () => `No endpoints found for ${modelId} that support image input.`,
    );
  }
  const needed = ctx.promptTokens + (request.maxTokens ?? 0);
  step(
    "context_length",
    (e) => needed <= e.contextLength && (e.maxPromptTokens === null || ctx.promptTokens <= e.maxPromptTokens),
    (removed) =>
      `This model's maximum context length is ${Math.max(...removed.map((e) => e.contextLength))} tokens. ` +
      `However, you requested about ${needed} tokens (${ctx.promptTokens} of text input, ${request.maxTokens ?? 0} in the output). ` +
      "Please reduce the length of either one.",
  );
  if (request.maxTokens !== null) {
    const maxTokens = request.maxTokens;
    step(
      "max_tokens",
      (e) => e.maxCompletionTokens === null || maxTokens <= e.maxCompletionTokens,
      (removed) =>
        `No endpoints found for ${modelId} that can produce ${maxTokens} tokens (the most is ` +
        `${Math.max(...removed.map((e) => e.maxCompletionTokens ?? 0))}). Lower max_tokens.`,
    );
  }
  const sent = sentParameters(request);
  if (prefs.requireParameters && sent.size > 0) {
    step(
      "require_parameters",
      (e) => [...sent].every((p) => supportsParameter(e, p)),
      () => `No endpoints found for ${modelId} that support all the parameters of this request (${[...sent].join(", ")}).`,
    );
  }

  if (target.forceReasoning) {
    step(
      "reasoning",
      (e) => supportsParameter(e, "reasoning"),
      () => `No endpoints found for ${modelId} that support reasoning.`,
    );
  }
  if (ctx.canModerate === false && !target.skipModeration) {
    step(
      "moderation",
      (e) => !e.moderated,
      () =>
        `No endpoints found for ${modelId}: its endpoints require moderation and this server has no moderation backend ` +
        `configured. ${target.model.id}:beta selects them without the moderation step.`,
    );
  }

  // Without require_parameters, endpoints that support tools / response_format go first (but none is dropped).
  const preferCapable = (endpoints: EndpointInfo[]) => {
    let ordered = endpoints;
    if (!prefs.requireParameters) {
      for (const param of SOFT_PREFERRED) {
        if (sent.has(param)) ordered = stablePartition(ordered, (e) => supportsParameter(e, param));
      }
    }
    return ordered;
  };
  return order(candidates, ctx, preferCapable);
}

/** Why an endpoint's data policy rules it out for this caller and request (empty when it does not). */
export function dataPolicyViolations(e: EndpointInfo, request: CompletionRequest, caller: Caller): string[] {
  const free = e.variant === "free" || (e.pricing.prompt === 0n && e.pricing.completion === 0n);
  const reasons: string[] = [];
  if (e.dataPolicy.training) {
    if (request.provider.dataCollection === "deny") reasons.push("data_collection is deny and the provider may train on data");
    else if (free ? !caller.privacy.allowFreeTraining : !caller.privacy.allowTraining) {
      reasons.push(`${free ? "free" : "paid"} endpoints that may train on data are disabled for this account`);
    }
  }
  if (e.dataPolicy.retainsPrompts) {
    if (request.provider.zdr) reasons.push("zdr is required and the provider retains prompts");
    else if (!caller.privacy.allowRetention) reasons.push("endpoints that retain prompts are disabled for this account");
  }
  return reasons;
}

/**
 * A provider slug in `order`/`only`/`ignore` matches every endpoint of that provider; a full tag (`provider/sub`)
 * matches that one endpoint.
 */
export function matchesSlug(endpoint: EndpointInfo, slug: string): boolean {
  const wanted = slug.toLowerCase();
  return wanted.includes("/") ? endpoint.tag === wanted : endpoint.provider.slug === wanted;
}

/**
 * Whether an endpoint takes a parameter, counting the spellings the router translates between (see `paramsFor` in
 * router.ts): `max_tokens` / `max_completion_tokens`, `reasoning` / `reasoning_effort`, and legacy `include_reasoning`
 * as `reasoning`.
 */
function supportsParameter(e: EndpointInfo, param: string): boolean {
  const has = (name: string) => e.supportedParameters.has(name);
  switch (param) {
    case "max_tokens":
      return has("max_tokens") || has("max_completion_tokens");
    case "reasoning":
    case "reasoning_effort":
      return takesReasoning(e.supportedParameters);
    case "include_reasoning":
      return has("include_reasoning") || has("reasoning");
    default:
      return has(param);
  }
}

/**
 * The attempt order. An explicit `provider.order` is kept as given; `prefer` (the soft preferences) reorders
 * everything else, before `allow_fallbacks: false` cuts the plan to one endpoint.
 */
function order(candidates: EndpointInfo[], ctx: PlanContext, prefer: (endpoints: EndpointInfo[]) => EndpointInfo[]): EndpointInfo[] {
  const prefs = ctx.request.provider;
  const sort: Sort | null = prefs.sort ?? ctx.target.sort;
  const arrange = (endpoints: EndpointInfo[]): EndpointInfo[] => {
    const split = splitByHealth(endpoints, ctx.health);
    return prefer(sort ? sortBy(split, sort, ctx) : balance(split, ctx));
  };
  if (prefs.order && prefs.order.length > 0) {
    const listed: EndpointInfo[] = [];
    for (const slug of prefs.order) {
      for (const e of candidates) if (matchesSlug(e, slug) && !listed.includes(e)) listed.push(e);
    }
    if (!prefs.allowFallbacks) {
      if (listed.length === 0) {
        throw new AppError("no_endpoints", `No endpoints found for ${ctx.target.answerId} among provider.order (${prefs.order.join(", ")}) and allow_fallbacks is false.`, {
          metadata: { model: ctx.target.answerId, failed_routing_step: "order" },
        });
      }
      return listed;
    }
    const rest = candidates.filter((e) => !listed.includes(e));
    return [...listed, ...arrange(rest)];
  }
  const ordered = arrange(candidates);
  return prefs.allowFallbacks ? ordered : ordered.slice(0, 1);
}

interface HealthSplit {
  healthy: EndpointInfo[];
  unhealthy: EndpointInfo[];
}

/** Healthy and unhealthy endpoints, each in the given order: one health check per endpoint. */
function splitByHealth(endpoints: EndpointInfo[], health: HealthView): HealthSplit {
  const split: HealthSplit = { healthy: [], unhealthy: [] };
  for (const e of endpoints) (health.isHealthy(e.id) ? split.healthy : split.unhealthy).push(e);
  return split;
}

/** Deterministic order by price, throughput or latency; unknown figures go last, ties keep catalog order. */
function sortBy({ healthy, unhealthy }: HealthSplit, sort: Sort, ctx: PlanContext): EndpointInfo[] {
  const key = (e: EndpointInfo): number => {
    switch (sort) {
      case "price":
        return Number(unitPrice(e.pricing));
      case "throughput":
        return -(ctx.health.throughputP50(e.id) ?? Number.NEGATIVE_INFINITY);
      case "latency":
        return ctx.health.latencyP50(e.id) ?? Number.POSITIVE_INFINITY;
    }
  };
  const byKey = (list: EndpointInfo[]) => list.map((e) => [key(e), e] as const).sort((a, b) => a[0] - b[0]).map(([, e]) => e);
  return [...byKey(healthy), ...byKey(unhealthy)];
}

/**
 * Default load balancing: healthy endpoints drawn at random without replacement, each with weight 1/price²
 * (free endpoints weigh as much as the cheapest paid one could), then the unhealthy ones cheapest first.
 */
function balance({ healthy, unhealthy }: HealthSplit, ctx: PlanContext): EndpointInfo[] {
  const prices = healthy.map((e) => Number(unitPrice(e.pricing)));
  const cheapestPaid = Math.min(...prices.filter((p) => p > 0), Number.POSITIVE_INFINITY);
  const floor = Number.isFinite(cheapestPaid) ? cheapestPaid : 1;
  let pool = healthy.map((e, i) => ({ e, weight: 1 / Math.max(prices[i], floor) ** 2 }));
  const drawn: EndpointInfo[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, item) => sum + item.weight, 0);
    let pick = ctx.random() * total;
    let index = pool.findIndex((item) => (pick -= item.weight) < 0);
    if (index < 0) index = pool.length - 1;
    drawn.push(pool[index].e);
    pool = pool.filter((_, i) => i !== index);
  }
  const byPrice = [...unhealthy].sort((a, b) => Number(unitPrice(a.pricing) - unitPrice(b.pricing)));
  return [...drawn, ...byPrice];
}

function stablePartition<T>(items: T[], first: (item: T) => boolean): T[] {
  return [...items.filter(first), ...items.filter((item) => !first(item))];
}
