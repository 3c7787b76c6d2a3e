import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

/* The catalog endpoints in OpenRouter's shapes, against the default catalog: one app for the file. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

describe("GET /api/v1/models", () => {
  const models = async (query = "") => {
    const response = await t.fetch(`/api/v1/models${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as { data: Array<Record<string, any>>; total_count: number; links: { next: string | null } };
  };

  it("lists every requestable id, with variants as their own ids, and only models someone can serve", async () => {
    const { data } = await models();
    const ids = data.map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        "switchyard/echo",
        "switchyard/echo:free",
        "switchyard/sim-small",
        "switchyard/sim-large",
        "switchyard/sim-large:extended",
        "switchyard/sim-large:thinking",
        // sim-large's standard endpoint is moderated: :beta selects it without the moderation step.
        "switchyard/sim-large:beta",
      ]),
    );
    const large = data.find((m) => m.id === "switchyard/sim-large")!;
    expect(large.top_provider.is_moderated).toBe(true);
    expect(data.find((m) => m.id === "switchyard/sim-large:beta")).toMatchObject({
      name: "Switchyard: Sim Large (beta)",
      top_provider: { is_moderated: false },
      architecture: { input_modalities: ["text", "image"] },
    });
    // OpenAI and Anthropic have no credentials in this test: their models are not offered.
    expect(ids.some((id) => id.startsWith("openai/") || id.startsWith("anthropic/"))).toBe(false);
  });

  it("renders a model in OpenRouter's shape with per-token prices as decimal strings", async () => {
    const { data } = await models();
    const small = data.find((m) => m.id === "switchyard/sim-small")!;
    expect(small).toMatchObject({
      id: "switchyard/sim-small",
      canonical_slug: "switchyard/sim-small",
      name: "Switchyard: Sim Small",
      context_length: 16384,
      architecture: { modality: "text->text", input_modalities: ["text"], output_modalities: ["text"], tokenizer: "GPT" },
      // The cheapest active endpoint (Budget Sim) is the top provider.
      pricing: { prompt: "0.0000001", completion: "0.0000003", request: "0", image: "0" },
      top_provider: { context_length: 16384, max_completion_tokens: 2048, is_moderated: false },
      per_request_limits: null,
    });
    expect(typeof small.created).toBe("number");
    expect(small.supported_parameters).toEqual(expect.arrayContaining(["max_tokens", "temperature", "top_k"]));
    expect(small.providers).toEqual(["sim-budget", "sim-premium", "simulated"]);
    const free = data.find((m) => m.id === "switchyard/echo:free")!;
    expect(free.pricing).toMatchObject({ prompt: "0", completion: "0" });
  });

  it("filters by supported parameters, search, providers, context and price", async () => {
    expect((await models("?supported_parameters=reasoning")).data.map((m) => m.id)).toEqual(["switchyard/sim-large:thinking"]);
    expect((await models("?q=echo")).data.map((m) => m.id)).toEqual(["switchyard/echo", "switchyard/echo:free"]);
    expect((await models("?providers=sim-budget")).data.map((m) => m.id)).toEqual(["switchyard/sim-small"]);
    expect((await models("?context=100000")).data.map((m) => m.id)).toEqual(["switchyard/sim-large:extended"]);
    // max_price is USD per million prompt tokens.
    expect((await models("?max_price=0.05")).data.map((m) => m.id)).toEqual(["switchyard/echo", "switchyard/echo:free"]);
    expect((await models("?min_price=5")).data.map((m) => m.id)).toEqual(["switchyard/sim-large:extended"]);
  });

  it("pages with offset and limit and says where the next page is", async () => {
    const all = await models();
    const page = await models("?offset=1&limit=2");
    expect(page.data.map((m) => m.id)).toEqual(all.data.slice(1, 3).map((m) => m.id));
    expect(page.total_count).toBe(all.data.length);
    expect(page.links.next).toBe("/api/v1/models?offset=3&limit=2");
    const count = await (await t.fetch("/api/v1/models/count")).json();
    expect(count).toEqual({ data: { count: all.data.length } });
  });

  it("rejects a malformed filter with a 400 in the OpenAI error shape", async () => {
    const response = await t.fetch("/api/v1/models?limit=5000");
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error).toMatchObject({ code: 400, type: "invalid_request_error", metadata: { param: "limit", error_type: "invalid_request" } });
    expect(body.error.message).toContain("limit");
  });
});

describe("GET /api/v1/models/{author}/{slug}/endpoints and /providers", () => {
  it("lists a model's endpoints with prices, quantization, data policy and health", async () => {
    const response = await t.fetch("/api/v1/models/switchyard/sim-small/endpoints");
    expect(response.status).toBe(200);
    const { data } = await response.json();
    expect(data.id).toBe("switchyard/sim-small");
    expect(data.endpoints.map((e: { tag: string }) => e.tag)).toEqual(["sim-budget", "sim-premium", "simulated"]);
    expect(data.endpoints[0]).toMatchObject({
      name: "Budget Sim | switchyard/sim-small",
      provider_name: "Budget Sim",
      tag: "sim-budget",
      quantization: "fp8",
      context_length: 16384,
      max_completion_tokens: 2048,
      status: 0,
      pricing: { prompt: "0.0000001", completion: "0.0000003" },
      is_zdr: false,
      uptime_last_30m: null,
      latency_last_30m: null,
    });
    expect(data.endpoints[1]).toMatchObject({ tag: "sim-premium", quantization: "fp16", is_zdr: true });
  });

  it("addresses a static variant by its suffix and 404s an unknown model", async () => {
    const free = await (await t.fetch("/api/v1/models/switchyard/echo:free/endpoints")).json();
    expect(free.data.endpoints).toHaveLength(1);
    expect(free.data.endpoints[0].pricing.prompt).toBe("0");
    const missing = await t.fetch("/api/v1/models/nobody/nothing/endpoints");
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe(404);
  });

  it("reports endpoint uptime and latency once it has served traffic", async () => {
    const { key } = await t.account();
    const completion = await t.fetch("/api/v1/chat/completions", {
      key,
      body: { model: "switchyard/echo", stream: true, messages: [{ role: "user", content: "Hi" }] },
    });
    await completion.text();
    const anonymous = await (await t.fetch("/api/v1/models/switchyard/echo/endpoints")).json();
    expect(anonymous.data.endpoints[0].uptime_last_30m).toBe(100);
    expect(anonymous.data.endpoints[0].latency_last_30m).toBeNull();
    const authed = await (await t.fetch("/api/v1/models/switchyard/echo/endpoints", { key })).json();
    expect(authed.data.endpoints[0].latency_last_30m.p50).toBeGreaterThan(0);
    expect(authed.data.endpoints[0].throughput_last_30m.p50).toBeGreaterThan(0);
  });

  it("lists providers, saying which are active and why not", async () => {
    const { data } = await (await t.fetch("/api/v1/providers")).json();
    const bySlug = Object.fromEntries(data.map((p: { slug: string }) => [p.slug, p]));
    expect(bySlug.simulated).toMatchObject({ name: "Switchyard Simulator", is_active: true, headquarters: "US" });
    expect(bySlug.openai).toMatchObject({
      name: "OpenAI",
      is_active: false,
      inactive_reason: "set OPENAI_API_KEY to enable it",
      privacy_policy_url: "https://openai.com/policies/privacy-policy/",
    });
    expect(bySlug.ollama.inactive_reason).toBe("set OLLAMA_BASE_URL to enable it");
  });
});
