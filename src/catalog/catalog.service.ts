import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import type {
  AdapterKind,
  CatalogSnapshot,
  DataPolicy,
  EndpointInfo,
  ModelInfo,
  ProviderInfo,
} from "../core/types.js";
import { ormWork } from "../persistence/orm-work.js";
import type { CatalogFile } from "./catalog-file.js";
import { Model } from "./model.entity.js";
import { ModelEndpoint } from "./model-endpoint.entity.js";
import { Provider } from "./provider.entity.js";

/** Unknown data policy counts as both training and retention (the privacy filters must never guess in the user's disfavour). */
const WORST_CASE_POLICY: DataPolicy = { training: true, retainsPrompts: true };

export interface SyncSummary {
  providers: number;
  models: number;
  endpoints: number;
}

/**
 * Writes a catalog file into the database: every provider, model and endpoint in it is inserted or updated; entries
 * that are not in the file are left as they are (catalog files layer on top of each other).
 */
export async function syncCatalog(em: EntityManager, catalog: CatalogFile): Promise<SyncSummary> {
  let endpoints = 0;
  await em.transactional(async (tx) => {
    for (const p of catalog.providers) {
      await tx.upsert(Provider, {
        slug: p.slug,
        name: p.name,
        adapter: p.adapter,
        baseUrl: p.baseUrl ?? null,
        baseUrlEnv: p.baseUrlEnv ?? null,
        apiKeyEnv: p.apiKeyEnv ?? null,
        dataPolicy: p.dataPolicy ?? null,
        privacyPolicyUrl: p.privacyPolicyUrl ?? null,
        termsOfServiceUrl: p.termsOfServiceUrl ?? null,
        statusPageUrl: p.statusPageUrl ?? null,
        headquarters: p.headquarters ?? null,
        datacenters: p.datacenters ?? [],
        supportsCancellation: p.supportsCancellation ?? true,
        updatedAt: new Date(),
      });
    }
    for (const m of catalog.models) {
      await tx.upsert(Model, {
        id: m.id,
        name: m.name,
        description: m.description ?? "",
        contextLength: m.contextLength,
        inputModalities: m.inputModalities ?? ["text"],
        outputModalities: m.outputModalities ?? ["text"],
        tokenizer: m.tokenizer ?? "Other",
        instructType: m.instructType ?? null,
        huggingFaceId: m.huggingFaceId ?? null,
        defaultParameters: m.defaultParameters ?? null,
        updatedAt: new Date(),
      });
      for (const e of m.endpoints) {
        endpoints += 1;
        await tx.upsert(ModelEndpoint, {
          id: `${m.id}:${e.variant}@${e.tag}`,
          model: tx.getReference(Model, m.id),
          provider: tx.getReference(Provider, e.provider),
          tag: e.tag,
          variant: e.variant,
          upstreamModel: e.upstreamModel,
          contextLength: e.contextLength ?? m.contextLength,
          maxCompletionTokens: e.maxCompletionTokens ?? null,
          maxPromptTokens: e.maxPromptTokens ?? null,
          quantization: e.quantization ?? null,
          pricePrompt: e.pricing.prompt,
          priceCompletion: e.pricing.completion,
          priceRequest: e.pricing.request ?? 0n,
          priceImage: e.pricing.image ?? 0n,
          priceReasoning: e.pricing.reasoning ?? null,
          priceCacheRead: e.pricing.cacheRead ?? null,
          priceCacheWrite: e.pricing.cacheWrite ?? null,
          priceWebSearch: e.pricing.webSearch ?? 0n,
          supportedParameters: e.supportedParameters ?? [],
          inputModalities: e.inputModalities ?? null,
          dataPolicy: e.dataPolicy ?? null,
          moderated: e.moderated ?? false,
          status: e.status ?? 0,
          simulation: e.simulation ?? null,
          updatedAt: new Date(),
        });
      }
    }
  });
  return { providers: catalog.providers.length, models: catalog.models.length, endpoints };
}

/** Writes catalog files in order (each in its own transaction, later files layering on earlier ones); the summed counts. */
export async function syncCatalogs(orm: MikroORM, files: readonly CatalogFile[]): Promise<SyncSummary> {
  const total: SyncSummary = { providers: 0, models: 0, endpoints: 0 };
  for (const file of files) {
    const summary = await ormWork(orm, (em) => syncCatalog(em, file));
    total.providers += summary.providers;
    total.models += summary.models;
    total.endpoints += summary.endpoints;
  }
  return total;
}

