import { setMaxListeners } from "node:events";
import { Client, Pool } from "undici";
import type { Target } from "./load.js";
import { percentile } from "./stats.js";

/** Streaming clients: time to the first content chunk, and many streams at once checked chunk by chunk. */

/** A `data:` line whose JSON carries a non-empty `content` (the gateway's first chunk may carry only the role). */
const CONTENT_LINE = /^data: \{.*"content":"[^"]/m;

export interface FirstChunkResult {
  /** Time from sending the request to the first `data:` line with content, ms. */
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  firstError: string | null;
}

/**
 * `count` requests one after another on one keep-alive connection. Each is read to its end (so the server finishes
 * and settles it normally) but timed only to its first content line.
 */
export async function firstChunkTimes(target: Target, count: number, deadlineMs: number): Promise<FirstChunkResult> {
  const client = new Client(target.origin, { keepAliveTimeout: 60_000 });
  const times: number[] = [];
  let failed = 0;
  let firstError: string | null = null;
  const deadline = Date.now() + deadlineMs;
  try {
    for (let i = 0; i < count && Date.now() < deadline; i++) {
      const started = performance.now();
      let firstAt: number | null = null;
      try {
        const response = await client.request({
          method: "POST",
          path: target.path,
          headers: target.headers,
          body: target.body,
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
        let seen = "";
        for await (const chunk of response.body) {
          if (firstAt !== null) continue;
          seen += (chunk as Buffer).toString();
          if (CONTENT_LINE.test(seen)) firstAt = performance.now();
        }
        if (response.statusCode !== 200 || firstAt === null) throw new Error(`HTTP ${response.statusCode}${firstAt === null ? ", no content" : ""}`);
        times.push(firstAt - started);
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  } finally {
    await client.destroy().catch(() => {});
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99), ok: times.length, failed, firstError };
}

export interface ConcurrentStreamsResult {
  /** Streams that answered 200 and delivered every content chunk, in order, and `[DONE]`. */
  completed: number;
  streams: number;
  /** Content chunks expected but not received, over all streams. */
  chunksLost: number;
  /** Seconds from the first request to the end of the last stream. */
  seconds: number;
  /** Slowest single stream, seconds. */
  slowestSeconds: number;
  failures: number;
  firstError: string | null;
}

/**
 * Opens `streams` streams at once (one connection each) and checks every one: status 200, exactly the expected
 * content chunks (their concatenation must equal `expectedText`), no in-band error, and `[DONE]` at the end.
 */
export async function concurrentStreams(
  target: Target,
  streams: number,
  expected: { chunks: number; text: string },
  deadlineMs: number,
): Promise<ConcurrentStreamsResult> {
  const pool = new Pool(target.origin, { connections: streams, pipelining: 1, keepAliveTimeout: 60_000 });
  const signal = AbortSignal.timeout(deadlineMs);
  // One deadline for every stream: each request listens on it (Node warns past 10 listeners).
  setMaxListeners(streams + 10, signal);
  let completed = 0;
  let chunksLost = 0;
  let failures = 0;
  let firstError: string | null = null;
  let slowest = 0;
  const started = performance.now();

  const one = async () => {
    const opened = performance.now();
    let chunks = 0;
    let text = "";
    let done = false;
    let problem: string | null = null;
    try {
      const response = await pool.request({ method: "POST", path: target.path, headers: target.headers, body: target.body, signal });
      if (response.statusCode !== 200) problem = `HTTP ${response.statusCode}`;
      let pending = "";
      // Decoded as a stream: a character split between two network chunks stays whole.
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        pending += decoder.decode(chunk as Buffer, { stream: true });
        let end: number;
        while ((end = pending.indexOf("\n\n")) >= 0) {
          const event = pending.slice(0, end);
          pending = pending.slice(end + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") {
              done = true;
              continue;
            }
            const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }> };
            const choice = parsed.choices?.[0];
            if (choice?.finish_reason === "error") problem ??= "in-band error chunk";
            const content = choice?.delta?.content;
            if (typeof content === "string" && content !== "") {
              chunks++;
              text += content;
            }
          }
        }
      }
    } catch (error) {
      problem ??= (error as Error).message;
    }
    if (!done) problem ??= "no [DONE]";
    if (chunks !== expected.chunks) problem ??= `${chunks} of ${expected.chunks} chunks`;
    else if (text !== expected.text) problem ??= "content differs";
    chunksLost += Math.max(0, expected.chunks - chunks);
    slowest = Math.max(slowest, performance.now() - opened);
    if (problem) {
      failures++;
      firstError ??= problem;
    } else {
      completed++;
    }
  };

  await Promise.all(Array.from({ length: streams }, one));
  const seconds = (performance.now() - started) / 1000;
  await pool.destroy().catch(() => {});
  return { completed, streams, chunksLost, seconds, slowestSeconds: slowest / 1000, failures, firstError };
}
