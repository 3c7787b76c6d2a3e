import type { SearchPort, SearchResult } from "../core/ports.js";
import { JsonService, endpointUrl } from "../net/json-service.js";

export interface SearxngSearchOptions {
  /** The instance's base URL (`https://searx.example.org`); `/search` is added unless the URL already ends with it. */
  url: string;
  /** Longest wait for an answer, in ms. */
  timeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * Web search through a SearXNG-compatible JSON API: `GET <url>/search?q=<query>&format=json`, whose answer lists
 * `results` of `{url, title, content}` (SearXNG must allow the `json` format: `search.formats` in its settings.yml).
 * Results without an http(s) URL are skipped. Failures reject with an `AppError`: `timeout` when the backend does not
 * answer in time, `cancelled` when the caller aborts, `provider_error` for any other failure (status, unreadable body),
 * saying what went wrong.
 */
export class SearxngSearch implements SearchPort {
  private readonly service: JsonService;
  private readonly endpoint: string;

  constructor(options: SearxngSearchOptions) {
    this.service = new JsonService({
      name: "The web search backend",
      timeoutMs: options.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      // SearXNG refuses the json format unless its settings allow it: the usual 403 of a fresh instance.
      statusHints: { 403: "answered 403: enable the json format in SearXNG's settings.yml (search.formats)" },
    });
    this.endpoint = endpointUrl(options.url, "/search");
  }

  async search(query: string, { maxResults, signal }: { maxResults: number; signal: AbortSignal }): Promise<SearchResult[]> {
    const url = new URL(this.endpoint);
    url.searchParams.set("q", query);
    url.searchParams.set("format", "json");
    const body = await this.service.call(url, { method: "GET", signal });
    const results = (body as { results?: unknown })?.results;
    if (!Array.isArray(results)) throw this.service.failure("answered without a results list");
    const found: SearchResult[] = [];
    for (const raw of results as Array<Record<string, unknown>>) {
      if (found.length >= maxResults) break;
      const link = typeof raw?.url === "string" ? raw.url : "";
      if (!/^https?:\/\//i.test(link)) continue;
      found.push({
        url: link,
        title: typeof raw.title === "string" && raw.title.trim() ? raw.title.trim() : link,
        content: typeof raw.content === "string" ? raw.content.trim() : "",
      });
    }
    return found;
  }

  async close(): Promise<void> {
    await this.service.close();
  }
}
