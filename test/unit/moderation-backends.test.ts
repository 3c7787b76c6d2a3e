import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { OpenAIModeration } from "../../src/moderation/openai-moderation.js";
import { SimulatedModeration } from "../../src/moderation/simulated-moderation.js";
import { closedPortUrl, startTestServer, type RecordedRequest, type UpstreamReply, type UpstreamServer } from "../helpers/upstream-server.js";

const API_KEY = "sk-moderation-secret-123456";
const signal = () => new AbortController().signal;
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** `body` as JSON padded with spaces to exactly `bytes` bytes. */
function padded(body: unknown, bytes: number): string {
  const json = JSON.stringify(body);
  return json + " ".repeat(bytes - Buffer.byteLength(json));
}

/** One result of OpenAI's moderation API. */
function verdict(flagged: Record<string, boolean>): Record<string, unknown> {
  const categories = { harassment: false, hate: false, violence: false, "self-harm": false, ...flagged };
  return {
    flagged: Object.values(categories).some(Boolean),
    categories,
    category_scores: Object.fromEntries(Object.entries(categories).map(([name, on]) => [name, on ? 0.97 : 0.001])),
  };
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => {
      throw new Error("expected moderation to fail");
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("OpenAIModeration", () => {
  let server: UpstreamServer;
  let reply: (request: RecordedRequest, signal: AbortSignal) => UpstreamReply | Promise<UpstreamReply>;
  beforeAll(async () => {
    server = await startTestServer({ basePath: "/v1", respond: (request, abort) => reply(request, abort) });
  });
  afterAll(() => server?.close());

  const backend = (options: { url?: string; apiKey?: string | null; timeoutMs?: number } = {}) =>
    new OpenAIModeration({
      url: options.url ?? server.baseUrl,
      apiKey: options.apiKey === undefined ? API_KEY : options.apiKey,
      model: "omni-moderation-latest",
      timeoutMs: options.timeoutMs ?? 2_000,
      connectTimeoutMs: 1_000,
    });

  it("posts every input to <url>/moderations with the model and key, and reads one verdict per input", async () => {
    reply = (request) => ({
      status: 200,
      body: JSON.stringify({
        id: "modr-1",
        model: "omni-moderation-latest",
        results: (request.body!.input as string[]).map((text) => verdict(text.includes("hurt") ? { violence: true, harassment: true } : {})),
      }),
    });
    const moderation = backend();
    const results = await moderation.moderate(["Hello there", "I will hurt you"], { signal: signal() });
    await moderation.close();
    const request = server.requests.at(-1)!;
    expect(request).toMatchObject({ method: "POST", url: "/v1/moderations" });
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body).toEqual({ model: "omni-moderation-latest", input: ["Hello there", "I will hurt you"] });
    expect(results).toEqual([
      { flagged: false, reasons: [] },
      { flagged: true, reasons: ["harassment", "violence"] },
    ]);
  });

  it("sends no Authorization header without a key, and takes a URL that already ends in /moderations", async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ results: [verdict({})] }) });
    const moderation = backend({ url: `${server.baseUrl}/moderations`, apiKey: null });
    expect(await moderation.moderate(["hi"], { signal: signal() })).toEqual([{ flagged: false, reasons: [] }]);
    await moderation.close();
    expect(server.requests.at(-1)!.url).toBe("/v1/moderations");
    expect(server.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it("asks nothing for no input", async () => {
    const before = server.requests.length;
    expect(await backend().moderate([], { signal: signal() })).toEqual([]);
    expect(server.requests.length).toBe(before);
  });

  it("fails on an error status without echoing the key, and on an answer without one result per input", async () => {
    const moderation = backend();
    reply = () => ({ status: 401, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${API_KEY}` } }) });
    const refused = await rejection(moderation.moderate(["hi"], { signal: signal() }));
    expect(refused).toMatchObject({ code: "provider_error", message: "The moderation service answered HTTP 401." });
    expect(JSON.stringify({ message: refused.message, metadata: refused.metadata })).not.toContain(API_KEY);
    reply = () => ({ status: 200, body: JSON.stringify({ results: [verdict({})] }) });
    expect((await rejection(moderation.moderate(["a", "b"], { signal: signal() }))).message).toBe(
      "The moderation service answered without one result per input (2 sent).",
    );
    reply = () => ({ status: 200, body: "not json" });
    expect((await rejection(moderation.moderate(["a"], { signal: signal() }))).message).toBe(
      "The moderation service answered with something that is not JSON.",
    );
    await moderation.close();
  });

  it("reads an answer of up to 2 MiB, and refuses a longer one", async () => {
    const moderation = backend();
    reply = () => ({ status: 200, body: padded({ results: [verdict({})] }, MAX_ANSWER_BYTES) });
    expect(await moderation.moderate(["hi"], { signal: signal() })).toEqual([{ flagged: false, reasons: [] }]);
    reply = () => ({ status: 200, body: padded({ results: [verdict({})] }, MAX_ANSWER_BYTES + 1) });
    expect(await rejection(moderation.moderate(["hi"], { signal: signal() }))).toMatchObject({
      code: "provider_error",
      message: "The moderation service answered with more than 2097152 bytes.",
    });
    await moderation.close();
  });

  it("times out, and says so when the service cannot be reached", async () => {
    reply = (_request, abort) => new Promise<UpstreamReply>((_resolve, reject) => abort.addEventListener("abort", () => reject(new Error("gone"))));
    const slow = backend({ timeoutMs: 200 });
    expect(await rejection(slow.moderate(["hi"], { signal: signal() }))).toMatchObject({
      code: "timeout",
      message: "The moderation service did not answer within 200 ms.",
    });
    await slow.close();
    const unreachable = backend({ url: await closedPortUrl() });
    expect(await rejection(unreachable.moderate(["hi"], { signal: signal() }))).toMatchObject({
      code: "provider_error",
      message: "The moderation service could not be reached.",
    });
    await unreachable.close();
  });
});

describe("SimulatedModeration", () => {
  it("flags inputs containing a configured term, case-insensitively, with the terms' categories", async () => {
    const moderation = new SimulatedModeration([
      { term: "Forbidden", category: "flagged_term" },
      { term: "bomb", category: "violence" },
    ]);
    expect(await moderation.moderate(["all fine", "a FORBIDDEN bomb", "bombastic"])).toEqual([
      { flagged: false, reasons: [] },
      { flagged: true, reasons: ["flagged_term", "violence"] },
      { flagged: true, reasons: ["violence"] },
    ]);
  });

  it("flags nothing without terms", async () => {
    expect(await new SimulatedModeration([]).moderate(["anything at all"])).toEqual([{ flagged: false, reasons: [] }]);
  });
});
