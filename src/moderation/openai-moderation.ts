import type { ModerationPort, ModerationResult } from "../core/ports.js";
import { JsonService, endpointUrl } from "../net/json-service.js";

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

/**
 * Moderation through an OpenAI-moderations-compatible API: `POST <url>/moderations` with `{model, input: [texts]}`,
 * answered with one `{flagged, categories: {name: bool}}` per input. The reasons of a flagged input are its categories
 * that are true. Failures reject with an `AppError`: `timeout` when the API does not answer in time, `cancelled` when
 * the caller aborts, `provider_error` otherwise (status, unreadable answer, not one result per input); the API key
 * never appears in a message.
 */
export class OpenAIModeration implements ModerationPort {
  private readonly service: JsonService;
  private readonly endpoint: string;

  constructor(private readonly options: OpenAIModerationOptions) {
    this.service = new JsonService({ name: "The moderation service", timeoutMs: options.timeoutMs, connectTimeoutMs: options.connectTimeoutMs });
    this.endpoint = endpointUrl(options.url, "/moderations");
  }

  async moderate(inputs: string[], { signal }: { signal: AbortSignal }): Promise<ModerationResult[]> {
    if (inputs.length === 0) return [];
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = await this.service.call(this.endpoint, { method: "POST", headers, body: { model: this.options.model, input: inputs }, signal });
    const results = (body as { results?: unknown })?.results;
    if (!Array.isArray(results) || results.length !== inputs.length) {
      throw this.service.failure(`answered without one result per input (${inputs.length} sent)`);
    }
    return (results as Array<Record<string, unknown>>).map((result) => {
      const categories = (typeof result?.categories === "object" && result.categories !== null ? result.categories : {}) as Record<string, unknown>;
      const flagged = result?.flagged === true;
      return { flagged, reasons: flagged ? Object.keys(categories).filter((name) => categories[name] === true) : [] };
    });
  }

  async close(): Promise<void> {
    await this.service.close();
  }
}
