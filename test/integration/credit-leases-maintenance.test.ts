import { describe, expect, it } from "vitest";
import { LeasedCredits } from "../../src/billing/credit-leases.js";
import type { SettlementLog } from "../../src/billing/settlement-log.js";
import type { GenerationRecord } from "../../src/core/ports.js";
import type { Sql } from "../../src/persistence/sql.js";
import { generationRecord } from "../helpers/generation-record.js";

const ACCOUNT = "00000000-0000-4000-8000-000000000001";
const USD = 10n ** 12n;

/**
 * A database that grants every lease what it asks for and records the statements it runs. Statements whose text
 * includes a `gate` wait until the test opens it, to hold the node's writes at a chosen point.
 */
function fakeDatabase() {
  const statements: string[] = [];
  const gates = new Map<string, { opened: Promise<void>; open: () => void }>();
  const sql = {
    async query(text: string, params: readonly unknown[] = []): Promise<object[]> {
      statements.push(text);
      for (const [fragment, gate] of gates) if (text.includes(fragment)) await gate.opened;
      if (text.includes("sy_lease")) return [{ outcome: "ok", amount: BigInt(params[4] as string), available: 0n }];
      return [];
    },
  };
  return {
    sql: sql as unknown as Sql,
    statements,
    count: (fragment: string) => statements.filter((text) => text.includes(fragment)).length,
    gate(fragment: string): () => void {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gates.set(fragment, { opened, open });
      return () => {
        gates.delete(fragment);
        open();
      };
    },
  };
}

function setUp(log: SettlementLog | null = null) {
  const db = fakeDatabase();
  const clock = { time: 1_000_000, now: () => clock.time };
  const errors: unknown[] = [];
  const credits = new LeasedCredits(db.sql, log, { balance: async () => USD }, clock, () => {}, (error) => errors.push(error));
  // The idle sweep normally runs on a timer; the tests run it at chosen moments.
  const maintain = () => (credits as unknown as { maintain(): Promise<void> }).maintain();
  return { db, clock, errors, credits, maintain };
}

const hold = (credits: LeasedCredits, holdId: string, keyHash: string, amount: bigint) =>
  credits.hold({ holdId, accountId: ACCOUNT, keyHash, amount, ttlMs: 60_000 });

/** Two leases (keys k1 and k2) whose requests have ended, left idle long enough for the sweep to return them. */
async function idleLeases(credits: LeasedCredits, clock: { time: number }): Promise<void> {
  for (const key of ["k1", "k2"]) {
    expect(await hold(credits, `${key}-h`, key, USD / 1000n)).toEqual({ ok: true });
    await credits.release(`${key}-h`);
  }
  clock.time += 60_000;
}

/** Lets every queued promise continuation run. */
const settleDown = () => new Promise((resolve) => setImmediate(resolve));

function generation(id: string, keyHash: string, cost: bigint): GenerationRecord {
  return generationRecord({ id, accountId: ACCOUNT, keyHash, cost, endpointId: "test/model@test", model: "test/model", provider: "test" });
}

describe("credit lease settlement", () => {
  it("counts a cost once when the settlement log write fails and the settlement is retried", async () => {
    let failNext = true;
    const log = {
      append() {
        if (failNext) {
          failNext = false;
          throw new Error("ENOSPC: no space left on device");
        }
      },
      committedCount() {},
    } as unknown as SettlementLog;
    const { db, credits } = setUp(log);
    const amount = USD / 1000n;
    expect(await hold(credits, "h1", "k", amount)).toEqual({ ok: true });
    // What the lease was granted: the request and the least extension (more than three times the request).
    const granted = amount + USD / 100n;
    expect(db.count("sy_lease")).toBe(1);

    const settlement = { holdId: "h1", description: "test", generation: generation("g1", "k", amount) };
    await expect(credits.settle(settlement)).rejects.toThrow("ENOSPC");
    expect(credits.inUse(ACCOUNT)).toBe(amount);
    await credits.settle(settlement);
    await credits.flush();
    expect(credits.inUse(ACCOUNT)).toBe(0n);

    // All the lease has left after the one cost is free for the next request, with no extension.
    expect(await hold(credits, "h2", "k", granted - amount)).toEqual({ ok: true });
    expect(db.count("sy_lease")).toBe(1);
  });
});

describe("credit lease maintenance", () => {
  it("does not return a lease while a request is extending it", async () => {
    const { db, clock, credits, maintain } = setUp();
    const openLease = db.gate("sy_lease");
    const placed = hold(credits, "h1", "k", USD / 1000n);
    await settleDown();
    expect(db.count("sy_lease")).toBe(1);

    clock.time += 60_000;
    await maintain();
    openLease();
    expect(await placed).toEqual({ ok: true });
    await settleDown();

    expect(db.count("sy_release_hold")).toBe(0);
    expect(credits.inUse(ACCOUNT)).toBe(USD / 1000n);
  });

  it("does not return a lease twice, nor the lease that replaced it", async () => {
    const { db, clock, credits, maintain } = setUp();
    await idleLeases(credits, clock);

    // The sweep returns the first lease and waits for the write; meanwhile the account is retired (both leases
    // returned) and a new request leases for the second key again.
    const openRelease = db.gate("sy_release_hold");
    const sweep = maintain();
    await settleDown();
    const retired = credits.retire(ACCOUNT);
    await settleDown();
    const placed = hold(credits, "k2-again", "k2", USD / 1000n);
    openRelease();
    await Promise.all([sweep, retired]);
    expect(await placed).toEqual({ ok: true });

    // Each of the two leases went back once, and the new one is still this node's to renew and return.
    expect(db.count("sy_release_hold")).toBe(2);
    expect(credits.inUse(ACCOUNT)).toBe(USD / 1000n);
    await credits.release("k2-again");
    clock.time += 60_000;
    await maintain();
    expect(db.count("sy_release_hold")).toBe(3);
  });

  it("runs one sweep at a time", async () => {
    const { db, clock, credits, maintain } = setUp();
    await idleLeases(credits, clock);

    const openRelease = db.gate("sy_release_hold");
    const first = maintain();
    await settleDown();
    // A second sweep while the first waits for its write leaves at once: the leases are the first one's.
    expect(await Promise.race([maintain().then(() => "left"), settleDown().then(() => "waiting")])).toBe("left");
    expect(db.count("sy_release_hold")).toBe(1);
    openRelease();
    await first;
    expect(db.count("sy_release_hold")).toBe(2);
  });
});
