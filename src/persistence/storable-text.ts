/**
 * What PostgreSQL can store of a JavaScript string. Two things a string can hold are refused there:
 * - NUL (U+0000): `text` cannot hold it at all (22021), and `jsonb` refuses the `\u0000` escape (22P05);
 * - an unpaired UTF-16 surrogate (`"\ud800"` alone): `JSON.stringify` writes it as an escape that `jsonb` refuses, and
 *   `pg` turns it into U+FFFD on its way to a `text` column.
 *
 * The rule, per kind of field:
 * - request bodies with an unpaired surrogate are refused at the door (400: not valid Unicode), on every route;
 * - names, labels and other short fields a person types refuse control characters (see `validation.ts`);
 * - free text that is passed on and may be recorded (prompts, completions, upstream error messages, upstream ids) is
 *   passed on unchanged, and stored with each NUL and each unpaired surrogate replaced by U+FFFD (`storableText`).
 */

const REPLACEMENT = "\uFFFD";

/** The string as PostgreSQL can store it: NUL and unpaired surrogates become U+FFFD. Returns the same string when clean. */
export function storableText(text: string): string {
  const clean = text.indexOf("\0") === -1 ? text : text.replaceAll("\0", REPLACEMENT);
  return clean.isWellFormed() ? clean : clean.toWellFormed();
}

/** A JSON-shaped value with every string in it (keys too) made storable. Values that need nothing are returned as they are. */
export function storable<T>(value: T): T {
  if (typeof value === "string") return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[storableText(key)] = storable(inner);
    return out as T;
  }
  return value;
}

/**
 * The path (`messages.0.content`) of the first string in a parsed JSON value, key or value, that holds an unpaired
 * surrogate; null when there is none.
 */
export function unpairedSurrogatePath(value: unknown, path: string[] = []): string | null {
  if (typeof value === "string") return value.isWellFormed() ? null : path.join(".") || "(body)";
  if (value === null || typeof value !== "object") return null;
  for (const [key, inner] of Object.entries(value)) {
    if (!key.isWellFormed()) return [...path, storableText(key)].join(".");
    const found = unpairedSurrogatePath(inner, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Whether JSON text may decode to a string with an unpaired surrogate. UTF-8 cannot carry a surrogate (a decoder
 * makes U+FFFD of one), so only a `\uD800`–`\uDFFF` escape can: the cheap test that spares clean bodies the walk.
 */
export function mayHoldSurrogateEscape(json: string): boolean {
  return SURROGATE_ESCAPE.test(json);
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
