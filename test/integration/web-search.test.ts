import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatedResults } from "../../src/search/simulated-search.js";
import { expectLedgerBalanced, startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { CITED_REPLY, featureCatalog, FAKE_ANTHROPIC_ENV } from "../helpers/catalogs.js";
import { readStream, startFeatureApp, type FeatureApp } from "../helpers/feature-app.js";
import { startTestServer, type UpstreamReply, type UpstreamServer } from "../helpers/upstream-server.js";

/**
 * Web search through REST, end to end, streamed and not: `:online` and `plugins: [{id: "web"}]` search with the last
 * user message, add the results to the prompt, answer with `url_citation` annotations, record the number of results
 * and charge the endpoint's search price (held in advance).
 */

const QUESTION = "Weather in Paris?";
const MESSAGES = [{ role: "user", content: QUESTION }];
const LINK = "[search.switchyard.invalid](https://search.switchyard.invalid/weather-in-paris/1)";

/** The annotations of an answer citing the first of `count` simulated results. */
function expectedAnnotations(count: number) {
  const start = CITED_REPLY.indexOf(LINK);
  return simulatedResults(QUESTION, count).map((result, i) => ({
    type: "url_citation",
    url_citation: { ...result, start_index: i === 0 ? start : 0, end_index: i === 0 ? start + LINK.length : 0 },
  }));
}

describe("web search end to end (simulated search)", () => {
  let f: FeatureApp;
  let user: TestAccount;
  beforeAll(async () => {
    f = await startFeatureApp();
    user = await f.t.account({ credits: "10" });
  });
  afterAll(() => f?.close());

  const complete = (body: Record<string, unknown>, key = user.key) => f.t.fetch("/api/v1/chat/completions", { key, body });
  const completeJson = async (body: Record<string, unknown>, key = user.key) => {
    const response = await complete(body, key);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const generation = async (id: string) => (await (await f.t.fetch(`/api/v1/generation?id=${id}`, { key: user.key })).json()).data;

  it(":online answers with url_citation annotations, records the results and charges the search price", async () => {
    const plain = await completeJson({ model: "feat/cited", messages: MESSAGES });
    expect(plain.body.choices[0].message.annotations).toBeUndefined();
    const { status, body } = await completeJson({ model: "feat/cited:online", messages: MESSAGES });
    expect(status).toBe(200);
    expect(body.model).toBe("feat/cited");
    const message = body.choices[0].message;
    expect(message.content).toBe(CITED_REPLY);
    expect(message.annotations).toEqual(expectedAnnotations(5));
    expect(message.content.slice(message.annotations[0].url_citation.start_index, message.annotations[0].url_citation.end_index)).toBe(LINK);
    // The results went into the prompt.
    expect(body.usage.prompt_tokens).toBeGreaterThan(plain.body.usage.prompt_tokens + 100);
    const { prompt_tokens: prompt, completion_tokens: completion } = body.usage;
    // prompt × $1/M + completion × $2/M + one search at $0.01
    expect(body.usage.cost).toBeCloseTo((prompt * 1 + completion * 2) / 1e6 + 0.01, 12);
    expect(await generation(body.id)).toMatchObject({ num_search_results: 5, total_cost: body.usage.cost });
    expect((await generation(plain.body.id)).num_search_results).toBe(0);
  });

  it("streams the annotations once, in the chunk that finishes the answer", async () => {
    const streamed = await readStream(await complete({ model: "feat/cited:online", stream: true, messages: MESSAGES }));
    expect(streamed.done).toBe(true);
    expect(streamed.content).toBe(CITED_REPLY);
    const annotated = streamed.chunks.filter((c) => c.choices[0]?.delta?.annotations);
    expect(annotated).toHaveLength(1);
    expect(annotated[0].choices[0]).toMatchObject({ finish_reason: "stop", delta: { annotations: expectedAnnotations(5) } });
    expect(streamed.usage!.cost).toBeCloseTo((streamed.usage!.prompt_tokens + streamed.usage!.completion_tokens * 2) / 1e6 + 0.01, 12);
    expect((await generation(streamed.chunks[0].id)).num_search_results).toBe(5);
  });

  it("takes the web plugin's max_results and search_prompt, and adds a system message the upstream receives", async () => {
    const plugins = [{ id: "web", max_results: 2, search_prompt: "Use these sources and cite them:" }];
    const { body } = await completeJson({
      model: "feat/chat",
      plugins,
      messages: [{ role: "system", content: "Be brief." }, ...MESSAGES],
      provider: { only: ["oai"] },
    });
    expect(body.choices[0].message.annotations).toHaveLength(2);
    const [first, second] = simulatedResults(QUESTION, 2);
    const sources =
      `Use these sources and cite them:\n\n[1] ${first.title}\nURL: ${first.url}\n${first.content}\n\n` +
      `[2] ${second.title}\nURL: ${second.url}\n${second.content}`;
    expect(f.lastRequest(f.openai, "chat-oai").body!.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "system", content: sources },
      { role: "user", content: QUESTION },
    ]);
    // Anthropic gets the results in `system`; a streamed answer carries the annotations too.
    const streamed = await readStream(await complete({ model: "feat/chat:online", stream: true, plugins, messages: MESSAGES, provider: { only: ["claude"] } }));
    expect(streamed.annotations).toHaveLength(2);
    expect(f.lastRequest(f.anthropic, "claude-chat").body!.system).toBe(sources);
  });

  it("stacks :online with a static variant, and the plugin's settings win over :online's", async () => {
    const free = await completeJson({ model: "feat/cited:free:online", messages: MESSAGES });
    expect(free.body.model).toBe("feat/cited:free");
    expect(free.body.choices[0].message.annotations).toEqual(expectedAnnotations(5));
    expect(free.body.usage.cost).toBe(0);
    const one = await completeJson({ model: "feat/cited:online", plugins: [{ id: "web", max_results: 1 }], messages: MESSAGES });
    expect(one.body.choices[0].message.annotations).toEqual(expectedAnnotations(1));
    const off = await completeJson({ model: "feat/cited", plugins: [{ id: "web", enabled: false }, { id: "file-parser" }], messages: MESSAGES });
    expect(off.status).toBe(200);
    expect(off.body.choices[0].message.annotations).toBeUndefined();
    // A disabled web plugin turns :online off too: no search, no search fee.
    const disabled = await completeJson({ model: "feat/cited:online", plugins: [{ id: "web", enabled: false }], messages: MESSAGES });
    expect(disabled.status).toBe(200);
    expect(disabled.body.choices[0].message.annotations).toBeUndefined();
    expect((await generation(disabled.body.id)).num_search_results).toBe(0);
  });

  it("searches nothing and charges nothing for the search without user text to search for", async () => {
    const { body } = await completeJson({ model: "feat/cited:online", messages: [{ role: "user", content: "   " }] });
    expect(body.choices[0].message.annotations).toBeUndefined();
    expect(body.usage.cost).toBeCloseTo((body.usage.prompt_tokens + body.usage.completion_tokens * 2) / 1e6, 12);
    expect((await generation(body.id)).num_search_results).toBe(0);
  });

  it("includes the search price in the credit hold", async () => {
    // Without the search the worst case is about $0.0021 (1024 answer tokens at $2/M); with it about $0.0125.
    const poor = await f.t.account({ credits: "0.005" });
    expect((await completeJson({ model: "feat/cited", messages: MESSAGES }, poor.key)).status).toBe(200);
    const online = await completeJson({ model: "feat/cited:online", messages: MESSAGES }, poor.key);
    expect(online.status).toBe(402);
    expect(online.body.error.metadata).toMatchObject({ error_type: "payment_required", limit_source: "credits" });
    await expectLedgerBalanced(f.t.app, poor.accountId);
  });

  it("refuses a malformed web plugin with a 400 naming the field", async () => {
    const { status, body } = await completeJson({ model: "feat/cited", plugins: [{ id: "web", max_results: 50 }], messages: MESSAGES });
    expect(status).toBe(400);
    expect(body.error.message).toContain("plugins.0.max_results");
  });

  it("keeps the ledger equal to the balance", async () => {
    await expectLedgerBalanced(f.t.app, user.accountId);
  });
});

