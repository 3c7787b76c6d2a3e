import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUsd } from "../../src/billing/money.js";
import { chatBody } from "../helpers/catalogs.js";
import { expectLedgerBalanced, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { REAL_DATABASE_URL } from "../helpers/database.js";

/** One model whose worst case is its cost: a flat 0.001 USD per request, nothing per token. */
const CATALOG = {
  providers: [{ slug: "flat", name: "Flat", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } }],
  models: [
    {
      id: "test/flat",
      name: "Flat",
      contextLength: 4096,
      endpoints: [
        {
          provider: "flat",
          upstreamModel: "flat",
          maxCompletionTokens: 64,
          pricing: { prompt: "0", completion: "0", request: "0.001" },
          simulation: { ttftMs: 20, tokensPerSecond: 2000 },
        },
      ],
    },
  ],
};

const AFFORDABLE = 40;

/**
 * Two gateway nodes on one database, each leasing the account's credits. Together they never spend more than the
 * account has, and no credit stays stranded in one node's lease while the other refuses: once requests stop racing,
 * every affordable request is served, by either node.
 */
describe.skipIf(!REAL_DATABASE_URL)("credit leases across two nodes", () => {
  let a: TestApp;
  let b: TestApp;
  let user: TestAccount;

  beforeAll(async () => {
    a = await startTestApp({ catalog: CATALOG });
    b = await startTestApp({ catalog: CATALOG, database: a.db });
    user = await a.account({ credits: "0" });
    await a.app.accounts.grantCredits(user.accountId, parseUsd("0.001") * BigInt(AFFORDABLE), "lease test");
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const complete = (node: TestApp) => node.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/flat", { max_tokens: 8 }) });

  it("serves exactly what the credits cover, split over both nodes, and strands nothing", async () => {
    // A burst through both nodes at once: three times what the credits cover.
    const burst = await Promise.all(Array.from({ length: AFFORDABLE * 3 }, (_, i) => complete(i % 2 === 0 ? a : b)));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 402)).toEqual([]);
    let served = statuses.filter((s) => s === 200).length;
    expect(served).toBeLessThanOrEqual(AFFORDABLE);

    // Then one request at a time, alternating nodes, until both refuse in a row.
    let refusedInARow = 0;
    for (let i = 0; refusedInARow < 2 && i < AFFORDABLE * 2; i++) {
      const response = await complete(i % 2 === 0 ? a : b);
      await response.text();
      if (response.status === 200) {
        served += 1;
        refusedInARow = 0;
      } else {
        expect(response.status).toBe(402);
        refusedInARow += 1;
      }
    }
    expect(served).toBe(AFFORDABLE);

    await b.app.credits.flush();
    const { balance } = await expectLedgerBalanced(a.app, user.accountId);
    expect(balance).toBe(0n);
  });
});
