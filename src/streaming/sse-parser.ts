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
  private buffer = "";
  private data: string[] = [];
  private event: string | null = null;
  private id: string | null = null;

  /** Feeds bytes or text; returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
      if (c === 13 && i === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, i), events);
      if (c === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
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
        this.data.push(value);
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

  private dispatch(events: SseEvent[]): void {
    if (this.data.length > 0) events.push({ event: this.event, data: this.data.join("\n"), id: this.id });
    this.data = [];
    this.event = null;
  }
}
