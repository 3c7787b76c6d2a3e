import type { Queryable } from "../../persistence/sql.js";
import { GENERATION_METADATA_COLUMNS, type GenerationMetadataRow } from "../../usage/generation.entity.js";

/*
 * Reads of the `generation` table for the GraphQL API: metadata only (the prompt and completion text, stored for
 * accounts that opted in, are never selected here). Every read is scoped to one account.
 */

export interface GenerationRow extends GenerationMetadataRow {
  account_id: string;
  /** `created_at` in UTC with microseconds: the exact position of the row, for cursors. */
  position: string;
}

export interface GenerationFilter {
  model?: string | null;
  provider?: string | null;
  keyHash?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** Where a page starts: after the row at this position (newest first). */
export interface GenerationPosition {
  createdAt: string;
  id: string;
}

const COLUMNS = `${GENERATION_METADATA_COLUMNS}, account_id,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position`;

/**
 * One page of an account's generations, newest first, in one query: `limit` rows after `after` (keyset on
 * `(created_at, id)`, served by the `(account_id, created_at)` index).
 */
export function generationPage(
  db: Queryable,
  accountId: string,
  filter: GenerationFilter,
  after: GenerationPosition | null,
  limit: number,
): Promise<GenerationRow[]> {
  return db.query<GenerationRow>(
    `select ${COLUMNS} from generation
      where account_id = $1
        and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3::text))
        and ($4::text is null or model = $4) and ($5::text is null or provider = $5) and ($6::text is null or key_hash = $6)
        and ($7::timestamptz is null or created_at >= $7) and ($8::timestamptz is null or created_at < $8)
      order by created_at desc, id desc
      limit $9`,
    [
      accountId,
      after?.createdAt ?? null,
      after?.id ?? null,
      filter.model ?? null,
      filter.provider ?? null,
      filter.keyHash ?? null,
      filter.since ?? null,
      filter.until ?? null,
      limit,
    ],
  );
}

/** Generations of an account by id, in one query; ids of other accounts (or none) are simply absent. */
export function generationsByIds(db: Queryable, accountId: string, ids: readonly string[]): Promise<GenerationRow[]> {
  return db.query<GenerationRow>(`select ${COLUMNS} from generation where account_id = $1 and id = any($2::text[])`, [accountId, ids]);
}
