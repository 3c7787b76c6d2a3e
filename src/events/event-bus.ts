/**
 * Cross-cutting events inside a node — and across nodes when the bus is backed by Redis: cache invalidation (a key or
 * account changed, the catalog was synced) and live account events for subscriptions. Delivery is at most once and
 * best effort; nothing that must not be lost travels here (the database is the record).
 */
export interface BusEvents {
  /** An API key changed (disabled, limit, deleted): drop it from authentication caches. */
  "key.changed": { hash: string };
  /** An account's settings changed (privacy, deletion): drop its keys from caches. */
  "account.changed": { accountId: string };
  /** The catalog was synced: reload the snapshot. */
  "catalog.changed": Record<string, never>;
  /** An account's balance moved (settlement, purchase, grant). */
  "balance.changed": { accountId: string; balance: string };
  /** A generation was recorded. */
  "generation.created": { accountId: string; generationId: string };
}

export type Topic = keyof BusEvents;

export interface EventBus {
  publish<T extends Topic>(topic: T, payload: BusEvents[T]): void;
  /** Returns the function that unsubscribes. */
  subscribe<T extends Topic>(topic: T, handler: (payload: BusEvents[T]) => void): () => void;
  close(): Promise<void>;
}

/** The single-node bus: handlers run synchronously in this process. */
export class MemoryEventBus implements EventBus {
  private readonly handlers = new Map<Topic, Set<(payload: never) => void>>();

  publish<T extends Topic>(topic: T, payload: BusEvents[T]): void {
    for (const handler of this.handlers.get(topic) ?? []) {
      try {
        (handler as (payload: BusEvents[T]) => void)(payload);
      } catch {
        // One failing subscriber must not stop the others (or the publisher).
      }
    }
  }

  subscribe<T extends Topic>(topic: T, handler: (payload: BusEvents[T]) => void): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
