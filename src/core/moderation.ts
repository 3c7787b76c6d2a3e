import { AppError } from "../errors.js";
import type { ModerationResult } from "./ports.js";
import { contentText } from "./tokens.js";
import type { ChatMessage } from "./types.js";

/**
 * The moderation step for endpoints the catalog marks `moderated`, as pure functions: what is judged (the text of
 * each message the client sent, one input per message) and the 403 a flag becomes. The backend is a port
 * (`ModerationPort`); the router calls it at most once per request, before the first attempt on a moderated endpoint.
 * `:beta` skips the step.
 */

/** The longest excerpt of flagged input an error shows. */
const FLAGGED_EXCERPT_CHARS = 100;

/** One input per message with text: its text, or its text parts joined by newlines. Images and other parts are not judged. */
export function moderationInputs(messages: readonly ChatMessage[]): string[] {
  const inputs: string[] = [];
  for (const message of messages) {
    const text = contentText(message.content, "\n");
    if (text.trim().length > 0) inputs.push(text);
  }
  return inputs;
}

/**
 * The error for flagged input, or null when nothing was flagged: 403 `moderation_flagged` whose metadata lists the
 * reasons (every category that flagged any input), the first flagged input (at most 100 characters, elided in the
 * middle), the provider whose endpoint required moderation and the model.
 */
export function flaggedError(
  inputs: readonly string[],
  results: readonly ModerationResult[],
  context: { model: string; providerName: string },
): AppError | null {
  const flagged = results.map((result, i) => ({ result, input: inputs[i] ?? "" })).filter(({ result }) => result.flagged);
  if (flagged.length === 0) return null;
  const reasons = [...new Set(flagged.flatMap(({ result }) => result.reasons))];
  const shown = reasons.length > 0 ? reasons.join(", ") : "unspecified";
  return new AppError(
    "moderation_flagged",
    `${context.model} requires moderation on ${context.providerName}. Your input was flagged for "${shown}". No credits were charged.`,
    {
      metadata: {
        reasons,
        flagged_input: elide(flagged[0].input, FLAGGED_EXCERPT_CHARS),
        provider_name: context.providerName,
        model_slug: context.model,
      },
    },
  );
}

/** `text` in at most `max` characters: longer text keeps its start and end around an ellipsis ("..."). */
export function elide(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const keep = max - 3;
  const head = Math.ceil(keep / 2);
  return `${chars.slice(0, head).join("")}...${chars.slice(chars.length - (keep - head)).join("")}`;
}