describe("web search through a SearXNG-compatible backend", () => {
  let searxng: UpstreamServer;
  let reply: () => UpstreamReply;
  let t: TestApp;
  let user: TestAccount;
  beforeAll(async () => {
    searxng = await startTestServer({ basePath: "", respond: () => reply() });
    // The catalog's HTTP providers are not called here: only simulated endpoints answer.
    t = await startTestApp({
      catalog: featureCatalog({ openaiUrl: "http://127.0.0.1:9/v1", anthropicUrl: "http://127.0.0.1:9" }),
      env: { ...FAKE_ANTHROPIC_ENV, SWITCHYARD_SEARCH_URL: searxng.url, SWITCHYARD_SEARCH_TIMEOUT_MS: "2000" },
    });
    user = await t.account({ credits: "10" });
  });
  afterAll(async () => {
    await t?.close();
    await searxng?.close();
  });

  it("searches the backend with the last user message and cites its results, streamed and not", async () => {
    reply = () => ({
      status: 200,
      body: JSON.stringify({
        results: [
          { url: "https://weather.example/paris", title: "Paris: sunny", content: "Sunny all week." },
          { url: "https://news.example/paris", title: "Paris news", content: "Nothing new." },
        ],
      }),
    });
    for (const stream of [false, true]) {
      const response = await t.fetch("/api/v1/chat/completions", { key: user.key, body: { model: "feat/cited:online", stream, messages: MESSAGES } });
      expect(response.status).toBe(200);
      const annotations = stream ? (await readStream(response)).annotations : (await response.json()).choices[0].message.annotations;
      expect(annotations.map((a: any) => a.url_citation.url)).toEqual(["https://weather.example/paris", "https://news.example/paris"]);
      expect(annotations[0].url_citation).toMatchObject({ title: "Paris: sunny", content: "Sunny all week.", start_index: 0, end_index: 0 });
      const query = new URL(searxng.requests.at(-1)!.url, searxng.url).searchParams;
      expect(query.get("q")).toBe(QUESTION);
      expect(query.get("format")).toBe("json");
    }
  });

  it("fails the request before any output when the search fails, streamed or not, and charges nothing", async () => {
    reply = () => ({ status: 500, body: "{}" });
    for (const stream of [false, true]) {
      const response = await t.fetch("/api/v1/chat/completions", { key: user.key, body: { model: "feat/cited:online", stream, messages: MESSAGES } });
      expect(response.status).toBe(502);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect((await response.json()).error).toMatchObject({ message: "The web search backend answered HTTP 500.", metadata: { error_type: "provider_error" } });
    }
    const { balance } = await expectLedgerBalanced(t.app, user.accountId);
    expect(balance).toBeGreaterThan(0n);
  });
});
