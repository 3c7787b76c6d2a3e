import type { BusEvents, EventBus, Topic } from "../events/event-bus.js";

/** Events kept for a subscriber that reads slower than they arrive; older ones are dropped (the bus is best effort). */
const MAX_QUEUED = 1000;

/**
 * One account's events on a bus topic as an async iterator, for a subscription: `balance.changed` and
 * `generation.created` arrive from every node when the bus is Redis-backed. `map` turns a payload into the event sent
 * (it may read the database) or null to skip it. `return()` unsubscribes.
 */
export function accountEvents<T extends Topic, E>(
  bus: EventBus,
  topic: T,
  accountId: string,
  map: (payload: BusEvents[T]) => Promise<E | null> | E | null,
): AsyncIterableIterator<E> {
  const queue: Array<BusEvents[T]> = [];
  let waiting: (() => void) | null = null;
  let closed = false;
  const unsubscribe = bus.subscribe(topic, (payload) => {
    if (closed || (payload as { accountId?: string }).accountId !== accountId) return;
    queue.push(payload);
    if (queue.length > MAX_QUEUED) queue.shift();
    waiting?.();
  });
  const close = async (): Promise<IteratorResult<E>> => {
    if (!closed) {
      closed = true;
      unsubscribe();
      queue.length = 0;
      waiting?.();
    }
    return { done: true, value: undefined };
  };
  return {
    async next(): Promise<IteratorResult<E>> {
      while (!closed) {
        const payload = queue.shift();
        if (payload === undefined) {
          await new Promise<void>((resolve) => (waiting = resolve));
          waiting = null;
          continue;
        }
        const event = await map(payload);
        if (event !== null && !closed) return { done: false, value: event };
      }
      return { done: true, value: undefined };
    },
    return: close,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
