import { AppError } from "../errors.js";
import type { ProviderInfo, UpstreamEvent } from "../core/types.js";
import { drainInBackground } from "../streaming/body.js";
import { SseParser, type SseEvent } from "../streaming/sse-parser.js";
import { droppedMidAnswer, endedBeforeComplete } from "./upstream-errors.js";

/** One protocol's reading of a streamed answer: its events, and what it has seen of the answer's end. */
export interface SseTranslator {
  /** The upstream event for one server-sent event, or null; throws the classified error of an error event. */
  translate(sse: SseEvent): UpstreamEvent | null;
  /** The end marker (`[DONE]`, `message_stop`) arrived: the answer is complete and nothing more is read. */
  readonly stopped: boolean;
  /** Complete: the end marker arrived, or a finish reason did (the marker may be lost with the connection). */
  readonly finished: boolean;
}

/**
 * Reads a server-sent event stream through `translator`, in order. It ends normally at the end marker (the rest of
 * the body drains in the background, keeping the connection), or when the body ends or breaks after a finish reason.
 * A body that breaks before that throws "dropped the connection", one that ends before it "ended the stream"; both
 * are retryable `provider_error`s. Errors the translator throws pass through.
 */
export async function* readSseAnswer(
  body: AsyncIterable<Uint8Array | string>,
  provider: ProviderInfo,
  translator: SseTranslator,
): AsyncIterable<UpstreamEvent> {
  const parser = new SseParser();
  const reader = body[Symbol.asyncIterator]();
  try {
    for (let step = await reader.next(); !step.done; step = await reader.next()) {
      for (const sse of parser.push(step.value)) {
        const event = translator.translate(sse);
        if (event) yield event;
        if (translator.stopped) {
          drainInBackground(reader);
          return;
        }
      }
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    // The answer was complete (finish reason seen) and only the end marker was lost: keep it.
    if (translator.finished) return;
    throw droppedMidAnswer(provider, error);
  }
  for (const sse of parser.end()) {
    const event = translator.translate(sse);
    if (event) yield event;
  }
  if (!translator.finished) throw endedBeforeComplete(provider);
}
