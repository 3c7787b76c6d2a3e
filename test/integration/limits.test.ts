import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, ledgerOf, startTestApp, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

/** Free-model quotas and the balance-based rate limit, counted in PostgreSQL (or Redis when configured). */
describe("request limits", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      catalog: TEST_CATALOG,
      env: {
        SWITCHYARD_FREE_REQUESTS_PER_DAY: "200",
        SWITCHYARD_FREE_REQUESTS_PER_MINUTE: "1000",
        SWITCHYARD_PAID_RPS_PER_DOLLAR: "1",
        SWITCHYARD_PAID_RPS_MIN: "1",
        SWITCHYARD_PAID_RPS_MAX: "3",
        SWITCHYARD_SIGNUP_CREDITS: "0.25",
      },
    });
  });
  afterAll(() => t?.close());

  const ask = (key: string, model: string) => t.fetch("/api/v1/chat/completions", { key, body: chatBody(model) });

  it("lets request 200 to free models through on a UTC day and refuses request 201", async () => {
    const { key } = await t.account({ credits: "0" });
    for (let i = 1; i <= 199; i++) expect((await ask(key, "test/variants:free")).status, `request ${i}`).toBe(200);
    expect((await (await t.fetch("/api/v1/key", { key })).json()).data.free_model_daily_requests).toEqual({ used: 199, limit: 200, remaining: 1 });
    expect((await ask(key, "test/variants:free")).status).toBe(200);
    const refused = await ask(key, "test/variants:free");
    expect(refused.status).toBe(429);
    const body = await refused.json();
    expect(body.error).toMatchObject({
      code: 429,
      type: "rate_limit_error",
      message:
        "Rate limit exceeded: free-models-per-day. 200 requests a day (UTC) go to free models and today's are used up; the quota resets at 00:00 UTC.",
      metadata: { error_type: "rate_limited", limit: "free-models-per-day" },
    });
    const midnight = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
    expect(refused.headers.get("x-ratelimit-limit")).toBe("200");
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(refused.headers.get("x-ratelimit-reset"))).toBe(midnight);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await (await t.fetch("/api/v1/key", { key })).json()).data.free_model_daily_requests).toEqual({ used: 200, limit: 200, remaining: 0 });
  });

  it("counts the free quota per account, and never against paid models", async () => {
    const { key } = await t.account({ credits: "1" });
    expect((await ask(key, "test/variants:free")).status).toBe(200);
    expect((await ask(key, "test/chat")).status).toBe(200);
  });

  it("limits paid models to one request per second per dollar of balance, within the ceiling", async () => {
    // 1.5 USD granted + the 0.25 USD sign-up allowance: one whole dollar.
    const poor = await t.account({ credits: "1.5" });
    const results = await Promise.all(Array.from({ length: 4 }, () => ask(poor.key, "test/other")));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429, 429, 429]);
    const refused = results.find((r) => r.status === 429)!;
    const { error } = await refused.json();
    // The balance may already show the one request that got through.
    expect(error.message).toMatch(
      /^Rate limit exceeded: 1 request per second for this account \(1 per second for each dollar of balance; the balance is 1\.7\d* USD\)\. Add credits to raise it\.$/,
    );
    expect(refused.headers.get("x-ratelimit-limit")).toBe("1");
    const rich = await t.account({ credits: "50" });
    const burst = await Promise.all(Array.from({ length: 5 }, () => ask(rich.key, "test/other")));
    expect(burst.filter((r) => r.status === 200)).toHaveLength(3);
    expect((await (await t.fetch("/api/v1/key", { key: rich.key })).json()).data.rate_limit).toMatchObject({ requests: 3, interval: "1s" });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await ask(poor.key, "test/other")).status).toBe(200);
  });

  it("gives each new account its sign-up allowance as its own ledger entry", async () => {
    const { account } = await t.app.accounts.createAccount({ email: `new-${Date.now()}@test.local` });
    const entries = await ledgerOf(t.app, account.id);
    expect(entries).toEqual([{ kind: "grant", amount: 250_000_000_000n, reference: `signup:${account.id}`, description: "Free allowance for new accounts" }]);
    await expectLedgerBalanced(t.app, account.id);
  });
});

describe("the free-model rate per minute", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG, env: { SWITCHYARD_FREE_REQUESTS_PER_MINUTE: "3" } });
  });
  afterAll(() => t?.close());

  it("refuses the fourth request in a minute, saying which limit", async () => {
    const { key } = await t.account({ credits: "0" });
    for (let i = 0; i < 3; i++) expect((await t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/variants:free") })).status).toBe(200);
    const refused = await t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/variants:free") });
    expect(refused.status).toBe(429);
    const { error } = await refused.json();
    expect(error.metadata.limit).toBe("free-models-per-minute");
    expect(error.message).toMatch(/^Rate limit exceeded: free-models-per-minute\. At most 3 requests a minute go to free models; try again in \d+ s\.$/);
    expect(refused.headers.get("x-ratelimit-limit")).toBe("3");
  });
});
