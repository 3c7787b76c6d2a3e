import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { MemoryEventBus, type BusEvents, type EventBus, type Topic } from "./event-bus.js";

const CHANNEL_PREFIX = "switchyard:";

/**
 * The event bus across nodes: events are delivered to this node's subscribers at once and published on Redis for the
 * others (a node ignores its own messages coming back). Redis pub/sub is at most once, like the bus contract says:
 * caches that rely on it also expire their entries.
 */
export class RedisEventBus implements EventBus {
  private readonly local = new MemoryEventBus();
  private readonly node = randomUUID();
  private readonly subscriber: Redis;

  constructor(
    private readonly publisher: Redis,
    onError: (error: unknown) => void,
  ) {
    this.subscriber = publisher.duplicate();
    this.subscriber.on("error", onError);
    this.subscriber.on("pmessage", (_pattern, channel: string, message: string) => {
      try {
        const { node, payload } = JSON.parse(message) as { node: string; payload: never };
        if (node !== this.node) this.local.publish(channel.slice(CHANNEL_PREFIX.length) as Topic, payload);
      } catch (error) {
        onError(error);
      }
    });
  }

  /** Resolves once this node receives other nodes' events. */
  async start(): Promise<void> {
    await this.subscriber.psubscribe(`${CHANNEL_PREFIX}*`);
  }

  publish<T extends Topic>(topic: T, payload: BusEvents[T]): void {
    this.local.publish(topic, payload);
    this.publisher.publish(`${CHANNEL_PREFIX}${topic}`, JSON.stringify({ node: this.node, payload })).catch(() => {});
  }

  subscribe<T extends Topic>(topic: T, handler: (payload: BusEvents[T]) => void): () => void {
    return this.local.subscribe(topic, handler);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber.disconnect();
  }
}

/** A Redis connection for Switchyard's own use (bus, counters); commands fail fast instead of queueing while it is down. */
export function connectRedis(url: string, onError: (error: unknown) => void): Redis {
  const client = new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 2, lazyConnect: false });
  client.on("error", onError);
  return client;
}
