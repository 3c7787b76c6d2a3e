import { describe, expect, it } from "vitest";
import { normaliseFinishReason } from "../../src/core/finish-reason.js";

describe("normaliseFinishReason", () => {
  it("keeps the five OpenAI finish reasons", () => {
    for (const reason of ["stop", "length", "tool_calls", "content_filter", "error"] as const) {
      expect(normaliseFinishReason(reason)).toBe(reason);
    }
  });

  it("maps the ways providers say the answer is complete to stop", () => {
    for (const native of ["end_turn", "stop_sequence", "eos", "eos_token", "STOP"]) expect(normaliseFinishReason(native), native).toBe("stop");
  });

  it("maps token-limit endings to length", () => {
    for (const native of ["max_tokens", "model_length", "MAX_TOKENS"]) expect(normaliseFinishReason(native), native).toBe("length");
  });

  it("maps tool and function calls to tool_calls", () => {
    for (const native of ["tool_use", "function_call"]) expect(normaliseFinishReason(native), native).toBe("tool_calls");
  });

  it("maps refusals and safety stops to content_filter", () => {
    for (const native of ["refusal", "SAFETY", "RECITATION"]) expect(normaliseFinishReason(native), native).toBe("content_filter");
  });

  it("matches a known reason in any case", () => {
    expect(normaliseFinishReason("Tool_Use")).toBe("tool_calls");
    expect(normaliseFinishReason("LENGTH")).toBe("length");
    expect(normaliseFinishReason("End_Turn")).toBe("stop");
    expect(normaliseFinishReason("ERROR")).toBe("error");
  });

  it("counts an unknown reason as stop", () => {
    expect(normaliseFinishReason("pause_turn")).toBe("stop");
    expect(normaliseFinishReason("something_new")).toBe("stop");
  });

  it("counts a missing reason as stop", () => {
    expect(normaliseFinishReason(null)).toBe("stop");
    expect(normaliseFinishReason(undefined)).toBe("stop");
    expect(normaliseFinishReason("")).toBe("stop");
  });

  it("does not match names inherited from Object.prototype", () => {
    expect(normaliseFinishReason("toString")).toBe("stop");
    expect(normaliseFinishReason("constructor")).toBe("stop");
  });
});