export interface SnapshotOptions {
  /** Environment variables holding provider keys and base URLs (`Config.providerEnv`). */
  providerEnv: Readonly<Record<string, string>>;
  /** Adapters this build can run; providers with another adapter stay inactive. */
  adapters: ReadonlySet<AdapterKind>;
}

/** Reads the whole catalog into an immutable snapshot, resolving each provider's credentials and activity. */
export async function loadCatalogSnapshot(em: EntityManager, options: SnapshotOptions): Promise<CatalogSnapshot> {
  const [providerRows, modelRows, endpointRows] = await Promise.all([
    em.find(Provider, {}, { orderBy: { slug: "asc" } }),
    em.find(Model, {}, { orderBy: { id: "asc" } }),
    em.find(ModelEndpoint, {}, { orderBy: { id: "asc" } }),
  ]);
  const providers = new Map<string, ProviderInfo>(providerRows.map((p) => [p.slug, providerInfo(p, options)]));
  const endpoints = new Map<string, EndpointInfo>();
  const byModel = new Map<string, EndpointInfo[]>();
  for (const row of endpointRows) {
    const endpoint = endpointInfo(row, providers.get(row.provider.slug)!);
    endpoints.set(endpoint.id, endpoint);
    const list = byModel.get(endpoint.modelId) ?? [];
    list.push(endpoint);
    byModel.set(endpoint.modelId, list);
  }
  const models = new Map<string, ModelInfo>(
    modelRows.map((m) => [
      m.id,
      {
        id: m.id,
        name: m.name,
        description: m.description,
        contextLength: m.contextLength,
        inputModalities: m.inputModalities,
        outputModalities: m.outputModalities,
        tokenizer: m.tokenizer,
        instructType: m.instructType,
        huggingFaceId: m.huggingFaceId,
        defaultParameters: m.defaultParameters,
        createdAt: m.createdAt,
        endpoints: byModel.get(m.id) ?? [],
      },
    ]),
  );
  return { models, providers, endpoints };
}

function providerInfo(p: Provider, { providerEnv, adapters }: SnapshotOptions): ProviderInfo {
  const baseUrl = (p.baseUrlEnv && providerEnv[p.baseUrlEnv]) || p.baseUrl;
  const apiKey = p.apiKeyEnv ? (providerEnv[p.apiKeyEnv] ?? null) : null;
  let inactiveReason: string | null = null;
  if (!adapters.has(p.adapter)) inactiveReason = `the ${p.adapter} adapter is not available`;
  else if (p.adapter !== "simulated" && !baseUrl) inactiveReason = `set ${p.baseUrlEnv ?? "a base URL"} to enable it`;
  else if (p.apiKeyEnv && !apiKey) inactiveReason = `set ${p.apiKeyEnv} to enable it`;
  return {
    slug: p.slug,
    name: p.name,
    adapter: p.adapter,
    baseUrl: baseUrl ?? null,
    apiKey,
    dataPolicy: p.dataPolicy,
    supportsCancellation: p.supportsCancellation,
    active: inactiveReason === null,
    inactiveReason,
    privacyPolicyUrl: p.privacyPolicyUrl,
    termsOfServiceUrl: p.termsOfServiceUrl,
    statusPageUrl: p.statusPageUrl,
    headquarters: p.headquarters,
    datacenters: p.datacenters,
  };
}

function endpointInfo(e: ModelEndpoint, provider: ProviderInfo): EndpointInfo {
  return {
    id: e.id,
    modelId: e.model.id,
    variant: e.variant,
    tag: e.tag,
    provider,
    upstreamModel: e.upstreamModel,
    contextLength: e.contextLength,
    maxCompletionTokens: e.maxCompletionTokens,
    maxPromptTokens: e.maxPromptTokens,
    quantization: e.quantization,
    pricing: {
      prompt: e.pricePrompt,
      completion: e.priceCompletion,
      request: e.priceRequest,
      image: e.priceImage,
      reasoning: e.priceReasoning,
      cacheRead: e.priceCacheRead,
      cacheWrite: e.priceCacheWrite,
      webSearch: e.priceWebSearch,
    },
    supportedParameters: new Set(e.supportedParameters),
    inputModalities: e.inputModalities ?? e.model.inputModalities,
    dataPolicy: e.dataPolicy ?? provider.dataPolicy ?? WORST_CASE_POLICY,
    moderated: e.moderated,
    status: e.status,
    simulation: e.simulation,
  };
}
