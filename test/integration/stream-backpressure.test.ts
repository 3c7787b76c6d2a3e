import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";

const WORDS = 30_000;
/** Numbered words, so a lost, doubled or reordered chunk shows in the text. */
const REPLY = Array.from({ length: WORDS }, (_, i) => `word-${i}-${"x".repeat(400)}`).join(" ");

const CATALOG = {
  providers: [{ slug: "fast", name: "Fast", adapter: "simulated", dataPolicy: { training: false, retainsPrompts: false } }],
  models: [
    {
      id: "test/long",
      name: "Long",
      contextLength: 1_000_000,
      endpoints: [
        {
          provider: "fast",
          upstreamModel: "long",
          maxCompletionTokens: 100_000,
          pricing: { prompt: "0.000001", completion: "0.000001" },
          supportedParameters: ["max_tokens"],
          // As fast as the gateway reads: only the client's pace holds the stream back.
          simulation: { ttftMs: 0, tokensPerSecond: 0, reply: REPLY },
        },
      ],
    },
  ],
};

/**
 * A client that reads slowly must get every byte of a long stream, in order: the gateway writes what arrives in one
 * turn of the event loop at once and, when the socket's buffer is full, stops reading the upstream until it drains.
 */
describe("a streamed answer to a client that reads slowly", () => {
  let t: TestApp;
  let user: TestAccount;
  beforeAll(async () => {
    t = await startTestApp({ catalog: CATALOG });
    user = await t.account({ credits: "10" });
  });
  afterAll(() => t?.close());

  it("arrives whole and in order (about 20 MB of events, the client pausing twice)", async () => {
    const url = new URL("/api/v1/chat/completions", t.url);
    const body = JSON.stringify({ model: "test/long", stream: true, messages: [{ role: "user", content: "Go on." }] });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { authorization: `Bearer ${user.key}`, "content-type": "application/json" } }, (res) => {
        const parts: Buffer[] = [];
        let pauses = 0;
        res.on("data", (part: Buffer) => {
          parts.push(part);
          // Stop reading for a while, twice: the gateway's socket buffer fills and it has to wait for the drain.
          if (pauses < 2 && parts.length % 5 === 0) {
            pauses++;
            res.pause();
            setTimeout(() => res.resume(), 300);
          }
        });
        res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
    const events = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: Array<{ delta?: { content?: string } }>; usage?: unknown });
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(content).toBe(REPLY);
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: expect.any(Number) });
  });
});
