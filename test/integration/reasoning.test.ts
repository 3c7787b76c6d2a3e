import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, type TestAccount } from "../helpers/app.js";
import { readStream, startFeatureApp, UPSTREAM_REASONING, type FeatureApp } from "../helpers/feature-app.js";

/**
 * Reasoning through REST, end to end, streamed and not: `reasoning` (effort, max_tokens, exclude, enabled), legacy
 * `include_reasoning` and `:thinking`; reasoning tokens in usage, billed at the reasoning price (or as output); hidden
 * reasoning left out of every chunk and message but still billed; the parameters translated per endpoint.
 */

const SIMULATED_REASONING = "First I think, then I answer.";
const QUESTION = [{ role: "user", content: "How is the weather?" }];

describe("reasoning end to end", () => {
  let f: FeatureApp;
  let user: TestAccount;
  beforeAll(async () => {
    f = await startFeatureApp();
    user = await f.t.account({ credits: "10" });
  });
  afterAll(() => f?.close());

  const complete = (extra: Record<string, unknown>, model = "feat/reasoner") =>
    f.t.fetch("/api/v1/chat/completions", { key: user.key, body: { model, messages: QUESTION, ...extra } });
  /** The answer, streamed or not, as { content, reasoning (null when absent), reasoning chunks, usage }. */
  const answer = async (extra: Record<string, unknown>, model = "feat/reasoner") => {
    const response = await complete(extra, model);
    expect(response.status).toBe(200);
    if (extra.stream) {
      const streamed = await readStream(response);
      const reasoningChunks = streamed.chunks.filter((c) => c.choices[0]?.delta?.reasoning !== undefined);
      return { model: streamed.chunks[0].model, content: streamed.content, reasoning: streamed.reasoning || null, reasoningChunks, usage: streamed.usage!, id: streamed.chunks[0].id };
    }
    const body = await response.json();
    return { model: body.model, content: body.choices[0].message.content, reasoning: body.choices[0].message.reasoning, reasoningChunks: [], usage: body.usage, id: body.id };
  };
  /** Alpha's price: prompt $1/M, answer $2/M, reasoning $3/M. */
  const alphaCost = (usage: Record<string, number>, reasoningTokens: number) =>
    (usage.prompt_tokens * 1 + (usage.completion_tokens - reasoningTokens) * 2 + reasoningTokens * 3) / 1e6;

  describe("on a simulated endpoint", () => {
    it.each([false, true])("answers with reasoning before the content, billed at the reasoning price (stream: %s)", async (stream) => {
      const result = await answer({ stream, reasoning: { effort: "high" }, provider: { only: ["alpha"] } });
      expect(result.reasoning).toBe(SIMULATED_REASONING);
      expect(result.content).toBe("This is a simulated answer from reasoner-alpha. You said: How is the weather?");
      expect(result.usage.completion_tokens_details.reasoning_tokens).toBe(6);
      expect(result.usage.completion_tokens).toBe(6 + 13);
      expect(result.usage.cost).toBeCloseTo(alphaCost(result.usage, 6), 12);
      if (stream) expect(result.reasoningChunks.length).toBe(6);
    });

    it.each([
      ["reasoning.exclude", { reasoning: { effort: "high", exclude: true } }],
      ["reasoning: {exclude: true} alone", { reasoning: { exclude: true } }],
      ["include_reasoning: false", { include_reasoning: false }],
    ])("hides reasoning with %s, from every chunk and the message, and still bills its tokens", async (_name, params) => {
      for (const stream of [false, true]) {
        const result = await answer({ stream, ...params, provider: { only: ["alpha"] } });
        expect(result.reasoning).toBeNull();
        expect(result.reasoningChunks).toEqual([]);
        expect(result.content).toBe("This is a simulated answer from reasoner-alpha. You said: How is the weather?");
        expect(result.usage.completion_tokens_details.reasoning_tokens).toBe(6);
        expect(result.usage.cost).toBeCloseTo(alphaCost(result.usage, 6), 12);
      }
    });

    it("streams a hidden-reasoning answer that still opens with the assistant role and ends with one usage chunk", async () => {
      const streamed = await readStream(await complete({ stream: true, reasoning: { exclude: true }, provider: { only: ["alpha"] } }));
      const withChoices = streamed.chunks.filter((c) => c.choices.length > 0);
      expect(withChoices[0].choices[0].delta).toMatchObject({ role: "assistant", content: "This" });
      expect(streamed.chunks.filter((c) => c.usage)).toHaveLength(1);
      expect(streamed.done).toBe(true);
    });

    it("records the reasoning tokens with the generation, hidden or not", async () => {
      const result = await answer({ reasoning: { exclude: true }, provider: { only: ["alpha"] } });
      const generation = await (await f.t.fetch(`/api/v1/generation?id=${result.id}`, { key: user.key })).json();
      expect(generation.data).toMatchObject({ native_tokens_reasoning: 6, total_cost: result.usage.cost });
    });

    it("passes reasoning.max_tokens on, and reasons not at all with enabled: false", async () => {
      const capped = await answer({ reasoning: { max_tokens: 3 }, provider: { only: ["alpha"] } });
      expect(capped.reasoning).toBe("First I think,");
      expect(capped.usage.completion_tokens_details.reasoning_tokens).toBe(3);
      const off = await answer({ reasoning: { enabled: false }, provider: { only: ["alpha"] } });
      expect(off.reasoning).toBeNull();
      expect(off.usage.completion_tokens_details.reasoning_tokens).toBe(0);
    });

    it(":thinking switches reasoning on and keeps to endpoints that can reason, streamed and not", async () => {
      for (const stream of [false, true]) {
        // Cheap is the cheapest endpoint but cannot reason.
        const result = await answer({ stream, provider: { sort: "price" } }, "feat/reasoner:thinking");
        expect(result.model).toBe("feat/reasoner:thinking");
        expect(result.reasoning).toBe(SIMULATED_REASONING);
      }
      const response = await complete({ provider: { only: ["cheap"] } }, "feat/reasoner:thinking");
      expect(response.status).toBe(404);
      expect((await response.json()).error).toMatchObject({
        message: "No endpoints found for feat/reasoner:thinking that support reasoning.",
        metadata: { failed_routing_step: "reasoning" },
      });
    });

    it("refuses a malformed reasoning parameter with a 400", async () => {
      for (const params of [{ reasoning: { effort: "extreme" } }, { reasoning: { max_tokens: 0 } }, { include_reasoning: "yes" }]) {
        const response = await complete(params);
        expect(response.status, JSON.stringify(params)).toBe(400);
      }
    });
  });

  describe("on an OpenAI-compatible endpoint that takes reasoning_effort", () => {
    const sentEffort = async (params: Record<string, unknown>) => {
      await answer({ ...params, provider: { only: ["oai"] } });
      const sent = f.lastRequest(f.openai, "reasoner-oai").body!;
      expect(sent.reasoning).toBeUndefined();
      expect(sent.include_reasoning).toBeUndefined();
      return sent.reasoning_effort;
    };

    it("maps reasoning.effort, a budget, include_reasoning and enabled: false to reasoning_effort", async () => {
      expect(await sentEffort({ reasoning: { effort: "high" } })).toBe("high");
      expect(await sentEffort({ reasoning: { effort: "max" } })).toBe("xhigh");
      expect(await sentEffort({ max_tokens: 2000, reasoning: { max_tokens: 1800 } })).toBe("high");
      expect(await sentEffort({ max_tokens: 2000, reasoning: { max_tokens: 300 } })).toBe("low");
      expect(await sentEffort({ include_reasoning: true })).toBe("medium");
      expect(await sentEffort({ reasoning: { enabled: false } })).toBe("none");
      expect(await sentEffort({})).toBeUndefined();
      expect(await sentEffort({ reasoning_effort: "minimal" })).toBe("minimal");
    });

    it.each([false, true])("reports the upstream's reasoning and bills its tokens as output without a reasoning price (stream: %s)", async (stream) => {
      const result = await answer({ stream, reasoning: { effort: "low" }, provider: { only: ["oai"] } });
      expect(result.reasoning).toBe(UPSTREAM_REASONING);
      expect(result.usage.completion_tokens_details.reasoning_tokens).toBe(6);
      expect(result.usage.cost).toBeCloseTo((result.usage.prompt_tokens * 1 + result.usage.completion_tokens * 2) / 1e6, 12);
      const hidden = await answer({ stream, reasoning: { effort: "low", exclude: true }, provider: { only: ["oai"] } });
      expect(hidden.reasoning).toBeNull();
      expect(hidden.usage.completion_tokens_details.reasoning_tokens).toBe(6);
    });
  });

  describe("on an Anthropic endpoint", () => {
    it.each([false, true])("asks for a thinking budget from the effort and reports the thinking as reasoning (stream: %s)", async (stream) => {
      const result = await answer({ stream, max_tokens: 2000, reasoning: { effort: "low" }, provider: { only: ["claude"] } });
      expect(f.lastRequest(f.anthropic, "claude-reasoner").body!.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
      expect(result.reasoning).toBe(UPSTREAM_REASONING);
      expect(result.content).toBe("This is a simulated answer from claude-reasoner. You said: How is the weather?");
      expect(result.usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    });

    it.each([false, true])("hides the thinking with include_reasoning: false and :thinking, still billing it (stream: %s)", async (stream) => {
      const result = await answer({ stream, include_reasoning: false, provider: { only: ["claude"] } }, "feat/reasoner:thinking");
      expect(f.lastRequest(f.anthropic, "claude-reasoner").body!.thinking).toMatchObject({ type: "enabled" });
      expect(result.reasoning).toBeNull();
      expect(result.reasoningChunks).toEqual([]);
      const reasoningTokens = result.usage.completion_tokens_details.reasoning_tokens;
      expect(reasoningTokens).toBeGreaterThan(0);
      // Claude has no reasoning price: all output at $15/M.
      expect(result.usage.cost).toBeCloseTo((result.usage.prompt_tokens * 3 + result.usage.completion_tokens * 15) / 1e6, 12);
    });
  });

  it("keeps the ledger equal to the balance", async () => {
    await expectLedgerBalanced(f.t.app, user.accountId);
  });
});
