import { Agent, request } from "undici";
import { AppError } from "../errors.js";

export interface JsonServiceOptions {
  /** How messages name the service, as their subject: "The moderation service", "The web search backend". */
  name: string;
  /** Longest wait for an answer, in ms. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** What to say of a status instead of "answered HTTP <status>", where a status has a usual cause worth naming. */
  statusHints?: Readonly<Record<number, string>>;
}

export interface JsonRequest {
  method: "GET" | "POST";
  /** Added to the JSON content headers. */
  headers?: Record<string, string>;
  /** Sent as JSON; none for a GET. */
  body?: unknown;
  /** The caller's signal: aborting it cancels the call. */
  signal: AbortSignal;
}

/** The largest answer read; the answers of these services are a few kilobytes. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * A small JSON-over-HTTP client for the services beside the model providers (web search, moderation): connections
 * kept alive, one request per call with its own answer timeout, and the answer read up to 2 MiB and parsed as JSON.
 * Failures reject with an `AppError` whose message names the service: `timeout` when it does not answer in time,
 * `cancelled` when the caller aborts, `provider_error` otherwise (unreachable, a non-2xx status, an answer too long or
 * not JSON).
 */
export class JsonService {
  private readonly agent: Agent;

  constructor(private readonly options: JsonServiceOptions) {
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, keepAliveTimeout: 30_000 });
  }

  /** Sends the request; resolves with the parsed answer of a 2xx status. */
  async call(url: string | URL, { method, headers, body, signal }: JsonRequest): Promise<unknown> {
    const jsonHeaders: Record<string, string> =
      body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" };
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let text: string;
    try {
      const response = await request(url, {
        method,
        headers: { ...jsonHeaders, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([signal, timeout]),
        dispatcher: this.agent,
      });
      text = await this.readLimited(response.body);
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw this.failure(this.options.statusHints?.[response.statusCode] ?? `answered HTTP ${response.statusCode}`);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (signal.aborted) throw new AppError("cancelled", undefined, { cause: error });
      if (timeout.aborted) {
        throw new AppError("timeout", `${this.options.name} did not answer within ${this.options.timeoutMs} ms.`, { cause: error });
      }
      throw this.failure("could not be reached", error);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw this.failure("answered with something that is not JSON", error);
    }
  }

  /** A `provider_error` saying what the service did: `failure("answered without a results list")`. */
  failure(what: string, cause?: unknown): AppError {
    return new AppError("provider_error", `${this.options.name} ${what}.`, { cause });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async readLimited(body: AsyncIterable<Buffer | Uint8Array | string>): Promise<string> {
    const decoder = new TextDecoder();
    let text = "";
    let bytes = 0;
    for await (const chunk of body) {
      bytes += typeof chunk === "string" ? chunk.length : chunk.byteLength;
      if (bytes > MAX_BODY_BYTES) throw this.failure(`answered with more than ${MAX_BODY_BYTES} bytes`);
      text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    }
    return text + decoder.decode();
  }
}

/** A service's endpoint: `base` without trailing slashes, with `path` added unless it already ends with it. */
export function endpointUrl(base: string, path: string): string {
  const trimmed = base.replace(/\/+$/, "");
  return trimmed.endsWith(path) ? trimmed : `${trimmed}${path}`;
}
