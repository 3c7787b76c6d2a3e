import type { AppOverrides } from "../../src/app.js";
import { startAnthropicServer } from "./anthropic-server.js";
import { startTestApp, type TestApp } from "./app.js";
import { FAKE_ANTHROPIC_ENV, featureCatalog } from "./catalogs.js";
import { startUpstreamServer, type RecordedRequest, type UpstreamServer } from "./upstream-server.js";

// The feature tests read their streams with it.
export { readStream } from "./app.js";

/** Reasoning the fake upstreams produce for their reasoner models. */
export const UPSTREAM_REASONING = "Let me think about the weather.";

export interface FeatureApp {
  t: TestApp;
  /** The OpenAI-compatible upstream of provider `oai`. */
  openai: UpstreamServer;
  /** The fake Anthropic API of provider `claude`. */
  anthropic: UpstreamServer;
  /** The last request an upstream received for one of its models. */
  lastRequest(server: UpstreamServer, model: string): RecordedRequest;
  close(): Promise<void>;
}

/**
 * Switchyard on the feature catalog (`featureCatalog`), with its two real-HTTP upstreams: answers come from the
 * simulated model (reasoning for the `*-reasoner` / `reasoner-*` models), and every request is recorded.
 */
export async function startFeatureApp(options: { env?: Record<string, string>; overrides?: AppOverrides } = {}): Promise<FeatureApp> {
  const reasoner = (model: unknown) => String(model).includes("reasoner");
  const openai = await startUpstreamServer((request) => (reasoner(request.body?.model) ? { reasoning: UPSTREAM_REASONING } : {}));
  const anthropic = await startAnthropicServer((request) => (reasoner(request.body?.model) ? { reasoning: UPSTREAM_REASONING } : {}));
  const t = await startTestApp({
    catalog: featureCatalog({ openaiUrl: openai.baseUrl, anthropicUrl: anthropic.baseUrl }),
    env: { ...FAKE_ANTHROPIC_ENV, ...options.env },
    overrides: options.overrides,
  });
  return {
    t,
    openai,
    anthropic,
    lastRequest(server, model) {
      const request = server.requests.filter((r) => r.body?.model === model).at(-1);
      if (!request) throw new Error(`no request for ${model}`);
      return request;
    },
    async close() {
      await t.close();
      await openai.close();
      await anthropic.close();
    },
  };
}
