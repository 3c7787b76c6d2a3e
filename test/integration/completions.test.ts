import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, readSse, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

/** The OpenAI-compatible completion routes: wire shapes, validation, routing rules and variants, through real HTTP. */
describe("POST /api/v1/chat/completions", () => {
  let t: TestApp;
  let user: TestAccount;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
    user = await t.account({ credits: "10" });
    // Gamma may train on data; this user allows that, so every test/chat endpoint is open to routing.
    await t.app.db.sql.query("update account set allow_training = true where id = $1", [user.accountId]);
  });
  afterAll(() => t?.close());

  const complete = (body: Record<string, unknown>, key = user.key) => t.fetch("/api/v1/chat/completions", { key, body });
  const completeJson = async (body: Record<string, unknown>, key = user.key) => {
    const response = await complete(body, key);
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
  };

  describe("answers", () => {
    it("in the OpenAI shape with the model and provider that answered, usage and cost", async () => {
      const { status, headers, body } = await completeJson(chatBody("test/chat", { provider: { order: ["alpha"] } }));
      expect(status).toBe(200);
      expect(headers.get("x-generation-id")).toBe(body.id);
      expect(headers.get("x-switchyard-overhead-ms")).toMatch(/^\d+\.\d{3}$/);
      expect(body).toEqual({
        id: expect.stringMatching(/^gen-\d+-[0-9A-Za-z]{20}$/),
        object: "chat.completion",
        created: expect.any(Number),
        model: "test/chat",
        provider: "Alpha",
        system_fingerprint: null,
        choices: [
          {
            index: 0,
            logprobs: null,
            finish_reason: "stop",
            native_finish_reason: "stop",
            message: { role: "assistant", content: "This is a simulated answer from chat-alpha. You said: Hello there", refusal: null, reasoning: null },
          },
        ],
        usage: {
          prompt_tokens: 9,
          completion_tokens: 11,
          total_tokens: 20,
          prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0 },
          // 9 × $0.000001 + 11 × $0.000002
          cost: 0.000031,
          is_byok: false,
          cost_details: { upstream_inference_cost: null },
        },
      });
    });

    it("streams: a role chunk first, one usage chunk with cost and no choices, then [DONE]", async () => {
      const response = await complete(chatBody("test/chat", { stream: true, provider: { order: ["alpha"] } }));
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const id = response.headers.get("x-generation-id");
      expect(response.headers.get("x-switchyard-overhead-ms")).toMatch(/^\d+\.\d{3}$/);
      const { data } = await readSse(response);
      expect(data.at(-1)).toBe("[DONE]");
      const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ id, object: "chat.completion.chunk", model: "test/chat", provider: "Alpha" });
      }
      expect(chunks[0].choices[0].delta.role).toBe("assistant");
      const text = chunks.flatMap((c) => c.choices.map((choice: any) => choice.delta.content ?? "")).join("");
      expect(text).toBe("This is a simulated answer from chat-alpha. You said: Hello there");
      const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
      expect(finish).toHaveLength(1);
      expect(finish[0].choices[0]).toMatchObject({ finish_reason: "stop", native_finish_reason: "stop" });
      const usage = chunks.filter((c) => c.usage);
      expect(usage).toHaveLength(1);
      expect(usage[0]).toBe(chunks.at(-1));
      expect(usage[0].choices).toEqual([]);
      expect(usage[0].usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 11, cost: 0.000031 });
    });

    it("records the generation for GET /generation, to keys of the same account only", async () => {
      const { body } = await completeJson(chatBody("test/chat", { provider: { order: ["beta"] } }));
      const response = await t.fetch(`/api/v1/generation?id=${body.id}`, { key: user.key });
      expect(response.status).toBe(200);
      const { data } = await response.json();
      expect(data).toMatchObject({
        id: body.id,
        model: "test/chat",
        provider_name: "Beta",
        api_type: "completions",
        streamed: false,
        cancelled: false,
        finish_reason: "stop",
        native_finish_reason: "stop",
        tokens_prompt: 9,
        tokens_completion: 11,
        usage_counted_by_switchyard: false,
        total_cost: 0.000062,
        is_byok: false,
        provider_responses: [{ provider: "beta", provider_name: "Beta", model: "test/chat", status: 200, error: null }],
      });
      expect(data.latency).toBeGreaterThanOrEqual(0);
      const stranger = await t.account();
      expect((await t.fetch(`/api/v1/generation?id=${body.id}`, { key: stranger.key })).status).toBe(404);
      expect((await t.fetch("/api/v1/generation", { key: user.key })).status).toBe(400);
    });

    it("serves legacy text completions from a prompt", async () => {
      const response = await t.fetch("/api/v1/completions", { key: user.key, body: { model: "test/chat", prompt: "Once upon a time", provider: { order: ["alpha"] } } });
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body).toMatchObject({
        object: "text_completion",
        model: "test/chat",
        provider: "Alpha",
        choices: [{ index: 0, text: "This is a simulated answer from chat-alpha. You said: Once upon a time", finish_reason: "stop" }],
        usage: { completion_tokens: 13 },
      });
      const streamed = await t.fetch("/api/v1/completions", { key: user.key, body: { model: "test/chat", prompt: "Hi", stream: true, provider: { order: ["alpha"] } } });
      const { data } = await readSse(streamed);
      const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
      expect(chunks[0].object).toBe("text_completion");
      expect(chunks.map((c) => c.choices[0]?.text ?? "").join("")).toBe("This is a simulated answer from chat-alpha. You said: Hi");
      expect(chunks.at(-1).usage.completion_tokens).toBe(10);
    });

    it("truncates at max_tokens with finish_reason length", async () => {
      const { body } = await completeJson(chatBody("test/chat", { max_tokens: 3, provider: { order: ["alpha"] } }));
      expect(body.choices[0]).toMatchObject({ finish_reason: "length", native_finish_reason: "length", message: { content: "This is a" } });
      expect(body.usage.completion_tokens).toBe(3);
    });

    it("passes tool calls through with their ids", async () => {
      const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
      const { body } = await completeJson(chatBody("test/chat", { tools }, "Paris"));
      expect(body.provider).toBe("Alpha");
      expect(body.choices[0].finish_reason).toBe("tool_calls");
      expect(body.choices[0].message.content).toBeNull();
      expect(body.choices[0].message.tool_calls).toEqual([
        { id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      ]);
    });
  });

  describe("rejects bad input with a 400 in the OpenAI shape", () => {
    const cases: Array<[string, unknown, string]> = [
      ["a body that is not JSON", "{not json", "The request body is not valid JSON."],
      ["a missing model", { messages: [{ role: "user", content: "x" }] }, "A model is required: set `model` (or `models`)."],
      ["missing messages", { model: "test/chat" }, "`messages` is required (or `prompt`)."],
      ["an unknown role", { model: "test/chat", messages: [{ role: "wizard", content: "x" }] }, "Invalid request: messages.0.role"],
      ["a temperature above 2", chatBody("test/chat", { temperature: 3 }), "Invalid request: temperature: Too big: expected number to be <=2 (got 3)."],
      ["more than four stop sequences", chatBody("test/chat", { stop: ["a", "b", "c", "d", "e"] }), "at most 4 stop sequences"],
      ["n above 1", chatBody("test/chat", { n: 2 }), "only n = 1 is supported"],
      ["more than three models", { models: ["test/chat", "test/other", "test/small", "test/variants"], messages: [{ role: "user", content: "x" }] }, "'models' array must have 3 items or fewer"],
      ["a bad max_price", chatBody("test/chat", { provider: { max_price: { prompt: "cheap" } } }), "provider.max_price.prompt"],
    ];
    it.each(cases)("%s", async (_name, body, message) => {
      const response = await t.fetch("/api/v1/chat/completions", { key: user.key, body });
      expect(response.status).toBe(400);
      const json = await response.json();
      expect(json.error).toMatchObject({ code: 400, type: "invalid_request_error", metadata: { error_type: "invalid_request" } });
      expect(json.error.message).toContain(message);
    });

    it("404s an unknown model and an unknown variant", async () => {
      const unknown = await completeJson(chatBody("nobody/nothing"));
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({ code: 404, message: "nobody/nothing is not a valid model ID.", metadata: { error_type: "model_not_found" } });
      const variant = await completeJson(chatBody("test/chat:free"));
      expect(variant.status).toBe(404);
      expect(variant.body.error.message).toBe("test/chat:free is not a valid model ID: test/chat has no :free variant.");
    });

    it("413s a body over the size limit", async () => {
      const response = await t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat", {}, "x".repeat(11 * 1024 * 1024)) });
      expect(response.status).toBe(413);
      expect((await response.json()).error).toMatchObject({ code: 413, metadata: { error_type: "payload_too_large" } });
    });

    it("reads bodies the same way on the routes Fastify serves: not JSON is a 400, too large a 413", async () => {
      const malformed = await t.fetch("/api/v1/keys", { key: user.key, body: "{not json" });
      expect(malformed.status).toBe(400);
      expect((await malformed.json()).error).toMatchObject({ code: 400, message: "The request body is not valid JSON.", metadata: { error_type: "invalid_request" } });
      const large = await t.fetch("/api/v1/keys", { key: user.key, body: "x".repeat(11 * 1024 * 1024) });
      expect(large.status).toBe(413);
      expect((await large.json()).error).toMatchObject({ code: 413, metadata: { error_type: "payload_too_large" } });
    });
  });

  describe("routes by the provider preferences", () => {
    const providerOf = async (extra: Record<string, unknown>) => {
      const { status, body } = await completeJson(chatBody("test/chat", extra));
      if (status !== 200) throw new Error(`status ${status}: ${JSON.stringify(body)}`);
      return body.provider as string;
    };
    const refusal = async (extra: Record<string, unknown>, model = "test/chat") => {
      const { status, body } = await completeJson(chatBody(model, extra));
      return { status, error: body.error as Record<string, any> };
    };

    it("follows provider.order and sort deterministically", async () => {
      expect(await providerOf({ provider: { order: ["beta", "alpha"] } })).toBe("Beta");
      expect(await providerOf({ provider: { sort: "price" } })).toBe("Gamma");
      expect(await providerOf({ provider: { sort: { by: "price" } } })).toBe("Gamma");
      expect(await providerOf({ model: "test/chat:floor" })).toBe("Gamma");
    });

    it("balances by default with weight 1/price², cheapest most often", async () => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 40; i++) {
        const provider = await providerOf({});
        counts[provider] = (counts[provider] ?? 0) + 1;
      }
      // Unit prices $1.5, $3 and $6 per million: weights 16 : 4 : 1 → Gamma about 76% of the time.
      expect(counts.Gamma).toBeGreaterThan(20);
      expect(counts.Gamma).toBeGreaterThan((counts.Alpha ?? 0) + (counts.Beta ?? 0));
    });

    it("applies only, ignore, quantizations and max_price", async () => {
      expect(await providerOf({ provider: { only: ["beta"] } })).toBe("Beta");
      expect(await providerOf({ provider: { ignore: ["gamma", "alpha"] } })).toBe("Beta");
      expect(await providerOf({ provider: { quantizations: ["bf16"] } })).toBe("Alpha");
      expect(await providerOf({ provider: { max_price: { prompt: 1.5 }, sort: "price" } })).toBe("Gamma");
      const tooCheap = await refusal({ provider: { max_price: { prompt: 0.1 } } });
      expect(tooCheap.status).toBe(404);
      expect(tooCheap.error).toMatchObject({
        message: "No endpoints found for test/chat that satisfy the max price for this request.",
        metadata: { error_type: "no_endpoints", failed_routing_step: "max_price", model: "test/chat" },
      });
      const none = await refusal({ provider: { only: ["nobody"] } });
      expect(none.error.metadata.failed_routing_step).toBe("allowed_providers");
      const quant = await refusal({ provider: { quantizations: ["fp4"] } });
      expect(quant.error.message).toBe("No endpoints found for test/chat with quantization fp4.");
    });

    it("filters by data policy: data_collection deny, zdr, and the account's own settings", async () => {
      expect(await providerOf({ provider: { data_collection: "deny", sort: "price" } })).toBe("Alpha");
      expect(await providerOf({ provider: { zdr: true } })).toBe("Alpha");
      const strict = await t.account();
      await t.app.db.sql.query("update account set allow_retention = false where id = $1", [strict.accountId]);
      const { body } = await completeJson(chatBody("test/chat", { provider: { order: ["gamma", "beta"] } }), strict.key);
      expect(body.provider).toBe("Alpha");
      const { status, body: refused } = await completeJson(chatBody("test/chat", { provider: { only: ["gamma"] } }), strict.key);
      expect(status).toBe(404);
      expect(refused.error.metadata.failed_routing_step).toBe("data_policy");
      expect(refused.error.message).toContain("endpoints that retain prompts are disabled for this account");
    });

    it("requires parameters only when asked, and prefers tool-capable endpoints anyway", async () => {
      expect(await providerOf({ top_p: 0.5, provider: { require_parameters: true, sort: "price" } })).toBe("Alpha");
      const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];
      expect(await providerOf({ tools, provider: { sort: "price" } })).toBe("Alpha");
      const refused = await refusal({ logit_bias: { "1": 1 }, provider: { require_parameters: true } });
      expect(refused.status).toBe(404);
      expect(refused.error.metadata.failed_routing_step).toBe("require_parameters");
    });

    it("keeps to endpoints that can produce max_tokens and fit the context", async () => {
      expect(await providerOf({ max_tokens: 600, provider: { sort: "price" } })).toBe("Alpha");
      const tooMany = await refusal({ max_tokens: 2000 });
      expect(tooMany.status).toBe(404);
      expect(tooMany.error.metadata.failed_routing_step).toBe("max_tokens");
      const huge = await completeJson(chatBody("test/small", {}, "word ".repeat(100)));
      expect(huge.status).toBe(400);
      expect(huge.body.error).toMatchObject({ metadata: { error_type: "context_length_exceeded", failed_routing_step: "context_length" } });
    });

    it("stops after the listed providers when allow_fallbacks is false", async () => {
      const { status, body } = await completeJson(chatBody("test/faulty", { provider: { order: ["flaky/e503"], allow_fallbacks: false } }));
      expect(status).toBe(503);
      expect(body.error.metadata.attempts.every((a: { provider: string }) => a.provider === "flaky")).toBe(true);
      const fallback = await completeJson(chatBody("test/faulty", { provider: { order: ["flaky/e503", "alpha"] } }));
      expect(fallback.status).toBe(200);
    });
  });

  describe("variants", () => {
    it(":free answers free and bills nothing", async () => {
      const { body } = await completeJson(chatBody("test/variants:free"));
      expect(body).toMatchObject({ model: "test/variants:free", provider: "Gamma" });
      expect(body.usage.cost).toBe(0);
    });

    it(":extended routes to the long-context endpoints", async () => {
      const { body } = await completeJson(chatBody("test/variants:extended", {}, "word ".repeat(5000)));
      expect(body.model).toBe("test/variants:extended");
      expect((await completeJson(chatBody("test/variants", {}, "word ".repeat(5000)))).status).toBe(400);
    });

    it(":thinking answers with reasoning, billed at the reasoning price", async () => {
      const { body } = await completeJson(chatBody("test/variants:thinking"));
      expect(body.model).toBe("test/variants:thinking");
      expect(body.choices[0].message.reasoning).toBe("First I think, then I answer.");
      const { prompt_tokens: prompt, completion_tokens: completion } = body.usage;
      expect(body.usage.completion_tokens_details.reasoning_tokens).toBe(6);
      expect(completion).toBe(6 + 11);
      // prompt × $1/M + 11 answer tokens × $2/M + 6 reasoning tokens × $3/M
      expect(body.usage.cost).toBe((prompt * 1 + 11 * 2 + 6 * 3) / 1e6);
    });

    it(":beta and :nitro select the same endpoints with other routing", async () => {
      const beta = await completeJson(chatBody("test/chat:beta", { provider: { order: ["alpha"] } }));
      expect(beta.body.model).toBe("test/chat:beta");
      const nitro = await completeJson(chatBody("test/chat:nitro"));
      expect(nitro.status).toBe(200);
      expect(nitro.body.model).toBe("test/chat");
    });
  });

  describe("model fall-backs", () => {
    it("moves to the next model in `models` after any error, and bills the one that answered", async () => {
      const { status, body } = await completeJson({
        models: ["test/small", "test/other"],
        messages: [{ role: "user", content: "word ".repeat(100) }],
      });
      expect(status).toBe(200);
      expect(body.model).toBe("test/other");
      expect(body.provider).toBe("Alpha");
      // Billed at test/other's $3/$6 per million, not test/small's price.
      const { prompt_tokens: prompt, completion_tokens: completion } = body.usage;
      expect(body.usage.cost).toBeCloseTo((prompt * 3 + completion * 6) / 1e6, 12);
    });

    it("returns the last model's error when every model fails", async () => {
      const { status, body } = await completeJson({
        model: "test/faulty",
        models: ["test/small"],
        provider: { only: ["flaky/policy"] },
        messages: [{ role: "user", content: "x" }],
      });
      expect(status).toBe(404);
      expect(body.error.metadata.model).toBe("test/small");
    });
  });

  it("keeps the ledger equal to the balance through all of the above", async () => {
    await expectLedgerBalanced(t.app, user.accountId);
  });
});
