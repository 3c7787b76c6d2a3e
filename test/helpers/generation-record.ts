import type { GenerationRecord } from "../../src/core/ports.js";

/** A complete generation record for tests that settle by hand: a finished chat answer of 10 + 5 tokens, unless overridden. */
export function generationRecord(
  fields: Pick<GenerationRecord, "id" | "accountId" | "keyHash" | "cost" | "endpointId"> & Partial<GenerationRecord>,
): GenerationRecord {
  return {
    model: "test/chat",
    provider: "alpha",
    upstreamId: null,
    apiType: "chat",
    streamed: false,
    cancelled: false,
    finishReason: "stop",
    nativeFinishReason: "stop",
    usage: { promptTokens: 10, completionTokens: 5, reasoningTokens: 1, cachedTokens: 0, cacheWriteTokens: 0 },
    usageCounted: false,
    latencyMs: 1,
    generationTimeMs: 1,
    attempts: [],
    numSearchResults: 0,
    promptText: null,
    completionText: null,
    createdAt: new Date(),
    ...fields,
  };
}
