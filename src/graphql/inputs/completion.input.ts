import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, InputType, Int } from "type-graphql";
import { formatUsd, type Money } from "../../billing/money.js";
import type { Role, Sort } from "../../core/types.js";
import { AppError } from "../../errors.js";
import { MoneyScalar } from "../money.scalar.js";
import { ChatRoleEnum, ContentPartTypeEnum, DataCollectionEnum, ProviderSortEnum, ToolChoiceModeEnum } from "../types/enums.type.js";

/*
 * The chat input of `createCompletion` and `completionStream`: the REST body in GraphQL's camelCase. It is mapped back
 * to the OpenAI-shaped body (`completionBody`) and validated by the same `parseCompletionRequest` as
 * `POST /chat/completions`, so both front doors accept, reject and route the same requests.
 *
 * The subscription receives its arguments as plain objects, so the mapping reads these classes as data only.
 */

@InputType("ContentPartInput", { description: "One part of a message's content: text, or an image by URL (or data: URL)." })
export class ContentPartInput {
  @Field(() => ContentPartTypeEnum)
  type!: "text" | "image_url";

  @Field(() => String, { nullable: true, description: "For TEXT." })
  text?: string | null;

  @Field(() => String, { nullable: true, description: "For IMAGE_URL: an https: or data: URL." })
  imageUrl?: string | null;

  @Field(() => String, { nullable: true, description: "For IMAGE_URL: low, high or auto." })
  detail?: string | null;
}

@InputType("ToolCallInput", { description: "A tool call an earlier assistant message made." })
export class ToolCallInput {
  @Field(() => String)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "The arguments as JSON text." })
  arguments!: string;
}

@InputType("ChatMessageInput", { description: "A chat message: `content` text, or `parts` (text and images)." })
export class ChatMessageInput {
  @Field(() => ChatRoleEnum)
  role!: Role;

  @Field(() => String, { nullable: true })
  content?: string | null;

  @Field(() => [ContentPartInput], { nullable: true, description: "Content as parts, instead of `content`." })
  parts?: ContentPartInput[] | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true, description: "For TOOL messages: the call this result answers." })
  toolCallId?: string | null;

  @Field(() => [ToolCallInput], { nullable: true, description: "For ASSISTANT messages: the calls it made." })
  toolCalls?: ToolCallInput[] | null;
}

@InputType("ToolInput", { description: "A function the model may call." })
export class ToolInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "JSON Schema of the arguments." })
  parameters?: Record<string, unknown> | null;
}

@InputType("ToolChoiceInput")
export class ToolChoiceInput {
  @Field(() => ToolChoiceModeEnum)
  mode!: "none" | "auto" | "required" | "function";

  @Field(() => String, { nullable: true, description: "With FUNCTION: the function to call." })
  function?: string | null;
}

@InputType("MaxPriceInput", { description: "Drop endpoints dearer than this." })
export class MaxPriceInput {
  @Field(() => MoneyScalar, { nullable: true, description: "USD per million prompt tokens." })
  prompt?: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "USD per million completion tokens." })
  completion?: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "USD per request." })
  request?: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "USD per image." })
  image?: Money | null;
}

@InputType("ProviderPreferencesInput", { description: "Provider routing, as REST's `provider` object." })
export class ProviderPreferencesInput {
  @Field(() => [String], { nullable: true, description: "Provider slugs (or `slug/subTag`) to try first, in order." })
  order?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: "Default true; false tries only `order` (or the first planned endpoint)." })
  allowFallbacks?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  requireParameters?: boolean | null;

  @Field(() => DataCollectionEnum, { nullable: true })
  dataCollection?: "allow" | "deny" | null;

  @Field(() => Boolean, { nullable: true, description: "Only endpoints that retain no prompts." })
  zdr?: boolean | null;

  @Field(() => [String], { nullable: true })
  only?: string[] | null;

  @Field(() => [String], { nullable: true })
  ignore?: string[] | null;

  @Field(() => [String], { nullable: true })
  quantizations?: string[] | null;

  @Field(() => ProviderSortEnum, { nullable: true })
  sort?: Sort | null;

  @Field(() => MaxPriceInput, { nullable: true })
  maxPrice?: MaxPriceInput | null;
}

@InputType("CompletionInput", { description: "A chat completion request, as the REST body (`POST /chat/completions`) in camelCase." })
export class CompletionInput {
  @Field(() => String, { nullable: true, description: "The model id (with variant suffixes); or use `models`." })
  model?: string | null;

  @Field(() => [String], { nullable: true, description: "Fall-back models, tried in order after `model` (3 ids at most in all)." })
  models?: string[] | null;

  @Field(() => [ChatMessageInput])
  messages!: ChatMessageInput[];

  @Field(() => Int, { nullable: true })
  maxTokens?: number | null;

  @Field(() => Float, { nullable: true })
  temperature?: number | null;

  @Field(() => Float, { nullable: true })
  topP?: number | null;

  @Field(() => Int, { nullable: true })
  topK?: number | null;

  @Field(() => Float, { nullable: true })
  minP?: number | null;

  @Field(() => Float, { nullable: true })
  topA?: number | null;

