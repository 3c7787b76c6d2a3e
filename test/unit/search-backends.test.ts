import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { SearxngSearch } from "../../src/search/searxng-search.js";
import { SimulatedSearch, simulatedResults } from "../../src/search/simulated-search.js";
import { closedPortUrl, startTestServer, type RecordedRequest, type UpstreamReply, type UpstreamServer } from "../helpers/upstream-server.js";

/** What a SearXNG instance answers with `format=json` (trimmed to the fields Switchyard reads, plus some it ignores). */
const SEARXNG_ANSWER = {
  query: "switchyard gateway",
  number_of_results: 3,
  results: [
    { url: "https://example.com/one", title: " One ", content: " First page. ", engine: "duckduckgo", score: 3 },
    { url: "ftp://example.com/skip", title: "Not a web page", content: "skipped" },
    { url: "https://example.org/two", title: "", content: "Second page." },
    { url: "https://example.net/three", title: "Three" },
  ],
  answers: [],
  suggestions: [],
};

/** A fake SearXNG: `GET /search`, answering as `route` says (by default with SEARXNG_ANSWER). */
async function startSearxng(route: (request: RecordedRequest, signal: AbortSignal) => UpstreamReply | Promise<UpstreamReply>): Promise<UpstreamServer> {
  return startTestServer({ basePath: "", respond: route });
}

