import { z } from "zod";
import { AppError } from "./errors.js";

/**
 * Parses request input with a zod schema; a failure is a 400 whose message names the field, what was expected and
 * (where there is one) what arrived, with `metadata.param` set to the field's path.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, label = "request"): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, input, label);
  return parsed.data;
}

export function validationError(error: z.ZodError, input: unknown, label = "request"): AppError {
  const issue = deepest(error.issues[0]);
  const path = issue.path.map(String).join(".") || "(body)";
  const got = issue.path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey], input);
  const shown = got === undefined ? "" : ` (got ${JSON.stringify(got)?.slice(0, 80)})`;
  return new AppError("invalid_request", `Invalid ${label}: ${path}: ${issue.message}${shown}.`, {
    metadata: { param: path, issues: error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join("."), message: i.message })) },
  });
}

/** The most specific issue: inside a union, the branch that got furthest says best what was wrong. */
function deepest(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  const nested = issue.errors
    .flat()
    .map((inner) => deepest({ ...inner, path: [...issue.path, ...inner.path] }))
    .sort((a, b) => b.path.length - a.path.length || Number(a.code === "invalid_type") - Number(b.code === "invalid_type"));
  return nested[0] ?? issue;
}

/** Control characters (NUL among them): never part of a name a person types, and PostgreSQL cannot store NUL. */
const CONTROL_CHARACTERS = /\p{Cc}/u;

/** Whether a short text a person typed (a name, a slug) is free of control characters. */
export function isPlainText(text: string): boolean {
  return !CONTROL_CHARACTERS.test(text);
}

export const PLAIN_TEXT_MESSAGE = "must not contain control characters";

/** A name or similar: trimmed, 1 to `max` characters, no control characters. */
export function plainText(max: number) {
  return z.string().trim().min(1).max(max).refine(isPlainText, { message: PLAIN_TEXT_MESSAGE });
}
