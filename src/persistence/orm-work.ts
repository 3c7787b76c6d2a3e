import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * ORM work that leaves the rest of the process fast.
 *
 * MikroORM keeps its transaction and flush state in AsyncLocalStorage. On Node 20 (and 22 without async context
 * frames) the first `run()` of any AsyncLocalStorage switches on V8's promise hooks for the whole process, and they
 * stay on until every storage is disabled again: from then on each promise anywhere, and each `await` on the request
 * path, costs about four times as much (0.32 µs instead of 0.08 µs per await, measured). The request path never uses
 * the ORM — it is for start-up, catalog syncs and account and key management — so all ORM work goes through
 * `ormWork`, which counts the work in flight and disables the storages that work entered once none is left. Nothing
 * is lost by that: a storage is only read inside the work that entered it, and the next `run()` enables it again.
 *
 * Storages are found by wrapping AsyncLocalStorage's internal `_enable`; on Node versions without it (async context
 * frames, where storages cost nothing while unused) this module does nothing.
 */

interface TrackedStorage {
  disable(): void;
}

const entered = new Set<TrackedStorage>();
let inFlight = 0;

const prototype = AsyncLocalStorage.prototype as unknown as { _enable?: (this: TrackedStorage) => void };
const enable = prototype._enable;
if (typeof enable === "function") {
  prototype._enable = function trackedEnable(this: TrackedStorage) {
    entered.add(this);
    enable.call(this);
  };
}

/** Runs `work` with a fresh EntityManager of `orm`. */
export async function ormWork<T>(orm: MikroORM, work: (em: EntityManager) => Promise<T>): Promise<T> {
  return ormScope(() => work(orm.em.fork()));
}

/** Runs ORM work that needs the ORM itself (migrations). */
export async function ormScope<T>(work: () => Promise<T>): Promise<T> {
  inFlight++;
  try {
    return await work();
  } finally {
    if (--inFlight === 0) {
      for (const storage of entered) storage.disable();
      entered.clear();
    }
  }
}