const json = (body: unknown, status = 200): UpstreamReply => ({ status, body: JSON.stringify(body) });
const signal = () => new AbortController().signal;
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** `body` as JSON padded with spaces to exactly `bytes` bytes. */
function padded(body: unknown, bytes: number): string {
  const json = JSON.stringify(body);
  return json + " ".repeat(bytes - Buffer.byteLength(json));
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the search to fail");
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("SearxngSearch", () => {
  let server: UpstreamServer;
  let reply: (request: RecordedRequest, signal: AbortSignal) => UpstreamReply | Promise<UpstreamReply>;
  beforeAll(async () => {
    server = await startSearxng((request, abort) => reply(request, abort));
  });
  afterAll(() => server?.close());

  const backend = (options: { url?: string; timeoutMs?: number } = {}) =>
    new SearxngSearch({ url: options.url ?? server.url, timeoutMs: options.timeoutMs ?? 2_000, connectTimeoutMs: 1_000 });

  it("asks GET <url>/search?q=…&format=json and reads url, title and content of web results", async () => {
    reply = () => json(SEARXNG_ANSWER);
    const search = backend();
    const results = await search.search("switchyard gateway & co", { maxResults: 5, signal: signal() });
    await search.close();
    const request = server.requests.at(-1)!;
    expect(request.method).toBe("GET");
    const url = new URL(request.url, server.url);
    expect(url.pathname).toBe("/search");
    expect(Object.fromEntries(url.searchParams)).toEqual({ q: "switchyard gateway & co", format: "json" });
    expect(request.headers.accept).toBe("application/json");
    expect(results).toEqual([
      { url: "https://example.com/one", title: "One", content: "First page." },
      // An empty title falls back to the URL, a missing snippet to nothing; the ftp result is skipped.
      { url: "https://example.org/two", title: "https://example.org/two", content: "Second page." },
      { url: "https://example.net/three", title: "Three", content: "" },
    ]);
  });

  it("returns at most maxResults, and takes a URL that already ends in /search or a slash", async () => {
    reply = () => json(SEARXNG_ANSWER);
    for (const url of [`${server.url}/search`, `${server.url}/`]) {
      const search = backend({ url });
      expect(await search.search("q", { maxResults: 1, signal: signal() })).toHaveLength(1);
      await search.close();
      expect(new URL(server.requests.at(-1)!.url, server.url).pathname).toBe("/search");
    }
  });

  it("explains a 403 (the json format is off in SearXNG's settings) and names other statuses", async () => {
    reply = () => ({ status: 403, headers: { "content-type": "text/html" }, body: "<h1>403 Forbidden</h1>" });
    const search = backend();
    const forbidden = await rejection(search.search("q", { maxResults: 5, signal: signal() }));
    expect(forbidden.code).toBe("provider_error");
    expect(forbidden.message).toBe(
      "The web search backend answered 403: enable the json format in SearXNG's settings.yml (search.formats).",
    );
    reply = () => json({ error: "boom" }, 500);
    expect((await rejection(search.search("q", { maxResults: 5, signal: signal() }))).message).toBe("The web search backend answered HTTP 500.");
    await search.close();
  });

  it("refuses an answer that is not JSON or has no results list", async () => {
    const search = backend();
    reply = () => ({ status: 200, headers: { "content-type": "text/html" }, body: "<html>results</html>" });
    expect((await rejection(search.search("q", { maxResults: 5, signal: signal() }))).message).toBe(
      "The web search backend answered with something that is not JSON.",
    );
    reply = () => json({ query: "q" });
    expect((await rejection(search.search("q", { maxResults: 5, signal: signal() }))).message).toBe(
      "The web search backend answered without a results list.",
    );
    await search.close();
  });

  it("reads an answer of up to 2 MiB, and refuses a longer one", async () => {
    const search = backend();
    reply = () => ({ status: 200, body: padded(SEARXNG_ANSWER, MAX_ANSWER_BYTES) });
    expect(await search.search("q", { maxResults: 5, signal: signal() })).toHaveLength(3);
    reply = () => ({ status: 200, body: padded(SEARXNG_ANSWER, MAX_ANSWER_BYTES + 1) });
    expect(await rejection(search.search("q", { maxResults: 5, signal: signal() }))).toMatchObject({
      code: "provider_error",
      message: "The web search backend answered with more than 2097152 bytes.",
    });
    await search.close();
  });

  it("times out with a timeout error, and stops when the caller aborts", async () => {
    reply = (_request, abort) => new Promise<UpstreamReply>((_resolve, reject) => abort.addEventListener("abort", () => reject(new Error("gone"))));
    const search = backend({ timeoutMs: 200 });
    const timedOut = await rejection(search.search("q", { maxResults: 5, signal: signal() }));
    expect(timedOut.code).toBe("timeout");
    expect(timedOut.message).toBe("The web search backend did not answer within 200 ms.");
    const caller = new AbortController();
    const pending = search.search("q", { maxResults: 5, signal: caller.signal });
    setTimeout(() => caller.abort(), 50);
    expect((await rejection(pending)).code).toBe("cancelled");
    await search.close();
  });

  it("says so when the backend cannot be reached", async () => {
    const search = backend({ url: (await closedPortUrl()).replace(/\/v1$/, "") });
    const error = await rejection(search.search("q", { maxResults: 5, signal: signal() }));
    expect(error).toMatchObject({ code: "provider_error", message: "The web search backend could not be reached." });
    await search.close();
  });
});

describe("SimulatedSearch", () => {
  it("answers the same query with the same results, derived from the query, at an unresolvable domain", async () => {
    const search = new SimulatedSearch();
    const first = await search.search("Weather in Paris?", { maxResults: 3, signal: signal() });
    expect(first).toEqual(await search.search("Weather in Paris?", { maxResults: 3, signal: signal() }));
    expect(first).toEqual(simulatedResults("Weather in Paris?", 3));
    expect(first[0]).toEqual({
      url: "https://search.switchyard.invalid/weather-in-paris/1",
      title: 'Simulated result 1 for "Weather in Paris?"',
      content: "A simulated web page about Weather in Paris?. It is result 1 of Switchyard's simulated search; nothing was fetched from the web.",
    });
    expect(first.map((r) => r.url)).toEqual([1, 2, 3].map((n) => `https://search.switchyard.invalid/weather-in-paris/${n}`));
  });

  it("offers at most 10 results, and a slug for a query without letters", async () => {
    expect(simulatedResults("x", 25)).toHaveLength(10);
    expect(simulatedResults("???", 1)[0].url).toBe("https://search.switchyard.invalid/query/1");
  });
});
