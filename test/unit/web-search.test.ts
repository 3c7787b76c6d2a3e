import { describe, expect, it } from "vitest";
import { elide, flaggedError, moderationInputs } from "../../src/core/moderation.js";
import type { SearchResult } from "../../src/core/ports.js";
import type { ChatMessage } from "../../src/core/types.js";
import { citationAnnotations, searchQuery, trimResults, withSearchResults } from "../../src/core/web-search.js";

const RESULTS: SearchResult[] = [
  { url: "https://example.com/paris", title: "Paris weather", content: "Sunny, 24 °C." },
  { url: "https://example.org/forecast?city=paris", title: "Forecast", content: "Rain tomorrow." },
  { url: "https://example.net/climate", title: "Climate", content: "Temperate." },
];
const NOW = new Date("2026-11-27T10:00:00Z");

describe("searchQuery", () => {
  it("searches for the last user message, its text parts joined, whitespace collapsed", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "old question" },
      { role: "assistant", content: "old answer" },
      {
        role: "user",
        content: [
          { type: "text", text: "What is\n the weather" },
          { type: "image_url", image_url: { url: "https://example.com/sky.png" } },
          { type: "text", text: "in Paris?" },
        ],
      },
      { role: "assistant", content: "Let me check" },
    ];
    expect(searchQuery(messages)).toBe("What is the weather in Paris?");
  });

  it("is null without user text, and cut at 500 characters", () => {
    expect(searchQuery([{ role: "system", content: "x" }])).toBeNull();
    expect(searchQuery([{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }])).toBeNull();
    expect(searchQuery([{ role: "user", content: "a".repeat(600) }])).toHaveLength(500);
  });
});

describe("withSearchResults", () => {
  it("adds one system message with the numbered sources and the citation instruction after the leading system messages", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "Be brief." },
      { role: "developer", content: "No emojis." },
      { role: "user", content: "Weather in Paris?" },
    ];
    const out = withSearchResults(messages, RESULTS.slice(0, 2), { maxResults: 5, searchPrompt: null }, NOW);
    expect(out).toHaveLength(4);
    expect(out[0]).toBe(messages[0]);
    expect(out[1]).toBe(messages[1]);
    expect(out[3]).toBe(messages[2]);
    expect(out[2]).toEqual({
      role: "system",
      content:
        "A web search was conducted on 2026-11-27. Incorporate the following web search results into your response.\n\n" +
        "IMPORTANT: Cite them using markdown links named using the domain of the source.\n" +
        "Example: [nytimes.com](https://nytimes.com/some-page).\n\n" +
        "[1] Paris weather\nURL: https://example.com/paris\nSunny, 24 °C.\n\n" +
        "[2] Forecast\nURL: https://example.org/forecast?city=paris\nRain tomorrow.",
    });
    expect(messages).toHaveLength(3);
  });

  it("puts a custom search_prompt in place of the default instruction, first when there is no system message", () => {
    const out = withSearchResults([{ role: "user", content: "Hi" }], RESULTS.slice(0, 1), { maxResults: 1, searchPrompt: "Sources:" }, NOW);
    expect(out[0]).toEqual({ role: "system", content: "Sources:\n\n[1] Paris weather\nURL: https://example.com/paris\nSunny, 24 °C." });
    expect(out[1]).toEqual({ role: "user", content: "Hi" });
  });
});

describe("citationAnnotations", () => {
  const span = (content: string) =>
    citationAnnotations(content, RESULTS).map((a) => [a.url_citation.start_index, a.url_citation.end_index]);

  it("returns one url_citation per source, in order, with its url, title and snippet", () => {
    expect(citationAnnotations("No citations here.", RESULTS)).toEqual(
      RESULTS.map((r) => ({ type: "url_citation", url_citation: { url: r.url, title: r.title, content: r.content, start_index: 0, end_index: 0 } })),
    );
  });

  it("points at a markdown link to the source, else the bare URL, else its [n] marker", () => {
    const link = "[example.com](https://example.com/paris)";
    const content = `It is sunny ${link}. More at https://example.org/forecast?city=paris and [3].`;
    const [first, second, third] = span(content);
    expect(content.slice(...first)).toBe(link);
    expect(content.slice(...second)).toBe("https://example.org/forecast?city=paris");
    expect(content.slice(...third)).toBe("[3]");
  });

  it("does not take a markdown link's label for a marker, nor match URLs as patterns", () => {
    // "[1](…)" is a link to another page, not the marker of source 1; "?" in a URL is literal.
    expect(span("See [1](https://elsewhere.example) and https://example.org/forecastXcity=paris")).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });
});

describe("trimResults", () => {
  it("keeps maxResults results, bounds snippets and titles, and titles untitled results with their URL", () => {
    const long: SearchResult = { url: "https://example.com/long", title: "", content: "x".repeat(5000) };
    const trimmed = trimResults([long, ...RESULTS], 2);
    expect(trimmed).toHaveLength(2);
    expect(trimmed[0]).toEqual({ url: long.url, title: long.url, content: "x".repeat(1000) });
    expect(trimmed[1]).toEqual(RESULTS[0]);
  });
});

describe("moderation helpers", () => {
  it("judges one input per message with text, text parts joined", () => {
    expect(
      moderationInputs([
        { role: "system", content: "Be kind." },
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "https://x/y.png" } }, { type: "text", text: "here" }] },
        { role: "assistant", content: null, tool_calls: [] },
        { role: "user", content: "   " },
      ]),
    ).toEqual(["Be kind.", "look\nhere"]);
  });

  it("elides flagged input in the middle to at most 100 characters", () => {
    expect(elide("short", 100)).toBe("short");
    const long = `${"a".repeat(80)}MIDDLE${"z".repeat(80)}`;
    const elided = elide(long, 100);
    expect(elided).toHaveLength(100);
    expect(elided).toBe(`${"a".repeat(49)}...${"z".repeat(48)}`);
  });

  it("turns flagged results into a 403 with OpenRouter's metadata, and nothing flagged into null", () => {
    const inputs = ["fine", "bad words here", "worse"];
    const results = [
      { flagged: false, reasons: [] },
      { flagged: true, reasons: ["harassment"] },
      { flagged: true, reasons: ["harassment", "violence"] },
    ];
    const error = flaggedError(inputs, results, { model: "acme/model", providerName: "Acme" })!;
    expect(error.code).toBe("moderation_flagged");
    expect(error.status).toBe(403);
    expect(error.message).toBe('acme/model requires moderation on Acme. Your input was flagged for "harassment, violence". No credits were charged.');
    expect(error.metadata).toEqual({ reasons: ["harassment", "violence"], flagged_input: "bad words here", provider_name: "Acme", model_slug: "acme/model" });
    expect(flaggedError(inputs, results.map(() => ({ flagged: false, reasons: [] })), { model: "m", providerName: "p" })).toBeNull();
  });
});
