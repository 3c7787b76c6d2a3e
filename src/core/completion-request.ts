import { z } from "zod";
import { parseUsd, usdFromNumber, type Money } from "../billing/money.js";
import { AppError } from "../errors.js";
import { validationError } from "../validation.js";
import { perTokenPrice } from "./pricing.js";
import { REASONING_EFFORTS } from "./reasoning.js";
import { SORTS, type ApiType, type ChatMessage, type CompletionRequest, type ProviderPreferences, type WebSearchSettings } from "./types.js";
import { DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS } from "./web-search.js";

/**
 * Validation of OpenAI-shaped completion requests (the bodies of `POST /chat/completions` and `POST /completions`, and
 * the GraphQL completion input, which both front doors map to this shape) into the canonical request. Malformed input
 * is a 400 whose message names the field, what was expected and what arrived. Fields Switchyard does not know pass
 * through to the provider untouched; routing fields (`model`, `models`, `provider`, `route`, …) are consumed here.
 */

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.looseObject({ url: z.string().min(1), detail: z.string().optional() }),
});
const otherPart = z.looseObject({ type: z.string() }).refine((p) => p.type !== "text" && p.type !== "image_url", {
  message: "a text part needs `text` and an image part needs `image_url.url`",
});
const contentPart = z.union([textPart, imagePart, otherPart]);

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal("function").default("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion("role", [
  z.looseObject({ role: z.enum(["system", "developer"]), content: z.union([z.string(), z.array(contentPart)]), name: z.string().optional() }),
  z.looseObject({ role: z.literal("user"), content: z.union([z.string(), z.array(contentPart)]), name: z.string().optional() }),
  z.looseObject({
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
    reasoning: z.string().nullish(),
  }),
  z.looseObject({ role: z.literal("tool"), content: z.union([z.string(), z.array(contentPart)]), tool_call_id: z.string() }),
]);

const tool = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().regex(NAME, { message: "tool names are 1-64 characters of a-z, A-Z, 0-9, _ and -" }),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** A USD amount (per request, per image, or per million tokens) as a JSON number or a decimal string. */
const usd = z.union([z.number().nonnegative(), z.string()]);

const providerSchema = z
  .looseObject({
    order: z.array(z.string()).optional(),
    allow_fallbacks: z.boolean().optional(),
    require_parameters: z.boolean().optional(),
    data_collection: z.enum(["allow", "deny"]).optional(),
    zdr: z.boolean().optional(),
    only: z.array(z.string()).optional(),
    ignore: z.array(z.string()).optional(),
    quantizations: z.array(z.string()).optional(),
    sort: z.union([z.enum(SORTS), z.looseObject({ by: z.enum(SORTS), partition: z.enum(["model", "none"]).optional() })]).optional(),
    max_price: z
      .looseObject({ prompt: usd.optional(), completion: usd.optional(), request: usd.optional(), image: usd.optional() })
      .optional(),
  })
  .optional();

/**
 * `plugins`: the web plugin is Switchyard's (`{id: "web", max_results?, search_prompt?, enabled?}`); other plugin ids
 * (OpenRouter's `file-parser`, `response-healing`…) are accepted and have no effect.
 */
const webPlugin = z.looseObject({
  id: z.literal("web"),
  enabled: z.boolean().optional(),
  max_results: z.number().int().min(1).max(MAX_SEARCH_RESULTS).optional(),
  search_prompt: z.string().min(1).max(10_000).optional(),
});
const plugins = z.array(z.union([webPlugin, z.looseObject({ id: z.string().refine((id) => id !== "web") })])).optional();

const reasoningEffort = z.enum(REASONING_EFFORTS);
const reasoning = z
  .looseObject({
    effort: reasoningEffort.optional(),
    max_tokens: z.number().int().positive().optional(),
    exclude: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .nullish();

const common = {
  model: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).optional(),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  top_a: z.number().min(0).max(1).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  repetition_penalty: z.number().gt(0).max(2).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4, { message: "at most 4 stop sequences" })]).nullish(),
  n: z.number().int().min(1).max(1, { message: "only n = 1 is supported" }).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  provider: providerSchema,
  route: z.enum(["fallback", "sort"]).optional(),
  user: z.string().optional(),
  session_id: z.string().max(256).optional(),
  plugins,
  reasoning,
  reasoning_effort: reasoningEffort.nullish(),
  include_reasoning: z.boolean().nullish(),
};

