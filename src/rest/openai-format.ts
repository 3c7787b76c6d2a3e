import { usdToNumber } from "../billing/money.js";
import type { ApiType, CompletionResult, OutputChunk } from "../core/types.js";
import { errorBody, type AppError } from "../errors.js";

/**
 * Rendering runs in the OpenAI wire format, with OpenRouter's additions (`provider`, `native_finish_reason`,
 * `usage.cost`). Chat and legacy text completions differ only in the object names and where the text goes.
 */

export interface ChunkHeader {
  id: string;
  created: number;
  model: string;
  provider: string;
}

export function usageJson(result: CompletionResult): Record<string, unknown> {
  const u = result.usage;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens, cache_write_tokens: u.cacheWriteTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
    cost: usdToNumber(result.cost),
    is_byok: false,
    cost_details: { upstream_inference_cost: null },
  };
}

export function completionJson(apiType: ApiType, result: CompletionResult): Record<string, unknown> {
  const choice: Record<string, unknown> = {
    index: 0,
    logprobs: null,
    finish_reason: result.finishReason,
    native_finish_reason: result.nativeFinishReason,
  };
  if (apiType === "chat") {
    const message: Record<string, unknown> = {
      role: "assistant",
      content: result.toolCalls.length > 0 && result.content === "" ? null : result.content,
      refusal: null,
      reasoning: result.reasoning || null,
    };
    if (result.toolCalls.length > 0) message.tool_calls = result.toolCalls;
    if (result.annotations.length > 0) message.annotations = result.annotations;
    choice.message = message;
  } else {
    choice.text = result.content;
  }
  if (result.error) choice.error = errorBody(result.error).error;
  return {
    id: result.id,
    object: apiType === "chat" ? "chat.completion" : "text_completion",
    created: result.created,
    model: result.model,
    provider: result.providerName,
    system_fingerprint: null,
    choices: [choice],
    usage: usageJson(result),
  };
}

export function chunkJson(apiType: ApiType, header: ChunkHeader, chunk: OutputChunk): Record<string, unknown> {
  const choice: Record<string, unknown> =
    apiType === "chat"
      ? { index: 0, delta: chunk.delta, finish_reason: chunk.finishReason, native_finish_reason: chunk.nativeFinishReason, logprobs: null }
      : { index: 0, text: chunk.delta.content ?? "", finish_reason: chunk.finishReason, native_finish_reason: chunk.nativeFinishReason, logprobs: null };
  return { ...frame(apiType, header), choices: [choice] };
}

/** The final chunk: usage with cost, and no choices. */
export function usageChunkJson(apiType: ApiType, header: ChunkHeader, result: CompletionResult): Record<string, unknown> {
  return { ...frame(apiType, header), choices: [], usage: usageJson(result) };
}

/** An in-band failure after output started: a top-level `error` and `finish_reason: "error"`. */
export function errorChunkJson(apiType: ApiType, header: ChunkHeader, error: AppError): Record<string, unknown> {
  const choice =
    apiType === "chat"
      ? { index: 0, delta: { content: "" }, finish_reason: "error", native_finish_reason: null, logprobs: null }
      : { index: 0, text: "", finish_reason: "error", native_finish_reason: null, logprobs: null };
  return { ...frame(apiType, header), error: errorBody(error).error, choices: [choice] };
}

function frame(apiType: ApiType, header: ChunkHeader): Record<string, unknown> {
  return {
    id: header.id,
    object: apiType === "chat" ? "chat.completion.chunk" : "text_completion",
    created: header.created,
    model: header.model,
    provider: header.provider,
    system_fingerprint: null,
  };
}
