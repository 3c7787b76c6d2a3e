import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { worstCaseCost } from "../../src/core/pricing.js";
import { countPromptTokens } from "../../src/core/tokens.js";
import { expectLedgerBalanced, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { REAL_DATABASE_URL } from "../helpers/database.js";

const CATALOG = {
  providers: [{ slug: "steady", name: "Steady", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } }],
  models: [
    {
      id: "test/steady",
      name: "Steady",
      contextLength: 4096,
      endpoints: [
        {
          provider: "steady",
          upstreamModel: "steady",
          maxCompletionTokens: 1024,
          pricing: { prompt: "0.000001", completion: "0.000002" },
          supportedParameters: ["max_tokens"],
          // Slow enough that all requests overlap.
          simulation: { ttftMs: 300, tokensPerSecond: 50 },
        },
      ],
    },
  ],
};

/**
 * Holds are placed atomically against the account's available balance: under a burst, no more requests are in flight
 * than the credits can cover in the worst case, the balance never goes below zero, and afterwards the ledger sums to
 * the balance, which is what was granted minus what the generations cost. Needs real lock contention, so it runs
 * on the real PostgreSQL server only.
 */
describe.skipIf(!REAL_DATABASE_URL)("100 concurrent requests against credits for 10", () => {
  let t: TestApp;
  let user: TestAccount;
  const messages = [{ role: "user" as const, content: "Tell me something" }];
  const maxTokens = 200;

  beforeAll(async () => {
    t = await startTestApp({ catalog: CATALOG, env: { DATABASE_POOL_SIZE: "20" } });
    user = await t.account({ credits: "0" });
  });
  afterAll(() => t?.close());

  it("never admits more than the credits cover, never overdraws, and leaves a ledger that sums", async () => {
    const endpoint = t.app.catalog.snapshot().endpoints.get("test/steady:standard@steady")!;
    const worst = worstCaseCost(endpoint, countPromptTokens(messages), maxTokens, 0);
    // Credits for ten worst cases and a bit, never eleven.
    const granted = worst * 10n + worst / 2n;
    await t.app.accounts.grantCredits(user.accountId, granted, "burst test");

    // Sample the account while the burst runs: reserved credits never exceed the balance.
    let minAvailable = granted;
    let maxInUse = 0n;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await t.app.db.sql.query<{ balance: bigint; held: bigint }>("select balance, held from account where id = $1", [user.accountId]);
        const available = row.balance - row.held;
        if (available < minAvailable) minAvailable = available;
        const inUse = t.app.credits.inUse(user.accountId);
        if (inUse > maxInUse) maxInUse = inUse;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const statuses = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await t.fetch("/api/v1/chat/completions", {
          key: user.key,
          body: { model: "test/steady", messages, max_tokens: maxTokens },
        });
        const body = await response.json();
        if (response.status === 402) expect(body.error.metadata.limit_source).toBe("credits");
        return response.status;
      }),
    );
    sampling = false;
    await sampler;

    const ok = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 402).length;
    expect(ok + refused).toBe(100);
    // Never more than ten worst cases in flight at once (each admitted request holds one while it runs).
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(maxInUse).toBeGreaterThan(0n);
    expect(maxInUse).toBeLessThanOrEqual(worst * 10n);
    expect(minAvailable).toBeGreaterThanOrEqual(0n);

    const { balance } = await expectLedgerBalanced(t.app, user.accountId);
    const [{ spent, generations }] = await t.app.db.sql.query<{ spent: string; generations: string }>(
      "select coalesce(sum(cost), 0)::text as spent, count(*)::text as generations from generation where account_id = $1",
      [user.accountId],
    );
    expect(Number(generations)).toBe(ok);
    expect(balance).toBe(granted - BigInt(spent));
    expect(balance).toBeGreaterThanOrEqual(0n);
  });
});
