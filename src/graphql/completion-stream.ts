import type { CompletionRun } from "../core/router.js";
import type { RunEvent } from "../core/types.js";
import { toAppError } from "../errors.js";
import { CompletionDeltaType, CompletionErrorType, CompletionEventType } from "./types/completion.type.js";
import { UsageType } from "./types/generation.type.js";

/**
 * A started run as the events of `completionStream`: one event per chunk with output, then one final event with the
 * finish reason, usage and cost — or with the error when the answer failed (before or after output had started: a
 * failure is never a silent completion).
 *
 * `return()` — the client completed the subscription or closed the socket — aborts the upstream request at once and
 * resolves once the run has settled what was generated. It does not wait behind a pending `next()` (an async
 * generator would, until the next token arrived).
 */
export class CompletionStream implements AsyncIterableIterator<CompletionEventType> {
  private readonly iterator: AsyncIterator<RunEvent>;
  private model: string | null = null;
  private provider: string | null = null;
  private started = false;
  private finished = false;
  private closing: Promise<IteratorResult<CompletionEventType>> | null = null;

  constructor(private readonly run: CompletionRun) {
    this.iterator = run[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<CompletionEventType>> {
    this.started = true;
    while (!this.finished && !this.closing) {
      let step: IteratorResult<RunEvent>;
      try {
        step = await this.iterator.next();
      } catch (error) {
        // The run failed before any output (every endpoint failed, or the request timed out): a final error event.
        this.finished = true;
        if (this.closing) break;
        return { done: false, value: this.errorEvent(error) };
      }
      if (this.closing) break;
      if (step.done) {
        this.finished = true;
        break;
      }
      const event = step.value;
      if (event.type === "start") {
        this.model = event.model;
        this.provider = event.providerName;
        continue;
      }
      if (event.type === "chunk") {
        const delta = CompletionDeltaType.from(event.chunk.delta);
        if (delta) return { done: false, value: this.event({ delta }) };
        continue;
      }
      const { result } = event;
      this.finished = true;
      this.model = result.model;
      this.provider = result.providerName;
      return {
        done: false,
        value: this.event({
          done: true,
          finishReason: result.finishReason,
          nativeFinishReason: result.nativeFinishReason,
          usage: UsageType.from(result.usage, result.cost, result.usageCounted),
          error: result.error ? CompletionErrorType.from(result.error) : null,
        }),
      };
    }
    return { done: true, value: undefined };
  }

  /** Stops the run: aborts the upstream request and waits until what was generated is settled. Safe to call twice. */
  return(): Promise<IteratorResult<CompletionEventType>> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<IteratorResult<CompletionEventType>> {
    this.run.cancel();
    try {
      // A run never iterated still holds credits: one step of the cancelled run releases them.
      if (!this.started) await this.iterator.next();
      await this.iterator.return?.(undefined);
    } catch {
      // The run settles in its own `finally`; an error here has nobody left to report to.
    }
    this.finished = true;
    return { done: true, value: undefined };
  }

  private event(fields: Partial<CompletionEventType>): CompletionEventType {
    return Object.assign(new CompletionEventType(), {
      id: this.run.id,
      model: this.model,
      provider: this.provider,
      delta: null,
      finishReason: null,
      nativeFinishReason: null,
      usage: null,
      error: null,
      done: false,
      ...fields,
    });
  }

  private errorEvent(error: unknown): CompletionEventType {
    return this.event({ done: true, finishReason: "error", error: CompletionErrorType.from(toAppError(error)) });
  }
}
