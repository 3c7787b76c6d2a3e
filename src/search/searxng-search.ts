import { Agent, request } from "undici";
import type { SearchPort, SearchResult } from "../core/ports.js";
import { AppError } from "../errors.js";

export interface SearxngSearchOptions {
  /** The instance's base URL (`https://searx.example.org`); `/search` is added unless the URL already ends with it. */
  url: string;
  /** Longest wait for an answer, in ms. */
  timeoutMs: number;
  connectTimeoutMs: number;
}

/** The largest answer read from the backend; a search answer is a few kilobytes. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Web search through a SearXNG-compatible JSON API: `GET <url>/search?q=<query>&format=json`, whose answer lists
 * `results` of `{url, title, content}` (SearXNG must allow the `json` format: `search.formats` in its settings.yml).
 * Results without an http(s) URL are skipped. Failures reject with an `AppError`: `timeout` when the backend does not
 * answer in time, `cancelled` when the caller aborts, `provider_error` for any other failure (status, unreadable body),
 * saying what went wrong.
 */
export class SearxngSearch implements SearchPort {
  private readonly agent: Agent;
  private readonly endpoint: string;

  constructor(private readonly options: SearxngSearchOptions) {
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, keepAliveTimeout: 30_000 });
    const base = options.url.replace(/\/+$/, "");
    this.endpoint = base.endsWith("/search") ? base : `${base}/search`;
  }

  async search(query: string, { maxResults, signal }: { maxResults: number; signal: AbortSignal }): Promise<SearchResult[]> {
    const url = new URL(this.endpoint);
    url.searchParams.set("q", query);
    url.searchParams.set("format", "json");
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let text: string;
    try {
      const response = await request(url, {
        method: "GET",
        headers: { accept: "application/json" },
        signal: AbortSignal.any([signal, timeout]),
        dispatcher: this.agent,
      });
      text = await readLimited(response.body);
      if (response.statusCode === 403) {
        throw failure("answered 403: enable the json format in SearXNG's settings.yml (search.formats)");
      }
      if (response.statusCode < 200 || response.statusCode >= 300) throw failure(`answered HTTP ${response.statusCode}`);
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (signal.aborted) throw new AppError("cancelled", undefined, { cause: error });
      if (timeout.aborted) {
        throw new AppError("timeout", `The web search backend did not answer within ${this.options.timeoutMs} ms.`, { cause: error });
      }
      throw failure("could not be reached", error);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw failure("answered with something that is not JSON", error);
    }
    const results = (body as { results?: unknown })?.results;
    if (!Array.isArray(results)) throw failure("answered without a results list");
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
    await this.agent.close();
  }
}

function failure(what: string, cause?: unknown): AppError {
  return new AppError("provider_error", `The web search backend ${what}.`, { cause });
}

async function readLimited(body: AsyncIterable<Buffer | Uint8Array | string>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for await (const chunk of body) {
    bytes += typeof chunk === "string" ? chunk.length : chunk.byteLength;
    if (bytes > MAX_BODY_BYTES) throw failure(`answered with more than ${MAX_BODY_BYTES} bytes`);
    text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}
