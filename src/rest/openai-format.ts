import { usdToNumber } from "../billing/money.js";
import type { ApiType, CompletionResult, OutputChunk } from "../core/types.js";
import { errorBody, type AppError } from "../errors.js";

/**
 * Rendering runs in the OpenAI wire format, with OpenRouter's additions (`provider`, `native_finish_reason`,
 * `usage.cost`). Chat and legacy text completions differ only in the object names and where the text goes.
 */

function usageJson(result: CompletionResult): Record<string, unknown> {
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

/**
 * The server-sent chunks of one streamed run, as JSON text. The fields every chunk repeats (id, object, created, model,
 * provider) are rendered once per answer, so a chunk costs one `JSON.stringify` of its delta; the bytes are those of
 * `JSON.stringify` on the chunk object, field for field.
 */
export class ChunkWriter {
  private head: string;

  constructor(
    private readonly apiType: ApiType,
    private readonly id: string,
    private readonly created: number,
  ) {
    this.head = this.render("", "");
  }

  /** The answering model and provider are known: every later chunk names them. */
  startAnswer(model: string, provider: string): void {
    this.head = this.render(model, provider);
  }

  chunk(chunk: OutputChunk): string {
    const finish = `"finish_reason":${stringOrNull(chunk.finishReason)},"native_finish_reason":${stringOrNull(chunk.nativeFinishReason)},"logprobs":null}]}`;
    if (this.apiType === "chat") return `${this.head}"choices":[{"index":0,"delta":${JSON.stringify(chunk.delta)},${finish}`;
    return `${this.head}"choices":[{"index":0,"text":${JSON.stringify(chunk.delta.content ?? "")},${finish}`;
  }

  /** The final chunk: usage with cost, and no choices. */
  usage(result: CompletionResult): string {
    return `${this.head}"choices":[],"usage":${JSON.stringify(usageJson(result))}}`;
  }

  /** An in-band failure after output started: a top-level `error` and `finish_reason: "error"`. */
  error(error: AppError): string {
    const choice = this.apiType === "chat" ? `"delta":{"content":""}` : `"text":""`;
    return `${this.head}"error":${JSON.stringify(errorBody(error).error)},"choices":[{"index":0,${choice},"finish_reason":"error","native_finish_reason":null,"logprobs":null}]}`;
  }

  /** `{"id":…,"system_fingerprint":null,` — the chunk up to its own fields. */
  private render(model: string, provider: string): string {
    const object = this.apiType === "chat" ? "chat.completion.chunk" : "text_completion";
    const head = JSON.stringify({ id: this.id, object, created: this.created, model, provider, system_fingerprint: null });
    return `${head.slice(0, -1)},`;
  }
}

function stringOrNull(value: string | null): string {
  return value === null ? "null" : JSON.stringify(value);
}
