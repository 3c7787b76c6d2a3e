import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, readStream, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

/**
 * Providers that misbehave, seen from the client: every fault the simulated provider can inject, with the caller's
 * outcome asserted — HTTP errors with and without Retry-After, resets, silence, slow first tokens, stalls, cut streams,
 * malformed events, a missing [DONE], refusals, missing usage — and the circuit breaker.
 */
describe("faults", () => {
  let t: TestApp;
  let user: TestAccount;
  beforeAll(async () => {
    t = await startTestApp({
      catalog: TEST_CATALOG,
      env: { SWITCHYARD_FIRST_TOKEN_TIMEOUT_MS: "500", SWITCHYARD_IDLE_TIMEOUT_MS: "300", SWITCHYARD_KEEPALIVE_MS: "250" },
      // Deterministic jitter: the first retry of an endpoint waits 125 ms.
      overrides: { random: () => 0 },
    });
    user = await t.account({ credits: "10" });
  });
  afterAll(() => t?.close());

  const request = (provider: Record<string, unknown>, extra: Record<string, unknown> = {}, model = "test/faulty") =>
    t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody(model, { provider, ...extra }) });
  const generation = async (id: string) => (await (await t.fetch(`/api/v1/generation?id=${id}`, { key: user.key })).json()).data;
  const attemptsOf = (data: { provider_responses: Array<{ provider: string; status: number | null }> }) =>
    data.provider_responses.map((a) => `${a.provider}:${a.status}`);

  describe("before the first token, the router fails over", () => {
    it("retries a 5xx without Retry-After once with backoff, then moves to the next provider", async () => {
      const response = await request({ order: ["flaky/e503", "alpha"] });
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.provider).toBe("Alpha");
      expect(attemptsOf(await generation(body.id))).toEqual(["flaky:503", "alpha:200"]);
    });

    it("gives up on an endpoint that keeps failing with its status and the provider's error", async () => {
      const response = await request({ only: ["flaky/e503"] });
      expect(response.status).toBe(503);
      const { error } = await response.json();
      expect(error).toMatchObject({
        code: 503,
        message: "Flaky returned an error: Simulated upstream error 503",
        metadata: { error_type: "provider_unavailable", provider_name: "Flaky", provider_code: 503 },
      });
      expect(JSON.parse(error.metadata.raw).error.message).toBe("Simulated upstream error 503");
      expect(error.metadata.attempts.map((a: { status: number }) => a.status)).toEqual([503, 503]);
    });

    it("maps an upstream 500 to a 502", async () => {
      const response = await request({ only: ["flaky/e500"] });
      expect(response.status).toBe(502);
      expect((await response.json()).error).toMatchObject({ code: 502, type: "api_error", metadata: { error_type: "provider_error", provider_code: 500 } });
    });

    it("honours Retry-After on a 429 before trying the endpoint again", async () => {
      const started = Date.now();
      const response = await request({ only: ["flaky/e429"] });
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(attemptsOf(await generation((await response.json()).id))).toEqual(["flaky:429", "flaky:200"]);
    });

    it("moves on after a connection reset, and says so when nothing else is left", async () => {
      const alone = await request({ only: ["flaky/reset"] });
      expect(alone.status).toBe(502);
      expect((await alone.json()).error.message).toBe("Could not reach Flaky: connection reset.");
      const fallback = await request({ order: ["flaky/reset", "alpha"] });
      expect((await fallback.json()).provider).toBe("Alpha");
    });

    it("times out a silent provider at the first-token timeout and fails over", async () => {
      const started = Date.now();
      const fallback = await request({ order: ["flaky/silent", "alpha"] });
      expect((await fallback.json()).provider).toBe("Alpha");
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      const alone = await request({ only: ["flaky/silent"] });
      expect(alone.status).toBe(408);
      expect((await alone.json()).error).toMatchObject({ code: 408, message: "Flaky sent no first token within 500 ms.", metadata: { error_type: "timeout" } });
    });

    it("keeps a slow stream alive with SSE comments, and turns a late failure into an in-band error", async () => {
      const slow = await request({ only: ["flaky/late"] }, { stream: true });
      const sse = await readStream(slow);
      expect(sse.comments).toContain(": SWITCHYARD PROCESSING");
      expect(sse.raw.indexOf(": SWITCHYARD PROCESSING")).toBeLessThan(sse.raw.indexOf("data: "));
      expect(sse.chunks.at(-1)!.usage.completion_tokens).toBe(11);

      // The stream opened (keep-alives) while the router was still trying: the failure arrives in-band.
      const silent = await request({ only: ["flaky/silent"] }, { stream: true });
      expect(silent.status).toBe(200);
      const failed = await readStream(silent);
      expect(failed.data.at(-1)).toBe("[DONE]");
      expect(failed.chunks).toHaveLength(1);
      expect(failed.chunks[0]).toMatchObject({
        error: { code: 408, message: "Flaky sent no first token within 500 ms." },
        choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
      });
    });

    it("answers a stream that failed fast before any byte with a plain HTTP error", async () => {
      const response = await request({ only: ["flaky/e500"], allow_fallbacks: false }, { stream: true, model: "test/faulty" });
      // Two attempts 125 ms apart: well inside the 250 ms keep-alive, so the status is still open.
      expect(response.status).toBe(502);
      expect(response.headers.get("content-type")).toContain("application/json");
    });
  });

  describe("after the first token, a stream never fails over and never ends as if complete", () => {
    it("reports a stall as an in-band timeout with finish_reason error, and bills nothing", async () => {
      const response = await request({ only: ["flaky/stall"] }, { stream: true });
      const { chunks, data, content } = await readStream(response);
      expect(content).toBe("This is a");
      const last = chunks.at(-1)!;
      expect(last.error).toMatchObject({ code: 408, message: "Flaky stopped sending tokens for 300 ms.", metadata: { error_type: "timeout" } });
      expect(last.choices[0].finish_reason).toBe("error");
      expect(chunks.some((c) => c.usage)).toBe(false);
      expect(data.at(-1)).toBe("[DONE]");
      const record = await generation(response.headers.get("x-generation-id")!);
      expect(record).toMatchObject({ finish_reason: "error", total_cost: 0, streamed: true, cancelled: false });
    });

    it("reports a cut stream as an in-band provider error", async () => {
      const response = await request({ order: ["flaky/cut", "alpha"] }, { stream: true });
      const { chunks, content } = await readStream(response);
      expect(content).toBe("This is a");
      expect(chunks.at(-1)).toMatchObject({ provider: "Flaky", error: { code: 502, message: "Flaky dropped the connection mid-answer." } });
    });

    it("but a non-streamed request can still fail over, since nothing reached the client", async () => {
      for (const tag of ["flaky/cut", "flaky/stall"]) {
        const response = await request({ order: [tag, "alpha"] });
        expect(response.status).toBe(200);
        const body = await response.json();
        expect(body.provider).toBe("Alpha");
        expect(body.choices[0].message.content).toBe("This is a simulated answer from healthy. You said: Hello there");
      }
    });
  });

  describe("tolerates sloppy streams", () => {
    it("skips a malformed event and keeps the answer whole", async () => {
      const streamed = await readStream(await request({ only: ["flaky/malformed"] }, { stream: true }));
      expect(streamed.content).toBe("This is a simulated answer from faulty-malformed. You said: Hello there");
      expect(streamed.chunks.at(-1)!.usage.completion_tokens).toBe(11);
      const whole = await (await request({ only: ["flaky/malformed"] })).json();
      expect(whole.choices[0]).toMatchObject({ finish_reason: "stop" });
    });

    it("accepts a stream that ends without [DONE] after its finish reason", async () => {
      const streamed = await readStream(await request({ only: ["flaky/nodone"] }, { stream: true }));
      expect(streamed.data.at(-1)).toBe("[DONE]");
      expect(streamed.chunks.at(-2)!.choices[0].finish_reason).toBe("stop");
      // 9 prompt and 11 completion tokens at the test catalog's prices.
      expect(streamed.chunks.at(-1)!.usage.cost).toBe(0.000031);
    });

    it("counts the tokens itself, and flags it, when the provider reports no usage", async () => {
      const body = await (await request({ only: ["flaky/nousage"] })).json();
      // The tokenizer's count of "This is a simulated answer from faulty-nousage. You said: Hello there".
      expect(body.usage.completion_tokens).toBe(15);
      const record = await generation(body.id);
      expect(record.usage_counted_by_switchyard).toBe(true);
      expect(record.tokens_completion).toBe(body.usage.completion_tokens);
    });
  });

  describe("refusals", () => {
    it("does not retry a context-length error on the same model, but moves to the next model", async () => {
      const alone = await request({}, {}, "test/context-error");
      expect(alone.status).toBe(400);
      const { error } = await alone.json();
      expect(error.metadata).toMatchObject({ error_type: "context_length_exceeded", provider_name: "Flaky" });
      expect(error.metadata.attempts).toHaveLength(1);
      const fallback = await t.fetch("/api/v1/chat/completions", {
        key: user.key,
        body: { models: ["test/context-error", "test/other"], messages: [{ role: "user", content: "Hello there" }] },
      });
      const body = await fallback.json();
      expect(body.model).toBe("test/other");
      expect(attemptsOf(await generation(body.id))).toEqual(["flaky:400", "alpha:200"]);
    });

    it("treats a content-policy refusal the same way", async () => {
      const response = await request({}, {}, "test/policy-error");
      expect(response.status).toBe(400);
      expect((await response.json()).error.metadata).toMatchObject({ error_type: "content_policy_violation", provider_code: 400 });
    });
  });

  it("opens the circuit breaker on an endpoint that keeps failing, and says when to come back", async () => {
    for (let i = 0; i < 3; i++) expect((await request({ only: ["flaky/breaker"] })).status).toBe(503);
    const started = Date.now();
    const blocked = await request({ only: ["flaky/breaker"] });
    expect(Date.now() - started).toBeLessThan(100);
    expect(blocked.status).toBe(503);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(20);
    const { error } = await blocked.json();
    expect(error.message).toBe("No provider of test/faulty is taking requests right now. Try again shortly.");
    const endpoints = await (await t.fetch("/api/v1/models/test/faulty/endpoints")).json();
    const breaker = endpoints.data.endpoints.find((e: { tag: string }) => e.tag === "flaky/breaker");
    expect(breaker.uptime_last_5m).toBe(0);
    // Other endpoints of the model are unaffected.
    expect((await request({ only: ["alpha"] })).status).toBe(200);
  });

  it("never bills a failed attempt: the ledger still sums to the balance", async () => {
    await expectLedgerBalanced(t.app, user.accountId);
  });
});
