import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { formatUsd, parseUsd } from "../billing/money.js";
import { findListedModel, listModels, type ListedModel, type ModelFilter } from "../catalog/model-listing.js";
import type { HealthTracker } from "../core/health.js";
import { perTokenPrice } from "../core/pricing.js";
import type { CatalogPort } from "../core/ports.js";
import type { EndpointInfo, Pricing, ProviderInfo } from "../core/types.js";
import { AppError } from "../errors.js";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import { parseInput } from "../validation.js";

/** `/models`, `/models/count`, `/models/{author}/{slug}/endpoints` and `/providers`, in OpenRouter's shapes. */
export interface ModelsRouteDeps {
  catalog: CatalogPort;
  health: HealthTracker;
  auth: KeyAuthenticator;
}

const csv = z
  .string()
  .transform((value) => value.split(",").map((s) => s.trim()).filter(Boolean))
  .optional();
const usdPerMillion = z
  .string()
  .transform((value, ctx) => {
    try {
      return perTokenPrice(parseUsd(value));
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .optional();

const listQuery = z.object({
  q: z.string().optional(),
  supported_parameters: csv,
  input_modalities: csv,
  output_modalities: csv,
  providers: csv,
  min_price: usdPerMillion,
  max_price: usdPerMillion,
  context: z.coerce.number().int().min(0).optional(),
  zdr: z.enum(["true", "false"]).optional(),
  sort: z.enum(["price", "context", "newest", "name"]).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export function registerModelRoutes(app: FastifyInstance, deps: ModelsRouteDeps): void {
  app.get("/api/v1/models", async (request) => {
    const query = parseQuery(request.query);
    const all = listModels(deps.catalog.snapshot(), toFilter(query));
    const offset = query.offset ?? 0;
    const page = query.limit === undefined && query.offset === undefined ? all : all.slice(offset, offset + (query.limit ?? 1000));
    const nextOffset = offset + page.length;
    return {
      data: page.map(modelJson),
      total_count: all.length,
      links: { next: query.limit !== undefined && nextOffset < all.length ? `/api/v1/models?offset=${nextOffset}&limit=${query.limit}` : null },
    };
  });

  app.get("/api/v1/models/count", async (request) => {
    return { data: { count: listModels(deps.catalog.snapshot(), toFilter(parseQuery(request.query))).length } };
  });

  app.get<{ Params: { author: string; slug: string } }>("/api/v1/models/:author/:slug/endpoints", async (request) => {
    const id = `${request.params.author}/${request.params.slug}`;
    const snapshot = deps.catalog.snapshot();
    const entry = findListedModel(snapshot, id);
    if (!entry) {
      if (!snapshot.models.has(id.split(":")[0])) throw new AppError("model_not_found", `${id} is not a valid model ID.`);
      return { data: { id, name: snapshot.models.get(id.split(":")[0])!.name, endpoints: [] } };
    }
    // Latency figures are for authenticated callers, as on OpenRouter; a bad key here is just anonymous.
    const authenticated = request.headers.authorization
      ? await deps.auth.authenticate(request.headers.authorization).then(() => true, () => false)
      : false;
    return {
      data: {
        id: entry.id,
        name: entry.model.name,
        created: unix(entry.model.createdAt),
        description: entry.model.description,
        architecture: architectureJson(entry),
        endpoints: entry.endpoints.map((e) => endpointJson(entry, e, deps.health, authenticated)),
      },
    };
  });

  app.get("/api/v1/providers", async () => {
    return { data: [...deps.catalog.snapshot().providers.values()].map(providerJson) };
  });
}

function parseQuery(query: unknown): z.infer<typeof listQuery> {
  return parseInput(listQuery, query, "query parameter");
}

function toFilter(query: z.infer<typeof listQuery>): ModelFilter {
  return {
    q: query.q,
    supportedParameters: query.supported_parameters,
    inputModalities: query.input_modalities,
    outputModalities: query.output_modalities?.includes("all") ? "all" : query.output_modalities,
    providers: query.providers,
    minPrice: query.min_price,
    maxPrice: query.max_price,
    minContext: query.context,
    zdr: query.zdr === "true",
    sort: query.sort,
  };
}

export function pricingJson(p: Pricing): Record<string, string> {
  const json: Record<string, string> = {
    prompt: formatUsd(p.prompt),
    completion: formatUsd(p.completion),
    request: formatUsd(p.request),
    image: formatUsd(p.image),
    web_search: formatUsd(p.webSearch),
    internal_reasoning: formatUsd(p.reasoning ?? p.completion),
  };
  if (p.cacheRead !== null) json.input_cache_read = formatUsd(p.cacheRead);
  if (p.cacheWrite !== null) json.input_cache_write = formatUsd(p.cacheWrite);
  return json;
}

function architectureJson(entry: ListedModel): Record<string, unknown> {
  const inputs = [...new Set(entry.endpoints.flatMap((e) => e.inputModalities))];
  return {
    modality: `${inputs.join("+")}->${entry.model.outputModalities.join("+")}`,
    input_modalities: inputs,
    output_modalities: entry.model.outputModalities,
    tokenizer: entry.model.tokenizer,
    instruct_type: entry.model.instructType,
  };
}

function modelJson(entry: ListedModel): Record<string, unknown> {
  const { model, top } = entry;
  return {
    id: entry.id,
    canonical_slug: entry.id,
    hugging_face_id: model.huggingFaceId ?? "",
    name: entry.suffix === null ? model.name : `${model.name} (${entry.suffix})`,
    created: unix(model.createdAt),
    description: model.description,
    context_length: entry.contextLength,
    architecture: architectureJson(entry),
    pricing: pricingJson(top.pricing),
    top_provider: {
      context_length: top.contextLength,
      max_completion_tokens: top.maxCompletionTokens,
      is_moderated: top.moderated && !entry.skipModeration,
    },
    per_request_limits: null,
    supported_parameters: entry.supportedParameters,
    default_parameters: model.defaultParameters ?? {},
    providers: entry.endpoints.map((e) => e.tag),
  };
}

function endpointJson(entry: ListedModel, e: EndpointInfo, health: HealthTracker, withLatency: boolean): Record<string, unknown> {
  const stats = health.stats(e.id);
  return {
    name: `${e.provider.name} | ${entry.id}`,
    model_id: entry.id,
    model_name: entry.model.name,
    provider_name: e.provider.name,
    tag: e.tag,
    context_length: e.contextLength,
    max_prompt_tokens: e.maxPromptTokens,
    max_completion_tokens: e.maxCompletionTokens,
    quantization: e.quantization,
    status: e.status,
    pricing: pricingJson(e.pricing),
    supported_parameters: [...e.supportedParameters].sort(),
    supports_implicit_caching: false,
    is_zdr: !e.dataPolicy.retainsPrompts,
    data_policy: { training: e.dataPolicy.training, retains_prompts: e.dataPolicy.retainsPrompts },
    uptime_last_5m: stats.uptime5m,
    uptime_last_30m: stats.uptime30m,
    uptime_last_1d: stats.uptime1d,
    latency_last_30m: withLatency ? stats.latency30m : null,
    throughput_last_30m: stats.throughput30m,
  };
}

function providerJson(p: ProviderInfo): Record<string, unknown> {
  return {
    name: p.name,
    slug: p.slug,
    privacy_policy_url: p.privacyPolicyUrl,
    terms_of_service_url: p.termsOfServiceUrl,
    status_page_url: p.statusPageUrl,
    headquarters: p.headquarters,
    datacenters: p.datacenters,
    is_active: p.active,
    inactive_reason: p.inactiveReason,
    data_policy: p.dataPolicy ? { training: p.dataPolicy.training, retains_prompts: p.dataPolicy.retainsPrompts } : null,
  };
}

function unix(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
