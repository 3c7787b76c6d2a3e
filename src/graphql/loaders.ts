import DataLoader from "dataloader";
import type { KeysService, KeyView } from "../accounts/keys.service.js";
import { findListedModel, type ListedModel } from "../catalog/model-listing.js";
import type { CatalogPort } from "../core/ports.js";
import type { Sql } from "../persistence/sql.js";
import { generationsByIds, type GenerationRow } from "./records/generations.js";

/**
 * The batching loaders of one operation. Objects that point at others (a page of generations at their keys, ledger
 * entries at their generations) resolve through these, so a page costs one query per kind of object, however long it
 * is. Models and providers come from the in-memory catalog and cost no query at all.
 *
 * Keys are `accountId:id`: a loader only ever finds objects of the account named in the key.
 */
export interface Loaders {
  key: DataLoader<string, KeyView | null>;
  generation: DataLoader<string, GenerationRow | null>;
  /** The listed model (a base id or a static variant) by id, from the snapshot's cached listing; null if not listed. */
  listedModel(id: string): ListedModel | null;
}

export interface LoaderDeps {
  keys: KeysService;
  sql: Sql;
  catalog: CatalogPort;
}

/**
 * `cache: false` for long-lived operations (subscriptions), whose events must not see values cached by earlier ones;
 * batching within one event still applies.
 */
export function createLoaders(deps: LoaderDeps, options: { cache: boolean } = { cache: true }): Loaders {
  return {
    key: new DataLoader(
      byAccount((accountId, hashes) => deps.keys.getMany(accountId, hashes), (key) => key.hash),
      { cache: options.cache },
    ),
    generation: new DataLoader(
      byAccount((accountId, ids) => generationsByIds(deps.sql, accountId, ids), (row) => row.id),
      { cache: options.cache },
    ),
    listedModel: (id) => findListedModel(deps.catalog.snapshot(), id),
  };
}

/** `accountId:id` of a loader key. */
export function loaderKey(accountId: string, id: string): string {
  return `${accountId}:${id}`;
}

/**
 * A DataLoader batch function over `accountId:id` keys: one fetch per account in the batch (one, in practice), results
 * matched back to keys by id, missing ones null.
 */
function byAccount<T>(
  fetch: (accountId: string, ids: string[]) => Promise<T[]>,
  idOf: (item: T) => string,
): (keys: readonly string[]) => Promise<Array<T | null>> {
  return async (keys) => {
    const byAccountId = new Map<string, Set<string>>();
    for (const key of keys) {
      const split = key.indexOf(":");
      const accountId = key.slice(0, split);
      let ids = byAccountId.get(accountId);
      if (!ids) byAccountId.set(accountId, (ids = new Set()));
      ids.add(key.slice(split + 1));
    }
    const found = new Map<string, T>();
    await Promise.all(
      [...byAccountId].map(async ([accountId, ids]) => {
        for (const item of await fetch(accountId, [...ids])) found.set(loaderKey(accountId, idOf(item)), item);
      }),
    );
    return keys.map((key) => found.get(key) ?? null);
  };
}
