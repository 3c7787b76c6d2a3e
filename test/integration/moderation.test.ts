import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, type TestAccount, type TestResponse } from "../helpers/app.js";
import { readStream, startFeatureApp, type FeatureApp } from "../helpers/feature-app.js";
import { startTestServer, type RecordedRequest, type UpstreamReply, type UpstreamServer } from "../helpers/upstream-server.js";

/**
 * Moderation and `:beta` through REST, end to end, against an OpenAI-moderations-compatible server over HTTP: moderated
 * endpoints are preceded by one moderation call per request; flagged input is a 403 with OpenRouter's metadata;
 * `:beta` skips the step; without a backend, moderated endpoints serve only `:beta`. Also the variant ids in `/models`.
 */

const MODERATION_KEY = "sk-mod-test-0123456789";

/** The fake moderation API: flags inputs containing "forbidden" (harassment) or "attack" (violence). */
function verdicts(request: RecordedRequest): UpstreamReply {
  const inputs = request.body!.input as string[];
  const results = inputs.map((text) => {
    const categories = { harassment: text.includes("forbidden"), violence: text.includes("attack"), hate: false };
    return { flagged: categories.harassment || categories.violence, categories };
  });
  return { status: 200, body: JSON.stringify({ id: "modr-test", model: request.body!.model, results }) };
}

describe("moderation with a moderation API", () => {
  let moderationApi: UpstreamServer;
  let respond: (request: RecordedRequest) => UpstreamReply = verdicts;
  let f: FeatureApp;
  let user: TestAccount;
  beforeAll(async () => {
    moderationApi = await startTestServer({ basePath: "/v1", respond: (request) => respond(request) });
    f = await startFeatureApp({ env: { SWITCHYARD_MODERATION_URL: moderationApi.baseUrl, SWITCHYARD_MODERATION_KEY: MODERATION_KEY } });
    user = await f.t.account({ credits: "10" });
  });
  afterAll(async () => {
    await f?.close();
    await moderationApi?.close();
  });

  const complete = (body: Record<string, unknown>) => f.t.fetch("/api/v1/chat/completions", { key: user.key, body });
  const completeJson = async (body: Record<string, unknown>) => {
    const response = await complete(body);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const ask = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: "user", content }], ...extra });
  /** Moderation calls made while `run` ran. */
  const moderationCalls = async (run: () => Promise<unknown>) => {
    const before = moderationApi.requests.length;
    await run();
    return moderationApi.requests.slice(before);
  };

  it("moderates the input once before a moderated endpoint answers", async () => {
    let status = 0;
    const calls = await moderationCalls(async () => {
      ({ status } = await completeJson({
        model: "feat/moderated",
        messages: [
          { role: "system", content: "Be kind." },
          { role: "user", content: "Hello there" },
        ],
        provider: { order: ["alpha"] },
      }));
    });
    expect(status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: "POST", url: "/v1/moderations" });
    expect(calls[0].headers.authorization).toBe(`Bearer ${MODERATION_KEY}`);
    expect(calls[0].body).toEqual({ model: "omni-moderation-latest", input: ["Be kind.", "Hello there"] });
  });

  it("refuses flagged input with a 403 listing the reasons, the flagged excerpt, the provider and the model, streamed or not", async () => {
    for (const stream of [false, true]) {
      const response = await complete(ask("feat/moderated", "you forbidden attack", { stream, provider: { order: ["alpha"] } }));
      expect(response.status).toBe(403);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect((await response.json()).error).toEqual({
        code: 403,
        type: "content_policy_violation",
        param: null,
        message: 'feat/moderated requires moderation on Alpha. Your input was flagged for "harassment, violence". No credits were charged.',
        metadata: {
          error_type: "moderation_flagged",
          reasons: ["harassment", "violence"],
          flagged_input: "you forbidden attack",
          provider_name: "Alpha",
          model_slug: "feat/moderated",
        },
      });
    }
  });

  it("elides long flagged input in the middle to 100 characters", async () => {
    const long = `${"a".repeat(100)} forbidden ${"z".repeat(100)}`;
    const { body } = await completeJson(ask("feat/moderated", long, { provider: { order: ["alpha"] } }));
    expect(body.error.metadata.flagged_input).toBe(`${"a".repeat(49)}...${"z".repeat(48)}`);
  });

  it("asks once per request even when the first moderated endpoint fails and another answers", async () => {
    let body: Record<string, any> = {};
    const calls = await moderationCalls(async () => {
      ({ body } = await completeJson(ask("feat/moderated", "Hello", { provider: { order: ["beta/down", "alpha"] } })));
    });
    expect(body.provider).toBe("Alpha");
    expect(calls).toHaveLength(1);
    await f.t.app.credits.flush();
    const generation = await (await f.t.fetch(`/api/v1/generation?id=${body.id}`, { key: user.key })).json();
    expect(generation.data.provider_responses.map((r: { status: number }) => r.status)).toEqual([503, 200]);
  });

  it(":beta selects the same endpoints without the moderation step, streamed and not", async () => {
    for (const stream of [false, true]) {
      let response: TestResponse | undefined;
      const calls = await moderationCalls(async () => {
        response = await complete(ask("feat/moderated:beta", "you forbidden person", { stream, provider: { order: ["alpha"] } }));
      });
      expect(response!.status).toBe(200);
      expect(calls).toEqual([]);
      const model = stream ? (await readStream(response!)).chunks[0].model : (await response!.json()).model;
      expect(model).toBe("feat/moderated:beta");
    }
  });

  it("does not moderate requests to endpoints that are not moderated", async () => {
    const calls = await moderationCalls(async () => {
      expect((await completeJson(ask("feat/chat", "forbidden words", { provider: { only: ["alpha"] } }))).status).toBe(200);
      expect((await completeJson(ask("feat/mixed", "forbidden words", { provider: { order: ["cheap"] } }))).body.provider).toBe("Cheap");
    });
    expect(calls).toEqual([]);
  });

  it("ends the model's turn on flagged input: its unmoderated endpoints do not serve it, the next model in `models` may", async () => {
    const mixed = await completeJson(ask("feat/mixed", "forbidden words", { provider: { order: ["alpha", "cheap"] } }));
    expect(mixed.status).toBe(403);
    const fallback = await completeJson({ models: ["feat/moderated", "feat/text"], messages: [{ role: "user", content: "forbidden words" }] });
    expect(fallback.status).toBe(200);
    expect(fallback.body.model).toBe("feat/text");
  });

  it("when the moderation API fails: moderated endpoints cannot serve, other endpoints still can", async () => {
    respond = () => ({ status: 500, body: JSON.stringify({ error: { message: "down" } }) });
    try {
      const refused = await completeJson(ask("feat/moderated", "Hello", { provider: { order: ["alpha"] } }));
      expect(refused.status).toBe(502);
      expect(refused.body.error).toMatchObject({ message: "The moderation service answered HTTP 500.", metadata: { error_type: "provider_error" } });
      let served: Record<string, any> = {};
      const calls = await moderationCalls(async () => {
        ({ body: served } = await completeJson(ask("feat/mixed", "Hello", { provider: { order: ["alpha", "cheap"] } })));
      });
      expect(served.provider).toBe("Cheap");
      expect(calls).toHaveLength(1);
    } finally {
      respond = verdicts;
    }
  });

  it("lists :beta for models with moderated endpoints and :thinking for models whose endpoints can reason", async () => {
    const { data } = await (await f.t.fetch("/api/v1/models")).json();
    const byId = new Map<string, Record<string, any>>(data.map((m: Record<string, any>) => [m.id, m]));
    expect([...byId.keys()].sort()).toEqual([
      "feat/chat",
      "feat/cited",
      "feat/cited:free",
      "feat/mixed",
      "feat/mixed:beta",
      "feat/moderated",
      "feat/moderated:beta",
      "feat/reasoner",
      "feat/reasoner:thinking",
      "feat/text",
    ]);
    expect(byId.get("feat/moderated")!.top_provider.is_moderated).toBe(true);
    expect(byId.get("feat/moderated:beta")).toMatchObject({ name: "Feature Moderated (beta)", top_provider: { is_moderated: false } });
    // :thinking lists the endpoints that can reason: not Cheap.
    expect(byId.get("feat/reasoner:thinking")!.name).toBe("Feature Reasoner (thinking)");
    expect(byId.get("feat/reasoner:thinking")!.providers.sort()).toEqual(["alpha", "claude", "oai"]);
    const endpoints = await (await f.t.fetch("/api/v1/models/feat/moderated:beta/endpoints")).json();
    expect(endpoints.data.endpoints.map((e: { tag: string }) => e.tag).sort()).toEqual(["alpha", "beta", "beta/down"]);
  });

  it("keeps the ledger equal to the balance: refused requests cost nothing", async () => {
    await expectLedgerBalanced(f.t.app, user.accountId);
  });
});

