import { countTokens } from "gpt-tokenizer";
import type { ChatMessage, ContentPart } from "./types.js";

/**
 * Token counting for admission (the worst-case hold) and for providers that report no usage. It uses OpenAI's
 * o200k tokenizer for every model: exact for OpenAI models, a close estimate for others, and always far better than
 * characters ÷ 4. Billing uses the provider's own counts whenever it reports them.
 */

/** Special-token text in user input is counted as plain text, never rejected. */
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Per-message framing tokens in OpenAI's chat format, and the tokens that prime the reply. */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING_TOKENS = 3;

/**
 * A conservative stand-in for an image's prompt tokens (a high-detail 1024×1024 image is ~765 tokens for GPT-4o;
 * other providers charge more), so holds cover images without fetching them.
 */
const TOKENS_PER_IMAGE_ESTIMATE = 1500;

/**
 * Byte-pair encoding takes time quadratic in the length of each pre-token (a run the tokenizer's splitting pattern
 * keeps whole: letters, symbols or emoji with no space between them). Ordinary text has short runs; a run of a
 * megabyte would hold the event loop for minutes. Runs longer than this are counted in pieces of this length: linear
 * time, and a count within a token or so per cut of the exact one (merges across a cut are lost, and a space before a
 * run counts on its own). Text without such runs is counted exactly, in one pass.
 */
const LONGEST_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${LONGEST_RUN + 1},}`);
/** The same, for `matchAll` (which copies it, so its own `lastIndex` stays 0). */
const LONG_RUNS = new RegExp(LONG_RUN.source, "g");

export function countTextTokens(text: string): number {
  if (text.length === 0) return 0;
  if (!LONG_RUN.test(text)) return countTokens(text, AS_PLAIN_TEXT);
  let total = 0;
  for (const piece of boundedPieces(text)) total += countTokens(piece, AS_PLAIN_TEXT);
  return total;
}

/** The text cut so that no piece holds a run longer than LONGEST_RUN (never between the halves of a surrogate pair). */
function* boundedPieces(text: string): Generator<string> {
  let from = 0;
  for (const run of text.matchAll(LONG_RUNS)) {
    const start = run.index;
    const end = start + run[0].length;
    if (start > from) yield text.slice(from, start);
    for (let cut = start; cut < end; ) {
      let next = Math.min(cut + LONGEST_RUN, end);
      if (next < end && isHighSurrogate(text.charCodeAt(next - 1))) next -= 1;
      yield text.slice(cut, next);
      cut = next;
    }
    from = end;
  }
  if (from < text.length) yield text.slice(from);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Prompt tokens of a chat request, including message framing, tool definitions and an estimate per image. */
export function countPromptTokens(messages: readonly ChatMessage[], tools?: unknown): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTextTokens(message.role);
    if (message.name) total += TOKENS_PER_NAME + countTextTokens(message.name);
    total += contentTokens(message.content);
    for (const call of message.tool_calls ?? []) {
      total += countTextTokens(call.function?.name ?? "") + countTextTokens(call.function?.arguments ?? "");
    }
  }
  if (tools) total += countTextTokens(JSON.stringify(tools));
  return total;
}

/** The number of image parts in the messages (priced per image, and counted in the prompt estimate). */
export function countImages(messages: readonly ChatMessage[]): number {
  let images = 0;
  for (const message of messages) {
    if (Array.isArray(message.content)) images += message.content.filter((part) => part.type === "image_url").length;
  }
  return images;
}

function contentTokens(content: string | ContentPart[] | null): number {
  if (content === null || content === undefined) return 0;
  if (typeof content === "string") return countTextTokens(content);
  let total = 0;
  for (const part of content) {
    if (part.type === "text" && typeof part.text === "string") total += countTextTokens(part.text);
    else if (part.type === "image_url") total += TOKENS_PER_IMAGE_ESTIMATE;
  }
  return total;
}

/**
 * The text of a message's content: the string itself, or its text parts joined by `separator` (images and other parts
 * are left out).
 */
export function contentText(content: ChatMessage["content"], separator: string): string {
  if (typeof content === "string") return content;
  return (content ?? []).flatMap((part) => (part.type === "text" && typeof part.text === "string" ? [part.text] : [])).join(separator);
}

/** Text of the messages, for prompt logging (accounts that opted in). */
export function messagesText(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => {
      const text =
        typeof m.content === "string"
          ? m.content
          : (m.content ?? [])
              .map((part) => (part.type === "text" ? String(part.text) : `[${part.type}]`))
              .join("\n");
      return `${m.role}: ${text}`;
    })
    .join("\n");
}
