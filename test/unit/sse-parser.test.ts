import { describe, expect, it } from "vitest";
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