  @Field(() => Float, { nullable: true })
  frequencyPenalty?: number | null;

  @Field(() => Float, { nullable: true })
  presencePenalty?: number | null;

  @Field(() => Float, { nullable: true })
  repetitionPenalty?: number | null;

  @Field(() => Int, { nullable: true })
  seed?: number | null;

  @Field(() => [String], { nullable: true })
  stop?: string[] | null;

  @Field(() => [ToolInput], { nullable: true })
  tools?: ToolInput[] | null;

  @Field(() => ToolChoiceInput, { nullable: true })
  toolChoice?: ToolChoiceInput | null;

  @Field(() => Boolean, { nullable: true })
  parallelToolCalls?: boolean | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "As REST `response_format`, e.g. `{type: \"json_object\"}`." })
  responseFormat?: Record<string, unknown> | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "As REST `reasoning`, e.g. `{effort: \"high\"}`." })
  reasoning?: Record<string, unknown> | null;

  @Field(() => ProviderPreferencesInput, { nullable: true })
  provider?: ProviderPreferencesInput | null;

  @Field(() => String, { nullable: true, description: "Your end user's id, passed to the provider." })
  user?: string | null;

  @Field(() => String, { nullable: true })
  sessionId?: string | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: "Any other request fields, as in the REST body (snake_case): passed through to the provider like there.",
  })
  extra?: Record<string, unknown> | null;
}

/** Fields that `extra` may not set: they have their own input fields, or steer the front door itself. */
const RESERVED = new Set(["model", "models", "messages", "prompt", "stream", "stream_options", "provider"]);

/**
 * The OpenAI-shaped body of an input (`stream` as the front door decides), for `parseCompletionRequest`. Absent and
 * null fields are left out, as a REST client would.
 */
export function completionBody(input: CompletionInput, stream: boolean): Record<string, unknown> {
  const body = compact({
    model: input.model,
    models: input.models,
    messages: input.messages.map(messageBody),
    max_tokens: input.maxTokens,
    temperature: input.temperature,
    top_p: input.topP,
    top_k: input.topK,
    min_p: input.minP,
    top_a: input.topA,
    frequency_penalty: input.frequencyPenalty,
    presence_penalty: input.presencePenalty,
    repetition_penalty: input.repetitionPenalty,
    seed: input.seed,
    stop: input.stop,
    tools: input.tools?.map((tool) => ({
      type: "function",
      function: compact({ name: tool.name, description: tool.description, parameters: tool.parameters }),
    })),
    tool_choice: input.toolChoice ? toolChoiceBody(input.toolChoice) : undefined,
    parallel_tool_calls: input.parallelToolCalls,
    response_format: input.responseFormat,
    reasoning: input.reasoning,
    provider: input.provider ? providerBody(input.provider) : undefined,
    user: input.user,
    session_id: input.sessionId,
  });
  for (const [name, value] of Object.entries(input.extra ?? {})) {
    if (RESERVED.has(name) || name in body) {
      throw new AppError("invalid_request", `extra.${name}: set it with its own field of CompletionInput.`, { metadata: { param: `extra.${name}` } });
    }
    body[name] = value;
  }
  body.stream = stream;
  return body;
}

function messageBody(message: ChatMessageInput, index: number): Record<string, unknown> {
  const hasContent = message.content !== undefined && message.content !== null;
  if (hasContent && message.parts) {
    throw new AppError("invalid_request", `messages.${index}: give content or parts, not both.`, { metadata: { param: `messages.${index}` } });
  }
  const content = message.parts
    ? message.parts.map((part) =>
        part.type === "image_url"
          ? { type: "image_url", image_url: compact({ url: part.imageUrl, detail: part.detail }) }
          : { type: "text", text: part.text ?? undefined },
      )
    : hasContent
      ? message.content
      : message.role === "assistant"
        ? null
        : undefined;
  return compact({
    role: message.role,
    content,
    name: message.name,
    tool_call_id: message.toolCallId,
    tool_calls: message.toolCalls?.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } })),
  });
}

function toolChoiceBody(choice: ToolChoiceInput): unknown {
  if (choice.mode !== "function") return choice.mode;
  if (!choice.function) throw new AppError("invalid_request", "toolChoice.function: required with mode FUNCTION.", { metadata: { param: "toolChoice.function" } });
  return { type: "function", function: { name: choice.function } };
}

function providerBody(p: ProviderPreferencesInput): Record<string, unknown> {
  const usd = (amount: Money | null | undefined) => (amount === null || amount === undefined ? undefined : formatUsd(amount));
  return compact({
    order: p.order,
    allow_fallbacks: p.allowFallbacks,
    require_parameters: p.requireParameters,
    data_collection: p.dataCollection,
    zdr: p.zdr,
    only: p.only,
    ignore: p.ignore,
    quantizations: p.quantizations,
    sort: p.sort,
    max_price: p.maxPrice
      ? compact({ prompt: usd(p.maxPrice.prompt), completion: usd(p.maxPrice.completion), request: usd(p.maxPrice.request), image: usd(p.maxPrice.image) })
      : undefined,
  });
}

/** The object without its undefined and null fields. */
function compact(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}
