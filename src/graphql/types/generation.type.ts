import { Field, ID, Int, ObjectType } from "type-graphql";
import type { Money } from "../../billing/money.js";
import type { ApiType, FinishReason, TokenUsage } from "../../core/types.js";
import { MoneyScalar } from "../money.scalar.js";
import type { GenerationRow } from "../records/generations.js";
import { ConnectionType } from "./connection.type.js";
import { ApiTypeEnum, FinishReasonEnum } from "./enums.type.js";

@ObjectType("Usage", { description: "Tokens of one answer and what it cost." })
export class UsageType {
  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;

  @Field(() => Int, { description: "Reasoning tokens (part of completionTokens)." })
  reasoningTokens!: number;

  @Field(() => Int, { description: "Prompt tokens read from the provider's cache." })
  cachedTokens!: number;

  @Field(() => Int)
  cacheWriteTokens!: number;

  @Field(() => MoneyScalar, { description: "The charge in USD, exact." })
  cost!: Money;

  @Field(() => Boolean, { description: "The provider reported no usage, so Switchyard counted the tokens." })
  countedBySwitchyard!: boolean;

  static from(usage: TokenUsage, cost: Money, counted: boolean): UsageType {
    return Object.assign(new UsageType(), {
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      totalTokens: usage.promptTokens + usage.completionTokens,
      reasoningTokens: usage.reasoningTokens,
      cachedTokens: usage.cachedTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      cost,
      countedBySwitchyard: counted,
    });
  }
}

@ObjectType("ProviderAttempt", { description: "One upstream attempt of a generation (REST `provider_responses`)." })
export class ProviderAttemptType {
  @Field(() => String, { description: "Provider slug." })
  provider!: string;

  @Field(() => String)
  providerName!: string;

  @Field(() => String)
  model!: string;

  @Field(() => String)
  endpoint!: string;

  @Field(() => Int, { nullable: true, description: "Upstream HTTP status; null for a connection failure or timeout." })
  status!: number | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => Int)
  latencyMs!: number;
}

/**
 * The usage record of one request: metadata only. `model`, `provider` and `key` are resolved from the catalog and a
 * batching loader (see the generation resolver).
 */
@ObjectType("Generation", { description: "The usage record of one request: model, provider, key, tokens, cost and timings." })
export class GenerationType {
  @Field(() => ID, { description: "`gen-…`, as in REST responses and `X-Generation-Id`." })
  id!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, { description: "The model that answered, with its static variant (`author/name:free`)." })
  modelId!: string;

  @Field(() => String, { description: "Slug of the provider that answered." })
  providerSlug!: string;

  @Field(() => String, { nullable: true, description: "The key that made the request; null for a dashboard session." })
  keyHash!: string | null;

  @Field(() => ApiTypeEnum)
  apiType!: ApiType;

  @Field(() => Boolean)
  streamed!: boolean;

  @Field(() => Boolean, { description: "The client went away; what had been generated was billed." })
  cancelled!: boolean;

  @Field(() => FinishReasonEnum, { nullable: true })
  finishReason!: FinishReason | null;

  @Field(() => String, { nullable: true, description: "The finish reason as the provider gave it." })
  nativeFinishReason!: string | null;

  @Field(() => UsageType)
  usage!: UsageType;

  @Field(() => MoneyScalar, { description: "Same as `usage.cost`." })
  cost!: Money;

  @Field(() => Int, { nullable: true, description: "ms from the request to the first token." })
  latencyMs!: number | null;

  @Field(() => Int, { nullable: true, description: "ms from the first token to the end of the answer." })
  generationTimeMs!: number | null;

  /** The owning account, for field-level checks; not a GraphQL field. */
  accountId!: string;
  /** Provider attempts as stored; rendered by the `attempts` field resolver (which names the providers). */
  storedAttempts!: GenerationRow["attempts"];

  static from(row: GenerationRow): GenerationType {
    return Object.assign(new GenerationType(), {
      id: row.id,
      createdAt: row.created_at,
      modelId: row.model,
      providerSlug: row.provider,
      keyHash: row.key_hash,
      apiType: row.api_type as ApiType,
      streamed: row.streamed,
      cancelled: row.cancelled,
      finishReason: row.finish_reason as FinishReason | null,
      nativeFinishReason: row.native_finish_reason,
      usage: UsageType.from(
        {
          promptTokens: row.tokens_prompt,
          completionTokens: row.tokens_completion,
          reasoningTokens: row.tokens_reasoning,
          cachedTokens: row.tokens_cached,
          cacheWriteTokens: row.tokens_cache_write,
        },
        row.cost,
        row.usage_counted,
      ),
      cost: row.cost,
      latencyMs: row.latency_ms,
      generationTimeMs: row.generation_time_ms,
      accountId: row.account_id,
      storedAttempts: row.attempts,
    });
  }
}

export const GenerationConnection = ConnectionType("Generation", GenerationType);
