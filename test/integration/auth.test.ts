import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../src/accounts/api-keys.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

const chat = { model: "switchyard/echo", messages: [{ role: "user", content: "Hi" }] };

describe("API key authentication", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const expect401 = async (response: Response, message: string) => {
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body).toEqual({
      error: { code: 401, message, type: "authentication_error", param: null, metadata: { error_type: "unauthenticated" } },
    });
  };

  it("accepts a valid key and reports it on /key", async () => {
    const { key } = await t.account();
    const response = await t.fetch("/api/v1/key", { key });
    expect(response.status).toBe(200);
    const { data } = await response.json();
    expect(data).toMatchObject({
      name: "test key",
      limit: null,
      limit_remaining: null,
      usage: 0,
      usage_daily: 0,
      is_free_tier: true,
      is_management_key: false,
    });
    expect(data.label).toMatch(/^sk-sy-v1-[0-9a-f]{3}\.\.\.[0-9a-f]{3}$/);
  });

  it("stores keys only as SHA-256 hashes", async () => {
    const { key, keyHash } = await t.account();
    expect(key).toMatch(/^sk-sy-v1-[0-9a-f]{64}$/);
    expect(keyHash).toBe(hashApiKey(key));
    const rows = await t.app.db.sql.query<{ n: string }>(
      "select count(*)::text as n from api_key where hash = $1 or label = $2 or name = $2",
      [keyHash, key],
    );
    expect(rows[0].n).toBe("1");
    const leaked = await t.app.db.sql.query("select 1 from api_key where position($1 in hash || label || name) > 0", [key.slice(9)]);
    expect(leaked).toHaveLength(0);
  });

  it("refuses a request without credentials", async () => {
    await expect401(await t.fetch("/api/v1/chat/completions", { body: chat }), "No auth credentials found.");
  });

  it("refuses a header that is not a Bearer token", async () => {
    const response = await t.fetch("/api/v1/key", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    await expect401(response, "The Authorization header must be `Bearer <API key>`.");
  });

  it("refuses an unknown key", async () => {
    await expect401(await t.fetch("/api/v1/chat/completions", { key: "sk-sy-v1-0000", body: chat }), "Invalid API key.");
  });

  it("refuses a disabled key at once on this node", async () => {
    const { key, keyHash } = await t.account();
    expect((await t.fetch("/api/v1/key", { key })).status).toBe(200);
    await t.app.db.sql.query("update api_key set disabled = true where hash = $1", [keyHash]);
    t.app.bus.publish("key.changed", { hash: keyHash });
    await expect401(await t.fetch("/api/v1/chat/completions", { key, body: chat }), "This API key is disabled.");
  });

  it("refuses an expired key", async () => {
    const { key, keyHash } = await t.account();
    await t.app.db.sql.query("update api_key set expires_at = now() - interval '1 minute' where hash = $1", [keyHash]);
    await expect401(await t.fetch("/api/v1/key", { key }), "This API key has expired.");
  });

  it("refuses a management key on an inference route but shows it its own /key", async () => {
    const { accountId } = await t.account();
    const { plaintext } = await t.app.accounts.createKey(accountId, { kind: "management", name: "ops" });
    const response = await t.fetch("/api/v1/chat/completions", { key: plaintext, body: chat });
    expect(response.status).toBe(403);
    expect((await response.json()).error).toMatchObject({
      code: 403,
      type: "permission_error",
      message: "This is a management key: it can only manage API keys. Use an API key for this request.",
    });
    const own = await t.fetch("/api/v1/key", { key: plaintext });
    expect((await own.json()).data).toMatchObject({ is_management_key: true, is_provisioning_key: true });
  });

  it("applies the same rules on GraphQL, with extensions.code", async () => {
    const query = { query: "{ me { id balance } }" };
    const missing = await t.fetch("/graphql", { body: query });
    const missingBody = await missing.json();
    expect(missingBody.errors[0].extensions.code).toBe("UNAUTHENTICATED");

    const bad = await t.fetch("/graphql", { key: "sk-sy-v1-nope", body: query });
    expect(bad.status).toBe(401);
    expect((await bad.json()).errors[0].extensions.code).toBe("UNAUTHENTICATED");

    const { key, accountId } = await t.account({ credits: "2.5" });
    const ok = await t.fetch("/graphql", { key, body: query });
    expect(await ok.json()).toEqual({ data: { me: { id: accountId, balance: "2.5" } } });
  });
});
