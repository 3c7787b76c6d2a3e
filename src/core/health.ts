import type { Clock } from "./ports.js";

/**
 * What this node has seen of each endpoint: outcomes for uptime, time to first token and throughput samples, and a
 * circuit breaker. In memory, per node: each gateway node learns from its own traffic.
 *
 * - Uptime over 5 min / 30 min / 1 day counts successes and failures in one-minute buckets; rate-limited attempts
 *   (429) are left out, as a provider that says "slow down" is up.
 * - An endpoint is unhealthy when its breaker is open, or when in the last 30 s at least two attempts failed and
 *   failures were at least half; the planner puts unhealthy endpoints last.
 * - An upstream's `Retry-After` cools the endpoint down for every request on this node until it has passed.
 * - The breaker opens after `failureThreshold` consecutive failures, lets one probe through after `openMs`, closes on
 *   a successful probe and reopens for twice as long (up to `maxOpenMs`) on a failed one.
 */
export interface AttemptOutcome {
  ok: boolean;
  /** The upstream answered 429. */
  rateLimited: boolean;
  /** Time from sending to the first token, when there was one. */
  ttftMs: number | null;
  /** Completion tokens per second after the first token, for answers long enough to tell. */
  tokensPerSecond: number | null;
}

export interface Percentiles {
  p50: number;
  p75: number;
  p90: number;
  p99: number;
}

export interface HealthStats {
  /** Percent of successful attempts, or null with no attempts in the window. */
  uptime5m: number | null;
  uptime30m: number | null;
  uptime1d: number | null;
  /** Time to first token, ms, over the last 30 min. */
  latency30m: Percentiles | null;
  /** Tokens per second, over the last 30 min. */
  throughput30m: Percentiles | null;
  breaker: BreakerState;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface HealthOptions {
  failureThreshold: number;
  openMs: number;
  maxOpenMs: number;
  recentWindowMs: number;
}

const DEFAULTS: HealthOptions = { failureThreshold: 5, openMs: 30_000, maxOpenMs: 300_000, recentWindowMs: 30_000 };
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const SAMPLE_WINDOW = 30 * MINUTE;
/** Samples kept per endpoint (a ring): enough for stable percentiles, bounded under any load. */
const SAMPLE_CAPACITY = 1024;
/** `stats()` serves its cached figures for at most this long; a recorded outcome clears them at once. */
const STATS_TTL_MS = 1000;
/** A probe that never reports back (its request vanished) stops blocking the next one after this long. */
const PROBE_TIMEOUT_MS = 60_000;

interface EndpointState {
  /** Minute index → [successes, failures], for uptime. */
  minutes: Map<number, [number, number]>;
  /** Second index → [successes, failures], for the 30-second health view. */
  seconds: Map<number, [number, number]>;
  /** Ring of successful samples. */
  sampleAt: Float64Array;
  sampleTtft: Float64Array;
  sampleTps: Float64Array;
  sampleCount: number;
  sampleNext: number;
  cached: { at: number; stats: HealthStats } | null;
  consecutiveFailures: number;
  breaker: BreakerState;
  openUntil: number;
  openMs: number;
  probeStartedAt: number | null;
  /** No attempts before this time (the upstream's `Retry-After`). */
  coolingUntil: number;
}

export class HealthTracker {
  private readonly states = new Map<string, EndpointState>();
  private readonly options: HealthOptions;

