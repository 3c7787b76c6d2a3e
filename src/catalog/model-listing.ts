import type { Money } from "../billing/money.js";
import { unitPrice } from "../core/pricing.js";
import { listedVariants } from "../core/resolve.js";
import type { CatalogSnapshot, EndpointInfo, EndpointVariant, ModelInfo } from "../core/types.js";

/**
 * The model list as clients browse it (`GET /api/v1/models`, GraphQL `models`): one entry per model id a request may
 * name — the base id and each static variant (`:free`, `:extended`, `:thinking`, `:beta`; see `listedVariants`) — with
 * at least one active endpoint. The "top provider" is the cheapest active endpoint, and its prices are the entry's prices.
 */
export interface ListedModel {
  id: string;
  /** The set of endpoints the id routes to (`:thinking` on a model without thinking endpoints and `:beta` route to `standard`). */
  variant: EndpointVariant;
  /** The id's static suffix (`free`, `extended`, `thinking`, `beta`), or null for the base id. */
  suffix: string | null;
  model: ModelInfo;
  /** Active endpoints of this variant. */
  endpoints: EndpointInfo[];
  top: EndpointInfo;
  contextLength: number;
  supportedParameters: string[];
  /** Every active endpoint is moderated, and the id does not skip moderation (`:beta` does). */
  moderated: boolean;
  /** `:beta`: served without Switchyard's moderation step. */
  skipModeration: boolean;
}

export interface ModelFilter {
  /** Case-insensitive search in id, name and description. */
  q?: string;
  /** Every listed parameter must be supported by some endpoint. */
  supportedParameters?: string[];
  inputModalities?: string[];
  /** Default: models that output text. `all`: no filter. */
  outputModalities?: string[] | "all";
  /** Served by at least one of these providers. */
  providers?: string[];
  /** Prompt price bounds (picodollars per token), inclusive. */
  minPrice?: Money;
  maxPrice?: Money;
  minContext?: number;
  /** Only models with an endpoint that retains no prompts. */
  zdr?: boolean;
  sort?: "price" | "context" | "newest" | "name";
}

/**
 * The listing of one snapshot, built on first use and kept until the snapshot is dropped: snapshots are replaced,
 * never changed. Its arrays and entries are shared by every request, so callers never mutate them.
 */
interface Listing {
  /** Every entry, in catalog order. */
  entries: readonly ListedModel[];
  byId: ReadonlyMap<string, ListedModel>;
}

const listings = new WeakMap<CatalogSnapshot, Listing>();

export function listModels(snapshot: CatalogSnapshot, filter: ModelFilter = {}): ListedModel[] {
  const matching = listingOf(snapshot).entries.filter((entry) => matches(entry, filter));
  return sortModels(matching, filter.sort);
}

/** One listed model by id (with a static variant suffix, or none), or null. Costs a map lookup once the snapshot is listed. */
export function findListedModel(snapshot: CatalogSnapshot, id: string): ListedModel | null {
  return listingOf(snapshot).byId.get(id) ?? null;
}

function listingOf(snapshot: CatalogSnapshot): Listing {
  let listing = listings.get(snapshot);
  if (!listing) {
    const entries = buildEntries(snapshot);
    const byId = new Map<string, ListedModel>();
    for (const entry of entries) if (!byId.has(entry.id)) byId.set(entry.id, entry);
    listing = { entries, byId };
    listings.set(snapshot, listing);
  }
  return listing;
}

function buildEntries(snapshot: CatalogSnapshot): ListedModel[] {
  const listed: ListedModel[] = [];
  for (const model of snapshot.models.values()) {
    for (const variant of listedVariants(model)) {
      const active = variant.endpoints.filter((e) => e.status === 0 && e.provider.active);
      if (active.length === 0) continue;
      const top = active.reduce((best, e) => (unitPrice(e.pricing) < unitPrice(best.pricing) ? e : best));
      listed.push({
        id: variant.id,
        variant: variant.variant,
        suffix: variant.id === model.id ? null : variant.id.slice(model.id.length + 1),
        model,
        endpoints: active,
        top,
        contextLength: Math.max(...active.map((e) => e.contextLength)),
        supportedParameters: [...new Set(active.flatMap((e) => [...e.supportedParameters]))].sort(),
        moderated: !variant.skipModeration && active.every((e) => e.moderated),
        skipModeration: variant.skipModeration,
      });
    }
  }
  return listed;
}

function matches(entry: ListedModel, f: ModelFilter): boolean {
  const { model } = entry;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (![entry.id, model.name, model.description].some((text) => text.toLowerCase().includes(q))) return false;
  }
  if (f.supportedParameters && !f.supportedParameters.every((p) => entry.supportedParameters.includes(p))) return false;
  const inputs = new Set(entry.endpoints.flatMap((e) => e.inputModalities));
  if (f.inputModalities && !f.inputModalities.every((m) => inputs.has(m))) return false;
  const outputs = f.outputModalities ?? ["text"];
  if (outputs !== "all" && !outputs.every((m) => model.outputModalities.includes(m))) return false;
  if (f.providers && !entry.endpoints.some((e) => f.providers!.includes(e.provider.slug))) return false;
  if (f.minPrice !== undefined && entry.top.pricing.prompt < f.minPrice) return false;
  if (f.maxPrice !== undefined && entry.top.pricing.prompt > f.maxPrice) return false;
  if (f.minContext !== undefined && entry.contextLength < f.minContext) return false;
  if (f.zdr && !entry.endpoints.some((e) => !e.dataPolicy.retainsPrompts)) return false;
  return true;
}

function sortModels(entries: ListedModel[], sort: ModelFilter["sort"]): ListedModel[] {
  const sorted = [...entries];
  switch (sort) {
    case "price":
      return sorted.sort((a, b) => Number(unitPrice(a.top.pricing) - unitPrice(b.top.pricing)) || a.id.localeCompare(b.id));
    case "context":
      return sorted.sort((a, b) => b.contextLength - a.contextLength || a.id.localeCompare(b.id));
    case "newest":
      return sorted.sort((a, b) => b.model.createdAt.getTime() - a.model.createdAt.getTime() || a.id.localeCompare(b.id));
    default:
      return sorted.sort((a, b) => a.id.localeCompare(b.id));
  }
}
