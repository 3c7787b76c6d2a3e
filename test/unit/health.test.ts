import { beforeEach, describe, expect, it } from "vitest";
import { HealthTracker, type AttemptOutcome } from "../../src/core/health.js";
import type { Clock } from "../../src/core/ports.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A start time on a whole day, so minute and second buckets line up with the offsets below. */
const T0 = 20_000 * DAY;
const E = "acme/model:standard@acme";

class FakeClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

const ok = (overrides: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
  ok: true,
  rateLimited: false,
  ttftMs: null,
  tokensPerSecond: null,
  ...overrides,
});
const failed: AttemptOutcome = { ok: false, rateLimited: false, ttftMs: null, tokensPerSecond: null };
const rateLimited: AttemptOutcome = { ok: false, rateLimited: true, ttftMs: null, tokensPerSecond: null };

let clock: FakeClock;
let health: HealthTracker;

beforeEach(() => {
  clock = new FakeClock(T0);
  health = new HealthTracker(clock);
});

function fail(times: number, endpointId = E): void {
  for (let i = 0; i < times; i++) health.record(endpointId, failed);
}

describe("HealthTracker", () => {
  it("knows nothing about an endpoint it has not seen", () => {
    expect(health.tryAcquire(E)).toBe(true);
    expect(health.isHealthy(E)).toBe(true);
    expect(health.availableAt(E)).toBeNull();
    expect(health.latencyP50(E)).toBeNull();
    expect(health.throughputP50(E)).toBeNull();
    expect(health.stats(E)).toEqual({
      uptime5m: null,
      uptime30m: null,
      uptime1d: null,
      latency30m: null,
      throughput30m: null,
      breaker: "closed",
    });
  });

  describe("circuit breaker", () => {
    it("stays closed after four consecutive failures", () => {
      fail(4);
      expect(health.tryAcquire(E)).toBe(true);
      expect(health.stats(E).breaker).toBe("closed");
    });

    it("opens after five consecutive failures", () => {
      fail(5);
      expect(health.stats(E).breaker).toBe("open");
      expect(health.tryAcquire(E)).toBe(false);
      expect(health.isHealthy(E)).toBe(false);
      expect(health.availableAt(E)).toBe(T0 + 30 * SECOND);
    });

    it("counts only consecutive failures", () => {
      fail(4);
      health.record(E, ok());
      fail(4);
      expect(health.stats(E).breaker).toBe("closed");
      expect(health.tryAcquire(E)).toBe(true);
    });

    it("keeps other endpoints closed", () => {
      fail(5);
      expect(health.tryAcquire("other")).toBe(true);
      expect(health.isHealthy("other")).toBe(true);
    });

    it("refuses attempts until openMs has passed", () => {
      fail(5);
      clock.advance(30 * SECOND - 1);
      expect(health.tryAcquire(E)).toBe(false);
      expect(health.availableAt(E)).toBe(T0 + 30 * SECOND);
    });

    it("lets exactly one probe through once openMs has passed", () => {
      fail(5);
      clock.advance(30 * SECOND);
      expect(health.availableAt(E)).toBeNull();
      expect(health.stats(E).breaker).toBe("half_open");
      expect(health.tryAcquire(E)).toBe(true);
      expect(health.tryAcquire(E)).toBe(false);
      clock.advance(59 * SECOND);
      expect(health.tryAcquire(E)).toBe(false);
    });

    it("lets another probe through when the first never reports back within a minute", () => {
      fail(5);
      clock.advance(30 * SECOND);
      expect(health.tryAcquire(E)).toBe(true);
      clock.advance(60 * SECOND);
      expect(health.tryAcquire(E)).toBe(true);
      expect(health.tryAcquire(E)).toBe(false);
    });

    it("closes when the probe succeeds", () => {
      fail(5);
      clock.advance(30 * SECOND);
      expect(health.tryAcquire(E)).toBe(true);
      health.record(E, ok());
      expect(health.stats(E).breaker).toBe("closed");
      expect(health.tryAcquire(E)).toBe(true);
      expect(health.tryAcquire(E)).toBe(true);
    });

    it("reopens for twice as long when the probe fails", () => {
      fail(5);
      clock.advance(30 * SECOND);
      expect(health.tryAcquire(E)).toBe(true);
      fail(1);
      expect(health.stats(E).breaker).toBe("open");
      expect(health.availableAt(E)).toBe(clock.now() + 60 * SECOND);
      clock.advance(60 * SECOND - 1);
      expect(health.tryAcquire(E)).toBe(false);
      clock.advance(1);
      expect(health.tryAcquire(E)).toBe(true);
    });

    it("doubles the open time on each failed probe up to five minutes", () => {
      fail(5);
      const openFor: number[] = [];
      for (let probe = 0; probe < 5; probe++) {
        clock.time = health.availableAt(E) ?? clock.time;
        expect(health.tryAcquire(E)).toBe(true);
        fail(1);
        openFor.push((health.availableAt(E) ?? 0) - clock.now());
      }
      expect(openFor).toEqual([60 * SECOND, 120 * SECOND, 240 * SECOND, 300 * SECOND, 300 * SECOND]);
    });

    it("opens for openMs again after it has closed", () => {
      fail(5);
      clock.advance(30 * SECOND);
      health.tryAcquire(E);
      fail(1);
      clock.advance(60 * SECOND);
      health.tryAcquire(E);
      health.record(E, ok());
      fail(5);
      expect(health.availableAt(E)).toBe(clock.now() + 30 * SECOND);
    });

    it("ignores failures reported while it is open", () => {
      fail(5);
      clock.advance(10 * SECOND);
      fail(3);
      expect(health.availableAt(E)).toBe(T0 + 30 * SECOND);
    });

    it("takes its threshold and times from the options", () => {
      health = new HealthTracker(clock, { failureThreshold: 2, openMs: 1_000, maxOpenMs: 1_500 });
      fail(2);
      expect(health.availableAt(E)).toBe(T0 + 1_000);
      clock.advance(1_000);
      expect(health.tryAcquire(E)).toBe(true);
      fail(1);
      expect(health.availableAt(E)).toBe(clock.now() + 1_500);
    });
  });

  describe("cool-down", () => {
    it("blocks attempts until the time has passed", () => {
      health.coolDown(E, T0 + 5 * SECOND);
      expect(health.tryAcquire(E)).toBe(false);
      expect(health.isHealthy(E)).toBe(false);
      expect(health.availableAt(E)).toBe(T0 + 5 * SECOND);
      clock.advance(5 * SECOND - 1);
      expect(health.tryAcquire(E)).toBe(false);
      clock.advance(1);
      expect(health.tryAcquire(E)).toBe(true);
      expect(health.isHealthy(E)).toBe(true);
      expect(health.availableAt(E)).toBeNull();
    });

    it("is never shortened by a sooner Retry-After", () => {
      health.coolDown(E, T0 + 10 * SECOND);
      health.coolDown(E, T0 + 2 * SECOND);
      expect(health.availableAt(E)).toBe(T0 + 10 * SECOND);
    });

    it("reports the later of a cool-down and an open breaker", () => {
      fail(5);
      health.coolDown(E, T0 + 45 * SECOND);
      expect(health.availableAt(E)).toBe(T0 + 45 * SECOND);
      clock.advance(30 * SECOND);
      expect(health.tryAcquire(E)).toBe(false);
    });
  });

  describe("isHealthy", () => {
    it("stays healthy after a single failure", () => {
      fail(1);
      expect(health.isHealthy(E)).toBe(true);
    });

    it("turns unhealthy after two failures in the last 30 seconds", () => {
      fail(2);
      expect(health.isHealthy(E)).toBe(false);
    });

    it("turns unhealthy when failures are exactly half of the recent attempts", () => {
      health.record(E, ok());
      health.record(E, ok());
      fail(2);
      expect(health.isHealthy(E)).toBe(false);
    });

    it("stays healthy when failures are fewer than half of the recent attempts", () => {
      for (let i = 0; i < 3; i++) health.record(E, ok());
      fail(2);
      expect(health.isHealthy(E)).toBe(true);
    });

    it("forgets failures older than 30 seconds", () => {
      fail(2);
      clock.advance(29 * SECOND);
      expect(health.isHealthy(E)).toBe(false);
      clock.advance(1 * SECOND);
      expect(health.isHealthy(E)).toBe(true);
    });

    it("counts failures spread over the window", () => {
      fail(1);
      clock.advance(20 * SECOND);
      fail(1);
      expect(health.isHealthy(E)).toBe(false);
    });
  });

  describe("uptime", () => {
    it("is the percentage of successful attempts in each window", () => {
      for (let i = 0; i < 3; i++) health.record(E, ok());
      fail(1);
      expect(health.stats(E)).toMatchObject({ uptime5m: 75, uptime30m: 75, uptime1d: 75 });
    });

    it("leaves rate-limited attempts out", () => {
      health.record(E, ok());
      health.record(E, rateLimited);
      health.record(E, rateLimited);
      expect(health.stats(E)).toMatchObject({ uptime5m: 100, uptime30m: 100, uptime1d: 100 });
    });

    it("is null when a window holds only rate-limited attempts", () => {
      health.record(E, rateLimited);
      expect(health.stats(E)).toMatchObject({ uptime5m: null, uptime30m: null, uptime1d: null });
    });

    it("counts each attempt only in the windows it falls in", () => {
      fail(1); // T0: 2 h before the end
      clock.advance(110 * MINUTE);
      health.record(E, ok()); // 10 min before the end
      clock.advance(10 * MINUTE);
      health.record(E, ok()); // now
      expect(health.stats(E)).toMatchObject({ uptime5m: 100, uptime30m: 100, uptime1d: (2 / 3) * 100 });
    });

    it("forgets attempts older than a day", () => {
      fail(1);
      clock.advance(DAY);
      expect(health.stats(E)).toMatchObject({ uptime5m: null, uptime30m: null, uptime1d: null });
    });
  });

  describe("latency and throughput", () => {
    it("reports nearest-rank percentiles of successful samples", () => {
      for (let i = 1; i <= 100; i++) health.record(E, ok({ ttftMs: 101 - i, tokensPerSecond: i * 2 }));
      const stats = health.stats(E);
      expect(stats.latency30m).toEqual({ p50: 50, p75: 75, p90: 90, p99: 99 });
      expect(stats.throughput30m).toEqual({ p50: 100, p75: 150, p90: 180, p99: 198 });
      expect(health.latencyP50(E)).toBe(50);
      expect(health.throughputP50(E)).toBe(100);
    });

    it("reports the same medians through the p50 accessors when no stats are cached", () => {
      for (let i = 1; i <= 100; i++) health.record(E, ok({ ttftMs: 101 - i, tokensPerSecond: i * 2 }));
      expect(health.latencyP50(E)).toBe(50);
      expect(health.throughputP50(E)).toBe(100);
      clock.advance(25 * MINUTE);
      for (let i = 1; i <= 3; i++) health.record(E, ok({ ttftMs: i, tokensPerSecond: 1000 + i }));
      clock.advance(5 * MINUTE + 1);
      expect(health.latencyP50(E)).toBe(2);
      expect(health.throughputP50(E)).toBe(1002);
    });

    it("reports a single sample as every percentile", () => {
      health.record(E, ok({ ttftMs: 420, tokensPerSecond: 55.5 }));
      expect(health.stats(E).latency30m).toEqual({ p50: 420, p75: 420, p90: 420, p99: 420 });
      expect(health.stats(E).throughput30m).toEqual({ p50: 55.5, p75: 55.5, p90: 55.5, p99: 55.5 });
    });

    it("keeps latency and throughput samples apart when only one is known", () => {
      health.record(E, ok({ ttftMs: 300 }));
      health.record(E, ok({ tokensPerSecond: 40 }));
      expect(health.latencyP50(E)).toBe(300);
      expect(health.throughputP50(E)).toBe(40);
    });

    it("takes no samples from failed attempts", () => {
      health.record(E, { ok: false, rateLimited: false, ttftMs: 10, tokensPerSecond: 10 });
      expect(health.stats(E).latency30m).toBeNull();
      expect(health.stats(E).throughput30m).toBeNull();
    });

    it("forgets samples older than 30 minutes", () => {
      health.record(E, ok({ ttftMs: 1_000 }));
      clock.advance(20 * MINUTE);
      health.record(E, ok({ ttftMs: 200 }));
      clock.advance(10 * MINUTE + 1);
      expect(health.stats(E).latency30m).toEqual({ p50: 200, p75: 200, p90: 200, p99: 200 });
    });

    it("keeps the latest 1024 samples", () => {
      for (let i = 1; i <= 1100; i++) health.record(E, ok({ ttftMs: i }));
      expect(health.stats(E).latency30m).toEqual({ p50: 77 + 511, p75: 77 + 767, p90: 77 + 921, p99: 77 + 1013 });
    });
  });
});
