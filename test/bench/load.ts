import autocannon from "autocannon";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Client } from "undici";
import { percentile } from "./stats.js";

/**
 * The load generators. Latency at a fixed rate is measured by an open-loop generator of our own; throughput by
 * autocannon in a closed loop.
 *
 * With `--wrk` (and `wrk` on PATH) the closed-loop figures come from wrk instead, which needs less of the load
 * generator's core.
 *
 * Why not autocannon for latency: its histogram records whole milliseconds (a 0.3 ms target needs microseconds), and
 * its rate limit lets each connection send its share of a second back to back at the start of every second, so a
 * "500 req/s" run is 50 concurrent bursts rather than a steady stream.
 */

/** One kind of request: where it goes and what it sends. */
export interface Target {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface FixedRateResult {
  /** Requests that answered 200 with a complete body. */
  ok: number;
  /** Requests that failed, answered another status, or had not finished by the deadline. */
  failed: number;
  /** Latency from sending the request to the end of the response body, ms: p50 and p99. */
  p50: number;
  p99: number;
  /** `X-Switchyard-Overhead-Ms` values, when the server sends the header. */
  overheadMs: number[];
  /** The first failure, to show why. */
  firstError: string | null;
}

/**
 * Sends `rate` requests per second for `durationMs`, spread evenly in time and round-robin over `connections`
 * keep-alive connections, whatever the answers do (open loop: a slow answer does not delay the next request; a request
 * whose connection is busy waits in that connection's queue, and the wait counts in its latency).
 */
export async function fixedRate(
  target: Target,
  options: { rate: number; connections: number; durationMs: number; overheadHeader?: string },
): Promise<FixedRateResult> {
  const { rate, connections, durationMs } = options;
  const clients = Array.from({ length: connections }, () => new Client(target.origin, { keepAliveTimeout: 60_000, pipelining: 1 }));
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const latencies = new Float64Array(total);
  const overheadMs: number[] = [];
  const interval = 1000 / rate;
  let ok = 0;
  let failed = 0;
  let firstError: string | null = null;
  let sent = 0;
  let finished = 0;
  const headerName = options.overheadHeader?.toLowerCase();

  const fail = (message: string) => {
    failed++;
    firstError ??= message;
  };

  const allDone = new Promise<void>((resolve) => {
    const settle = () => {
      if (++finished === total) resolve();
    };
    const fire = (i: number) => {
      const started = performance.now();
      clients[i % connections]
        .request({ method: "POST", path: target.path, headers: target.headers, body: target.body })
        .then(async (response) => {
          await response.body.arrayBuffer();
          const elapsed = performance.now() - started;
          if (response.statusCode !== 200) return fail(`HTTP ${response.statusCode}`);
          latencies[ok++] = elapsed;
          const overhead = headerName ? response.headers[headerName] : undefined;
          if (typeof overhead === "string" && overhead !== "") overheadMs.push(Number(overhead));
        })
        .catch((error: Error) => fail(error.message))
        .finally(settle);
    };
    const start = performance.now();
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });

  const deadline = new Promise<void>((resolve) => setTimeout(resolve, durationMs + 15_000).unref());
  await Promise.race([allDone, deadline]);
  const unfinished = total - finished;
  const result: FixedRateResult = {
    ok,
    failed: failed + unfinished,
    p50: percentile(latencies.subarray(0, ok), 50),
    p99: percentile(latencies.subarray(0, ok), 99),
    overheadMs: [...overheadMs],
    firstError: firstError ?? (unfinished > 0 ? `${unfinished} requests had not finished 15 s after the run` : null),
  };
  await Promise.all(clients.map((c) => c.destroy().catch(() => {})));
  return result;
}

export interface ClosedLoopResult {
  /** Completed 2xx responses per second. */
  rps: number;
  ok: number;
  /** Non-2xx responses, connection errors and timeouts. */
  failed: number;
  statusCodes: Record<string, number>;
  seconds: number;
}

/**
 * autocannon, closed loop: `connections` connections each sending its next request as soon as the previous answer
 * ends, for `durationS` seconds or until `amount` requests have been made. With several URLs the connections are
 * spread over them round-robin.
 */
export async function closedLoop(
  urls: string[],
  request: { headers: Record<string, string>; body: string },
  options: { connections: number; durationS?: number; amount?: number },
): Promise<ClosedLoopResult> {
  const result = await autocannon({
    url: urls.length === 1 ? urls[0] : urls,
    method: "POST",
    headers: request.headers,
    body: request.body,
    connections: options.connections,
    // autocannon rejects an undefined duration: pass only what is set.
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationS ?? 10 }),
    timeout: 30,
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  const ok = result["2xx"];
  return {
    rps: ok / result.duration,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    statusCodes,
    seconds: result.duration,
  };
}

/** Whether `wrk` can be run. */
export function wrkAvailable(): boolean {
  const probe = spawnSync("wrk", ["--version"], { stdio: "ignore" });
  return !probe.error;
}

/**
 * wrk, closed loop, one thread, for `durationS` seconds. With several URLs, one wrk per URL runs at the same time,
 * with the connections split between them, and their figures are added up. `scriptDir` receives the Lua script that
 * sets the method, headers and body.
 */
export async function closedLoopWrk(
  urls: string[],
  request: { headers: Record<string, string>; body: string },
  options: { connections: number; durationS: number; scriptDir: string },
): Promise<ClosedLoopResult> {
  const script = path.join(options.scriptDir, "wrk-request.lua");
  const lua = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(request.body)}`,
    ...Object.entries(request.headers).map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`),
  ].join("\n");
  writeFileSync(script, `${lua}\n`);
  const runs = await Promise.all(
    urls.map((url, i) => {
      const connections = Math.floor(options.connections / urls.length) + (i < options.connections % urls.length ? 1 : 0);
      return runWrk(["-t1", `-c${connections}`, `-d${options.durationS}s`, "--timeout", "30s", "-s", script, url], options.durationS);
    }),
  );
  const total = runs.reduce(
    (sum, r) => ({ requests: sum.requests + r.requests, non2xx: sum.non2xx + r.non2xx, errors: sum.errors + r.errors, seconds: Math.max(sum.seconds, r.seconds) }),
    { requests: 0, non2xx: 0, errors: 0, seconds: 0 },
  );
  const ok = total.requests - total.non2xx;
  return { rps: ok / total.seconds, ok, failed: total.non2xx + total.errors, statusCodes: { "2xx": ok, other: total.non2xx }, seconds: total.seconds };
}

async function runWrk(args: string[], durationS: number): Promise<{ requests: number; non2xx: number; errors: number; seconds: number }> {
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), (durationS + 30) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  const summary = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  if (code !== 0 || !summary) throw new Error(`wrk ${args.join(" ")} failed (${code}):\n${out}`);
  const seconds = Number(summary[2]) * (summary[3] === "ms" ? 0.001 : summary[3] === "m" ? 60 : 1);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { requests: Number(summary[1]), non2xx, errors, seconds };
}
