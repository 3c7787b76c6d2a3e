import type { FinishReason } from "./types.js";

/** Provider finish reasons (OpenAI, Anthropic, Google, vLLM…) mapped to the five OpenAI-normalised ones. */
const NORMALISED = new Map<string, FinishReason>(Object.entries({
  stop: "stop",
  end_turn: "stop",
  stop_sequence: "stop",
  eos: "stop",
  eos_token: "stop",
  length: "length",
  max_tokens: "length",
  model_length: "length",
  model_context_window_exceeded: "length",
  tool_calls: "tool_calls",
  tool_use: "tool_calls",
  function_call: "tool_calls",
  content_filter: "content_filter",
  refusal: "content_filter",
  safety: "content_filter",
  recitation: "content_filter",
  error: "error",
} satisfies Record<string, FinishReason>));

/** Normalises a provider's finish reason; anything unknown that still ended the answer counts as `stop`. */
export function normaliseFinishReason(native: string | null | undefined): FinishReason {
  if (!native) return "stop";
  return NORMALISED.get(native) ?? NORMALISED.get(native.toLowerCase()) ?? "stop";
}
