import { GraphQLJSONObject } from "graphql-scalars";
import { Field, ID, Int, ObjectType } from "type-graphql";
import type { CompletionResult, Delta, FinishReason, ToolCall } from "../../core/types.js";
import type { AppError } from "../../errors.js";
import { FinishReasonEnum } from "./enums.type.js";
import { UsageType } from "./generation.type.js";

@ObjectType("CompletionError", { description: "Why an answer failed, from the error registry (as REST `error`)." })
export class CompletionErrorType {
  @Field(() => String, { description: "The registry's GraphQL code: BAD_GATEWAY, TIMEOUT, SERVICE_UNAVAILABLE…" })
  code!: string;

  @Field(() => String, { description: "The registry's stable error type: provider_error, timeout… (REST `metadata.error_type`)." })
  type!: string;

  @Field(() => Int, { description: "The HTTP status REST would answer with." })
  status!: number;

  @Field(() => String)
  message!: string;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "Client-safe details: provider_name, provider_code…" })
  metadata!: Record<string, unknown> | null;

  static from(error: AppError): CompletionErrorType {
    return Object.assign(new CompletionErrorType(), {
      code: error.spec.graphql,
      type: error.code,
      status: error.status,
      message: error.message,
      metadata: error.metadata ?? null,
    });
  }
}

@ObjectType("ToolCall", { description: "A function call the model asked for." })
export class ToolCallType {
  @Field(() => String)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "The arguments as JSON text, as the model wrote them." })
  arguments!: string;

  static from(call: ToolCall): ToolCallType {
    return Object.assign(new ToolCallType(), { id: call.id, name: call.function.name, arguments: call.function.arguments });
  }
}

@ObjectType("ToolCallDelta", { description: "A piece of a tool call: the first piece of each call has its id and name." })
export class ToolCallDeltaType {
  @Field(() => Int, { description: "Which call of the answer this piece belongs to." })
  index!: number;

  @Field(() => String, { nullable: true })
  id!: string | null;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true, description: "More JSON text of the arguments." })
  arguments!: string | null;
}

@ObjectType("CompletionDelta", { description: "New output: text, reasoning, or pieces of tool calls." })
export class CompletionDeltaType {
  @Field(() => String, { nullable: true })
  content!: string | null;

  @Field(() => String, { nullable: true })
  reasoning!: string | null;

  @Field(() => [ToolCallDeltaType], { nullable: true })
  toolCalls!: ToolCallDeltaType[] | null;

  /** The delta of a chunk, or null when it carries no output (a bare role or finish marker). */
  static from(delta: Delta): CompletionDeltaType | null {
    const content = delta.content ? delta.content : null;
    const reasoning = delta.reasoning ? delta.reasoning : null;
    const toolCalls = delta.tool_calls?.length
      ? delta.tool_calls.map((call) =>
          Object.assign(new ToolCallDeltaType(), {
            index: call.index,
            id: call.id ?? null,
            name: call.function?.name ?? null,
            arguments: call.function?.arguments ?? null,
          }),
        )
      : null;
    if (content === null && reasoning === null && toolCalls === null) return null;
    return Object.assign(new CompletionDeltaType(), { content, reasoning, toolCalls });
  }
}

@ObjectType("Completion", { description: "A settled completion: the answer, its usage and cost, and the generation record." })
export class CompletionType {
  @Field(() => ID, { description: "The generation id (`gen-…`)." })
  id!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, { description: "The model that answered (with fall-backs, maybe not the first one asked for)." })
  model!: string;

  @Field(() => String, { description: "The name of the provider that answered." })
  provider!: string;

  @Field(() => String)
  providerSlug!: string;

  @Field(() => String)
  content!: string;

  @Field(() => String, { nullable: true })
  reasoning!: string | null;

  @Field(() => [ToolCallType])
  toolCalls!: ToolCallType[];

  @Field(() => FinishReasonEnum)
  finishReason!: FinishReason;

  @Field(() => String, { nullable: true })
  nativeFinishReason!: string | null;

  @Field(() => UsageType)
  usage!: UsageType;

  @Field(() => Boolean)
  cancelled!: boolean;

  @Field(() => CompletionErrorType, { nullable: true, description: "Set when the answer failed after output had started (it is partial)." })
  error!: CompletionErrorType | null;

  /** The account that asked, for field-level checks; not a GraphQL field. */
  accountId!: string;

  static from(result: CompletionResult, accountId: string): CompletionType {
    return Object.assign(new CompletionType(), {
      accountId,
      id: result.id,
      createdAt: new Date(result.created * 1000),
      model: result.model,
      provider: result.providerName,
      providerSlug: result.providerSlug,
      content: result.content,
      reasoning: result.reasoning || null,
      toolCalls: result.toolCalls.map(ToolCallType.from),
      finishReason: result.finishReason,
      nativeFinishReason: result.nativeFinishReason,
      usage: UsageType.from(result.usage, result.cost, result.usageCounted),
      cancelled: result.cancelled,
      error: result.error ? CompletionErrorType.from(result.error) : null,
    });
  }
}

@ObjectType("CompletionEvent", {
  description:
    "One event of `completionStream`: output deltas, then one final event (`done: true`) with the finish reason, usage " +
    "and cost — or, when the answer failed, `finishReason: ERROR` and `error`.",
})
export class CompletionEventType {
  @Field(() => ID, { description: "The generation id (`gen-…`)." })
  id!: string;

  @Field(() => String, { nullable: true, description: "The model answering; null only in an error event before any output." })
  model!: string | null;

  @Field(() => String, { nullable: true, description: "The name of the provider answering." })
  provider!: string | null;

  @Field(() => CompletionDeltaType, { nullable: true, description: "New output; null on the final event." })
  delta!: CompletionDeltaType | null;

  @Field(() => FinishReasonEnum, { nullable: true, description: "Set on the final event only." })
  finishReason!: FinishReason | null;

  @Field(() => String, { nullable: true })
  nativeFinishReason!: string | null;

  @Field(() => UsageType, { nullable: true, description: "Set on the final event when an answer was generated (and billed)." })
  usage!: UsageType | null;

  @Field(() => CompletionErrorType, { nullable: true, description: "Set on the final event when the answer failed." })
  error!: CompletionErrorType | null;

  @Field(() => Boolean, { description: "True on the final event." })
  done!: boolean;
}
