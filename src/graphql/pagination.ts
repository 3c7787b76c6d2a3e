import { AppError } from "../errors.js";

/*
 * Cursor pagination for lists that grow (keys, ledger entries, generations): forward only, `first` items after the
 * opaque `after` cursor. Cursors are base64url JSON naming the list they belong to, so a cursor of one list given to
 * another is a BAD_USER_INPUT, not a silently wrong page.
 */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `first`, checked: 1 … MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE when absent. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new AppError("invalid_request", `first must be between 1 and ${MAX_PAGE_SIZE}, got ${first}.`, { metadata: { param: "first" } });
  }
  return first;
}

export function encodeCursor(list: string, position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([list, ...position])).toString("base64url");
}

/** The position encoded in a cursor of `list`, or null without one; anything else is BAD_USER_INPUT. */
export function decodeCursor(list: string, cursor: string | null | undefined): string[] | null {
  if (cursor === null || cursor === undefined) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    decoded = null;
  }
  if (!Array.isArray(decoded) || decoded[0] !== list || decoded.length < 2 || !decoded.every((part) => typeof part === "string" || typeof part === "number")) {
    throw new AppError("invalid_request", `after: not a cursor of this list (${list}).`, { metadata: { param: "after" } });
  }
  return decoded.slice(1).map(String);
}

/** BAD_USER_INPUT for a cursor of the right list whose position cannot be one of its rows. */
export function badCursor(): AppError {
  return new AppError("invalid_request", "after: not a cursor of this list.", { metadata: { param: "after" } });
}

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** A page from up to `size + 1` fetched items: the extra one only says that there is a next page. */
export function toPage<R, T>(rows: readonly R[], size: number, cursorOf: (row: R) => string, nodeOf: (row: R) => T): Page<T> {
  const edges = rows.slice(0, size).map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return {
    edges,
    nodes: edges.map((edge) => edge.node),
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
