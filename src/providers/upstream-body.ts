import type { Dispatcher } from "undici";

/** Bytes held for a consumer that is behind before the connection is paused (backpressure to the upstream). */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * A response body fed by an undici dispatch handler and read with `for await` (or `next()`): chunks are handed over as
 * they arrive, without a stream in between. When the reader falls `HIGH_WATER_BYTES` behind, the connection pauses
 * until it catches up. Stopping early (`return()`, or `break` in a `for await`) aborts the request, which gives up the
 * connection, as leaving a Node stream's loop does; read to the end to keep it.
 */
export class UpstreamBody implements AsyncIterableIterator<Buffer> {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: Error | null = null;
  private waiting: { resolve: (step: IteratorResult<Buffer>) => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly controller: Dispatcher.DispatchController) {}

  /** A chunk arrived. */
  push(chunk: Buffer): void {
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES && !this.controller.paused) this.controller.pause();
  }

  /** The body is complete. */
  end(): void {
    this.ended = true;
    if (this.waiting && this.queue.length === 0) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  /** The body broke (reset, aborted): the reader gets the error once it has read what arrived before it. */
  fail(error: Error): void {
    this.failure ??= error;
    if (this.waiting && this.queue.length === 0) {
      const { reject } = this.waiting;
      this.waiting = null;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<Buffer>> {
    const chunk = this.queue.shift();
    if (chunk) {
      this.queuedBytes -= chunk.length;
      if (this.controller.paused && this.queuedBytes <= HIGH_WATER_BYTES / 2) this.controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Buffer>> {
    if (!this.ended && !this.failure) this.controller.abort(new Error("The response body was not read to its end."));
    this.queue.length = 0;
    this.ended = true;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
