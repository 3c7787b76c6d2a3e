import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BalanceChangedDocument,
  CompletionStreamDocument,
  GenerationCreatedDocument,
  MeDocument,
  type CompletionStreamSubscriptionVariables,
  type GenerationCreatedSubscription,
} from "../generated/graphql.js";
import { TEST_CATALOG, chatBody } from "../helpers/catalogs.js";
import { REAL_DATABASE_URL } from "../helpers/database.js";
import { expectLedgerBalanced, sessionCookie, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { connectWs, drain, failure, iterate, next, subscribed, type WsClientOptions } from "../helpers/graphql.js";

let t: TestApp;
const clients: Client[] = [];

/** A graphql-ws client of the test server (or of `options.url`), disposed after each test. */
function wsClient(options: WsClientOptions & { url?: string } = {}): Client {
  const client = connectWs(options.url ?? t.url, options);
  clients.push(client);
  return client;
}

const keyClient = (key: string, url?: string) => wsClient({ params: { authorization: `Bearer ${key}` }, url });

const input = (model: string, content = "Hello there", extra: Partial<CompletionStreamSubscriptionVariables["input"]> = {}) => ({
  input: { model, messages: [{ role: "USER" as const, content }], ...extra },
});

describe("GraphQL subscriptions over graphql-ws", () => {
  let a: TestAccount;

  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
    a = await t.account({ credits: "10" });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => t?.close());

  describe("completionStream", () => {
    it("streams content deltas and ends with one event carrying finish reason, usage and cost", async () => {
      const generations = await subscribed(keyClient(a.key), GenerationCreatedDocument);
      const events = (await drain(iterate(keyClient(a.key), CompletionStreamDocument, input("test/chat", "Hello there", { provider: { only: ["alpha"] } })))).map(
        (d) => d.completionStream,
      );
      const deltas = events.filter((e) => !e.done);
      const final = events.at(-1)!;
      expect(deltas.length).toBeGreaterThan(3);
      for (const delta of deltas) {
        expect(delta).toMatchObject({ id: final.id, model: "test/chat", provider: "Alpha", finishReason: null, usage: null, error: null });
        expect(delta.delta!.content).toEqual(expect.any(String));
      }
      const content = deltas.map((e) => e.delta!.content).join("");
      expect(content).toMatch(/You said: Hello there$/);
      expect(final).toMatchObject({ id: expect.stringMatching(/^gen-/), done: true, delta: null, finishReason: "STOP", error: null });
      expect(events.filter((e) => e.done)).toHaveLength(1);
      // alpha: 0.000001 per prompt token, 0.000002 per completion token.
      const cost = final.usage!.promptTokens * 1 + final.usage!.completionTokens * 2;
      expect(final.usage!.cost).toBe((cost / 1e6).toString());

      // The generation record follows the stream (settlements are batched): wait for its event.
      const created = (await next(generations)).data!.generationCreated;
      expect(created).toMatchObject({ id: final.id, cost: final.usage!.cost, cancelled: false, key: { hash: a.keyHash } });
      await expectLedgerBalanced(t.app, a.accountId);
    });

    it("streams reasoning and tool-call deltas", async () => {
      const thinking = (await drain(iterate(keyClient(a.key), CompletionStreamDocument, input("test/variants:thinking")))).map((d) => d.completionStream);
      const reasoning = thinking.map((e) => e.delta?.reasoning ?? "").join("");
      expect(reasoning).toBe("First I think, then I answer.");
      expect(thinking.findIndex((e) => e.delta?.content)).toBeGreaterThan(thinking.findIndex((e) => e.delta?.reasoning));
      expect(thinking.at(-1)!.finishReason).toBe("STOP");

      const tools = (
        await drain(
          iterate(
            keyClient(a.key),
            CompletionStreamDocument,
            input("test/chat", "weather in Paris", {
              provider: { only: ["alpha"] },
              tools: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }],
            }),
          ),
        )
      ).map((d) => d.completionStream);
      const calls = tools.flatMap((e) => e.delta?.toolCalls ?? []);
      expect(calls[0]).toMatchObject({ index: 0, id: expect.any(String), name: "get_weather" });
      expect(JSON.parse(calls.map((c) => c.arguments ?? "").join(""))).toHaveProperty("city");
      expect(tools.at(-1)!.finishReason).toBe("TOOL_CALLS");
    });

    it("ends a stream that breaks mid-answer with an error event, not a silent completion, and does not bill it", async () => {
      const before = await expectLedgerBalanced(t.app, a.accountId);
      const events = (await drain(iterate(keyClient(a.key), CompletionStreamDocument, input("test/faulty", "Hello there", { provider: { only: ["flaky/cut"] } })))).map(
        (d) => d.completionStream,
      );
      expect(events.filter((e) => !e.done).length).toBeGreaterThan(0);
      const final = events.at(-1)!;
      expect(final).toMatchObject({ done: true, finishReason: "ERROR", provider: "Flaky", error: { code: "BAD_GATEWAY", type: "provider_error" } });
      expect(final.usage!.cost).toBe("0");
      expect((await expectLedgerBalanced(t.app, a.accountId)).balance).toBe(before.balance);
    });

    it("ends with an error event when every endpoint fails before answering", async () => {
      const events = (await drain(iterate(keyClient(a.key), CompletionStreamDocument, input("test/faulty", "hi", { provider: { only: ["flaky/e500"] } })))).map(
        (d) => d.completionStream,
      );
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ done: true, delta: null, finishReason: "ERROR", usage: null, error: { code: "BAD_GATEWAY", type: "provider_error" } });
      await expectLedgerBalanced(t.app, a.accountId);
    });

    it("refuses bad requests before streaming, with the registry's extensions.code", async () => {
      const invalid = await failure(iterate(keyClient(a.key), CompletionStreamDocument, input("test/chat", "hi", { temperature: 9 })));
      expect(invalid).toEqual([expect.objectContaining({ message: expect.stringMatching(/temperature/), extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }) })]);
      const unknown = await failure(iterate(keyClient(a.key), CompletionStreamDocument, input("test/nope")));
      expect(unknown[0].extensions.code).toBe("NOT_FOUND");
      const poor = await t.account({ credits: "0" });
      const broke = await failure(iterate(keyClient(poor.key), CompletionStreamDocument, input("test/chat")));
      expect(broke[0].extensions).toMatchObject({ code: "PAYMENT_REQUIRED", status: 402 });
    });

    it("aborts the upstream request when the client completes the subscription, and bills what was generated", async () => {
      const generations = await subscribed(keyClient(a.key), GenerationCreatedDocument);
      const stream = iterate(keyClient(a.key), CompletionStreamDocument, input("test/slow"));
      const first = (await next(stream)).data!.completionStream;
      await next(stream);
      await stream.return!();
      const created = (await next(generations)).data!.generationCreated;
      expect(created).toMatchObject({ id: first.id, cancelled: true });
      // test/slow answers 20 words at 20 tokens per second: the answer was cut off well before its end.
      expect(created.usage.completionTokens).toBeGreaterThan(0);
      expect(created.usage.completionTokens).toBeLessThan(10);
      expect(Number(created.cost)).toBeGreaterThan(0);
      await expectLedgerBalanced(t.app, a.accountId);
    });

    it("aborts and settles when the socket closes", async () => {
      const generations = await subscribed(keyClient(a.key), GenerationCreatedDocument);
      const client = keyClient(a.key);
      const stream = iterate(client, CompletionStreamDocument, input("test/slow"));
      const first = (await next(stream)).data!.completionStream;
      await client.dispose();
      const created = (await next(generations)).data!.generationCreated;
      expect(created).toMatchObject({ id: first.id, cancelled: true });
      expect(created.usage.completionTokens).toBeLessThan(10);
      await expectLedgerBalanced(t.app, a.accountId);
    });
  });

  describe("account events", () => {
    it("pushes the caller's balance changes and generations, and never another account's", async () => {
      const owner = await t.account({ credits: "2" });
      const other = await t.account({ credits: "2" });
      const client = keyClient(owner.key);
      const balances = iterate(client, BalanceChangedDocument);
      const generations = await subscribed(client, GenerationCreatedDocument);

      expect((await t.fetch("/api/v1/chat/completions", { key: other.key, body: chatBody("test/chat") })).status).toBe(200);
      const mine = await t.fetch("/api/v1/chat/completions", { key: owner.key, body: chatBody("test/chat") });
      const id = mine.headers.get("x-generation-id");

      const created: GenerationCreatedSubscription["generationCreated"] = (await next(generations)).data!.generationCreated;
      expect(created).toMatchObject({ id, modelId: "test/chat", key: { hash: owner.keyHash } });
      const balance = (await next(balances)).data!.balanceChanged;
      const { balance: expected } = await expectLedgerBalanced(t.app, owner.accountId);
      expect(balance).toEqual({ accountId: owner.accountId, balance: (Number(expected) / 1e12).toString() });
      expect(BigInt(Math.round(Number(balance.balance) * 1e12))).toBe(2_000_000_000_000n - BigInt(Math.round(Number(created.cost) * 1e12)));
    });
  });

  describe("authentication", () => {
    it("closes the socket on a bad key (4401) and answers anonymous subscriptions with UNAUTHENTICATED", async () => {
      const bad = await failure(iterate(keyClient("sk-sy-v1-nope"), BalanceChangedDocument));
      expect([bad.code, bad.reason]).toEqual([4401, "Invalid API key."]);
      const anonymous = await failure(iterate(wsClient(), BalanceChangedDocument));
      expect(anonymous[0].extensions.code).toBe("UNAUTHENTICATED");
    });

    it("keeps management keys out of account events and completions", async () => {
      const management = (await t.app.accounts.createKey(a.accountId, { kind: "management", name: "m" })).plaintext;
      const refused = await failure(iterate(keyClient(management), CompletionStreamDocument, input("test/chat")));
      expect(refused[0].extensions.code).toBe("FORBIDDEN");
      expect((await failure(iterate(keyClient(management), BalanceChangedDocument)))[0].extensions.code).toBe("FORBIDDEN");
    });

    it("takes the key from the upgrade's Authorization header too", async () => {
      const [result] = await drain(iterate(wsClient({ authorization: `Bearer ${a.key}` }), MeDocument));
      expect(result.me.id).toBe(a.accountId);
    });

    it("accepts a session cookie only with its CSRF token in the connection parameters", async () => {
      const response = await t.fetch("/api/v1/auth/signup", { body: { email: `ws-${process.pid}@example.test`, password: "correct horse battery staple" } });
      const body = await response.json();
      const cookie = sessionCookie(response).value;
      const noToken = await failure(iterate(wsClient({ cookie }), MeDocument));
      expect(noToken.code).toBe(4403);
      expect(noToken.reason).toMatch(/X-CSRF-Token/);
      const [result] = await drain(iterate(wsClient({ cookie, params: { csrfToken: body.data.csrf_token } }), MeDocument));
      expect(result.me.id).toBe(body.data.account.id);
    });

    it("applies the depth and complexity limits to operations over the socket", async () => {
      const client = keyClient(a.key);
      const page = "(first: 100) { edges { node { generation { model { endpoints { id name tag contextLength pricing { prompt completion request image } provider { slug name active adapter } } } } } } }";
      const tooComplex = await failure(client.iterate({ query: `{ a: transactions${page} b: transactions${page} c: transactions${page} }` }));
      expect(tooComplex[0]).toMatchObject({ message: expect.stringMatching(/too complex/), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
      const invalid = await failure(client.iterate({ query: "{ nope }" }));
      expect(invalid[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    });
  });
});

describe("shutdown with sockets open", () => {
  it("lets completion streams in flight finish, then closes every socket with 1001", async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
    let closed = false;
    try {
      const user = await t.account();
      const events = iterate(keyClient(user.key), BalanceChangedDocument);
      const stream = iterate(keyClient(user.key), CompletionStreamDocument, input("test/slow"));
      const first = (await next(stream)).data!.completionStream;
      const closing = t.close().then(() => (closed = true));
      const rest = await drain(stream);
      const final = rest.at(-1)!.completionStream;
      expect(final).toMatchObject({ id: first.id, done: true, finishReason: "STOP" });
      expect(rest.map((e) => e.completionStream.delta?.content ?? "").join("")).toMatch(/twenty$/);
      const gone = await failure(events);
      expect(gone.code).toBe(1001);
      await closing;
      expect(closed).toBe(true);
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.dispose()));
      if (!closed) await t.close();
    }
  });
});

// Two gateway processes' worth of connections on one database: real PostgreSQL only (PGlite is one backend).
describe.skipIf(!process.env.REDIS_URL || !REAL_DATABASE_URL)("account events across two nodes sharing Redis", () => {
  let second: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG, env: { REDIS_URL: process.env.REDIS_URL! } });
    second = await startTestApp({ catalog: TEST_CATALOG, database: t.db, env: { REDIS_URL: process.env.REDIS_URL!, DATABASE_POOL_SIZE: "4" } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  it("delivers a generation made on one node to a subscription on the other", async () => {
    const owner = await t.account({ credits: "1" });
    const generations = await subscribed(keyClient(owner.key, second.url), GenerationCreatedDocument);
    const response = await t.fetch("/api/v1/chat/completions", { key: owner.key, body: chatBody("test/chat") });
    const created = (await next(generations)).data!.generationCreated;
    expect(created.id).toBe(response.headers.get("x-generation-id"));
  });
});
