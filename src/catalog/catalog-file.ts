import fs from "node:fs/promises";
import { z } from "zod";
import defaultCatalogDocument from "./default-catalog.json" with { type: "json" };
import { parseUsd, type Money } from "../billing/money.js";
import { simulationSchema } from "../providers/simulated/scenario.js";
import { ADAPTER_KINDS, ENDPOINT_VARIANTS, type EndpointVariant } from "../core/types.js";

/**
 * The catalog file: providers, models and their endpoints, as JSON. Prices are USD per token (or per request, image or
 * search) as decimal strings, exactly as `/api/v1/models` shows them. See README.md ("Adding a provider").
 */

const SLUG = /^[a-z0-9][a-z0-9._-]*$/;
const MODEL_ID = /^[a-z0-9][a-z0-9._-]*\/[a-zA-Z0-9][a-zA-Z0-9._-]*(:[a-z]+)?$/;
export const QUANTIZATIONS = [
  "int4",
  "int8",
  "fp4",
  "mxfp4",
  "nvfp4",
  "fp6",
  "fp8",
  "mxfp8",
  "fp16",
  "bf16",
  "fp32",
  "unknown",
] as const;

const price = z.string().transform((value, ctx) => {
  try {
    const amount = parseUsd(value);
    if (amount < 0n) throw new RangeError("a price must not be negative");
    return amount;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const dataPolicySchema = z.object({ training: z.boolean(), retainsPrompts: z.boolean() }).strict();

const providerSchema = z
  .object({
    slug: z.string().regex(SLUG, { message: "expected a lower-case slug like \"acme\"" }),
    name: z.string().min(1),
    adapter: z.enum(ADAPTER_KINDS),
    baseUrl: z.url().optional(),
    baseUrlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*_BASE_URL$/, { message: "expected a variable name ending in _BASE_URL" }).optional(),
    apiKeyEnv: z.string().regex(/^[A-Z][A-Z0-9_]*_API_KEY$/, { message: "expected a variable name ending in _API_KEY" }).optional(),
    dataPolicy: dataPolicySchema.optional(),
    privacyPolicyUrl: z.url().optional(),
    termsOfServiceUrl: z.url().optional(),
    statusPageUrl: z.url().optional(),
    headquarters: z.string().regex(/^[A-Z]{2}$/, { message: "expected an ISO 3166 alpha-2 country code" }).optional(),
    datacenters: z.array(z.string().regex(/^[A-Z]{2}$/)).optional(),
    supportsCancellation: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.adapter === "simulated" || p.baseUrl || p.baseUrlEnv, {
    message: "a provider needs baseUrl or baseUrlEnv (except the simulated adapter)",
  });

const pricingSchema = z
  .object({
    prompt: price,
    completion: price,
    request: price.optional(),
    image: price.optional(),
    reasoning: price.optional(),
    cacheRead: price.optional(),
    cacheWrite: price.optional(),
    webSearch: price.optional(),
  })
  .strict();

const endpointSchema = z
  .object({
    provider: z.string(),
    upstreamModel: z.string().min(1),
    variant: z.enum(ENDPOINT_VARIANTS).optional(),
    /** Sub-tag after the provider slug (`turbo` → tag `provider/turbo`), to offer several endpoints of one provider. */
    subTag: z.string().regex(SLUG).optional(),
    contextLength: z.number().int().positive().optional(),
    maxCompletionTokens: z.number().int().positive().optional(),
    maxPromptTokens: z.number().int().positive().optional(),
    quantization: z.enum(QUANTIZATIONS).optional(),
    pricing: pricingSchema,
    supportedParameters: z.array(z.string()).optional(),
    inputModalities: z.array(z.string()).optional(),
    dataPolicy: dataPolicySchema.optional(),
    moderated: z.boolean().optional(),
    status: z.number().int().optional(),
    simulation: simulationSchema.optional(),
  })
  .strict();

const modelSchema = z
  .object({
    id: z.string().regex(MODEL_ID, { message: "expected a model id like \"author/model-name\"" }),
    name: z.string().min(1),
    description: z.string().optional(),
    contextLength: z.number().int().positive(),
    inputModalities: z.array(z.string()).optional(),
    outputModalities: z.array(z.string()).optional(),
    tokenizer: z.string().optional(),
    instructType: z.string().optional(),
    huggingFaceId: z.string().optional(),
    defaultParameters: z.record(z.string(), z.number()).optional(),
    endpoints: z.array(endpointSchema).default([]),
  })
  .strict();

const catalogSchema = z
  .object({
    $schema: z.string().optional(),
    providers: z.array(providerSchema).default([]),
    models: z.array(modelSchema).default([]),
  })
  .strict();

export type CatalogFileProvider = z.infer<typeof providerSchema>;
export type CatalogFileModel = Omit<z.infer<typeof modelSchema>, "endpoints"> & { endpoints: CatalogFileEndpoint[] };
export type CatalogFileEndpoint = Omit<z.infer<typeof endpointSchema>, "variant" | "pricing"> & {
  variant: EndpointVariant;
  tag: string;
  pricing: Record<keyof z.infer<typeof pricingSchema>, Money | undefined> & { prompt: Money; completion: Money };
};
export interface CatalogFile {
  providers: CatalogFileProvider[];
  models: CatalogFileModel[];
}

export class CatalogFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid catalog ${source}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "CatalogFileError";
  }
}

/**
 * Validates a parsed catalog document. `knownProviders` are slugs defined elsewhere (earlier catalogs, the database)
 * that endpoints may refer to. A model id may carry a static variant suffix (`author/name:free`), which becomes the
 * default variant of its endpoints.
 */
export function parseCatalog(document: unknown, source: string, knownProviders: Iterable<string> = []): CatalogFile {
  const parsed = catalogSchema.safeParse(document);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  // The cross-reference checks read the raw document, so they are reported beside any field that failed the schema.
  problems.push(...crossReferenceProblems(document, knownProviders));
  if (problems.length > 0 || !parsed.success) throw new CatalogFileError(source, problems);
  const models: CatalogFileModel[] = parsed.data.models.map((model) => {
    const [baseId, suffix] = model.id.split(":");
    const endpoints = model.endpoints.map(
      (endpoint) =>
        ({
          ...endpoint,
          variant: endpoint.variant ?? ((suffix as EndpointVariant | undefined) || "standard"),
          tag: tagOf(endpoint),
        }) as CatalogFileEndpoint,
    );
    return { ...model, id: baseId, endpoints };
  });
  return { providers: parsed.data.providers, models };
}

function tagOf(endpoint: { provider?: unknown; subTag?: unknown }): string {
  return endpoint.subTag ? `${String(endpoint.provider)}/${String(endpoint.subTag)}` : String(endpoint.provider);
}

/**
 * Problems between entries: duplicate providers, endpoints of unknown providers, unknown variant suffixes, the same
 * endpoint declared twice for one model (entries sharing a base id are one model), and answers longer than the
 * context. Tolerant of a malformed document: whatever cannot be read is left to the schema's own messages.
 */
function crossReferenceProblems(document: unknown, knownProviders: Iterable<string>): string[] {
  const problems: string[] = [];
  const doc = (document ?? {}) as { providers?: unknown; models?: unknown };
  const providers = Array.isArray(doc.providers) ? (doc.providers as Array<{ slug?: unknown }>) : [];
  const slugs = new Set(knownProviders);
  const declared = new Set<unknown>();
  for (const [i, provider] of providers.entries()) {
    if (declared.has(provider?.slug)) problems.push(`providers.${i}.slug: duplicate provider "${String(provider.slug)}"`);
    declared.add(provider?.slug);
    if (typeof provider?.slug === "string") slugs.add(provider.slug);
  }
  const seen = new Map<string, Set<string>>();
  const models = Array.isArray(doc.models) ? (doc.models as Array<Record<string, unknown>>) : [];
  for (const [m, model] of models.entries()) {
    if (typeof model?.id !== "string") continue;
    const [baseId, suffix] = model.id.split(":");
    if (suffix && !(ENDPOINT_VARIANTS as readonly string[]).includes(suffix)) {
      problems.push(`models.${m}.id: unknown variant ":${suffix}" (static variants are ${ENDPOINT_VARIANTS.join(", ")})`);
    }
    const endpointsOfModel = seen.get(baseId) ?? new Set<string>();
    seen.set(baseId, endpointsOfModel);
    const endpoints = Array.isArray(model.endpoints) ? (model.endpoints as Array<Record<string, unknown>>) : [];
    for (const [e, endpoint] of endpoints.entries()) {
      if (typeof endpoint?.provider !== "string") continue;
      if (!slugs.has(endpoint.provider)) problems.push(`models.${m}.endpoints.${e}.provider: unknown provider "${endpoint.provider}"`);
      const variant = typeof endpoint.variant === "string" ? endpoint.variant : suffix || "standard";
      const key = `${variant}@${tagOf(endpoint)}`;
      if (endpointsOfModel.has(key)) {
        problems.push(`models.${m}.endpoints.${e}: a second ${variant} endpoint of ${baseId} with tag "${tagOf(endpoint)}" (use subTag to tell them apart)`);
      }
      endpointsOfModel.add(key);
      const context = typeof endpoint.contextLength === "number" ? endpoint.contextLength : model.contextLength;
      if (typeof endpoint.maxCompletionTokens === "number" && typeof context === "number" && endpoint.maxCompletionTokens > context) {
        problems.push(`models.${m}.endpoints.${e}.maxCompletionTokens: larger than the context length`);
      }
    }
  }
  return problems;
}

/** Reads and validates a catalog file. Errors name the file and every problem in it. */
export async function readCatalogFile(file: string, knownProviders: Iterable<string> = []): Promise<CatalogFile> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    throw new CatalogFileError(file, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CatalogFileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseCatalog(document, file, knownProviders);
}

/** The built-in catalog shipped with Switchyard: simulated providers plus well-known real ones. */
export function defaultCatalog(): CatalogFile {
  return parseCatalog(defaultCatalogDocument, "default catalog (src/catalog/default-catalog.json)");
}
