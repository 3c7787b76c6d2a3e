import type { GenerationRecord } from "../core/ports.js";
import { sleep } from "../core/sleep.js";
import type { Sql } from "../persistence/sql.js";
import type { SettlementLog } from "./settlement-log.js";

/** One settlement as the batch statement (`sy_settle_batch`) and the write-ahead log take it. */
export interface SettlementItem {
  /** The credit hold (lease) the cost was reserved in. */
  lease: string;
  account: string;
  key: string | null;
  /** Picodollars, as a decimal string. */
  cost: string;
  description: string;
  /** The `generation` row, by column name. */
  generation: Record<string, unknown>;
}

export interface QueuedSettlement {
  item: SettlementItem;
  record: GenerationRecord;
}

/** A settlement in the queue, with its item as JSON: written once, for the log line and for the batch statement. */
export interface QueuedJson extends QueuedSettlement {
  json: string;
}

const MAX_BATCH = 500;
const RETRY_DELAYS_MS = [50, 200, 1000, 2000];

/**
 * Group commit for settlements: each is logged (see SettlementLog) and queued, and one statement applies everything
 * queued so far. A batch starts as soon as the previous one is done, so at low load a settlement commits within one
 * round trip and under load many share one. A failed batch is retried, in order, until it commits.
 */
export class SettlementBatcher {
  private queue: QueuedJson[] = [];
  /** Generation ids of the batch being committed. */
  private readonly inFlight = new Set<string>();
  private running: Promise<void> | null = null;
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(
    private readonly log: SettlementLog | null,
    /** Applies a batch in one statement (see applySettlements) and updates what depends on it; throws to retry. */
    private readonly commit: (batch: QueuedJson[]) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Logs and queues a settlement; returns once it is in the write-ahead log, before it reaches the database. */
  add(entry: QueuedSettlement): void {
    const json = JSON.stringify(entry.item);
    this.log?.append(json);
    this.queue.push({ ...entry, json });
    this.start();
  }

  /** Resolves when everything queued so far is committed. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.running) await this.start();
  }

  /** Resolves when the generation's settlement is committed (at once if it is not waiting). */
  whenCommitted(generationId: string): Promise<void> {
    if (!this.inFlight.has(generationId) && !this.queue.some((q) => q.record.id === generationId)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiting.get(generationId) ?? [];
      list.push(resolve);
      this.waiting.set(generationId, list);
    });
  }

  private start(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    // Let the settlements of this turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    let failures = 0;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      for (const entry of batch) this.inFlight.add(entry.record.id);
      try {
        await this.commit(batch);
        failures = 0;
        this.log?.committedCount(batch.length);
        for (const entry of batch) this.inFlight.delete(entry.record.id);
        for (const entry of batch) {
          for (const resolve of this.waiting.get(entry.record.id) ?? []) resolve();
          this.waiting.delete(entry.record.id);
        }
      } catch (error) {
        for (const entry of batch) this.inFlight.delete(entry.record.id);
        this.queue.unshift(...batch);
        this.onError(error);
        await sleep(RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)]);
        failures += 1;
      }
    }
  }
}

/**
 * Applies settlements in one statement, sorted by account (the lock order every billing statement follows). Items
 * whose generation is already recorded are skipped, so a batch may be replayed. Returns each account's new balance.
 */
export function applySettlements(sql: Sql, items: SettlementItem[]): Promise<Map<string, bigint>> {
  return applySettlementJson(sql, items.map((item) => ({ account: item.account, json: JSON.stringify(item) })));
}

/** As `applySettlements`, for items already written as JSON (the batcher's queue): the array is joined, not rebuilt. */
export async function applySettlementJson(sql: Sql, items: Array<{ account: string; json: string }>): Promise<Map<string, bigint>> {
  const sorted = [...items].sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  const rows = await sql.query<{ account_id: string; balance: bigint }>("select account_id, balance from sy_settle_batch($1)", [
    `[${sorted.map((item) => item.json).join(",")}]`,
  ]);
  return new Map(rows.map((row) => [row.account_id, row.balance]));
}

/** The `generation` row for a record: every column, by its SQL name. */
export function generationRow(g: GenerationRecord): Record<string, unknown> {
  return {
    id: g.id,
    account_id: g.accountId,
    key_hash: g.keyHash,
    model: g.model,
    provider: g.provider,
    endpoint_id: g.endpointId,
    upstream_id: g.upstreamId,
    api_type: g.apiType,
    streamed: g.streamed,
    cancelled: g.cancelled,
    finish_reason: g.finishReason,
    native_finish_reason: g.nativeFinishReason,
    tokens_prompt: g.usage.promptTokens,
    tokens_completion: g.usage.completionTokens,
    tokens_reasoning: g.usage.reasoningTokens,
    tokens_cached: g.usage.cachedTokens,
    tokens_cache_write: g.usage.cacheWriteTokens,
    usage_counted: g.usageCounted,
    cost: g.cost.toString(),
    latency_ms: g.latencyMs,
    generation_time_ms: g.generationTimeMs,
    attempts: g.attempts,
    num_search_results: g.numSearchResults,
    prompt_text: g.promptText,
    completion_text: g.completionText,
    created_at: g.createdAt.toISOString(),
  };
}
