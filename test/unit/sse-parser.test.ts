import { describe, expect, it } from "vitest";
import type { ProviderInfo, UpstreamEvent } from "../../src/core/types.js";
import { AppError } from "../../src/errors.js";
import { readMessagesResponse } from "../../src/providers/anthropic-wire.js";
import { readChatResponse, type WireResponse } from "../../src/providers/openai-wire.js";
import { SseParser, type SseEvent } from "../../src/streaming/sse-parser.js";

const message = (data: string, extra: Partial<SseEvent> = {}): SseEvent => ({ event: null, data, id: null, ...extra });

/** Feeds the chunks in order and returns every event, including those end() delivers. */
function parseAll(chunks: Array<string | Uint8Array>): SseEvent[] {
  const parser = new SseParser();
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
}

describe("SseParser", () => {
  it("delivers an event when its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":1}\n')).toEqual([]);
    expect(parser.push("\n")).toEqual([message('{"a":1}')]);
    expect(parser.end()).toEqual([]);
  });

  it("delivers several events from one chunk in order", () => {
    const parser = new SseParser();
    expect(parser.push("data: one\n\ndata: two\n\ndata: thr")).toEqual([message("one"), message("two")]);
    expect(parser.push("ee\n\n")).toEqual([message("three")]);
  });

  it("skips comments and blank keep-alives", () => {
    expect(parseAll([": OPENROUTER PROCESSING\n\n", "\n\n\n", ":\n", "data: hi\n", ": still going\n", "\n", ": bye\n\n"])).toEqual([
      message("hi"),
    ]);
  });

  it("accepts LF, CRLF and CR line ends", () => {
    expect(parseAll(["data: lf\n\ndata: crlf\r\n\r\ndata: cr\r\rdata: mixed\r\n\n"])).toEqual([
      message("lf"),
      message("crlf"),
      message("cr"),
      message("mixed"),
    ]);
  });

  it("treats a CRLF split across two pushes as one line end", () => {
    const parser = new SseParser();
    expect(parser.push("data: a\r")).toEqual([]);
    expect(parser.push("\ndata: b\r")).toEqual([]);
    expect(parser.push("\n\r")).toEqual([]);
    expect(parser.push("\n")).toEqual([message("a\nb")]);
    expect(parser.end()).toEqual([]);
  });

  it("treats a lone CR at the end of a push followed by another line as a line end", () => {
    const parser = new SseParser();
    expect(parser.push("data: a\r")).toEqual([]);
    expect(parser.push("\rdata: b\r\r")).toEqual([message("a")]);
    expect(parser.end()).toEqual([message("b")]);
  });

  it("joins multi-line data with \\n", () => {
    expect(parseAll(["data: first\ndata: second\ndata:\ndata: fourth\n\n"])).toEqual([message("first\nsecond\n\nfourth")]);
  });

  it("strips exactly one space after the colon", () => {
    expect(parseAll(["data:no-space\n\n", "data:  two spaces\n\n", "data\n\n"])).toEqual([
      message("no-space"),
      message(" two spaces"),
      message(""),
    ]);
  });

  it("decodes bytes split inside a multi-byte UTF-8 character", () => {
    const bytes = new TextEncoder().encode("data: héllo 🌍\n\n");
    const accent = bytes.indexOf(0xc3) + 1;
    const globe = bytes.indexOf(0xf0) + 2;
    expect(parseAll([bytes.slice(0, accent), bytes.slice(accent, globe), bytes.slice(globe)])).toEqual([message("héllo 🌍")]);
  });

  it("decodes a stream fed one byte at a time", () => {
    const bytes = new TextEncoder().encode("event: delta\r\ndata: ünïcödé ✓\r\n\r\n");
    expect(parseAll([...bytes].map((b) => Uint8Array.of(b)))).toEqual([message("ünïcödé ✓", { event: "delta" })]);
  });

  it("reads the event and id fields", () => {
    expect(parseAll(["event: completion\nid: 42\ndata: x\n\n"])).toEqual([message("x", { event: "completion", id: "42" })]);
  });

  it("resets the event type after each event but keeps the last id", () => {
    expect(parseAll(["event: first\nid: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n"])).toEqual([
      message("a", { event: "first", id: "7" }),
      message("b", { id: "7" }),
      message("c", { id: "8" }),
    ]);
  });

  it("ignores retry and unknown fields", () => {
    expect(parseAll(["retry: 1000\nfoo: bar\ndata: x\n\n"])).toEqual([message("x")]);
  });

  it("delivers nothing for an event without data", () => {
    expect(parseAll(["event: ping\n\nid: 3\n\n"])).toEqual([]);
  });

  it("delivers an event without its closing blank line at end()", () => {
    const parser = new SseParser();
    expect(parser.push("data: [DONE]")).toEqual([]);
    expect(parser.end()).toEqual([message("[DONE]")]);
  });

  it("delivers an event at end() whose last line ended but whose blank line never came", () => {
    const parser = new SseParser();
    expect(parser.push("event: done\ndata: last\r")).toEqual([]);
    expect(parser.end()).toEqual([message("last", { event: "done" })]);
  });

  it("delivers nothing at end() after a complete stream", () => {
    const parser = new SseParser();
    parser.push("data: a\n\n");
    expect(parser.end()).toEqual([]);
  });
});

