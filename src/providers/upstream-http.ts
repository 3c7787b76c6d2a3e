import { Agent, type Dispatcher } from "undici";
import type { UpstreamCall } from "../core/ports.js";
import type { ProviderInfo } from "../core/types.js";
import { AppError } from "../errors.js";
import type { WireResponse } from "./openai-wire.js";
import { UpstreamBody } from "./upstream-body.js";
import { transportError } from "./upstream-errors.js";

export interface UpstreamHttpOptions {
  connectTimeoutMs: number;
  /** Sockets kept per upstream origin. */
  connectionsPerOrigin?: number;
}

/** URLs whose parsed form is kept (endpoints are few; the bound only guards against a catalog of thousands). */
const MAX_TARGETS = 1000;

/**
 * The HTTP side every HTTP adapter shares: connections pooled and kept alive per origin, and one POST per attempt
 * whose transport failures (refused, reset, TLS, connect timeout) become the provider's `provider_error`. The router
 * owns every timeout except connecting, so undici's own header and body timeouts are off and the call's signal ends a
 * request.
 */
export class UpstreamHttp {
  private readonly agent: Agent;
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(options: UpstreamHttpOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      connections: options.connectionsPerOrigin ?? 1024,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** The provider's base URL without trailing slashes; a provider without one cannot be called. */
  baseUrl(provider: ProviderInfo): string {
    if (!provider.baseUrl) {
      throw new AppError("provider_error", `${provider.name} has no base URL configured.`, {
        metadata: { provider_name: provider.name, provider_code: null },
      });
    }
    return provider.baseUrl.replace(/\/+$/, "");
  }

  /**
   * Sends the JSON body; resolves with the response as soon as its headers arrive. The request goes to undici's
   * dispatcher with a handler of our own rather than through `undici.request`, whose body stream and async-resource
   * bookkeeping cost more per request than the rest of the upstream call.
   */
  post(call: UpstreamCall, url: string, headers: Record<string, string>, body: unknown): Promise<WireResponse> {
    const { signal } = call;
    return new Promise((resolve, reject) => {
      let controller: Dispatcher.DispatchController | null = null;
      let response: UpstreamBody | null = null;
      const onAbort = () => controller?.abort(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      const done = () => signal.removeEventListener("abort", onAbort);
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(started) {
          controller = started;
          if (signal.aborted) onAbort();
        },
        onResponseStart(started, status, responseHeaders) {
          // 1xx informational answers come before the real one.
          if (status < 200) return;
          response = new UpstreamBody(started);
          resolve({ status, headers: responseHeaders as WireResponse["headers"], body: response });
        },
        onResponseData(_controller, chunk) {
          response?.push(chunk);
        },
        onResponseEnd() {
          done();
          response?.end();
        },
        onResponseError(_controller, error) {
          done();
          if (response) response.fail(error);
          else reject(signal.aborted ? error : transportError(error, call.endpoint.provider));
        },
      };
      if (signal.aborted) return reject(signal.reason);
      try {
        const target = this.target(url);
        signal.addEventListener("abort", onAbort, { once: true });
        this.agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: "POST",
            headers: { "content-type": "application/json", accept: call.stream ? "text/event-stream" : "application/json", ...headers },
            body: JSON.stringify(body),
          },
          handler,
        );
      } catch (error) {
        // A URL undici cannot call (the catalog's base URL is malformed).
        done();
        reject(transportError(error, call.endpoint.provider));
      }
    });
  }

  /** The origin and path of a URL (parsed once per URL: an endpoint's URL is the same on every call). */
  private target(url: string): { origin: string; path: string } {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      if (this.targets.size >= MAX_TARGETS) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
