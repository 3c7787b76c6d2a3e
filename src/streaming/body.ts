/**
 * Reads the rest of a response body without waiting for it. Leaving a body's `for await` early destroys the stream
 * (with an error object, stack trace and all) and with it the kept-alive upstream connection; an answer that is
 * complete before its last bytes arrive (after `[DONE]` or `message_stop`) is therefore finished this way instead.
 */
export function drainInBackground(body: AsyncIterator<unknown>): void {
  void (async () => {
    try {
      while (!(await body.next()).done) {
        // Nothing after the end of an answer matters.
      }
    } catch {
      // The connection broke after the answer: nothing to reuse.
    }
  })();
}

/** Reads a whole body as text; rejects with the transport's error when the body is cut short. */
export async function readAllText(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of body) text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
