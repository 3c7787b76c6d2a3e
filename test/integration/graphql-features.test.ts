import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLedgerBalanced, type TestAccount } from "../helpers/app.js";
import { CITED_REPLY } from "../helpers/catalogs.js";
import { startFeatureApp, type FeatureApp } from "../helpers/feature-app.js";
import { connectWs } from "../helpers/graphql.js";

/**
 * Images, a tool-calling round trip, reasoning and web search through GraphQL: `createCompletion` (answered once
 * complete) and `completionStream` over graphql-ws, on the same catalog and upstreams as the REST tests. The
 * documents are written here rather than in test/operations, so this file does not depend on generated types.
 * (GraphQL's `Completion` type has no annotations yet: web search is checked by its answer and its cost.)
 */

const COMPLETION_FIELDS = `id model provider content reasoning finishReason toolCalls { id name arguments }
  usage { promptTokens completionTokens reasoningTokens cost }`;
const CREATE = `mutation Create($input: CompletionInput!) { createCompletion(input: $input) { ${COMPLETION_FIELDS} } }`;
const STREAM = `subscription Stream($input: CompletionInput!) {
  completionStream(input: $input) {
    id model provider done finishReason
    delta { content reasoning toolCalls { index id name arguments } }
    usage { promptTokens completionTokens reasoningTokens cost }
    error { type message }
  }
}`;

const DATA_URL = "data:image/png;base64,iVBORw0KGgo=";
const WEATHER_TOOL = {
  name: "get_weather",
  description: "Current weather for a city.",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

interface Answer {
  model: string;
  provider: string;
  content: string | null;
  reasoning: string | null;
  reasoningDeltas: number;
  finishReason: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  usage: { promptTokens: number; completionTokens: number; reasoningTokens: number; cost: string };
}

describe("GraphQL: images, tools, reasoning and web search", () => {
  let f: FeatureApp;
  let user: TestAccount;
  let client: Client;
  beforeAll(async () => {
    f = await startFeatureApp();
    user = await f.t.account({ credits: "10" });
    client = connectWs(f.t.url, { params: { authorization: `Bearer ${user.key}` } });
  });
  afterAll(async () => {
    await client?.dispose();
    await f?.close();
  });

  const mutate = async (input: Record<string, unknown>): Promise<Answer> => {
    const response = await f.t.fetch("/graphql", { key: user.key, body: { query: CREATE, variables: { input } } });
    const body = await response.json();
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    const c = body.data.createCompletion;
    return { ...c, reasoningDeltas: 0 };
  };

  const stream = async (input: Record<string, unknown>): Promise<Answer> => {
    const events: Array<Record<string, any>> = [];
    for await (const result of client.iterate({ query: STREAM, variables: { input } })) {
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      events.push((result.data as Record<string, any>).completionStream);
    }
    const final = events.at(-1)!;
    expect(final).toMatchObject({ done: true, error: null });
    const toolCalls: Answer["toolCalls"] = [];
    let content = "";
    let reasoning = "";
    let reasoningDeltas = 0;
    for (const event of events) {
      content += event.delta?.content ?? "";
      if (event.delta?.reasoning) {
        reasoning += event.delta.reasoning;
        reasoningDeltas += 1;
      }
      for (const part of event.delta?.toolCalls ?? []) {
        const call = (toolCalls[part.index] ??= { id: "", name: "", arguments: "" });
        if (part.id) call.id = part.id;
        if (part.name) call.name += part.name;
        if (part.arguments) call.arguments += part.arguments;
      }
    }
    return {
      model: final.model,
      provider: final.provider,
      content: content || null,
      reasoning: reasoning || null,
      reasoningDeltas,
      finishReason: final.finishReason,
      toolCalls,
      usage: final.usage,
    };
  };

  const both = [
    ["createCompletion", mutate],
    ["completionStream", stream],
  ] as const;

  describe.each(both)("%s", (_name, complete) => {
    it("takes images by URL and data URL, at the endpoint's image price", async () => {
      const answer = await complete({
        model: "feat/chat",
        messages: [
          {
            role: "USER",
            parts: [
              { type: "TEXT", text: "What is in these pictures?" },
              { type: "IMAGE_URL", imageUrl: "https://example.com/cat.png" },
              { type: "IMAGE_URL", imageUrl: DATA_URL },
            ],
          },
        ],
        provider: { sort: "PRICE" },
      });
      expect(answer.provider).toBe("Alpha");
      expect(answer.content).toBe("This is a simulated answer from chat-alpha. You said: What is in these pictures?");
      const { promptTokens, completionTokens, cost } = answer.usage;
      expect(Number(cost)).toBeCloseTo((promptTokens * 1 + completionTokens * 2) / 1e6 + 2 * 0.001, 12);
    });

    it.each(["alpha", "claude"])("makes a tool-calling round trip through %s", async (provider) => {
      const base = { model: "feat/chat", tools: [WEATHER_TOOL], toolChoice: { mode: "AUTO" }, provider: { only: [provider] } };
      const question = { role: "USER", content: "Paris" };
      const first = await complete({ ...base, messages: [question] });
      expect(first.finishReason).toBe("TOOL_CALLS");
      expect(first.toolCalls).toEqual([{ id: expect.any(String), name: "get_weather", arguments: '{"city":"Paris"}' }]);
      const [call] = first.toolCalls;
      const second = await complete({
        ...base,
        messages: [question, { role: "ASSISTANT", toolCalls: [call] }, { role: "TOOL", toolCallId: call.id, content: "Sunny, 24 °C" }],
      });
      expect(second).toMatchObject({ finishReason: "STOP", toolCalls: [], content: "The tool returned: Sunny, 24 °C" });
    });

    it("answers with reasoning, and hides it with exclude while billing its tokens", async () => {
      const input = { model: "feat/reasoner", messages: [{ role: "USER", content: "How is the weather?" }], provider: { only: ["alpha"] } };
      const shown = await complete({ ...input, reasoning: { effort: "high" } });
      expect(shown.reasoning).toBe("First I think, then I answer.");
      expect(shown.usage.reasoningTokens).toBe(6);
      const hidden = await complete({ ...input, reasoning: { effort: "high", exclude: true } });
      expect(hidden.reasoning).toBeNull();
      expect(hidden.reasoningDeltas).toBe(0);
      expect(hidden.usage.reasoningTokens).toBe(6);
      expect(hidden.usage.cost).toBe(shown.usage.cost);
    });

    it("searches the web for :online and the web plugin (given in extra), charging the search price", async () => {
      const messages = [{ role: "USER", content: "Weather in Paris?" }];
      const online = await complete({ model: "feat/cited:online", messages });
      expect(online.content).toBe(CITED_REPLY);
      const { promptTokens, completionTokens, cost } = online.usage;
      expect(Number(cost)).toBeCloseTo((promptTokens * 1 + completionTokens * 2) / 1e6 + 0.01, 12);
      const plugin = await complete({ model: "feat/cited", messages, extra: { plugins: [{ id: "web", max_results: 2 }] } });
      expect(plugin.usage.promptTokens).toBeLessThan(promptTokens);
      expect(Number(plugin.usage.cost)).toBeCloseTo((plugin.usage.promptTokens + plugin.usage.completionTokens * 2) / 1e6 + 0.01, 12);
    });
  });

  it("keeps the ledger equal to the balance", async () => {
    await expectLedgerBalanced(f.t.app, user.accountId);
  });
});