describe("reading a streamed answer", () => {
  const provider = { name: "Test Provider", apiKey: null } as ProviderInfo;
  /** A 200 event stream whose body delivers `chunks` one by one, then ends or, given `cut`, breaks. */
  const stream = (chunks: string[], cut?: Error): WireResponse => ({
    status: 200,
    headers: { "content-type": "text/event-stream" },
    body: (async function* () {
      yield* chunks;
      if (cut) throw cut;
    })(),
  });
  const read = async (events: AsyncIterable<UpstreamEvent>) => {
    const seen: UpstreamEvent[] = [];
    try {
      for await (const event of events) seen.push(event);
    } catch (error) {
      return { seen, error };
    }
    return { seen, error: undefined };
  };
  const openai = async (response: WireResponse) => read(await readChatResponse(response, provider, true));
  const anthropic = async (response: WireResponse) => read(await readMessagesResponse(response, provider, { stream: true, hideReasoning: false }));
  const chunk = (content: string, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: "gen-1", choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
  const messageEvent = (type: string, fields: Record<string, unknown> = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  const textDelta = (text: string) => messageEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text } });

  it("OpenAI: stops at the first [DONE] (data trimmed), also mid-chunk, and skips events without data", async () => {
    const { seen, error } = await openai(stream([chunk("A") + "data: \n\n" + "data:  [DONE] \n\n" + chunk("B"), chunk("C")]));
    expect(error).toBeUndefined();
    expect(seen.map((event) => event.delta?.content)).toEqual(["A"]);
  });

  it("OpenAI: a stream that ends, or breaks, before [DONE] is complete only after a finish reason", async () => {
    expect(await openai(stream([chunk("A"), chunk("", "stop")]))).toMatchObject({ seen: [{}, { nativeFinishReason: "stop" }], error: undefined });
    expect((await openai(stream([chunk("A"), chunk("", "stop")], new Error("reset")))).error).toBeUndefined();
    const ended = await openai(stream([chunk("A")]));
    expect(ended.error).toBeInstanceOf(AppError);
    expect(ended.error).toMatchObject({ code: "provider_error", message: "Test Provider ended the stream before the answer was complete." });
    const broken = await openai(stream([chunk("A")], new Error("reset")));
    expect(broken.seen).toHaveLength(1);
    expect(broken.error).toMatchObject({ code: "provider_error", message: "Test Provider dropped the connection mid-answer." });
  });

  it("Anthropic: stops at message_stop, also mid-chunk", async () => {
    const { seen, error } = await anthropic(
      stream([textDelta("A") + messageEvent("message_delta", { delta: { stop_reason: "end_turn" } }) + messageEvent("message_stop") + textDelta("B"), textDelta("C")]),
    );
    expect(error).toBeUndefined();
    expect(seen.map((event) => event.delta?.content ?? event.nativeFinishReason)).toEqual(["A", "end_turn"]);
  });

  it("Anthropic: a stream that ends, or breaks, before message_stop is complete only after a stop reason", async () => {
    const stopped = messageEvent("message_delta", { delta: { stop_reason: "end_turn" } });
    expect((await anthropic(stream([textDelta("A"), stopped]))).error).toBeUndefined();
    expect((await anthropic(stream([textDelta("A"), stopped], new Error("reset")))).error).toBeUndefined();
    expect((await anthropic(stream([textDelta("A")]))).error).toMatchObject({
      code: "provider_error",
      message: "Test Provider ended the stream before the answer was complete.",
    });
    expect((await anthropic(stream([textDelta("A")], new Error("reset")))).error).toMatchObject({
      code: "provider_error",
      message: "Test Provider dropped the connection mid-answer.",
    });
  });
});
