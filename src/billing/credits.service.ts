import type { CreditsPort, GenerationRecord, HoldOutcome, HoldRequest } from "../core/ports.js";
import type { Sql } from "../persistence/sql.js";

/**
 * Credit holds and settlement on PostgreSQL, each one function call (see the billing-functions migration): one round
 * trip to admit, one to settle. Holds are checked against the account's available balance (balance − held) and the
 * key's limit under row locks, so concurrent requests can never together spend more than the account has.
 */
export class PgCredits implements CreditsPort {
  private reaper: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: Sql,
    /** Called after each settlement with the account's new balance (live dashboards, auto top-up). */
    private readonly onSettled: (record: GenerationRecord, balance: bigint) => void = () => {},
  ) {}

  async hold(request: HoldRequest): Promise<HoldOutcome> {
    const [row] = await this.sql.query<{ outcome: string; available: bigint }>(
      "select outcome, available from sy_place_hold($1, $2, $3, $4, $5)",
      [request.holdId, request.accountId, request.keyHash, request.amount.toString(), request.ttlMs],
    );
    if (row.outcome === "ok") return { ok: true };
    if (row.outcome === "no_account") return { ok: false, reason: "credits", available: 0n };
    return { ok: false, reason: row.outcome as "negative_balance" | "credits" | "key_limit", available: row.available };
  }

  async release(holdId: string): Promise<void> {
    await this.sql.query("select sy_release_hold($1)", [holdId]);
  }

  async settle({ holdId, description, generation }: { holdId: string; description: string; generation: GenerationRecord }): Promise<void> {
    const [row] = await this.sql.query<{ balance: bigint }>("select sy_settle($1, $2, $3, $4, $5, $6) as balance", [
      holdId,
      generation.accountId,
      generation.keyHash,
      generation.cost.toString(),
      description,
      JSON.stringify(generationRow(generation)),
    ]);
    this.onSettled(generation, row.balance);
  }

  /** Releases orphaned holds (their process died) every `intervalMs`. */
  startReaper(intervalMs: number, onError: (error: unknown) => void): void {
    this.reaper = setInterval(() => {
      this.reap().catch(onError);
    }, intervalMs);
    this.reaper.unref();
  }

  async reap(): Promise<number> {
    const [row] = await this.sql.query<{ released: number }>("select sy_reap_holds() as released");
    return row.released;
  }

  stopReaper(): void {
    clearInterval(this.reaper);
  }
}

/** The `generation` row as JSON for `jsonb_populate_record`: every column, by its SQL name. */
function generationRow(g: GenerationRecord): Record<string, unknown> {
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
    num_search_results: 0,
    prompt_text: g.promptText,
    completion_text: g.completionText,
    created_at: g.createdAt.toISOString(),
  };
}
