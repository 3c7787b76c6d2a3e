import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import Fastify from "fastify";
import { print } from "graphql";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGraphQLSchema } from "../../src/graphql/schema.js";
import { mountGraphQL } from "../../src/graphql/server.js";
import type { GraphQLServices } from "../../src/graphql/context.js";
import {
  AccountDocument,
  AccountUsersDocument,
  ActivityDocument,
  CreateCompletionDocument,
  CreditsDocument,
  DeleteKeyDocument,
  GenerationDocument,
  GenerationsDocument,
  KeyDocument,
  KeysDocument,
  MeDocument,
  ModelDocument,
  ModelsDocument,
  ProvidersDocument,
  ProvisionKeyDocument,
  PurchaseCreditsDocument,
  SetAutoTopUpDocument,
  TransactionsDocument,
  UpdateKeyDocument,
  UpdatePrivacySettingsDocument,
} from "../generated/graphql.js";
import { TEST_CATALOG } from "../helpers/catalogs.js";
import { expectLedgerBalanced, sessionCookie, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";

/** A GraphQL answer as it came over the wire. */
interface Answer<R> {
  status: number;
  data?: R | null;
  errors?: Array<{ message: string; path?: string[]; extensions: { code: string; status?: number; metadata?: Record<string, unknown> } }>;
}

/** Who sends an operation: a Bearer key, a session cookie (with or without its CSRF token), or nobody. */
interface As {
  key?: string;
  cookie?: string;
  csrf?: string;
  headers?: Record<string, string>;
}

let t: TestApp;

async function gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, as: As = {}): Promise<Answer<R>> {
  const headers: Record<string, string> = { "content-type": "application/json", ...as.headers };
  if (as.key) headers.authorization = `Bearer ${as.key}`;
  if (as.cookie) headers.cookie = `sy_session=${as.cookie}`;
  if (as.csrf) headers["x-csrf-token"] = as.csrf;
  const response = await fetch(`${t.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query: print(doc), variables }) });
  return { status: response.status, ...((await response.json()) as object) };
}

/** The data of an operation that must succeed. */
async function ok<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, as: As = {}): Promise<R> {
  const answer = await gql(doc, variables, as);
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  expect(answer.status).toBe(200);
  return answer.data!;
}

/** The first error's code (and the answer) of an operation that must fail. */
async function fails<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, as: As = {}): Promise<Answer<R> & { code: string; message: string }> {
  const answer = await gql(doc, variables, as);
  expect(answer.errors?.length, JSON.stringify(answer.data)).toBeGreaterThan(0);
  return { ...answer, code: answer.errors![0].extensions.code, message: answer.errors![0].message };
}

async function managementKey(accountId: string): Promise<string> {
  return (await t.app.accounts.createKey(accountId, { kind: "management", name: "management" })).plaintext;
}

let emails = 0;
async function signup(): Promise<{ cookie: string; csrf: string; accountId: string; userId: string; email: string }> {
  const email = `gql${++emails}-${process.pid}@example.test`;
  const response = await t.fetch("/api/v1/auth/signup", { body: { email, password: "correct horse battery staple" } });
  expect(response.status).toBe(201);
  const body = await response.json();
  const cookie = sessionCookie(response).value;
  return { cookie, csrf: body.data.csrf_token, accountId: body.data.account.id, userId: body.data.user.id, email };
}

const chat = (model: string, content = "Hello there", extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "USER" as const, content }],
  ...extra,
});

describe("GraphQL over HTTP", () => {
  let a: TestAccount;
  let b: TestAccount;

  beforeAll(async () => {
    // A depth limit the schema's deepest paths (9 levels) can reach, to see it refuse.
    t = await startTestApp({ catalog: TEST_CATALOG, env: { SWITCHYARD_GRAPHQL_MAX_DEPTH: "8" } });
    a = await t.account({ credits: "10" });
    b = await t.account({ credits: "5" });
  });
  afterAll(() => t?.close());

  describe("catalog", () => {
    it("lists models and providers without credentials", async () => {
      const { models } = await ok(ModelsDocument, { filter: { providers: ["beta"] } });
      expect(models.map((m) => m.id)).toEqual(["test/chat"]);
      expect(models[0].pricing).toEqual({ prompt: "0.0000005", completion: "0.000001" });
      const { providers } = await ok(ProvidersDocument);
      expect(providers.map((p) => p.slug).sort()).toEqual(["alpha", "beta", "flaky", "gamma"]);
    });

    it("shows one model's endpoints with prices, data policy and live health, latency only to authenticated callers", async () => {
      await ok(CreateCompletionDocument, { input: chat("test/other") }, { key: a.key });
      const anonymous = await ok(ModelDocument, { id: "test/other" });
      const endpoint = anonymous.model!.endpoints[0];
      expect(endpoint).toMatchObject({
        id: "test/other:standard@alpha",
        tag: "alpha",
        contextLength: 8192,
        retainsPrompts: false,
        trainsOnData: false,
        provider: { slug: "alpha", name: "Alpha" },
        pricing: { prompt: "0.000003", completion: "0.000006" },
      });
      expect(endpoint.health).toMatchObject({ uptime5m: 100, uptime30m: 100, uptime1d: 100, breaker: "CLOSED", healthy: true, latency: null });
      const withKey = await ok(ModelDocument, { id: "test/other" }, { key: a.key });
      expect(withKey.model!.endpoints[0].health.latency).toEqual({ p50: expect.any(Number), p90: expect.any(Number) });
      expect((await ok(ModelDocument, { id: "test/nope" })).model).toBeNull();
    });
  });

  describe("authentication", () => {
    it("needs credentials for account data, and says so with UNAUTHENTICATED", async () => {
      const missing = await fails(MeDocument);
      expect(missing.code).toBe("UNAUTHENTICATED");
      const bad = await gql(MeDocument, {}, { key: "sk-sy-v1-nope" });
      expect(bad).toEqual({ status: 401, errors: [{ message: "Invalid API key.", extensions: { code: "UNAUTHENTICATED", status: 401 } }] });
      expect(await gql(MeDocument, {}, {})).toEqual({
        status: 200,
        data: null,
        errors: [
          {
            message: "Authenticate with `Authorization: Bearer <API key>` (or the dashboard's session cookie).",
            locations: [{ line: 2, column: 3 }],
            path: ["me"],
            extensions: { code: "UNAUTHENTICATED", status: 401 },
          },
        ],
      });
    });

    it("keeps management keys to key management (FORBIDDEN elsewhere) and inference keys out of it", async () => {
      const management = await managementKey(a.accountId);
      expect((await fails(MeDocument, {}, { key: management })).code).toBe("FORBIDDEN");
      expect((await fails(CreateCompletionDocument, { input: chat("test/chat") }, { key: management })).code).toBe("FORBIDDEN");
      expect((await fails(KeysDocument, {}, { key: a.key })).code).toBe("FORBIDDEN");
      const { edges } = (await ok(KeysDocument, {}, { key: management })).keys;
      expect(edges.length).toBeGreaterThan(0);
      // Only the account's own keys: no other account's key leaks into the list.
      const own = (await t.app.db.sql.query<{ hash: string }>("select hash from api_key where account_id = $1", [a.accountId])).map((r) => r.hash);
      for (const edge of edges) expect(own).toContain(edge.node.hash);
    });

    it("accepts the dashboard's session cookie, with its CSRF token on POST", async () => {
      const session = await signup();
      const noToken = await fails(MeDocument, {}, { cookie: session.cookie });
      expect([noToken.status, noToken.code]).toEqual([403, "FORBIDDEN"]);
      const wrongToken = await fails(MeDocument, {}, { cookie: session.cookie, csrf: "x".repeat(43) });
      expect(wrongToken.code).toBe("FORBIDDEN");
      const { me } = await ok(MeDocument, {}, { cookie: session.cookie, csrf: session.csrf });
      expect(me.id).toBe(session.accountId);
      // The account's users (their emails) are for the dashboard only.
      const users = await ok(AccountUsersDocument, {}, { cookie: session.cookie, csrf: session.csrf });
      expect(users.me.users).toEqual([{ id: session.userId, email: session.email }]);
      const byKey = await fails(AccountUsersDocument, {}, { key: a.key });
      expect([byKey.code, byKey.errors![0].path, byKey.data]).toEqual(["FORBIDDEN", ["me", "users"], null]);
      // A session manages the account's keys too; the keys it creates name their creator.
      const created = await ok(ProvisionKeyDocument, { input: { name: "from the dashboard" } }, { cookie: session.cookie, csrf: session.csrf });
      expect(created.provisionKey.apiKey.creatorUserId).toBe(session.userId);
      // …and runs completions for the account (no key recorded on the generation).
      await t.app.accounts.grantCredits(session.accountId, 1_000_000_000_000n, "test");
      const completion = await ok(CreateCompletionDocument, { input: chat("test/chat") }, { cookie: session.cookie, csrf: session.csrf });
      expect(completion.createCompletion.generation).toMatchObject({ id: completion.createCompletion.id });
      const { generation } = await ok(GenerationDocument, { id: completion.createCompletion.id }, { cookie: session.cookie, csrf: session.csrf });
      expect(generation!.keyHash).toBeNull();
      await expectLedgerBalanced(t.app, session.accountId);
    });

    it("says the session ended when the cookie no longer names one", async () => {
      const ended = await fails(MeDocument, {}, { cookie: "A".repeat(43), csrf: "x" });
      expect(ended.code).toBe("UNAUTHENTICATED");
      expect(ended.message).toBe("The session has ended. Log in again.");
    });

    it("refuses simple cross-site requests (Apollo CSRF prevention)", async () => {
      const response = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "text/plain", authorization: `Bearer ${a.key}` },
        body: JSON.stringify({ query: "{ me { id } }" }),
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/CSRF/);
      const allowed = await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ me { id } }")}`, {
        headers: { authorization: `Bearer ${a.key}`, "x-csrf-token": "any" },
      });
      expect(await allowed.json()).toEqual({ data: { me: { id: a.accountId } } });
    });
  });

  describe("account", () => {
    it("shows the caller's account: balance, credits, privacy settings, auto top-up and users", async () => {
      const fresh = await t.account({ credits: "3.25" });
      const { account } = await ok(AccountDocument, {}, { key: fresh.key });
      expect(account).toEqual({
        id: fresh.accountId,
        balance: "3.25",
        credits: { totalCredits: "3.25", totalUsage: "0", balance: "3.25" },
        privacySettings: { allowTraining: false, allowFreeTraining: true, allowRetention: true, allowedProviders: null, ignoredProviders: [], logPrompts: false },
        autoTopUp: { enabled: false, threshold: null, amount: null, status: "DISABLED" },
      });
      expect((await ok(CreditsDocument, {}, { key: fresh.key })).credits.balance).toBe("3.25");
    });

    it("updates privacy settings, which then steer routing", async () => {
      const fresh = await t.account();
      const { updatePrivacySettings } = await ok(
        UpdatePrivacySettingsDocument,
        { input: { ignoredProviders: [" Alpha "], allowRetention: true } },
        { key: fresh.key },
      );
      expect(updatePrivacySettings.ignoredProviders).toEqual(["alpha"]);
      // Cheapest first: gamma trains on prompts (not allowed by default), alpha is now ignored, so beta answers.
      const routed = await ok(CreateCompletionDocument, { input: chat("test/chat", "hi", { provider: { sort: "PRICE" } }) }, { key: fresh.key });
      expect(routed.createCompletion.providerSlug).toBe("beta");
      const other = await fails(CreateCompletionDocument, { input: chat("test/other") }, { key: fresh.key });
      expect(other.code).toBe("NOT_FOUND");
      const unknown = await fails(UpdatePrivacySettingsDocument, { input: { allowedProviders: ["nobody"] } }, { key: fresh.key });
      expect([unknown.code, unknown.message]).toEqual(["BAD_USER_INPUT", 'allowedProviders: unknown provider "nobody".']);
    });
  });

  it("says when buying credits is not configured (no Stripe keys): SERVICE_UNAVAILABLE", async () => {
    const purchase = await fails(PurchaseCreditsDocument, { amount: "10" }, { key: a.key });
    expect(purchase.code).toBe("SERVICE_UNAVAILABLE");
    const topUp = await fails(SetAutoTopUpDocument, { input: { enabled: true, threshold: "1", amount: "10" } }, { key: a.key });
    expect(topUp.code).toBe("SERVICE_UNAVAILABLE");
    expect((await fails(PurchaseCreditsDocument, { amount: "10" }, { key: await managementKey(a.accountId) })).code).toBe("FORBIDDEN");
  });

  describe("createCompletion", () => {
    it("answers through the core with content, usage, cost and the generation", async () => {
      const { createCompletion: c } = await ok(
        CreateCompletionDocument,
        { input: chat("test/chat", "Hello there", { provider: { order: ["beta"], allowFallbacks: false }, maxTokens: 100, temperature: 0.5 }) },
        { key: a.key },
      );
      expect(c).toMatchObject({
        id: expect.stringMatching(/^gen-/),
        model: "test/chat",
        provider: "Beta",
        providerSlug: "beta",
        content: expect.stringContaining("You said: Hello there"),
        reasoning: null,
        toolCalls: [],
        finishReason: "STOP",
        cancelled: false,
        error: null,
        usage: { countedBySwitchyard: false, reasoningTokens: 0 },
      });
      expect(c.usage.totalTokens).toBe(c.usage.promptTokens + c.usage.completionTokens);
      // beta: 0.000002 per prompt token, 0.000004 per completion token.
      const expected = (BigInt(c.usage.promptTokens) * 2_000_000n + BigInt(c.usage.completionTokens) * 4_000_000n).toString();
      expect(BigInt(Math.round(Number(c.usage.cost) * 1e12)).toString()).toBe(expected);
      expect(c.generation).toEqual({ id: c.id, cost: c.usage.cost, streamed: false });
      await expectLedgerBalanced(t.app, a.accountId);
    });

    it("calls tools and passes image parts through to routing", async () => {
      const tools = await ok(
        CreateCompletionDocument,
        {
          input: {
            ...chat("test/chat", "weather in Paris", { provider: { only: ["alpha"] } }),
            tools: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }],
            toolChoice: { mode: "FUNCTION", function: "get_weather" },
          },
        },
        { key: a.key },
      );
      expect(tools.createCompletion.finishReason).toBe("TOOL_CALLS");
      expect(tools.createCompletion.toolCalls).toEqual([{ id: expect.any(String), name: "get_weather", arguments: expect.stringContaining("city") }]);
      // No test endpoint takes images: the request is refused by the modalities filter, as on REST.
      const image = await fails(
        CreateCompletionDocument,
        {
          input: {
            model: "test/chat",
            messages: [{ role: "USER", parts: [{ type: "TEXT", text: "What is this?" }, { type: "IMAGE_URL", imageUrl: "data:image/png;base64,iVBORw0KGgo=" }] }],
          },
        },
        { key: a.key },
      );
      expect(image.code).toBe("NOT_FOUND");
      expect(image.errors![0].extensions.metadata).toMatchObject({ failed_routing_step: "modalities" });
    });

    it("maps request errors to registry codes: BAD_USER_INPUT, NOT_FOUND, PAYMENT_REQUIRED", async () => {
      const invalid = await fails(CreateCompletionDocument, { input: chat("test/chat", "hi", { temperature: 3 }) }, { key: a.key });
      expect(invalid.code).toBe("BAD_USER_INPUT");
      expect(invalid.message).toMatch(/temperature/);
      const both = await fails(CreateCompletionDocument, { input: { model: "test/chat", messages: [{ role: "USER", content: "a", parts: [] }] } }, { key: a.key });
      expect([both.code, both.message]).toEqual(["BAD_USER_INPUT", "messages.0: give content or parts, not both."]);
      const extra = await fails(CreateCompletionDocument, { input: chat("test/chat", "hi", { extra: { stream: true } }) }, { key: a.key });
      expect(extra.code).toBe("BAD_USER_INPUT");
      const unknown = await fails(CreateCompletionDocument, { input: chat("test/unknown") }, { key: a.key });
      expect(unknown.code).toBe("NOT_FOUND");
      const broke = await t.account({ credits: "0.000001" });
      const poor = await fails(CreateCompletionDocument, { input: chat("test/chat", "hi", { maxTokens: 1000 }) }, { key: broke.key });
      expect(poor.code).toBe("PAYMENT_REQUIRED");
      expect(poor.errors![0].extensions.metadata).toMatchObject({ limit_source: "credits" });
    });

    it("falls back to the next model in `models`", async () => {
      const { createCompletion } = await ok(
        CreateCompletionDocument,
        { input: { models: ["test/context-error", "test/other"], messages: [{ role: "USER", content: "hi" }] } },
        { key: a.key },
      );
      expect(createCompletion.model).toBe("test/other");
    });
  });

  describe("keys", () => {
    it("provisions, lists with cursors, updates and deletes keys with a management key", async () => {
      const owner = await t.account();
      const management = await managementKey(owner.accountId);
      const as = { key: management };
      const created = await ok(
        ProvisionKeyDocument,
        { input: { name: "  ci  ", limit: "2.5", limitReset: "DAILY", expiresAt: "2099-01-01T00:00:00Z" } },
        as,
      );
      expect(created.provisionKey.key).toMatch(/^sk-sy-v1-/);
      expect(created.provisionKey.apiKey).toMatchObject({ name: "ci", limit: "2.5", limitRemaining: "2.5", limitReset: "DAILY", usage: "0", expiresAt: "2099-01-01T00:00:00.000Z" });
      const hash = created.provisionKey.apiKey.hash;
      // The new key works at once.
      await ok(CreateCompletionDocument, { input: chat("test/chat") }, { key: created.provisionKey.key });
      for (const name of ["k3", "k4"]) await ok(ProvisionKeyDocument, { input: { name } }, as);

      const first = await ok(KeysDocument, { first: 2 }, as);
      expect(first.keys.edges.map((e) => e.node.name)).toEqual(["test key", "ci"]);
      expect(first.keys.pageInfo.hasNextPage).toBe(true);
      const second = await ok(KeysDocument, { first: 2, after: first.keys.pageInfo.endCursor }, as);
      expect(second.keys.edges.map((e) => e.node.name)).toEqual(["k3", "k4"]);
      expect(second.keys.pageInfo).toEqual({ hasNextPage: false, endCursor: second.keys.edges[1].cursor });

      const updated = await ok(UpdateKeyDocument, { hash, input: { disabled: true, limit: null, limitReset: null } }, as);
      expect(updated.updateKey).toMatchObject({ disabled: true, limit: null, limitReset: null });
      expect((await fails(CreateCompletionDocument, { input: chat("test/chat") }, { key: created.provisionKey.key })).code).toBe("UNAUTHENTICATED");
      expect((await ok(KeysDocument, { includeDisabled: false }, as)).keys.edges.map((e) => e.node.name)).toEqual(["test key", "k3", "k4"]);
      expect((await ok(KeyDocument, { hash }, as)).key).toMatchObject({ hash, disabled: true });

      expect((await ok(DeleteKeyDocument, { hash }, as)).deleteKey).toBe(true);
      expect((await ok(KeyDocument, { hash }, as)).key).toBeNull();
      expect((await fails(DeleteKeyDocument, { hash }, as)).code).toBe("NOT_FOUND");
    });

    it("validates key input like the REST routes", async () => {
      const as = { key: await managementKey(a.accountId) };
      expect((await fails(ProvisionKeyDocument, { input: { name: " " } }, as)).code).toBe("BAD_USER_INPUT");
      expect((await fails(ProvisionKeyDocument, { input: { name: "x", limitReset: "WEEKLY" } }, as)).message).toBe("limitReset needs a limit.");
      expect((await fails(ProvisionKeyDocument, { input: { name: "x", expiresAt: "2001-01-01T00:00:00Z" } }, as)).code).toBe("BAD_USER_INPUT");
      expect((await fails(KeyDocument, { hash: "nothex" }, as)).code).toBe("BAD_USER_INPUT");
      expect((await fails(KeysDocument, { after: "bm90LWEtY3Vyc29y" }, as)).code).toBe("BAD_USER_INPUT");
    });
  });

  describe("usage", () => {
    it("pages generations and the ledger newest first, linking ledger entries to their generations", async () => {
      const owner = await t.account({ credits: "1" });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await ok(CreateCompletionDocument, { input: chat("test/chat", `n${i}`) }, { key: owner.key })).createCompletion.id);
      await t.app.credits.flush();
      const page1 = await ok(GenerationsDocument, { first: 2 }, { key: owner.key });
      expect(page1.generations.edges.map((e) => e.node.id)).toEqual([ids[2], ids[1]]);
      expect(page1.generations.pageInfo.hasNextPage).toBe(true);
      const node = page1.generations.edges[0].node;
      expect(node).toMatchObject({ modelId: "test/chat", apiType: "CHAT", streamed: false, finishReason: "STOP", keyHash: owner.keyHash });
      expect(node.model).toEqual({ id: "test/chat", name: "Test Chat" });
      expect(node.key).toEqual({ hash: owner.keyHash, name: "test key" });
      expect(node.provider!.slug).toBe(node.providerSlug);
      const page2 = await ok(GenerationsDocument, { first: 2, after: page1.generations.pageInfo.endCursor }, { key: owner.key });
      expect(page2.generations.edges.map((e) => e.node.id)).toEqual([ids[0]]);
      expect(page2.generations.pageInfo.hasNextPage).toBe(false);
      const filtered = await ok(GenerationsDocument, { filter: { provider: "nobody" } }, { key: owner.key });
      expect(filtered.generations.edges).toEqual([]);

      const { generation } = await ok(GenerationDocument, { id: ids[0] }, { key: owner.key });
      expect(generation!.attempts).toEqual([{ provider: generation!.providerSlug, providerName: expect.any(String), status: 200, error: null }]);

      const ledger = await ok(TransactionsDocument, { first: 3 }, { key: owner.key });
      expect(ledger.transactions.edges.map((e) => e.node.kind)).toEqual(["USAGE", "USAGE", "USAGE"]);
      const usage = ledger.transactions.edges[0].node;
      expect(usage.generation).toEqual({ id: usage.reference, cost: usage.amount.replace(/^-/, "") });
      const rest = await ok(TransactionsDocument, { first: 3, after: ledger.transactions.pageInfo.endCursor }, { key: owner.key });
      expect(rest.transactions.edges.map((e) => [e.node.kind, e.node.amount, e.node.generation])).toEqual([["GRANT", "1", null]]);
      const { balance } = await expectLedgerBalanced(t.app, owner.accountId);
      expect(usage.balanceAfter).toBe((Number(balance) / 1e12).toString());
    });

    it("rolls usage up by day, model, provider or key", async () => {
      const owner = await t.account();
      await ok(CreateCompletionDocument, { input: chat("test/chat", "x", { provider: { only: ["alpha"] } }) }, { key: owner.key });
      await ok(CreateCompletionDocument, { input: chat("test/other") }, { key: owner.key });
      await t.app.credits.flush();
      const today = new Date().toISOString().slice(0, 10);
      const byModel = await ok(ActivityDocument, { groupBy: "MODEL" }, { key: owner.key });
      expect(byModel.activity.map((b) => [b.date, b.model, b.requests])).toEqual([
        [today, "test/chat", 1],
        [today, "test/other", 1],
      ]);
      const byDay = await ok(ActivityDocument, { from: today, to: today, key: owner.keyHash }, { key: owner.key });
      expect(byDay.activity).toHaveLength(1);
      expect(byDay.activity[0]).toMatchObject({ date: today, model: null, requests: 2 });
      expect((await fails(ActivityDocument, { from: today, to: "2000-01-01" }, { key: owner.key })).code).toBe("BAD_USER_INPUT");
    });

    it("loads a page of 100 generations with their model, provider and key in a constant number of queries", async () => {
      const owner = await t.account();
      const keys = [owner.keyHash];
      for (let i = 0; i < 4; i++) keys.push((await t.app.accounts.createKey(owner.accountId, { kind: "inference", name: `k${i}` })).key.hash);
      await t.app.db.sql.query(
        `insert into generation (id, account_id, key_hash, model, provider, endpoint_id, api_type, streamed, cancelled, finish_reason,
                                 tokens_prompt, tokens_completion, cost, created_at)
         select 'gen-bulk-' || i, $1, ($2::text[])[1 + i % 5], case when i % 2 = 0 then 'test/chat' else 'test/other' end,
                case when i % 3 = 0 then 'alpha' else 'beta' end, 'x', 'chat', false, false, 'stop', 10, 20, 1000,
                now() - i * interval '1 second'
           from generate_series(1, 150) as i`,
        [owner.accountId, keys],
      );
      await ok(MeDocument, {}, { key: owner.key }); // warms the key cache
      const count = async (first: number) => {
        await t.app.credits.flush();
        const seen: string[] = [];
        const query = pg.Client.prototype.query;
        pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
          const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string })?.text ?? "";
          // Lease renewals and the reaper run on timers, whatever the request.
          if (!/sy_lease|sy_release_hold|sy_reap_holds|credit_hold|sy_settle_batch/.test(text)) seen.push(text);
          return (query as (...a: unknown[]) => unknown).apply(this, args);
        } as typeof query;
        try {
          const data = await ok(GenerationsDocument, { first }, { key: owner.key });
          expect(data.generations.edges).toHaveLength(first);
          expect(new Set(data.generations.edges.map((e) => e.node.key!.hash)).size).toBe(5);
          expect(data.generations.edges.every((e) => e.node.model && e.node.provider)).toBe(true);
        } finally {
          pg.Client.prototype.query = query;
        }
        return seen;
      };
      const ten = await count(10);
      const hundred = await count(100);
      // One query for the page, one for all the keys on it; models and providers come from the in-memory catalog.
      expect(hundred).toHaveLength(2);
      expect(ten).toHaveLength(hundred.length);
      expect(hundred.filter((q) => /from generation/.test(q))).toHaveLength(1);
      expect(hundred.filter((q) => /from api_key/.test(q))).toHaveLength(1);
    });
  });

  describe("authorization between accounts", () => {
    it("never shows one account another's keys, generations or balance", async () => {
      const aManagement = await managementKey(a.accountId);
      const bManagement = await managementKey(b.accountId);
      const { createCompletion } = await ok(CreateCompletionDocument, { input: chat("test/chat", "secret") }, { key: a.key });
      await t.app.credits.flush();

      // Keys: b's management key cannot see, change or delete a's keys.
      expect((await ok(KeyDocument, { hash: a.keyHash }, { key: bManagement })).key).toBeNull();
      expect((await ok(KeysDocument, {}, { key: bManagement })).keys.edges.map((e) => e.node.hash)).not.toContain(a.keyHash);
      expect((await fails(UpdateKeyDocument, { hash: a.keyHash, input: { disabled: true } }, { key: bManagement })).code).toBe("NOT_FOUND");
      expect((await fails(DeleteKeyDocument, { hash: a.keyHash }, { key: bManagement })).code).toBe("NOT_FOUND");
      expect((await ok(KeyDocument, { hash: a.keyHash }, { key: aManagement })).key).toMatchObject({ disabled: false });

      // Generations: a's generation is invisible to b, by id, in lists and through the ledger.
      expect((await ok(GenerationDocument, { id: createCompletion.id }, { key: b.key })).generation).toBeNull();
      expect((await ok(GenerationDocument, { id: createCompletion.id }, { key: a.key })).generation).toMatchObject({ id: createCompletion.id });
      const bGenerations = await ok(GenerationsDocument, { first: 100 }, { key: b.key });
      expect(bGenerations.generations.edges.map((e) => e.node.id)).not.toContain(createCompletion.id);
      const bLedger = await ok(TransactionsDocument, { first: 100 }, { key: b.key });
      expect(bLedger.transactions.edges.map((e) => e.node.reference)).not.toContain(createCompletion.id);
      expect((await ok(GenerationsDocument, { filter: { keyHash: a.keyHash } }, { key: b.key })).generations.edges).toEqual([]);

      // Balance: b reads only its own account.
      const denied = await fails(AccountDocument, { id: a.accountId }, { key: b.key });
      expect([denied.code, denied.data]).toEqual(["FORBIDDEN", null]);
      expect((await ok(AccountDocument, { id: b.accountId }, { key: b.key })).account.balance).toBe("5");
      expect((await ok(MeDocument, {}, { key: b.key })).me.id).toBe(b.accountId);
    });
  });

  describe("limits", () => {
    it("refuses operations nested too deep or too complex before running them", async () => {
      const deep = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${a.key}` },
        body: JSON.stringify({
          query: "{ transactions { edges { node { generation { key { name } model { endpoints { health { latency { p50 } } } } } } } } }",
        }),
      });
      const deepBody: any = await deep.json();
      expect(deep.status).toBe(400);
      expect(deepBody.errors[0]).toMatchObject({ extensions: { code: "GRAPHQL_VALIDATION_FAILED" }, message: expect.stringMatching(/nested 9 levels deep; at most 8/) });

      // A page of 100 generations with their model, provider and key is about 3100; three pages of 100 ledger entries
      // with their generations' endpoints are about 5700, over the default 5000.
      expect((await gql(GenerationsDocument, { first: 100 }, { key: a.key })).status).toBe(200);
      const page = "(first: 100) { edges { node { generation { model { endpoints { id name tag contextLength pricing { prompt completion request image } provider { slug name active adapter } } } } } } }";
      const tooComplex = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${a.key}` },
        body: JSON.stringify({ query: `{ a: transactions${page} b: transactions${page} c: transactions${page} }` }),
      });
      const tooComplexBody: any = await tooComplex.json();
      expect(tooComplex.status).toBe(400);
      expect(tooComplexBody.errors[0]).toMatchObject({ extensions: { code: "GRAPHQL_VALIDATION_FAILED" }, message: expect.stringMatching(/too complex/) });

      expect((await fails(GenerationsDocument, { first: 101 }, { key: a.key })).code).toBe("BAD_USER_INPUT");
    });

    it("answers introspection unless the configuration turns it off", async () => {
      const query = { query: "{ __schema { queryType { name } } }" };
      expect(await (await t.fetch("/graphql", { body: query })).json()).toEqual({ data: { __schema: { queryType: { name: "Query" } } } });

      const bare = Fastify();
      const services = { sessions: { authenticate: async () => null } } as unknown as GraphQLServices;
      const close = await mountGraphQL(bare, await buildGraphQLSchema(), services, { introspection: false, maxDepth: 12, maxComplexity: 5000 });
      try {
        const response = await bare.inject({ method: "POST", url: "/graphql", payload: query });
        expect(response.statusCode).toBe(400);
        expect(response.json().errors[0].message).toMatch(/introspection/i);
      } finally {
        await close();
        await bare.close();
      }
    });
  });
});
