import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";
import { TEST_CATALOG } from "../helpers/catalogs.js";

/** The official `openai` npm SDK, unmodified, pointed at Switchyard. */
describe("the official OpenAI SDK", () => {
  let t: TestApp;
  let user: TestAccount;
  let client: OpenAI;
  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG, env: { SWITCHYARD_IDLE_TIMEOUT_MS: "300" } });
    user = await t.account();
    client = new OpenAI({ baseURL: `${t.url}/api/v1`, apiKey: user.key, maxRetries: 0 });
  });
  afterAll(() => t?.close());

  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello from the SDK" },
  ];

  it("runs a plain chat completion", async () => {
    const completion = await client.chat.completions.create({ model: "test/other", messages });
    expect(completion.id).toMatch(/^gen-/);
    expect(completion.model).toBe("test/other");
    expect(completion.choices[0].message).toMatchObject({ role: "assistant", content: "This is a simulated answer from other. You said: Hello from the SDK" });
    expect(completion.choices[0].finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ completion_tokens: 13 });
    expect((completion.usage as unknown as { cost: number }).cost).toBeGreaterThan(0);
  });

  it("streams a chat completion and reads usage.cost from the last chunk", async () => {
    const stream = await client.chat.completions.create({ model: "test/other", messages, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let last: OpenAI.Chat.ChatCompletionChunk | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      last = chunk;
    }
    expect(text).toBe("This is a simulated answer from other. You said: Hello from the SDK");
    expect(finish).toBe("stop");
    expect(last!.choices).toEqual([]);
    const usage = last!.usage as OpenAI.CompletionUsage & { cost: number };
    expect(usage.completion_tokens).toBe(13);
    // $3 per million prompt tokens, $6 per million completion tokens
    expect(usage.cost).toBe((usage.prompt_tokens * 3 + 13 * 6) / 1e6);
  });

  it("runs legacy text completions, plain and streamed", async () => {
    const completion = await client.completions.create({ model: "test/other", prompt: "Say hi" });
    expect(completion.choices[0].text).toBe("This is a simulated answer from other. You said: Say hi");
    const stream = await client.completions.create({ model: "test/other", prompt: "Say hi", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe("This is a simulated answer from other. You said: Say hi");
  });

  it("passes extra routing fields through the SDK's body", async () => {
    const params = { model: "test/small", messages: [{ role: "user" as const, content: "word ".repeat(100) }], models: ["test/other"] };
    const completion = await client.chat.completions.create(params as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    expect(completion.model).toBe("test/other");
  });

  it("raises the SDK's typed errors for Switchyard's error responses", async () => {
    const bad = new OpenAI({ baseURL: `${t.url}/api/v1`, apiKey: "sk-sy-v1-wrong", maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: "test/other", messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const missing = client.chat.completions.create({ model: "nobody/nothing", messages });
    await expect(missing).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(missing).rejects.toMatchObject({ status: 404, message: "404 nobody/nothing is not a valid model ID." });
    const invalid = client.chat.completions.create({ model: "test/other", messages, temperature: 5 });
    await expect(invalid).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("raises an APIError for a failure in the middle of a stream instead of ending quietly", async () => {
    // OpenRouter's `provider` preferences are not in the SDK's types; the SDK sends them as given.
    const params = { model: "test/faulty", messages, stream: true, provider: { only: ["flaky/stall"] } };
    const stream = await client.chat.completions.create(params as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let text = "";
    const consume = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    };
    await expect(consume()).rejects.toMatchObject({ message: expect.stringContaining("Flaky stopped sending tokens for 300 ms.") });
    expect(text).toBe("This is a");
  });
});
