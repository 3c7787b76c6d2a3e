import type { AppOverrides } from "../../src/app.js";
import { startAnthropicServer } from "./anthropic-server.js";
import { readSse, startTestApp, type TestApp, type TestResponse } from "./app.js";
import { FAKE_ANTHROPIC_ENV, featureCatalog } from "./catalogs.js";
import { startUpstreamServer, type RecordedRequest, type UpstreamServer } from "./upstream-server.js";

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

/** A streamed completion read back: its chunks (without `[DONE]`), and what they add up to. */
export interface StreamedAnswer {
  chunks: Array<Record<string, any>>;
  content: string;
  reasoning: string;
  toolCalls: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  annotations: unknown[];
  finishReason: string | null;
  usage: Record<string, any> | null;
  done: boolean;
}

export async function readStream(response: TestResponse): Promise<StreamedAnswer> {
  const { data } = await readSse(response);
  const done = data.at(-1) === "[DONE]";
  const chunks = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as Record<string, any>);
  const answer: StreamedAnswer = { chunks, content: "", reasoning: "", toolCalls: [], annotations: [], finishReason: null, usage: null, done };
  for (const chunk of chunks) {
    if (chunk.usage) answer.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta ?? {};
    answer.content += delta.content ?? "";
    answer.reasoning += delta.reasoning ?? "";
    if (delta.annotations) answer.annotations.push(...delta.annotations);
    for (const part of delta.tool_calls ?? []) {
      const call = (answer.toolCalls[part.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      if (part.id) call.id = part.id;
      if (part.function?.name) call.function.name += part.function.name;
      if (part.function?.arguments) call.function.arguments += part.function.arguments;
    }
    if (choice.finish_reason) answer.finishReason = choice.finish_reason;
  }
  return answer;
}
