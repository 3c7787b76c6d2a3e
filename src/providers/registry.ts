import type { AdapterRegistry, ProviderAdapter } from "../core/ports.js";
import type { AdapterKind } from "../core/types.js";

/** The adapters this build can run, by protocol. A provider whose adapter is missing stays inactive in the catalog. */
export class ProviderRegistry implements AdapterRegistry {
  private readonly adapters = new Map<AdapterKind, ProviderAdapter>();

  constructor(adapters: ProviderAdapter[]) {
    for (const adapter of adapters) this.adapters.set(adapter.kind, adapter);
  }

  get(kind: AdapterKind): ProviderAdapter | undefined {
    return this.adapters.get(kind);
  }

  kinds(): ReadonlySet<AdapterKind> {
    return new Set(this.adapters.keys());
  }
}
