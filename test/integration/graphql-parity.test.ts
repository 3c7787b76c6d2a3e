import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUsd, usdFromNumber } from "../../src/billing/money.js";
import {
  CompletionStreamDocument,
  CreateCompletionDocument,
  type CompletionInput,
  type CompletionStreamSubscription,
  type CreateCompletionMutation,
} from "../generated/graphql.js";
import { TEST_CATALOG } from "../helpers/catalogs.js";
import { expectLedgerBalanced, readStream, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { connectWs, drain, iterate } from "../helpers/graphql.js";

/*
 * The two front doors are one gateway: the same request sent through REST and through GraphQL, by two accounts that
 * start with the same credits, gives the same answer, usage and cost, the same generation record and the same ledger
 * rows.
 */

let t: TestApp;

/** A request as GraphQL input, and the same request as a REST body. */
const CASES: Array<{ name: string; input: CompletionInput; rest: Record<string, unknown> }> = [
  {
    name: "one provider, sampling parameters",
    input: {
      model: "test/chat",
      messages: [
        { role: "SYSTEM", content: "Be brief." },
        { role: "USER", content: "Tell me about lighthouses" },
      ],
      maxTokens: 64,
      temperature: 0.2,
      stop: ["###"],
      provider: { order: ["beta"], allowFallbacks: false },
    },
    rest: {
      model: "test/chat",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Tell me about lighthouses" },
      ],
      max_tokens: 64,
      temperature: 0.2,
      stop: ["###"],
      provider: { order: ["beta"], allow_fallbacks: false },
    },
  },
  {
    name: "a fall-back model after a refusal",
    input: {
      models: ["test/context-error", "test/other"],
      messages: [{ role: "USER", parts: [{ type: "TEXT", text: "Hello" }, { type: "TEXT", text: "again" }] }],
    },
    rest: {
      models: ["test/context-error", "test/other"],
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }, { type: "text", text: "again" }] }],
    },
  },
  {
    name: "price ceiling and sort",
    input: {
      model: "test/chat",
      messages: [{ role: "USER", content: "cheapest please" }],
      provider: { sort: "PRICE", maxPrice: { prompt: "1.5", completion: "3" }, dataCollection: "ALLOW" },
    },
    rest: {
      model: "test/chat",
      messages: [{ role: "user", content: "cheapest please" }],
      provider: { sort: "price", max_price: { prompt: 1.5, completion: 3 }, data_collection: "allow" },
    },
  },
];

/** What two generation records must agree on: everything but ids, times and latencies. */
async function generationRecord(id: string) {
  await t.app.credits.whenSettled(id);
  const [row] = await t.app.db.sql.query<Record<string, unknown>>(
    `select model, provider, endpoint_id, api_type, streamed, cancelled, finish_reason, native_finish_reason, tokens_prompt,
            tokens_completion, tokens_reasoning, usage_counted, cost,
            (select jsonb_agg(jsonb_build_object('provider', a->>'provider', 'status', a->'status')) from jsonb_array_elements(attempts) a) as attempts
       from generation where id = $1`,
    [id],
  );
  return row;
}

/** An account's ledger rows, oldest first, without ids and times. */
async function ledgerRows(accountId: string) {
  await t.app.credits.flush();
  return t.app.db.sql.query<Record<string, unknown>>(
    "select kind, amount, balance_after, description from ledger_entry where account_id = $1 order by id",
    [accountId],
  );
}

describe("REST and GraphQL parity", () => {
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
  });
  afterAll(() => t?.close());

  for (const { name, input, rest } of CASES) {
    it(`gives the same answer, usage, cost, generation and ledger rows: ${name}`, async () => {
      const viaRest: TestAccount = await t.account({ credits: "3" });
      const viaGraphQL: TestAccount = await t.account({ credits: "3" });

      const restResponse = await t.fetch("/api/v1/chat/completions", { key: viaRest.key, body: rest });
      expect(restResponse.status).toBe(200);
      const r = await restResponse.json();

      const gqlResponse = await t.fetch("/graphql", { key: viaGraphQL.key, body: { query: print(CreateCompletionDocument), variables: { input } } });
      const body: { data: CreateCompletionMutation; errors?: unknown } = await gqlResponse.json();
      expect(body.errors).toBeUndefined();
      const g = body.data.createCompletion;

      expect(g.content).toBe(r.choices[0].message.content);
      expect(g.model).toBe(r.model);
      expect(g.provider).toBe(r.provider);
      expect(g.finishReason.toLowerCase()).toBe(r.choices[0].finish_reason);
      expect(g.nativeFinishReason).toBe(r.choices[0].native_finish_reason);
      expect([g.usage.promptTokens, g.usage.completionTokens, g.usage.totalTokens]).toEqual([
        r.usage.prompt_tokens,
        r.usage.completion_tokens,
        r.usage.total_tokens,
      ]);
      expect(parseUsd(g.usage.cost)).toBe(usdFromNumber(r.usage.cost));
      expect(parseUsd(g.usage.cost)).toBeGreaterThan(0n);

      expect(await generationRecord(g.id)).toEqual(await generationRecord(r.id));
      expect(await ledgerRows(viaGraphQL.accountId)).toEqual(await ledgerRows(viaRest.accountId));
      const [one, other] = [await expectLedgerBalanced(t.app, viaRest.accountId), await expectLedgerBalanced(t.app, viaGraphQL.accountId)];
      expect(other.balance).toBe(one.balance);
    });
  }

  it("streams the same answer through SSE and the completionStream subscription, billed the same", async () => {
    const { input, rest } = CASES[0];
    const viaRest = await t.account({ credits: "3" });
    const viaGraphQL = await t.account({ credits: "3" });

    const streamed = await readStream(await t.fetch("/api/v1/chat/completions", { key: viaRest.key, body: { ...rest, stream: true } }));
    const restUsage = streamed.chunks.at(-1)!.usage;

    const client = connectWs(t.url, { params: { authorization: `Bearer ${viaGraphQL.key}` } });
    let events: Array<CompletionStreamSubscription["completionStream"]>;
    try {
      events = (await drain(iterate(client, CompletionStreamDocument, { input }))).map((data) => data.completionStream);
    } finally {
      await client.dispose();
    }
    const final = events.at(-1)!;
    expect(events.map((e) => e.delta?.content ?? "").join("")).toBe(streamed.content);
    expect(final.finishReason!.toLowerCase()).toBe(streamed.finishReason);
    expect([final.usage!.promptTokens, final.usage!.completionTokens]).toEqual([restUsage.prompt_tokens, restUsage.completion_tokens]);
    expect(parseUsd(final.usage!.cost)).toBe(usdFromNumber(restUsage.cost));

    expect(await generationRecord(final.id)).toEqual(await generationRecord(streamed.chunks[0].id));
    expect(await ledgerRows(viaGraphQL.accountId)).toEqual(await ledgerRows(viaRest.accountId));
  });
});
