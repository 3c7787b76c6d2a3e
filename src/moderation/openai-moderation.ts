import { Agent, request } from "undici";
import type { ModerationPort, ModerationResult } from "../core/ports.js";
import { AppError } from "../errors.js";

export interface OpenAIModerationOptions {
  /** The API's base URL (`https://api.openai.com/v1`); `/moderations` is added unless the URL already ends with it. */
  url: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey: string | null;
  /** The moderation model (`omni-moderation-latest`). */
  model: string;
  /** Longest wait for an answer, in ms. */
  timeoutMs: number;
  connectTimeoutMs: number;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Moderation through an OpenAI-moderations-compatible API: `POST <url>/moderations` with `{model, input: [texts]}`,
 * answered with one `{flagged, categories: {name: bool}}` per input. The reasons of a flagged input are its categories
 * that are true. Failures reject with an `AppError`: `timeout` when the API does not answer in time, `cancelled` when
 * the caller aborts, `provider_error` otherwise (status, unreadable answer, not one result per input); the API key
 * never appears in a message.
 */
export class OpenAIModeration implements ModerationPort {
  private readonly agent: Agent;
  private readonly endpoint: string;

  constructor(private readonly options: OpenAIModerationOptions) {
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, keepAliveTimeout: 30_000 });
    const base = options.url.replace(/\/+$/, "");
    this.endpoint = base.endsWith("/moderations") ? base : `${base}/moderations`;
  }

  async moderate(inputs: string[], { signal }: { signal: AbortSignal }): Promise<ModerationResult[]> {
    if (inputs.length === 0) return [];
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let text: string;
    try {
      const response = await request(this.endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: this.options.model, input: inputs }),
        signal: AbortSignal.any([signal, timeout]),
        dispatcher: this.agent,
      });
      text = await readLimited(response.body);
      if (response.statusCode < 200 || response.statusCode >= 300) throw failure(`answered HTTP ${response.statusCode}`);
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (signal.aborted) throw new AppError("cancelled", undefined, { cause: error });
      if (timeout.aborted) {
        throw new AppError("timeout", `The moderation service did not answer within ${this.options.timeoutMs} ms.`, { cause: error });
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
    if (!Array.isArray(results) || results.length !== inputs.length) {
      throw failure(`answered without one result per input (${inputs.length} sent)`);
    }
    return (results as Array<Record<string, unknown>>).map((result) => {
      const categories = (typeof result?.categories === "object" && result.categories !== null ? result.categories : {}) as Record<string, unknown>;
      const flagged = result?.flagged === true;
      return { flagged, reasons: flagged ? Object.keys(categories).filter((name) => categories[name] === true) : [] };
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function failure(what: string, cause?: unknown): AppError {
  return new AppError("provider_error", `The moderation service ${what}.`, { cause });
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
