import type { CatalogSnapshot } from "../core/types.js";

/** A provider's name as the read APIs show it on a generation: the catalog's, or the slug once it left the catalog. */
export function providerName(catalog: CatalogSnapshot, slug: string): string {
  return catalog.providers.get(slug)?.name ?? slug;
}