describe("without moderation and search backends (as in production without their URLs)", () => {
  let f: FeatureApp;
  let user: TestAccount;
  beforeAll(async () => {
    f = await startFeatureApp({ overrides: { moderation: null, search: null } });
    user = await f.t.account({ credits: "10" });
  });
  afterAll(() => f?.close());

  const completeJson = async (model: string, extra: Record<string, unknown> = {}) => {
    const response = await f.t.fetch("/api/v1/chat/completions", { key: user.key, body: { model, messages: [{ role: "user", content: "Hello" }], ...extra } });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it("serves moderated endpoints only to :beta, saying why in the routing error", async () => {
    const refused = await completeJson("feat/moderated");
    expect(refused.status).toBe(404);
    expect(refused.body.error).toMatchObject({
      message:
        "No endpoints found for feat/moderated: its endpoints require moderation and this server has no moderation backend configured. " +
        "feat/moderated:beta selects them without the moderation step.",
      metadata: { error_type: "no_endpoints", failed_routing_step: "moderation" },
    });
    expect((await completeJson("feat/moderated:beta")).status).toBe(200);
    expect((await completeJson("feat/mixed", { provider: { order: ["alpha"] } })).body.provider).toBe("Cheap");
  });

  it("refuses web search with 503 not_configured", async () => {
    const { status, body } = await completeJson("feat/cited:online");
    expect(status).toBe(503);
    expect(body.error).toMatchObject({
      message: "Web search (the web plugin, :online) is not configured on this server.",
      metadata: { error_type: "not_configured" },
    });
  });
});
