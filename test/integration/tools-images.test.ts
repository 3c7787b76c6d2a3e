import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, type TestAccount } from "../helpers/app.js";
import { readStream, startFeatureApp, type FeatureApp } from "../helpers/feature-app.js";

/**
 * Images and tools through REST, end to end: to the simulated model, to an OpenAI-compatible upstream over HTTP and to
 * the fake Anthropic API, streamed and not; image filtering and prices; tool and structured-output routing.
 */

const CAT_URL = "https://example.com/cat.png";
const DATA_URL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const IMAGE_MESSAGES = [
  {
    role: "user",
    content: [
      { type: "text", text: "What is in these pictures?" },
      { type: "image_url", image_url: { url: CAT_URL, detail: "high" } },
      { type: "image_url", image_url: { url: DATA_URL } },
    ],
  },
];

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const JSON_SCHEMA_FORMAT = {
  type: "json_schema",
  json_schema: { name: "weather", strict: true, schema: { type: "object", properties: { sky: { type: "string" } }, required: ["sky"] } },
};

/** USD from picodollars, as `usage.cost` shows it. */
const usd = (picodollars: bigint) => Number(picodollars) / 1e12;

describe("images and tools end to end", () => {
  let f: FeatureApp;
  let user: TestAccount;
  beforeAll(async () => {
    f = await startFeatureApp();
    user = await f.t.account({ credits: "10" });
  });
  afterAll(() => f?.close());

  const complete = (body: Record<string, unknown>) => f.t.fetch("/api/v1/chat/completions", { key: user.key, body });
  const completeJson = async (body: Record<string, unknown>) => {
    const response = await complete(body);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const chat = (extra: Record<string, unknown>, messages: unknown[] = [{ role: "user", content: "Paris" }]) => ({
    model: "feat/chat",
    messages,
    ...extra,
  });

  describe("images", () => {
    it("reach the simulated model, filter out text-only endpoints, and cost the endpoint's image price each", async () => {
      const { status, body } = await completeJson(chat({ provider: { sort: "price" } }, IMAGE_MESSAGES));
      expect(status).toBe(200);
      // Cheap and Beta take no images: the cheapest endpoint that does is Alpha.
      expect(body.provider).toBe("Alpha");
      expect(body.choices[0].message.content).toBe("This is a simulated answer from chat-alpha. You said: What is in these pictures?");
      const { prompt_tokens: prompt, completion_tokens: completion } = body.usage;
      // Each image counts as an estimated 1500 prompt tokens (the simulated model counts as Switchyard does).
      expect(prompt).toBeGreaterThan(3000);
      // prompt × $1/M + completion × $2/M + 2 images × $0.001
      expect(body.usage.cost).toBe(usd(BigInt(prompt) * 1_000_000n + BigInt(completion) * 2_000_000n + 2n * 1_000_000_000n));
      await f.t.app.credits.flush();
      const generation = await (await f.t.fetch(`/api/v1/generation?id=${body.id}`, { key: user.key })).json();
      expect(generation.data.total_cost).toBe(body.usage.cost);
    });

    it("stream to the simulated model with the same answer and cost", async () => {
      const answer = await readStream(await complete(chat({ stream: true, provider: { only: ["alpha"] } }, IMAGE_MESSAGES)));
      expect(answer.done).toBe(true);
      expect(answer.content).toBe("This is a simulated answer from chat-alpha. You said: What is in these pictures?");
      const { prompt_tokens: prompt, completion_tokens: completion } = answer.usage!;
      expect(answer.usage!.cost).toBe(usd(BigInt(prompt) * 1_000_000n + BigInt(completion) * 2_000_000n + 2n * 1_000_000_000n));
    });

    it("pass through to an OpenAI-compatible upstream untouched (https and data URLs), at its image price", async () => {
      const { status, body } = await completeJson(chat({ provider: { only: ["oai"] } }, IMAGE_MESSAGES));
      expect(status).toBe(200);
      expect(f.lastRequest(f.openai, "chat-oai").body!.messages).toEqual(IMAGE_MESSAGES);
      const { prompt_tokens: prompt, completion_tokens: completion } = body.usage;
      expect(body.usage.cost).toBe(usd(BigInt(prompt) * 1_000_000n + BigInt(completion) * 3_000_000n + 2n * 2_000_000_000n));
    });

    it("are translated for Anthropic: a URL source and a base64 source, streamed and not", async () => {
      for (const stream of [false, true]) {
        const response = await complete(chat({ stream, provider: { only: ["claude"] } }, IMAGE_MESSAGES));
        expect(response.status).toBe(200);
        const content = stream ? (await readStream(response)).content : (await response.json()).choices[0].message.content;
        expect(content).toBe("This is a simulated answer from claude-chat. You said: What is in these pictures?");
        expect(f.lastRequest(f.anthropic, "claude-chat").body!.messages).toEqual([
          {
            role: "user",
            content: [
              { type: "text", text: "What is in these pictures?" },
              { type: "image", source: { type: "url", url: CAT_URL } },
              { type: "image", source: { type: "base64", media_type: "image/png", data: DATA_URL.split(",")[1] } },
            ],
          },
        ]);
      }
    });

    it("are refused with a clear 404 when no endpoint takes images, and max_price.image filters by the image price", async () => {
      const { status, body } = await completeJson({ model: "feat/text", messages: IMAGE_MESSAGES });
      expect(status).toBe(404);
      expect(body.error).toMatchObject({
        code: 404,
        message: "No endpoints found for feat/text that support image input.",
        metadata: { error_type: "no_endpoints", failed_routing_step: "modalities", model: "feat/text", excluded: ["cheap"] },
      });
      const capped = await completeJson(chat({ provider: { max_price: { image: 0.0015 }, ignore: ["alpha"] } }, IMAGE_MESSAGES));
      // OAI charges $0.002 per image; Claude has no image price.
      expect(capped.body.provider).toBe("Claude");
    });
  });

  describe("a tool-calling round trip", () => {
    const roundTrip = async (provider: string, stream: boolean, extra: Record<string, unknown> = {}) => {
      const ask = async (messages: unknown[]) => {
        const response = await complete(chat({ stream, tools: [WEATHER_TOOL], provider: { only: [provider] }, ...extra }, messages));
        expect(response.status).toBe(200);
        if (stream) {
          const answer = await readStream(response);
          return { content: answer.content || null, toolCalls: answer.toolCalls, finishReason: answer.finishReason, usage: answer.usage };
        }
        const body = await response.json();
        const choice = body.choices[0];
        return { content: choice.message.content, toolCalls: choice.message.tool_calls ?? [], finishReason: choice.finish_reason, usage: body.usage };
      };
      const question = { role: "user", content: "Paris" };
      const first = await ask([question]);
      expect(first.finishReason).toBe("tool_calls");
      expect(first.content).toBeNull();
      expect(first.toolCalls).toEqual([{ id: expect.any(String), type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
      expect(first.usage.completion_tokens).toBeGreaterThan(0);
      const call = first.toolCalls[0];
      // The assistant message leaves `content` out, as many clients send it.
      const second = await ask([question, { role: "assistant", tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "Sunny, 24 °C" }]);
      expect(second.finishReason).toBe("stop");
      expect(second.toolCalls).toEqual([]);
      expect(second.content).toBe("The tool returned: Sunny, 24 °C");
      return call;
    };

    it("through the simulated model, not streamed and streamed", async () => {
      for (const stream of [false, true]) {
        const call = await roundTrip("alpha", stream);
        expect(call.id).toMatch(/^call_sim_/);
      }
    });

    it("through Anthropic: tools, tool_choice and parallel_tool_calls translated, tool_use ids kept both ways", async () => {
      for (const stream of [false, true]) {
        const call = await roundTrip("claude", stream, { tool_choice: "auto", parallel_tool_calls: false });
        expect(call.id).toMatch(/^toolu_sim_/);
        const sent = f.lastRequest(f.anthropic, "claude-chat").body!;
        expect(sent.tools).toEqual([
          { name: "get_weather", description: "Current weather for a city.", input_schema: WEATHER_TOOL.function.parameters },
        ]);
        expect(sent.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
        expect(sent.messages).toEqual([
          { role: "user", content: "Paris" },
          { role: "assistant", content: [{ type: "tool_use", id: call.id, name: "get_weather", input: { city: "Paris" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "Sunny, 24 °C" }] },
        ]);
      }
    });
  });

  describe("routing of tools and structured output", () => {
    const providerOf = async (extra: Record<string, unknown>, model = "feat/chat") => {
      const { status, body } = await completeJson({ model, messages: [{ role: "user", content: "Paris" }], ...extra });
      if (status !== 200) throw new Error(`status ${status}: ${JSON.stringify(body)}`);
      return body.provider as string;
    };

    it("prefers endpoints that support tools or response_format without require_parameters, never emptying a model", async () => {
      expect(await providerOf({ tools: [WEATHER_TOOL], provider: { sort: "price" } })).toBe("Alpha");
      expect(await providerOf({ response_format: { type: "json_object" }, provider: { sort: "price" } })).toBe("Beta");
      expect(await providerOf({ response_format: JSON_SCHEMA_FORMAT, provider: { sort: "price" } })).toBe("Beta");
      expect(await providerOf({ tools: [WEATHER_TOOL], response_format: JSON_SCHEMA_FORMAT, provider: { sort: "price" } })).toBe("Alpha");
      // A model without tool support still answers; the tools are dropped for its endpoint, so it answers in text.
      const { body } = await completeJson({ model: "feat/text", messages: [{ role: "user", content: "Paris" }], tools: [WEATHER_TOOL] });
      expect(body).toMatchObject({ provider: "Cheap", choices: [{ finish_reason: "stop", message: { content: expect.stringContaining("Paris") } }] });
    });

    it("routes only to endpoints supporting every parameter with require_parameters", async () => {
      const required = (extra: Record<string, unknown>, ignore: string[] = []) =>
        providerOf({ ...extra, provider: { require_parameters: true, sort: "price", ignore } });
      const tools = { tools: [WEATHER_TOOL], tool_choice: "required", parallel_tool_calls: false };
      expect(await required(tools)).toBe("Alpha");
      // OAI does not declare parallel_tool_calls.
      expect(await required(tools, ["alpha"])).toBe("Claude");
      expect(await required({ response_format: { type: "json_object" } })).toBe("Beta");
      expect(await required({ tools: [WEATHER_TOOL], response_format: JSON_SCHEMA_FORMAT })).toBe("Alpha");
      expect(await required({ tools: [WEATHER_TOOL], response_format: JSON_SCHEMA_FORMAT }, ["alpha"])).toBe("OAI");
      const { status, body } = await completeJson({
        model: "feat/chat",
        messages: [{ role: "user", content: "Paris" }],
        ...tools,
        provider: { require_parameters: true, ignore: ["alpha", "claude"] },
      });
      expect(status).toBe(404);
      expect(body.error).toMatchObject({
        message: "No endpoints found for feat/chat that support all the parameters of this request (tools, tool_choice, parallel_tool_calls).",
        metadata: { error_type: "no_endpoints", failed_routing_step: "require_parameters" },
      });
    });

    it("forwards response_format and tools to an OpenAI-compatible upstream as sent", async () => {
      await providerOf({ tools: [WEATHER_TOOL], tool_choice: "none", response_format: JSON_SCHEMA_FORMAT, provider: { only: ["oai"] } });
      const sent = f.lastRequest(f.openai, "chat-oai").body!;
      expect(sent).toMatchObject({ tools: [WEATHER_TOOL], tool_choice: "none", response_format: JSON_SCHEMA_FORMAT });
    });

    it("refuses a malformed response_format or tool with a 400", async () => {
      const bad = await completeJson(chat({ response_format: { type: "json_schema", json_schema: { name: "has spaces" } } }));
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain("response_format");
      const badTool = await completeJson(chat({ tools: [{ type: "function", function: { name: "no spaces allowed" } }] }));
      expect(badTool.status).toBe(400);
      expect(badTool.body.error.message).toContain("tool names are 1-64 characters");
    });
  });

  it("keeps the ledger equal to the balance", async () => {
    await expectLedgerBalanced(f.t.app, user.accountId);
  });
});