const chatSchema = z.looseObject({
  ...common,
  messages: z.array(message).min(1, { message: "at least one message is required" }).optional(),
  prompt: z.string().optional(),
  tools: z.array(tool).optional(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) })])
    .optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: z
    .union([
      z.looseObject({ type: z.literal("text") }),
      z.looseObject({ type: z.literal("json_object") }),
      z.looseObject({
        type: z.literal("json_schema"),
        json_schema: z.looseObject({ name: z.string().regex(NAME), schema: z.record(z.string(), z.unknown()).optional() }),
      }),
    ])
    .optional(),
});

const legacySchema = z.looseObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { message: "exactly one prompt is supported" })]),
});

/** Request fields that steer Switchyard itself and are never forwarded upstream. */
const ROUTING_FIELDS = new Set([
  "model",
  "models",
  "messages",
  "prompt",
  "stream",
  "stream_options",
  "provider",
  "route",
  "usage",
  "transforms",
  "plugins",
  "preset",
  "debug",
  "session_id",
  "n",
]);

export function parseCompletionRequest(body: unknown, apiType: ApiType): CompletionRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AppError("invalid_request", "The request body must be a JSON object.");
  }
  const parsed = (apiType === "chat" ? chatSchema : legacySchema).safeParse(body);
  if (!parsed.success) throw validationError(parsed.error, body);
  const input = parsed.data as z.infer<typeof chatSchema> & { prompt?: string | string[] };

  let messages: ChatMessage[];
  if (apiType === "completions" || (input.messages === undefined && input.prompt !== undefined)) {
    const prompt = Array.isArray(input.prompt) ? input.prompt[0] : input.prompt;
    messages = [{ role: "user", content: prompt ?? "" }];
  } else if (input.messages) {
    // An assistant message may leave out `content` (it only called tools): canonically that is null.
    messages = (input.messages as ChatMessage[]).map((m) => (m.content === undefined ? { ...m, content: null } : m));
  } else {
    throw new AppError("invalid_request", "`messages` is required (or `prompt`).", { metadata: { param: "messages" } });
  }

  const models = [...(input.model ? [input.model] : []), ...(input.models ?? [])].filter((id, i, all) => all.indexOf(id) === i);
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (!ROUTING_FIELDS.has(name) && value !== undefined) params[name] = value;
  }
  return {
    apiType,
    models,
    messages,
    stream: input.stream ?? false,
    maxTokens: input.max_completion_tokens ?? input.max_tokens ?? null,
    provider: providerPreferences(input.provider, input.route),
    webSearch: webSearchSettings(input.plugins),
    params,
  };
}

/** The web plugin's settings; "off" when it is disabled; null without a web plugin. */
function webSearchSettings(list: z.infer<typeof plugins>): WebSearchSettings | "off" | null {
  const web = list?.find((plugin): plugin is z.infer<typeof webPlugin> => plugin.id === "web");
  if (!web) return null;
  if (web.enabled === false) return "off";
  return { maxResults: web.max_results ?? DEFAULT_SEARCH_RESULTS, searchPrompt: web.search_prompt ?? null };
}

function providerPreferences(input: z.infer<typeof providerSchema>, route: "fallback" | "sort" | undefined): ProviderPreferences {
  const sort = typeof input?.sort === "string" ? input.sort : (input?.sort?.by ?? null);
  return {
    order: input?.order ?? null,
    allowFallbacks: input?.allow_fallbacks ?? true,
    requireParameters: input?.require_parameters ?? false,
    dataCollection: input?.data_collection ?? "allow",
    zdr: input?.zdr ?? false,
    only: input?.only ?? null,
    ignore: input?.ignore ?? [],
    quantizations: input?.quantizations ?? null,
    sort: sort ?? (route === "sort" ? "price" : null),
    maxPrice: input?.max_price
      ? {
          prompt: perToken(input.max_price.prompt, "provider.max_price.prompt"),
          completion: perToken(input.max_price.completion, "provider.max_price.completion"),
          request: money(input.max_price.request, "provider.max_price.request"),
          image: money(input.max_price.image, "provider.max_price.image"),
        }
      : null,
  };
}

/** USD per million tokens → picodollars per token. */
function perToken(value: number | string | undefined, field: string): Money | undefined {
  const perMillion = money(value, field);
  return perMillion === undefined ? undefined : perTokenPrice(perMillion);
}

/**
 * A JSON number is read through its shortest decimal form (`1e-7` is 0.0000001 USD), a string as the decimal it spells;
 * anything malformed, too precise or negative is a 400 naming the field.
 */
function money(value: number | string | undefined, field: string): Money | undefined {
  if (value === undefined) return undefined;
  try {
    const amount = typeof value === "number" ? usdFromNumber(value) : parseUsd(value);
    if (amount < 0n) throw new RangeError("must not be negative");
    return amount;
  } catch (error) {
    throw new AppError("invalid_request", `${field}: ${(error as Error).message}`, { metadata: { param: field } });
  }
}
