import { describe, expect, it } from "vitest";
import { reasoningEffortFor, reasoningRequest, thinkingBudget, type ReasoningRequest } from "../../src/core/reasoning.js";
import { EFFORT_BUDGETS } from "../providers/fixtures.js";

const request = (overrides: Partial<ReasoningRequest> = {}): ReasoningRequest => ({
  requested: true,
  disabled: false,
  effort: null,
  maxTokens: null,
  exclude: false,
  ...overrides,
});

describe("reasoningRequest", () => {
  it("reads every spelling: reasoning.{effort,max_tokens,exclude,enabled}, reasoning_effort, include_reasoning", () => {
    expect(reasoningRequest({})).toEqual({ requested: false, disabled: false, effort: null, maxTokens: null, exclude: false });
    expect(reasoningRequest({ reasoning: { effort: "high" } })).toEqual(request({ effort: "high" }));
    expect(reasoningRequest({ reasoning: { max_tokens: 2000 } })).toEqual(request({ maxTokens: 2000 }));
    expect(reasoningRequest({ reasoning: {} })).toEqual(request());
    expect(reasoningRequest({ reasoning: { enabled: true } })).toEqual(request());
    expect(reasoningRequest({ reasoning_effort: "low" })).toEqual(request({ effort: "low" }));
    // reasoning.effort wins over the top-level spelling.
    expect(reasoningRequest({ reasoning: { effort: "high" }, reasoning_effort: "low" }).effort).toBe("high");
  });

  it("treats legacy include_reasoning true as {} and false as {exclude: true}", () => {
    expect(reasoningRequest({ include_reasoning: true })).toEqual(request());
    expect(reasoningRequest({ include_reasoning: false })).toEqual(request({ requested: false, exclude: true }));
    expect(reasoningRequest({ reasoning: { exclude: true } })).toEqual(request({ requested: false, exclude: true }));
  });

  it("hides reasoning that was asked for with exclude: true, and honours enabled: false and effort none", () => {
    expect(reasoningRequest({ reasoning: { effort: "medium", exclude: true } })).toEqual(request({ effort: "medium", exclude: true }));
    expect(reasoningRequest({ reasoning: { enabled: false, effort: "high" } })).toEqual(request({ requested: false, disabled: true, effort: "high" }));
    expect(reasoningRequest({ reasoning: { effort: "none" } })).toEqual(request({ requested: false, disabled: true, effort: "none" }));
  });

  it("ignores malformed values (the request parser refused them already)", () => {
    expect(reasoningRequest({ reasoning: { effort: "extreme", max_tokens: -5 } })).toEqual(request());
    expect(reasoningRequest({ reasoning: null, reasoning_effort: 3 })).toEqual(request({ requested: false }));
  });
});

describe("thinkingBudget (Anthropic's budget_tokens)", () => {
  it.each(EFFORT_BUDGETS)("gives effort %s its share of max_tokens 10000: %i", (effort, budget) => {
    expect(thinkingBudget(request({ effort }), 10_000)).toBe(budget);
  });

  it("keeps a budget from an effort between 1024 and 128000", () => {
    expect(thinkingBudget(request({ effort: "low" }), 1000)).toBe(1024);
    expect(thinkingBudget(request({ effort: "high" }), 1_000_000)).toBe(128_000);
  });

  it("takes reasoning.max_tokens as given (at least 1024), and medium without an effort", () => {
    expect(thinkingBudget(request({ maxTokens: 50_000, effort: "low" }), 10_000)).toBe(50_000);
    expect(thinkingBudget(request({ maxTokens: 100 }), 10_000)).toBe(1024);
    expect(thinkingBudget(request(), 10_000)).toBe(5000);
  });

  it("is null when reasoning was not asked for or was switched off", () => {
    expect(thinkingBudget(reasoningRequest({}), 10_000)).toBeNull();
    expect(thinkingBudget(reasoningRequest({ include_reasoning: false }), 10_000)).toBeNull();
    expect(thinkingBudget(reasoningRequest({ reasoning: { effort: "none" } }), 10_000)).toBeNull();
  });
});

describe("reasoningEffortFor (OpenAI's reasoning_effort)", () => {
  it("passes an effort through, max as xhigh", () => {
    for (const effort of ["xhigh", "high", "medium", "low", "minimal"] as const) {
      expect(reasoningEffortFor(request({ effort }), null)).toBe(effort);
    }
    expect(reasoningEffortFor(request({ effort: "max" }), null)).toBe("xhigh");
  });

  it("picks the effort whose share of max_tokens is nearest a budget", () => {
    expect(reasoningEffortFor(request({ maxTokens: 9000 }), 10_000)).toBe("high");
    expect(reasoningEffortFor(request({ maxTokens: 6000 }), 10_000)).toBe("medium");
    expect(reasoningEffortFor(request({ maxTokens: 1000 }), 10_000)).toBe("low");
    // Without max_tokens to compare with: medium.
    expect(reasoningEffortFor(request({ maxTokens: 1000 }), null)).toBe("medium");
  });

  it("says none when reasoning was switched off, and nothing when it was not mentioned", () => {
    expect(reasoningEffortFor(reasoningRequest({ reasoning: { enabled: false } }), null)).toBe("none");
    expect(reasoningEffortFor(reasoningRequest({}), null)).toBeNull();
    expect(reasoningEffortFor(reasoningRequest({ include_reasoning: false }), null)).toBeNull();
    expect(reasoningEffortFor(reasoningRequest({ include_reasoning: true }), null)).toBe("medium");
  });
});
