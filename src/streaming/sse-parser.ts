/**
 * An incremental parser for `text/event-stream` (the WHATWG server-sent events format) that is forgiving the way
 * upstream LLM servers need: comment lines (`: OPENROUTER PROCESSING`) and blank keep-alives are skipped, `\n`,
 * `\r\n` and `\r` line ends are all accepted (also when split across network chunks), and an event left without its
 * closing blank line when the stream ends is still delivered.
 */
export interface SseEvent {
  /** The `event:` field, or null for the default `message` type. */
  event: string | null;
  /** The `data:` lines joined with `\n`. */
  data: string;
  id: string | null;
}

export class SseParser {
  private readonly decoder = new TextDecoder();
  /** The start of a line whose end has not arrived yet. */
  private buffer = "";
  /** The event's first `data:` line, and any further ones (rare: most events carry one line of JSON). */
  private data: string | null = null;
  private moreData: string[] | null = null;
  private event: string | null = null;
  private id: string | null = null;

  /** Feeds bytes or text; returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const buffer = this.buffer.length > 0 ? this.buffer + text : text;
    const events: SseEvent[] = [];
    // Upstreams end lines with `\n`: then the lines are found with indexOf, which is many times faster than a loop
    // over the characters, needed only when a `\r` is about.
    const start = buffer.indexOf("\r") < 0 ? this.linesByNewline(buffer, events) : this.linesByAnyEnd(buffer, events);
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  /** Ends the stream: returns an event that was still open (tolerating a missing final blank line). */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    this.buffer += this.decoder.decode();
    if (this.buffer.length > 0) this.line(this.buffer.replace(/\r$/, ""), events);
    this.buffer = "";
    this.dispatch(events);
    return events;
  }

  /** Reads the complete `\n`-ended lines of `buffer`; returns where the unfinished rest starts. */
  private linesByNewline(buffer: string, events: SseEvent[]): number {
    let start = 0;
    for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n", start)) {
      if (end === start) this.dispatch(events);
      else if (buffer.startsWith("data: ", start)) this.addData(buffer.slice(start + 6, end));
      else this.line(buffer.slice(start, end), events);
      start = end + 1;
    }
    return start;
  }

  /** Reads the complete lines of `buffer` ended by `\n`, `\r\n` or `\r`; returns where the unfinished rest starts. */
  private linesByAnyEnd(buffer: string, events: SseEvent[]): number {
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
      if (c === 13 && i === buffer.length - 1) break;
      this.line(buffer.slice(start, i), events);
      if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    return start;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(events);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case "data":
        this.addData(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        this.id = value;
        break;
      default:
        // `retry` and unknown fields carry nothing an LLM client needs.
        break;
    }
  }

  private addData(value: string): void {
    if (this.data === null) this.data = value;
    else (this.moreData ??= []).push(value);
  }

  private dispatch(events: SseEvent[]): void {
    if (this.data !== null) {
      const data = this.moreData ? [this.data, ...this.moreData].join("\n") : this.data;
      events.push({ event: this.event, data, id: this.id });
    }
    this.data = null;
    this.moreData = null;
    this.event = null;
  }
}
