import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, startTestApp, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

/* Account privacy settings (data policy, provider lists, prompt logging) and usage activity: one app for the file. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ catalog: TEST_CATALOG });
});
afterAll(() => t?.close());

describe("privacy settings: /api/v1/account/privacy", () => {
  const settings = (key: string, body?: unknown) =>
    t.fetch("/api/v1/account/privacy", body === undefined ? { key } : { key, method: "PATCH", body });
  const ask = (key: string, provider: Record<string, unknown>) => t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/chat", { provider }) });

  it("starts private: no paid training, free training allowed, retention allowed, no logging", async () => {
    const { key } = await t.account();
    expect((await (await settings(key)).json()).data).toEqual({
      allow_training: false,
      allow_free_training: true,
      allow_retention: true,
      allowed_providers: null,
      ignored_providers: [],
      log_prompts: false,
      prompt_logging_discount: "1%",
    });
  });

  it("applies a change to the next request, and requests can only tighten it", async () => {
    const { key } = await t.account();
    // Gamma trains on data: out of reach by default, reachable once allowed.
    expect((await ask(key, { only: ["gamma"] })).status).toBe(404);
    await settings(key, { allow_training: true });
    expect((await (await ask(key, { only: ["gamma"] })).json()).provider).toBe("Gamma");
    // A request cannot loosen the account: with retention denied, data_collection "allow" changes nothing.
    await settings(key, { allow_retention: false });
    const refused = await ask(key, { only: ["beta"], data_collection: "allow" });
    expect(refused.status).toBe(404);
    expect((await refused.json()).error.metadata.failed_routing_step).toBe("data_policy");
  });

  it("restricts to allowed providers and skips ignored ones, naming unknown slugs", async () => {
    const { key } = await t.account();
    await settings(key, { allow_training: true, allowed_providers: ["beta", "gamma"], ignored_providers: ["gamma"] });
    expect((await (await ask(key, { order: ["alpha", "gamma", "beta"] })).json()).provider).toBe("Beta");
    const unknown = await settings(key, { allowed_providers: ["nobody"] });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.message).toBe('allowedProviders: unknown provider "nobody".');
    expect((await settings(key, { allowed_providers: null })).status).toBe(200);
    expect((await (await ask(key, { order: ["alpha"] })).json()).provider).toBe("Alpha");
  });

  it("stores prompts and completions only after opting in, with the 1% discount", async () => {
    const user = await t.account();
    const secret = "privacy-route-secret-8821";
    const before = await (await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat", { provider: { order: ["alpha"] } }, secret) })).json();
    await settings(user.key, { log_prompts: true });
    const after = await (await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat", { provider: { order: ["alpha"] } }, secret) })).json();
    await t.app.credits.flush();
    const rows = await t.app.db.sql.query<{ id: string; prompt_text: string | null; cost: bigint }>(
      "select id, prompt_text, cost from generation where account_id = $1 order by created_at",
      [user.accountId],
    );
    expect(rows.map((r) => [r.id, r.prompt_text])).toEqual([
      [before.id, null],
      [after.id, `user: ${secret}`],
    ]);
    expect(rows[1].cost).toBe((rows[0].cost * 99n + 50n) / 100n);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("rejects unknown settings and wrong types", async () => {
    const { key } = await t.account();
    expect((await settings(key, { log_prompt: true })).status).toBe(400);
    expect((await settings(key, { allow_training: "yes" })).status).toBe(400);
  });
});

describe("usage activity: /api/v1/activity", () => {
  it("sums requests, tokens and cost by day, filterable and broken down by model, provider and key", async () => {
    const user = await t.account({ credits: "1" });
    const second = (await t.app.accounts.createKey(user.accountId, { kind: "inference", name: "second" })).plaintext;
    const ask = (key: string, model: string, order: string[]) => t.fetch("/api/v1/chat/completions", { key, body: chatBody(model, { provider: { order } }) });
    const bodies = [
      await (await ask(user.key, "test/chat", ["alpha"])).json(),
      await (await ask(user.key, "test/chat", ["beta"])).json(),
      await (await ask(second, "test/other", ["alpha"])).json(),
    ];
    const total = bodies.reduce((sum, b) => sum + b.usage.cost, 0);
    await t.app.credits.flush();
    const today = new Date().toISOString().slice(0, 10);

    const byDay = (await (await t.fetch("/api/v1/activity", { key: user.key })).json()).data;
    expect(byDay).toHaveLength(1);
    expect(byDay[0]).toMatchObject({ date: today, requests: 3 });
    expect(byDay[0].usage).toBeCloseTo(total, 12);
    expect(byDay[0].prompt_tokens).toBe(bodies.reduce((sum, b) => sum + b.usage.prompt_tokens, 0));

    const byModel = (await (await t.fetch("/api/v1/activity?group_by=model", { key: user.key })).json()).data;
    expect(byModel.map((r: { model: string; requests: number }) => [r.model, r.requests])).toEqual([
      ["test/chat", 2],
      ["test/other", 1],
    ]);
    const byProvider = (await (await t.fetch("/api/v1/activity?group_by=provider&model=test/chat", { key: user.key })).json()).data;
    expect(byProvider.map((r: { provider: string; requests: number }) => [r.provider, r.requests])).toEqual([
      ["alpha", 1],
      ["beta", 1],
    ]);
    const byKey = (await (await t.fetch(`/api/v1/activity?api_key_hash=${user.keyHash}`, { key: user.key })).json()).data;
    expect(byKey[0].requests).toBe(2);
    const empty = (await (await t.fetch("/api/v1/activity?date_from=2020-01-01&date_to=2020-01-31", { key: user.key })).json()).data;
    expect(empty).toEqual([]);

    // Another account's activity is its own.
    const stranger = await t.account();
    expect((await (await t.fetch("/api/v1/activity", { key: stranger.key })).json()).data).toEqual([]);
  });

  it("rejects bad dates and over-long ranges", async () => {
    const { key } = await t.account();
    expect((await t.fetch("/api/v1/activity?date_from=yesterday", { key })).status).toBe(400);
    expect((await t.fetch("/api/v1/activity?date_from=2020-01-01&date_to=2026-01-01", { key })).status).toBe(400);
    expect((await t.fetch("/api/v1/activity?date_from=2026-02-01&date_to=2026-01-01", { key })).status).toBe(400);
  });
});
