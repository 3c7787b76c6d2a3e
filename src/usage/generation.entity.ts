import { BigIntType, Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { Account } from "../accounts/account.entity.js";
import type { AttemptSummary } from "../core/types.js";

/** One provider attempt of a generation, stored as the router summarised it and reported in `provider_responses`. */

/**
 * The `generation` columns the read APIs (REST `/generation`, GraphQL) select, as `pg` returns them (snake_case,
 * int8 as bigint). The prompt and completion text are never among them.
 */
export interface GenerationMetadataRow {
  id: string;
  key_hash: string | null;
  model: string;
  provider: string;
  api_type: string;
  streamed: boolean;
  cancelled: boolean;
  finish_reason: string | null;
  native_finish_reason: string | null;
  tokens_prompt: number;
  tokens_completion: number;
  tokens_reasoning: number;
  tokens_cached: number;
  tokens_cache_write: number;
  usage_counted: boolean;
  cost: bigint;
  latency_ms: number | null;
  generation_time_ms: number | null;
  attempts: AttemptSummary[];
  created_at: Date;
}

/** The columns of `GenerationMetadataRow`, for a `select` list. */
export const GENERATION_METADATA_COLUMNS = `id, key_hash, model, provider, api_type, streamed, cancelled, finish_reason,
  native_finish_reason, tokens_prompt, tokens_completion, tokens_reasoning, tokens_cached, tokens_cache_write, usage_counted,
  cost, latency_ms, generation_time_ms, attempts, created_at`;

/**
 * The usage record of one request: metadata only (times, model, provider, tokens, cost, key, latency). The prompt and
 * completion text are stored only when the account opted in to prompt logging.
 */
@Entity({ tableName: "generation" })
@Index({ properties: ["account", "createdAt"] })
@Index({ properties: ["keyHash", "createdAt"] })
export class Generation {
  [OptionalProps]?:
    | "keyHash"
    | "upstreamId"
    | "finishReason"
    | "nativeFinishReason"
    | "tokensReasoning"
    | "tokensCached"
    | "tokensCacheWrite"
    | "usageCounted"
    | "latencyMs"
    | "generationTimeMs"
    | "attempts"
    | "numSearchResults"
    | "promptText"
    | "completionText"
    | "createdAt";

  /** `gen-<unix seconds>-<random>`. */
  @PrimaryKey({ type: "text" })
  id!: string;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Account;

  @Property({ type: "character", length: 64, nullable: true })
  keyHash: string | null = null;

  /** The model that answered, with its variant (`author/name:free`). */
  @Property({ type: "text" })
  model!: string;

  @Property({ type: "text" })
  provider!: string;

  @Property({ type: "text" })
  endpointId!: string;

  @Property({ type: "text", nullable: true })
  upstreamId: string | null = null;

  /** `chat` or `completions`. */
  @Property({ type: "text" })
  apiType!: string;

  @Property({ type: "boolean" })
  streamed!: boolean;

  @Property({ type: "boolean" })
  cancelled!: boolean;

  @Property({ type: "text", nullable: true })
  finishReason: string | null = null;

  @Property({ type: "text", nullable: true })
  nativeFinishReason: string | null = null;

  @Property({ type: "integer" })
  tokensPrompt!: number;

  @Property({ type: "integer" })
  tokensCompletion!: number;

  @Property({ type: "integer", defaultRaw: "0" })
  tokensReasoning: number = 0;

  @Property({ type: "integer", defaultRaw: "0" })
  tokensCached: number = 0;

  @Property({ type: "integer", defaultRaw: "0" })
  tokensCacheWrite: number = 0;

  /** True when the provider reported no usage and Switchyard counted the tokens itself. */
  @Property({ type: "boolean", defaultRaw: "false" })
  usageCounted: boolean = false;

  /** Picodollars charged. */
  @Property({ type: new BigIntType("bigint") })
  cost!: bigint;

  /** Time to first token (or to the whole answer when not streamed), in ms since the request arrived. */
  @Property({ type: "integer", nullable: true })
  latencyMs: number | null = null;

  /** Time from the first token to the end of the answer, in ms. */
  @Property({ type: "integer", nullable: true })
  generationTimeMs: number | null = null;

  @Property({ type: "jsonb", defaultRaw: "'[]'" })
  attempts: AttemptSummary[] = [];

  @Property({ type: "integer", defaultRaw: "0" })
  numSearchResults: number = 0;

  @Property({ type: "text", nullable: true, lazy: true })
  promptText: string | null = null;

  @Property({ type: "text", nullable: true, lazy: true })
  completionText: string | null = null;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();
}
