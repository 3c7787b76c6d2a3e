/**
 * Reasoning parameters, read the same way for every endpoint whatever their spelling: OpenRouter's
 * `reasoning: {effort, max_tokens, exclude, enabled}`, OpenAI's top-level `reasoning_effort`, and the legacy
 * `include_reasoning` (true = `reasoning: {}`, false = `reasoning: {exclude: true}`). Adapters derive what their
 * protocol wants from one {@link ReasoningRequest}: a thinking budget in tokens (Anthropic) or an effort level
 * (OpenAI's `reasoning_effort`).
 */

export const REASONING_EFFORTS = ["max", "xhigh", "high", "medium", "low", "minimal", "none"] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/** Share of `max_tokens` given to reasoning per effort (OpenRouter's ratios). */
const EFFORT_RATIOS: Readonly<Record<Exclude<ReasoningEffort, "none">, number>> = {
  max: 0.95,
  xhigh: 0.95,
  high: 0.8,
  medium: 0.5,
  low: 0.2,
  minimal: 0.1,
};

/** The smallest thinking budget Anthropic accepts, and OpenRouter's ceiling on a budget derived from an effort. */
const MIN_THINKING_BUDGET = 1024;
const MAX_EFFORT_BUDGET = 128_000;

export interface ReasoningRequest {
  /** The client asked the model to reason: an effort, a budget, `enabled: true`, a bare `reasoning: {}`, or `include_reasoning: true`. */
  requested: boolean;
  /** The client switched reasoning off: `enabled: false` or effort `none`. */
  disabled: boolean;
  /** `reasoning.effort`, else `reasoning_effort`. */
  effort: ReasoningEffort | null;
  /** `reasoning.max_tokens`: a budget in tokens. */
  maxTokens: number | null;
  /** Reason, but leave the reasoning out of the answer (`exclude: true`, `include_reasoning: false`); its tokens are still billed. */
  exclude: boolean;
}

/** The request's reasoning parameters. Tolerant of malformed values (the request parser has rejected those already). */
export function reasoningRequest(params: Record<string, unknown>): ReasoningRequest {
  const reasoning = objectOf(params.reasoning);
  const effort = [reasoning?.effort, params.reasoning_effort].find(isEffort) ?? null;
  const maxTokens = positiveInteger(reasoning?.max_tokens);
  const disabled = reasoning?.enabled === false || effort === "none";
  // `{exclude: true}` alone is legacy `include_reasoning: false`: it hides reasoning, it does not ask for it.
  const asked = reasoning !== undefined ? reasoning.enabled === true || reasoning.exclude !== true : params.include_reasoning === true;
  return {
    requested: !disabled && (effort !== null || maxTokens !== null || asked),
    disabled,
    effort,
    maxTokens,
    exclude: reasoning?.exclude === true || params.include_reasoning === false,
  };
}

/**
 * A thinking budget in tokens for protocols that take one (Anthropic), or null for no thinking: `reasoning.max_tokens`
 * as given (at least 1024); an effort as its share of `max_tokens` (see {@link EFFORT_RATIOS}), between 1024 and
 * 128000; a request without an effort as effort medium.
 */
export function thinkingBudget(reasoning: ReasoningRequest, maxTokens: number): number | null {
  if (!reasoning.requested) return null;
  if (reasoning.maxTokens !== null) return Math.max(reasoning.maxTokens, MIN_THINKING_BUDGET);
  const effort = reasoning.effort === null || reasoning.effort === "none" ? "medium" : reasoning.effort;
  return Math.max(Math.min(Math.floor(maxTokens * EFFORT_RATIOS[effort]), MAX_EFFORT_BUDGET), MIN_THINKING_BUDGET);
}

/**
 * OpenAI's `reasoning_effort` for the request, or null to leave it out (the model's default): the effort as given
 * (`max` as `xhigh`, OpenAI's highest); `none` when reasoning was switched off; for a budget, the effort whose share of
 * `maxTokens` is nearest to it (`high`, `medium` or `low`); `medium` when reasoning was asked for without either.
 */
export function reasoningEffortFor(reasoning: ReasoningRequest, maxTokens: number | null): string | null {
  if (reasoning.disabled) return "none";
  if (!reasoning.requested) return null;
  if (reasoning.effort !== null) return reasoning.effort === "max" ? "xhigh" : reasoning.effort;
  if (reasoning.maxTokens !== null && maxTokens !== null && maxTokens > 0) {
    const share = reasoning.maxTokens / maxTokens;
    const levels = (["high", "medium", "low"] as const).map((level) => ({ level, distance: Math.abs(EFFORT_RATIOS[level] - share) }));
    return levels.reduce((best, next) => (next.distance < best.distance ? next : best)).level;
  }
  return "medium";
}

/**
 * Whether an endpoint can be asked to reason: it takes `reasoning` or OpenAI's `reasoning_effort` (the router
 * translates between the two).
 */
export function takesReasoning(supportedParameters: ReadonlySet<string>): boolean {
  return supportedParameters.has("reasoning") || supportedParameters.has("reasoning_effort");
}

export function isEffort(value: unknown): value is ReasoningEffort {
  return typeof value === "string" && (REASONING_EFFORTS as readonly string[]).includes(value);
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function positiveInteger(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null;
}
