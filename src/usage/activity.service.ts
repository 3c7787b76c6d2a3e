import type { Money } from "../billing/money.js";
import { AppError } from "../errors.js";
import type { Sql } from "../persistence/sql.js";

export const ACTIVITY_GROUPS = ["day", "model", "provider", "key"] as const;
export type ActivityGroup = (typeof ACTIVITY_GROUPS)[number];

export interface ActivityQuery {
  /**
   * First and last UTC day (YYYY-MM-DD), inclusive. By default the last 30 days: `to` is today (UTC), `from` 29 days
   * before `to`.
   */
  from?: string;
  to?: string;
  model?: string;
  provider?: string;
  keyHash?: string;
  /** Rows per day, or per day and model / provider / key. */
  groupBy: ActivityGroup;
}

export interface ActivityBucket {
  day: string;
  model: string | null;
  provider: string | null;
  keyHash: string | null;
  requests: number;
  promptTokens: bigint;
  completionTokens: bigint;
  reasoningTokens: bigint;
  cost: Money;
}

/** The longest range one query may cover. */
export const MAX_ACTIVITY_DAYS = 366;

/** Days in the default range. */
const DEFAULT_ACTIVITY_DAYS = 30;

const DAY_MS = 86_400_000;

/**
 * Usage by UTC day from the `activity_day` roll-up that every settlement keeps current: requests, tokens and cost,
 * filtered by model, provider and key, optionally broken down by one of them. Reads at most one row per day and
 * combination, however many generations there were.
 */
export class ActivityService {
  constructor(private readonly sql: Sql) {}

  async query(accountId: string, q: ActivityQuery): Promise<ActivityBucket[]> {
    const to = q.to ?? new Date().toISOString().slice(0, 10);
    const from = q.from ?? new Date(Date.parse(to) - (DEFAULT_ACTIVITY_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
    const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (!(days >= 1)) throw new AppError("invalid_request", "The range is empty: `from` must not be after `to`.");
    if (days > MAX_ACTIVITY_DAYS) throw new AppError("invalid_request", `The range may cover at most ${MAX_ACTIVITY_DAYS} days.`);
    const dimension = { day: null, model: "model", provider: "provider", key: "key_hash" }[q.groupBy];
    const rows = await this.sql.query<ActivityRow>(
      `select to_char(day, 'YYYY-MM-DD') as day, ${dimension ?? "null"} as dimension, sum(requests)::int as requests,
              sum(prompt_tokens)::bigint as prompt_tokens, sum(completion_tokens)::bigint as completion_tokens,
              sum(reasoning_tokens)::bigint as reasoning_tokens, sum(cost)::bigint as cost
         from activity_day
        where account_id = $1 and day between $2 and $3
          and ($4::text is null or model = $4) and ($5::text is null or provider = $5) and ($6::text is null or key_hash = $6)
        group by day${dimension ? `, ${dimension}` : ""}
        order by day, dimension`,
      [accountId, from, to, q.model ?? null, q.provider ?? null, q.keyHash ?? null],
    );
    return rows.map((row) => ({
      day: row.day,
      model: q.groupBy === "model" ? row.dimension : null,
      provider: q.groupBy === "provider" ? row.dimension : null,
      keyHash: q.groupBy === "key" ? row.dimension || null : null,
      requests: row.requests,
      promptTokens: row.prompt_tokens,
      completionTokens: row.completion_tokens,
      reasoningTokens: row.reasoning_tokens,
      cost: row.cost,
    }));
  }
}

interface ActivityRow {
  day: string;
  dimension: string | null;
  requests: number;
  prompt_tokens: bigint;
  completion_tokens: bigint;
  reasoning_tokens: bigint;
  cost: bigint;
}
