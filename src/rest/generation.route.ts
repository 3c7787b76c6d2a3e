import type { FastifyInstance } from "fastify";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import { usdToNumber } from "../billing/money.js";
import type { CatalogPort } from "../core/ports.js";
import { AppError } from "../errors.js";
import type { Sql } from "../persistence/sql.js";
import { GENERATION_METADATA_COLUMNS, type GenerationMetadataRow } from "../usage/generation.entity.js";
import { providerName } from "../usage/provider-name.js";
import { INFERENCE, requireKey } from "./auth.js";

export interface GenerationRouteDeps {
  auth: KeyAuthenticator;
  sql: Sql;
  catalog: CatalogPort;
  /** Settlements are committed in batches: a read right after a completion waits for its own to land. */
  settled: (generationId: string) => Promise<void>;
}

/** `GET /generation?id=gen-…`: the recorded generation, to any inference key of the account that made it. */
export function registerGenerationRoutes(app: FastifyInstance, deps: GenerationRouteDeps): void {
  app.get<{ Querystring: { id?: string } }>("/api/v1/generation", async (request) => {
    const key = await requireKey(deps.auth, request, INFERENCE);
    const id = request.query.id;
    if (!id) throw new AppError("invalid_request", "The `id` query parameter is required.", { metadata: { param: "id" } });
    await deps.settled(id);
    const [row] = await deps.sql.query<GenerationRow>(
      `select ${GENERATION_METADATA_COLUMNS}, upstream_id, num_search_results from generation where id = $1 and account_id = $2`,
      [id, key.accountId],
    );
    if (!row) throw new AppError("not_found", `Generation ${id} not found.`);
    const catalog = deps.catalog.snapshot();
    const cost = usdToNumber(row.cost);
    return {
      data: {
        id: row.id,
        upstream_id: row.upstream_id,
        created_at: row.created_at.toISOString(),
        model: row.model,
        provider_name: providerName(catalog, row.provider),
        api_type: row.api_type === "chat" ? "completions" : "text_completions",
        streamed: row.streamed,
        cancelled: row.cancelled,
        finish_reason: row.finish_reason,
        native_finish_reason: row.native_finish_reason,
        tokens_prompt: row.tokens_prompt,
        tokens_completion: row.tokens_completion,
        native_tokens_prompt: row.tokens_prompt,
        native_tokens_completion: row.tokens_completion,
        native_tokens_reasoning: row.tokens_reasoning,
        native_tokens_cached: row.tokens_cached,
        native_tokens_cache_write: row.tokens_cache_write,
        usage_counted_by_switchyard: row.usage_counted,
        total_cost: cost,
        usage: cost,
        cache_discount: null,
        upstream_inference_cost: null,
        is_byok: false,
        latency: row.latency_ms,
        generation_time: row.generation_time_ms,
        moderation_latency: null,
        num_search_results: row.num_search_results,
        api_key_hash: row.key_hash,
        provider_responses: row.attempts.map((a) => ({
          provider: a.provider,
          provider_name: providerName(catalog, a.provider),
          model: a.model,
          endpoint: a.endpoint,
          status: a.status,
          error: a.error,
          latency: a.latencyMs,
        })),
      },
    };
  });
}

interface GenerationRow extends GenerationMetadataRow {
  upstream_id: string | null;
  num_search_results: number;
}
