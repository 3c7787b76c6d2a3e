import { describe, expect, it } from "vitest";
import { LeasedCredits } from "../../src/billing/credit-leases.js";
import type { SettlementLog } from "../../src/billing/settlement-log.js";
import type { GenerationRecord } from "../../src/core/ports.js";
import type { Sql } from "../../src/persistence/sql.js";

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

function generation(id: string, keyHash: string, cost: bigint): GenerationRecord {
  return {
    id,
    accountId: ACCOUNT,
    keyHash,
    model: "test/model",
    provider: "test",
    endpointId: "test/model@test",
    upstreamId: null,
    apiType: "completions",
    streamed: false,
    cancelled: false,
    finishReason: "stop",
    nativeFinishReason: "stop",
    usage: { promptTokens: 1, completionTokens: 1, reasoningTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
    usageCounted: true,
    cost,
    latencyMs: 1,
    generationTimeMs: 1,
    attempts: [],
    numSearchResults: 0,
    promptText: null,
    completionText: null,
    createdAt: new Date(0),
  };
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
