import { formatUsd, parseUsd } from "../../src/billing/money.js";

/**
 * The catalog a benchmark run loads into the gateway (`SWITCHYARD_CATALOG`): one openai-compatible provider per upstream
 * shape, all pointing at the one mock upstream (the shape is in the base URL's path), priced so that billing runs
 * (holds, settlement, ledger) as it does for a real paid model. `apiKeyEnv` makes them active once the variable is set.
 */

/** How the mock answers: content chunks per answer and the delay before each, ms. */
export interface UpstreamShape {
  chunks: number;
  delayMs: number;
}

export const SHAPES = {
  /** Non-streaming and streaming latency and throughput: an instant answer. */
  fast: { chunks: 10, delayMs: 0 },
  /** Time to first chunk: a model producing a token every 5 ms. */
  paced: { chunks: 10, delayMs: 5 },
  /** Concurrent streams: 60 chunks at 20 ms, 1.2 s per answer. */
  long: { chunks: 60, delayMs: 20 },
} as const satisfies Record<string, UpstreamShape>;

export type ShapeName = keyof typeof SHAPES;

/** The variable holding the (ignored) upstream key; set for the gateway so the providers are active. */
export const UPSTREAM_KEY_ENV = "BENCH_UPSTREAM_API_KEY";

/** The model of the credit check, and what one request with `max_tokens: CREDIT_MAX_TOKENS` costs at worst (and in fact). */
export const CREDIT_MODEL = "bench/credit";
export const CREDIT_MAX_TOKENS = SHAPES.fast.chunks;
/** USD per completion token of the credit model; the prompt is free, so the hold equals the cost: 10 × 0.0001 = 0.001. */
export const CREDIT_COMPLETION_PRICE = "0.0001";
export const CREDIT_REQUEST_COST_USD = formatUsd(parseUsd(CREDIT_COMPLETION_PRICE) * BigInt(CREDIT_MAX_TOKENS));

/** `http://127.0.0.1:PORT/c/<chunks>/d/<delay>/v1`: the mock's base URL for a shape. */
export function shapeBaseUrl(mockOrigin: string, shape: UpstreamShape): string {
  return `${mockOrigin}/c/${shape.chunks}/d/${shape.delayMs}/v1`;
}

export function modelFor(shape: ShapeName): string {
  return `bench/${shape}`;
}

export function benchCatalog(mockOrigin: string): Record<string, unknown> {
  const dataPolicy = { training: false, retainsPrompts: false };
  const providers = (Object.keys(SHAPES) as ShapeName[]).map((name) => ({
    slug: `bench-${name}`,
    name: `Benchmark mock (${SHAPES[name].chunks} chunks, ${SHAPES[name].delayMs} ms)`,
    adapter: "openai-compatible",
    baseUrl: shapeBaseUrl(mockOrigin, SHAPES[name]),
    apiKeyEnv: UPSTREAM_KEY_ENV,
    dataPolicy,
  }));
  const models = (Object.keys(SHAPES) as ShapeName[]).map((name) => ({
    id: modelFor(name),
    name: `Benchmark ${name}`,
    contextLength: 8192,
    endpoints: [
      {
        provider: `bench-${name}`,
        upstreamModel: `mock-${name}`,
        maxCompletionTokens: 4096,
        pricing: { prompt: "0.0000001", completion: "0.0000004" },
      },
    ],
  }));
  models.push({
    id: CREDIT_MODEL,
    name: "Benchmark credit check",
    contextLength: 8192,
    endpoints: [
      {
        provider: "bench-fast",
        upstreamModel: "mock-credit",
        maxCompletionTokens: 4096,
        pricing: { prompt: "0", completion: CREDIT_COMPLETION_PRICE },
      },
    ],
  });
  return { providers, models };
}
