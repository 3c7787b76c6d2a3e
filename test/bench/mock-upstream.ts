import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { serveUntilParentEnds } from "./processes.js";

/**
 * The benchmark's upstream: an OpenAI-compatible server built to cost as little as possible, so that what a benchmark
 * measures is the gateway. Bodies are precomputed per shape, requests are never JSON-parsed, connections are kept alive.
 *
 * `POST [/c/<chunks>/d/<delayMs>]/v1/chat/completions` answers
 * - a request whose body contains `"stream":true` with server-sent events: `<chunks>` content chunks (the first also
 *   carries `role`), a finish chunk, a usage chunk and `data: [DONE]`. With a delay, the headers go out at once and chunk
 *   k (k = 1…) after k × delay ms, as a model producing tokens would; without one the whole stream is a single write.
 * - any other request with one `chat.completion` JSON body carrying the same text and usage.
 * The shape lives in the path so one mock serves several catalog providers (`http://127.0.0.1:PORT/c/60/d/20/v1`);
 * without the prefix it answers 10 chunks without delay.
 *
 * `GET /stats` answers `{"streams": {"open": n, "peak": n}, "requests": n}` (streams open right now and the most open
 * at once since the last `POST /stats/reset`): the benchmark uses it to see how many upstream streams a gateway holds.
 *
 * Run as a process (`node --import tsx test/bench/mock-upstream.ts [--port N]`) it prints `{"port": N}` on one line once
 * listening, and exits when its standard input closes (so it never outlives the benchmark that started it).
 */

/** Usage reported for every answer; completion tokens equal the number of chunks. */
export const MOCK_PROMPT_TOKENS = 12;

/** The text of content chunk `i` (0-based); the answer is these concatenated. */
export function chunkText(i: number): string {
  return `tok${i} `;
}

interface Shape {
  chunks: number;
  delayMs: number;
}

interface Bodies {
  json: Buffer;
  /** The whole stream in one buffer (no delay). */
  stream: Buffer;
  /** The stream split for pacing: one buffer per content chunk… */
  content: Buffer[];
  /** …and one with the finish chunk, the usage chunk and `[DONE]`. */
  tail: Buffer;
}

const ID = "chatcmpl-bench";
const CREATED = 1_700_000_000;
const MODEL = "bench-upstream";
const SHAPE_PATH = /^\/c\/(\d{1,5})\/d\/(\d{1,5})(\/.*)$/;
const DEFAULT_SHAPE: Shape = { chunks: 10, delayMs: 0 };

const bodiesByChunks = new Map<number, Bodies>();

function bodiesFor(chunks: number): Bodies {
  let bodies = bodiesByChunks.get(chunks);
  if (bodies) return bodies;
  const usage = { prompt_tokens: MOCK_PROMPT_TOKENS, completion_tokens: chunks, total_tokens: MOCK_PROMPT_TOKENS + chunks };
  const head = { id: ID, object: "chat.completion.chunk", created: CREATED, model: MODEL };
  const event = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
  const content: string[] = [];
  let text = "";
  for (let i = 0; i < chunks; i++) {
    const delta = i === 0 ? { role: "assistant", content: chunkText(i) } : { content: chunkText(i) };
    content.push(event({ ...head, choices: [{ index: 0, delta, finish_reason: null }] }));
    text += chunkText(i);
  }
  const tail =
    event({ ...head, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
    event({ ...head, choices: [], usage }) +
    "data: [DONE]\n\n";
  const json = {
    id: ID,
    object: "chat.completion",
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage,
  };
  bodies = {
    json: Buffer.from(JSON.stringify(json)),
    stream: Buffer.from(content.join("") + tail),
    content: content.map((c) => Buffer.from(c)),
    tail: Buffer.from(tail),
  };
  bodiesByChunks.set(chunks, bodies);
  return bodies;
}

const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const NOT_FOUND = Buffer.from(JSON.stringify({ error: { message: "No such route on the benchmark mock.", type: "not_found_error" } }));

export interface MockUpstream {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the mock on 127.0.0.1 (`port` 0: a free port). */
export async function startMockUpstream(port = 0): Promise<MockUpstream> {
  let open = 0;
  let peak = 0;
  let requests = 0;

  const stream = (res: ServerResponse, shape: Shape) => {
    const bodies = bodiesFor(shape.chunks);
    res.writeHead(200, SSE_HEADERS);
    if (shape.delayMs === 0) {
      res.end(bodies.stream);
      return;
    }
    open++;
    if (open > peak) peak = open;
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      open--;
      if (timer) clearTimeout(timer);
    };
    // Chunk k is due k × delay after the start, so timer lateness does not accumulate over 60 chunks. The tail
    // (finish, usage, [DONE]) follows the last content chunk in the same write.
    const started = performance.now();
    const tick = () => {
      timer = undefined;
      if (next === bodies.content.length - 1) {
        res.end(Buffer.concat([bodies.content[next], bodies.tail]));
        finish();
        return;
      }
      res.write(bodies.content[next]);
      next++;
      timer = setTimeout(tick, Math.max(0, started + (next + 1) * shape.delayMs - performance.now()));
    };
    res.once("close", finish);
    timer = setTimeout(tick, shape.delayMs);
  };

  const server = createServer({ keepAlive: true, noDelay: true }, (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const match = SHAPE_PATH.exec(req.url ?? "");
    const rest = match ? match[3] : (req.url ?? "");
    const shape = match ? { chunks: Math.max(1, Number(match[1])), delayMs: Number(match[2]) } : DEFAULT_SHAPE;
    if (req.method === "GET" && rest === "/stats") {
      res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ streams: { open, peak }, requests }));
      return;
    }
    if (req.method === "POST" && rest === "/stats/reset") {
      peak = open;
      requests = 0;
      req.resume();
      res.writeHead(204).end();
      return;
    }
    if (req.method !== "POST" || !rest.endsWith("/chat/completions")) {
      req.resume();
      res.writeHead(404, JSON_HEADERS).end(NOT_FOUND);
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      if (body.includes('"stream":true')) stream(res, shape);
      else res.writeHead(200, JSON_HEADERS).end(bodiesFor(shape.chunks).json);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const portArg = process.argv.indexOf("--port");
  serveUntilParentEnds(await startMockUpstream(portArg > 0 ? Number(process.argv[portArg + 1]) : 0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