  constructor(
    private readonly clock: Clock,
    options: Partial<HealthOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * Whether an attempt may be sent now. False while the breaker is open; in the half-open state it grants one probe
   * at a time.
   */
  tryAcquire(endpointId: string): boolean {
    const state = this.states.get(endpointId);
    if (!state) return true;
    const now = this.clock.now();
    if (now < state.coolingUntil) return false;
    if (state.breaker === "closed") return true;
    if (state.breaker === "open") {
      if (now < state.openUntil) return false;
      state.breaker = "half_open";
    }
    if (state.probeStartedAt !== null && now - state.probeStartedAt < PROBE_TIMEOUT_MS) return false;
    state.probeStartedAt = now;
    return true;
  }

  /**
   * When the endpoint will take attempts again: the end of a `Retry-After` cool-down or of an open breaker; null if
   * it takes them now.
   */
  availableAt(endpointId: string): number | null {
    const state = this.states.get(endpointId);
    if (!state) return null;
    const until = Math.max(state.coolingUntil, state.breaker === "open" ? state.openUntil : 0);
    return until > this.clock.now() ? until : null;
  }

  /** The upstream asked (with `Retry-After`) not to be called before `until`: no request on this node will. */
  coolDown(endpointId: string, until: number): void {
    const state = this.state(endpointId);
    state.coolingUntil = Math.max(state.coolingUntil, until);
  }

  record(endpointId: string, outcome: AttemptOutcome): void {
    const now = this.clock.now();
    const state = this.state(endpointId);
    if (!outcome.rateLimited) count(state.minutes, Math.floor(now / MINUTE), outcome.ok, Math.floor((now - DAY) / MINUTE));
    count(state.seconds, Math.floor(now / SECOND), outcome.ok, Math.floor((now - this.options.recentWindowMs) / SECOND));
    if (outcome.ok && (outcome.ttftMs !== null || outcome.tokensPerSecond !== null)) {
      const i = state.sampleNext;
      state.sampleAt[i] = now;
      state.sampleTtft[i] = outcome.ttftMs ?? Number.NaN;
      state.sampleTps[i] = outcome.tokensPerSecond ?? Number.NaN;
      state.sampleNext = (i + 1) % SAMPLE_CAPACITY;
      state.sampleCount = Math.min(state.sampleCount + 1, SAMPLE_CAPACITY);
    }
    this.updateBreaker(state, outcome.ok, now);
  }

  isHealthy(endpointId: string): boolean {
    const state = this.states.get(endpointId);
    if (!state) return true;
    if (state.breaker !== "closed" || this.clock.now() < state.coolingUntil) return false;
    const since = Math.floor((this.clock.now() - this.options.recentWindowMs) / SECOND);
    let failures = 0;
    let total = 0;
    for (const [second, [ok, failed]] of state.seconds) {
      if (second <= since) continue;
      total += ok + failed;
      failures += failed;
    }
    return !(failures >= 2 && failures * 2 >= total);
  }

  /** Median time to first token (ms) over 30 min, or null without samples. */
  latencyP50(endpointId: string): number | null {
    return this.median(endpointId, "latency30m", "sampleTtft");
  }

  /** Median throughput (tokens/s) over 30 min, or null without samples. */
  throughputP50(endpointId: string): number | null {
    return this.median(endpointId, "throughput30m", "sampleTps");
  }

  stats(endpointId: string): HealthStats {
    const state = this.states.get(endpointId);
    if (!state) {
      return { uptime5m: null, uptime30m: null, uptime1d: null, latency30m: null, throughput30m: null, breaker: "closed" };
    }
    const now = this.clock.now();
    const cached = freshStats(state, now);
    if (cached) return cached;
    const stats: HealthStats = {
      uptime5m: uptime(state, now, 5 * MINUTE),
      uptime30m: uptime(state, now, 30 * MINUTE),
      uptime1d: uptime(state, now, DAY),
      latency30m: percentiles(recentSamples(state, state.sampleTtft, now)),
      throughput30m: percentiles(recentSamples(state, state.sampleTps, now)),
      breaker: state.breaker === "open" && now >= state.openUntil ? "half_open" : state.breaker,
    };
    state.cached = { at: now, stats };
    return stats;
  }

  /**
   * One median, as `stats()` reports it: from the cached stats while they are fresh, else from that one series alone.
   * The planner asks for it on every sorted request, and under traffic each new outcome has just cleared the cache.
   */
  private median(endpointId: string, figure: "latency30m" | "throughput30m", series: "sampleTtft" | "sampleTps"): number | null {
    const state = this.states.get(endpointId);
    if (!state) return null;
    const now = this.clock.now();
    const cached = freshStats(state, now);
    if (cached) return cached[figure]?.p50 ?? null;
    const values = recentSamples(state, state[series], now);
    return values.length === 0 ? null : rank(values.sort(ascending), 0.5);
  }

  private updateBreaker(state: EndpointState, ok: boolean, now: number): void {
    const { failureThreshold, openMs, maxOpenMs } = this.options;
    state.cached = null;
    if (ok) {
      state.consecutiveFailures = 0;
      state.breaker = "closed";
      state.openMs = openMs;
      state.probeStartedAt = null;
      return;
    }
    state.consecutiveFailures += 1;
    if (state.breaker === "half_open" || (state.breaker === "open" && now >= state.openUntil)) {
      state.openMs = Math.min(state.openMs * 2, maxOpenMs);
      state.breaker = "open";
      state.openUntil = now + state.openMs;
      state.probeStartedAt = null;
    } else if (state.breaker === "closed" && state.consecutiveFailures >= failureThreshold) {
      state.breaker = "open";
      state.openUntil = now + state.openMs;
    }
  }

  private state(endpointId: string): EndpointState {
    let state = this.states.get(endpointId);
    if (!state) {
      state = {
        minutes: new Map(),
        seconds: new Map(),
        sampleAt: new Float64Array(SAMPLE_CAPACITY),
        sampleTtft: new Float64Array(SAMPLE_CAPACITY),
        sampleTps: new Float64Array(SAMPLE_CAPACITY),
        sampleCount: 0,
        sampleNext: 0,
        cached: null,
        consecutiveFailures: 0,
        breaker: "closed",
        openUntil: 0,
        openMs: this.options.openMs,
        probeStartedAt: null,
        coolingUntil: 0,
      };
      this.states.set(endpointId, state);
    }
    return state;
  }
}

/** Adds an outcome to its bucket; when a new bucket opens, drops buckets at or before `oldest`. */
function count(buckets: Map<number, [number, number]>, index: number, ok: boolean, oldest: number): void {
  let bucket = buckets.get(index);
  if (!bucket) {
    for (const key of buckets.keys()) if (key <= oldest) buckets.delete(key);
    bucket = [0, 0];
    buckets.set(index, bucket);
  }
  bucket[ok ? 0 : 1] += 1;
}

function uptime(state: EndpointState, now: number, windowMs: number): number | null {
  const first = Math.floor((now - windowMs) / MINUTE);
  let ok = 0;
  let failed = 0;
  for (const [minute, [s, f]] of state.minutes) {
    if (minute <= first) continue;
    ok += s;
    failed += f;
  }
  return ok + failed === 0 ? null : (ok / (ok + failed)) * 100;
}

/** The cached stats, unless they are older than `STATS_TTL_MS` (a recorded outcome clears them sooner). */
function freshStats(state: EndpointState, now: number): HealthStats | null {
  return state.cached && now - state.cached.at < STATS_TTL_MS ? state.cached.stats : null;
}

/** One series (time to first token or throughput) of the successful samples of the last 30 min. */
function recentSamples(state: EndpointState, series: Float64Array, now: number): number[] {
  const since = now - SAMPLE_WINDOW;
  const values: number[] = [];
  for (let i = 0; i < state.sampleCount; i++) {
    if (state.sampleAt[i] >= since && !Number.isNaN(series[i])) values.push(series[i]);
  }
  return values;
}

function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = values.sort(ascending);
  return { p50: rank(sorted, 0.5), p75: rank(sorted, 0.75), p90: rank(sorted, 0.9), p99: rank(sorted, 0.99) };
}

/** The nearest-rank `q` quantile of sorted values. */
function rank(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function ascending(a: number, b: number): number {
  return a - b;
}
