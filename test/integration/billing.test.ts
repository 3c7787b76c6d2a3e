import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generationCost } from "../../src/core/pricing.js";
import { expectLedgerBalanced, ledgerOf, readSse, startTestApp, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

/** Admission (credit holds, 402s), settlement and the ledger, seen through the REST API. */
describe("billing of completions", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
  });
  afterAll(() => t?.close());

  const complete = (key: string, body: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`${t.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  const generations = async (accountId: string) => {
    await t.app.credits.flush();
    return t.app.db.sql.query<{ id: string; cost: bigint; cancelled: boolean; streamed: boolean; tokens_prompt: number; tokens_completion: number; usage_counted: boolean; finish_reason: string | null }>(
      "select id, cost, cancelled, streamed, tokens_prompt, tokens_completion, usage_counted, finish_reason from generation where account_id = $1 order by created_at",
      [accountId],
    );
  };
  const untilGenerations = async (accountId: string, count: number) => {
    for (let i = 0; i < 100; i++) {
      const rows = await generations(accountId);
      if (rows.length >= count) return rows;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`expected ${count} generation(s)`);
  };

  it("debits each generation's cost as one usage entry that references it", async () => {
    const user = await t.account({ credits: "1" });
    const body = (await (await complete(user.key, chatBody("test/chat", { provider: { order: ["alpha"] } }))).json()) as any;
    const entries = await ledgerOf(t.app, user.accountId);
    expect(entries).toEqual([
      { kind: "grant", amount: 1_000_000_000_000n, reference: expect.stringMatching(/^grant:/), description: "test credits" },
      { kind: "usage", amount: -31_000_000n, reference: body.id, description: "test/chat via alpha" },
    ]);
    expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(1_000_000_000_000n - 31_000_000n);
  });

  it("charges the same for the same request streamed and not", async () => {
    const user = await t.account({ credits: "1" });
    const request = chatBody("test/chat", { provider: { order: ["beta"] }, max_tokens: 7 });
    const whole = (await (await complete(user.key, request)).json()) as any;
    const streamed = await readSse((await complete(user.key, { ...request, stream: true })) as any);
    const usage = JSON.parse(streamed.data.at(-2)!).usage;
    expect(usage).toEqual(whole.usage);
    const rows = await generations(user.accountId);
    expect(rows.map((r) => [r.streamed, r.cost])).toEqual([
      [false, rows[0].cost],
      [true, rows[0].cost],
    ]);
    expect(rows[0].cost).toBeGreaterThan(0n);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("refuses with 402 what the credits cannot cover in the worst case, naming the limit", async () => {
    const user = await t.account({ credits: "0.0001" });
    // Alpha's worst case for 1000 output tokens is 9 × $1/M + 1000 × $2/M = $0.002009.
    const response = await complete(user.key, chatBody("test/chat", { max_tokens: 1000, provider: { order: ["alpha"], allow_fallbacks: false } }));
    expect(response.status).toBe(402);
    const { error } = (await response.json()) as any;
    expect(error).toMatchObject({
      code: 402,
      type: "insufficient_quota",
      message:
        "This request requires more credits, or fewer max_tokens. You requested up to 1000 tokens, but your credits can only afford 45. Add credits to continue.",
      metadata: { error_type: "payment_required", limit_source: "credits", model: "test/chat" },
    });
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("keeps to the endpoints the credits can cover when some cost too much", async () => {
    const user = await t.account({ credits: "0.0006" });
    await t.app.db.sql.query("update account set allow_training = true where id = $1", [user.accountId]);
    // With 256 output tokens Beta's worst case ($0.001042) is out of reach; Alpha's ($0.000521) is not.
    const response = await complete(user.key, chatBody("test/chat", { max_tokens: 256, provider: { order: ["beta", "alpha"] } }));
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).provider).toBe("Alpha");
  });

  it("blocks every request of an account with a negative balance, free models included", async () => {
    const user = await t.account({ credits: "1" });
    await t.app.accounts.grantCredits(user.accountId, -2_000_000_000_000n, "test debt");
    for (const model of ["test/chat", "test/variants:free"]) {
      const response = await complete(user.key, chatBody(model));
      expect(response.status).toBe(402);
      const { error } = (await response.json()) as any;
      expect(error.message).toBe("Your account has a negative balance. Add credits to make requests, including to free models.");
      expect(error.metadata.limit_source).toBe("credits");
    }
  });

  it("serves free models to an account with no credits at all", async () => {
    const user = await t.account({ credits: "0" });
    const response = await complete(user.key, chatBody("test/variants:free"));
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).usage.cost).toBe(0);
    await expectLedgerBalanced(t.app, user.accountId);
  });

  it("refuses with 402 key_limit when a key's limit cannot cover the request", async () => {
    const user = await t.account({ credits: "1" });
    const { plaintext } = await t.app.accounts.createKey(user.accountId, { kind: "inference", name: "capped", limit: 40_000_000n });
    const ok = await complete(plaintext, chatBody("test/chat", { max_tokens: 5, provider: { order: ["alpha"] } }));
    expect(ok.status).toBe(200);
    const refused = await complete(plaintext, chatBody("test/chat", { max_tokens: 20, provider: { order: ["alpha"] } }));
    expect(refused.status).toBe(402);
    const { error } = (await refused.json()) as any;
    expect(error.metadata.limit_source).toBe("key_limit");
    expect(error.message).toContain("this key's limit can only afford");
    const key = (await (await t.fetch("/api/v1/key", { key: plaintext })).json()).data;
    expect(key.usage).toBeGreaterThan(0);
    expect(key.limit).toBe(0.00004);
    expect(key.limit_remaining).toBeCloseTo(0.00004 - key.usage, 12);
  });

  describe("a client that goes away", () => {
    it("mid-stream: the upstream stops and the tokens generated so far are billed", async () => {
      const user = await t.account({ credits: "1" });
      const controller = new AbortController();
      const response = await complete(user.key, chatBody("test/slow", { stream: true }), controller.signal);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      while ((text.match(/"content":"[^"]+"/g) ?? []).length < 5) text += decoder.decode((await reader.read()).value);
      controller.abort();
      const [record] = await untilGenerations(user.accountId, 1);
      expect(record).toMatchObject({ cancelled: true, streamed: true, usage_counted: true, finish_reason: null });
      // About five of the twenty words arrived before the abort; nowhere near the whole answer was billed.
      expect(record.tokens_completion).toBeGreaterThanOrEqual(5);
      expect(record.tokens_completion).toBeLessThan(12);
      const expected = generationCost(t.app.catalog.snapshot().endpoints.get("test/slow:standard@alpha")!.pricing, {
        usage: { promptTokens: record.tokens_prompt, completionTokens: record.tokens_completion, reasoningTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
        images: 0,
        finishReason: null,
        discounted: false,
      });
      expect(record.cost).toBe(expected);
      expect(record.cost).toBeGreaterThan(0n);
      await expectLedgerBalanced(t.app, user.accountId);
    });

    it("before the first token: nothing is billed and the hold is released", async () => {
      const user = await t.account({ credits: "1" });
      const controller = new AbortController();
      const pending = complete(user.key, chatBody("test/slow", { stream: true }), controller.signal).catch(() => null);
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort();
      await pending;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await generations(user.accountId)).toEqual([]);
      expect((await expectLedgerBalanced(t.app, user.accountId)).balance).toBe(1_000_000_000_000n);
    });

    it("while a non-streamed answer is being generated: what was generated is billed", async () => {
      const user = await t.account({ credits: "1" });
      const controller = new AbortController();
      const pending = complete(user.key, chatBody("test/slow"), controller.signal).catch(() => null);
      await new Promise((resolve) => setTimeout(resolve, 550));
      controller.abort();
      await pending;
      const [record] = await untilGenerations(user.accountId, 1);
      expect(record).toMatchObject({ cancelled: true, streamed: false });
      expect(record.tokens_completion).toBeGreaterThan(0);
      expect(record.cost).toBeGreaterThan(0n);
      await expectLedgerBalanced(t.app, user.accountId);
    });
  });

  it("releases the credits another node reserved when that node dies, once its lease expires", async () => {
    const user = await t.account({ credits: "1" });
    // A lease as another gateway node places it (sy_lease), for 0.4 USD of the 1 USD.
    const lease = "00000000-0000-4000-8000-000000000001";
    const [granted] = await t.app.db.sql.query<{ outcome: string; amount: bigint }>("select outcome, amount from sy_lease($1, $2, $3, $4, $4, 60000)", [
      lease,
      user.accountId,
      user.keyHash,
      "400000000000",
    ]);
    expect(granted).toEqual({ outcome: "ok", amount: 400_000_000_000n });
    // The account's `held` carries the other node's reserve beside this node's own lease…
    const answered = await complete(user.key, chatBody("test/chat", { max_tokens: 1, provider: { order: ["alpha"] } }));
    expect(answered.status).toBe(200);
    await t.app.credits.flush();
    const [account] = await t.app.db.sql.query<{ held: bigint; balance: bigint }>("select held, balance from account where id = $1", [user.accountId]);
    expect(account.held).toBeGreaterThanOrEqual(400_000_000_000n);
    // …until the other node dies: its lease expires and the reaper gives the credits back.
    await t.app.db.sql.query("update credit_hold set expires_at = now() - interval '1 second' where id = $1", [lease]);
    expect(await t.app.credits.reap()).toBe(1);
    const [key] = await t.app.db.sql.query<{ held: bigint }>("select held from api_key where hash = $1", [user.keyHash]);
    const [after] = await t.app.db.sql.query<{ held: bigint }>("select held from account where id = $1", [user.accountId]);
    expect(after.held).toBe(account.held - 400_000_000_000n);
    expect(key.held).toBe(after.held);
    await expectLedgerBalanced(t.app, user.accountId);
    expect(await t.app.credits.reap()).toBe(0);
  });

  describe("prompt logging", () => {
    const secret = "my-unique-prompt-text-4711";

    it("stores no prompt or completion text for an account that did not opt in", async () => {
      const user = await t.account();
      await complete(user.key, chatBody("test/chat", { provider: { order: ["alpha"] } }, secret));
      await t.app.credits.flush();
      const rows = await t.app.db.sql.query(
        "select id from generation where prompt_text is not null or completion_text is not null or position($1 in attempts::text) > 0",
        [secret],
      );
      expect(rows).toEqual([]);
    });

    it("stores both for an account that opted in, with the 1% discount rounded once", async () => {
      const user = await t.account();
      await t.app.db.sql.query("update account set log_prompts = true where id = $1", [user.accountId]);
      t.app.bus.publish("account.changed", { accountId: user.accountId });
      const body = (await (await complete(user.key, chatBody("test/chat", { provider: { order: ["alpha"] } }, secret))).json()) as any;
      await t.app.credits.flush();
      const [row] = await t.app.db.sql.query<{ prompt_text: string; completion_text: string; cost: bigint }>(
        "select prompt_text, completion_text, cost from generation where id = $1",
        [body.id],
      );
      expect(row.prompt_text).toBe(`user: ${secret}`);
      expect(row.completion_text).toBe(body.choices[0].message.content);
      // 99% of the undiscounted cost ($1/M prompt, $2/M completion), rounded half away from zero once.
      const undiscounted = BigInt(body.usage.prompt_tokens) * 1_000_000n + BigInt(body.usage.completion_tokens) * 2_000_000n;
      expect(row.cost).toBe((undiscounted * 99n + 50n) / 100n);
      await expectLedgerBalanced(t.app, user.accountId);
    });
  });
});
