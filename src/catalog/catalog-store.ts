import type { MikroORM } from "@mikro-orm/postgresql";
import { ormWork } from "../persistence/orm-work.js";
import type { CatalogPort } from "../core/ports.js";
import type { CatalogSnapshot } from "../core/types.js";
import type { EventBus } from "../events/event-bus.js";
import type { CatalogFile } from "./catalog-file.js";
import { loadCatalogSnapshot, syncCatalogs, type SnapshotOptions, type SyncSummary } from "./catalog.service.js";

/**
 * The catalog in memory: one immutable snapshot that requests read without touching the database, replaced whole
 * when the catalog changes — on a sync here, on a `catalog.changed` event from another node, and every
 * `refreshMs` to pick up syncs made where no event reached us (the CLI against a running server).
 */
export class CatalogStore implements CatalogPort {
  private current: CatalogSnapshot = { models: new Map(), providers: new Map(), endpoints: new Map() };
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  /** True while `sync` publishes: both buses deliver to this node's own subscriber at once, and it is up to date. */
  private publishing = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: SnapshotOptions,
    private readonly bus: EventBus,
  ) {
    this.unsubscribe = bus.subscribe("catalog.changed", () => {
      if (!this.publishing) this.refresh().catch(() => {});
    });
  }

  snapshot(): CatalogSnapshot {
    return this.current;
  }

  async refresh(): Promise<void> {
    this.current = await ormWork(this.orm, (em) => loadCatalogSnapshot(em, this.options));
  }

  /** Writes catalog files into the database (in order), reloads, and tells the other nodes. */
  async sync(...files: CatalogFile[]): Promise<SyncSummary> {
    const total = await syncCatalogs(this.orm, files);
    await this.refresh();
    this.publishing = true;
    try {
      this.bus.publish("catalog.changed", {});
    } finally {
      this.publishing = false;
    }
    return total;
  }

  startRefreshing(refreshMs: number, onError: (error: unknown) => void): void {
    this.timer = setInterval(() => this.refresh().catch(onError), refreshMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }
}
