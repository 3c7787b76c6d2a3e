import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

/** Key provisioning with a management key, and key limits with their resets. */
describe("key provisioning: /api/v1/keys", () => {
  let t: TestApp;
  let owner: TestAccount;
  let management: string;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
    owner = await t.account({ credits: "5" });
    management = (await t.app.accounts.createKey(owner.accountId, { kind: "management", name: "ops" })).plaintext;
  });
  afterAll(() => t?.close());

  const api = (method: string, path: string, body?: unknown, key = management) => t.fetch(`/api/v1/keys${path}`, { method, key, body });

  it("creates a key (201, plaintext once), lists, reads, updates and deletes it", async () => {
    const created = await api("POST", "", { name: "Team Alice", limit: 1.5, limit_reset: "daily" });
    expect(created.status).toBe(201);
    const { data, key } = await created.json();
    expect(key).toMatch(/^sk-sy-v1-[0-9a-f]{64}$/);
    expect(data).toMatchObject({
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      name: "Team Alice",
      disabled: false,
      limit: 1.5,
      limit_remaining: 1.5,
      limit_reset: "daily",
      usage: 0,
      usage_daily: 0,
      expires_at: null,
    });
    expect(JSON.stringify(data)).not.toContain(key);

    const listed = (await (await api("GET", "")).json()).data;
    expect(listed.map((k: { hash: string }) => k.hash)).toContain(data.hash);
    expect(JSON.stringify(listed)).not.toContain(key);
    expect((await (await api("GET", `/${data.hash}`)).json()).data.name).toBe("Team Alice");

    // The new key works, on the same account's credits.
    const answer = await t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/chat", { provider: { order: ["alpha"] } }) });
    expect(answer.status).toBe(200);
    // Usage counters move when the settlement commits (in a batch, a moment after the answer).
    await t.app.credits.flush();
    const used = (await (await api("GET", `/${data.hash}`)).json()).data;
    expect(used.usage).toBe(0.000031);
    expect(used.usage_daily).toBe(0.000031);
    expect(used.limit_remaining).toBe(1.499969);

    const patched = await api("PATCH", `/${data.hash}`, { name: "Team A", limit: null, disabled: true });
    expect((await patched.json()).data).toMatchObject({ name: "Team A", limit: null, limit_remaining: null, disabled: true });
    const refused = await t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/chat") });
    expect(refused.status).toBe(401);
    expect(await api("GET", "?include_disabled=false").then((r) => r.json())).not.toMatchObject({ data: [{ hash: data.hash }] });

    expect(await (await api("DELETE", `/${data.hash}`)).json()).toEqual({ deleted: true });
    expect((await api("GET", `/${data.hash}`)).status).toBe(404);
    expect((await t.fetch("/api/v1/key", { key })).status).toBe(401);
  });

  it("takes only management keys, and only the account's own keys", async () => {
    expect((await api("GET", "", undefined, owner.key)).status).toBe(403);
    const stranger = await t.account();
    const theirs = (await t.app.accounts.createKey(stranger.accountId, { kind: "management", name: "theirs" })).plaintext;
    expect((await api("GET", `/${owner.keyHash}`, undefined, theirs)).status).toBe(404);
    expect((await api("DELETE", `/${owner.keyHash}`, undefined, theirs)).status).toBe(404);
    expect((await t.fetch("/api/v1/key", { key: owner.key })).status).toBe(200);
  });

  it("rejects bad input with the field named", async () => {
    const cases: Array<[unknown, string]> = [
      [{}, "name"],
      [{ name: "x", limit: -1 }, "limit"],
      [{ name: "x", limit_reset: "hourly" }, "limit_reset"],
      [{ name: "x", limit_reset: "daily" }, "limit_reset"],
      [{ name: "x", expires_at: "2020-01-01T00:00:00Z" }, "expires_at"],
      [{ name: "x", expires_at: "tomorrow" }, "expires_at"],
      [{ name: "x", colour: "red" }, "(body)"],
    ];
    for (const [body, param] of cases) {
      const response = await api("POST", "", body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).error.metadata.param).toBe(param);
    }
    expect((await api("GET", "/not-a-hash")).status).toBe(400);
  });

  it("expires a key at expires_at", async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const { key } = await (await api("POST", "", { name: "short-lived", expires_at: soon })).json();
    expect((await t.fetch("/api/v1/key", { key })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const expired = await t.fetch("/api/v1/key", { key });
    expect(expired.status).toBe(401);
    expect((await expired.json()).error.message).toBe("This API key has expired.");
  });

  it("refuses a key over its limit with 402 key_limit, and lets it spend again after its period resets", async () => {
    const { data, key } = await (await api("POST", "", { name: "capped", limit: 0.00005, limit_reset: "daily" })).json();
    const ask = () => t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/chat", { max_tokens: 5, provider: { order: ["alpha"] } }) });
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(402);
    expect((await refused.json()).error.metadata.limit_source).toBe("key_limit");
    // Yesterday's spending does not count against today's limit.
    await t.app.credits.flush();
    await t.app.db.sql.query("update api_key set usage_day = usage_day - 1 where hash = $1", [data.hash]);
    const after = (await (await api("GET", `/${data.hash}`)).json()).data;
    expect(after.usage_daily).toBe(0);
    expect(after.usage).toBeGreaterThan(0);
    expect((await ask()).status).toBe(200);
    await expectLedgerBalanced(t.app, owner.accountId);
  });

  it("counts weekly and monthly limits over their own periods", async () => {
    for (const reset of ["weekly", "monthly"] as const) {
      const { data, key } = await (await api("POST", "", { name: reset, limit: 0.00003, limit_reset: reset })).json();
      const ask = () => t.fetch("/api/v1/chat/completions", { key, body: chatBody("test/chat", { max_tokens: 5, provider: { order: ["alpha"] } }) });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(402);
      const column = reset === "weekly" ? "usage_week" : "usage_month";
      await t.app.credits.flush();
      await t.app.db.sql.query(`update api_key set ${column} = ${column} - interval '40 days' where hash = $1`, [data.hash]);
      expect((await ask()).status).toBe(200);
    }
  });
});
