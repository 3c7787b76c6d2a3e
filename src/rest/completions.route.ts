import type { IncomingMessage, ServerResponse } from "node:http";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import { parseCompletionRequest } from "../core/completion-request.js";
import type { CompletionRouter, CompletionRun } from "../core/router.js";
import type { ApiType, CompletionResult, RunEvent } from "../core/types.js";
import { AppError, errorBody, toAppError } from "../errors.js";
import { INFERENCE, checkKeyKind } from "./auth.js";
import { errorHeaders } from "./error-handler.js";
import { ChunkWriter, completionJson } from "./openai-format.js";
import { readJsonBody } from "./request-body.js";

export interface CompletionsRouteDeps {
  auth: KeyAuthenticator;
  router: CompletionRouter;
  /** Interval of `: SWITCHYARD PROCESSING` comments while a stream waits. */
  keepAliveMs: number;
  /** The largest request body accepted (413 `payload_too_large` above it). */
  bodyLimitBytes: number;
  log: { error(details: Record<string, unknown>, message: string): void };
}

/** The completion front door, served by the HTTP server itself ahead of Fastify. */
export interface CompletionsFrontDoor {
  /** Serves the request when it is `POST /api/v1/chat/completions` or `POST /api/v1/completions`; false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** From now on new requests get 503 (the server is shutting down); requests in flight finish. */
  close(): void;
}

const ROUTES: ReadonlyMap<string, ApiType> = new Map([
  ["/api/v1/chat/completions", "chat"],
  ["/api/v1/completions", "completions"],
]);
const KEEP_ALIVE = ": SWITCHYARD PROCESSING\n\n";
const JSON_CONTENT = "application/json; charset=utf-8";

/**
 * `POST /chat/completions` and `POST /completions`: authenticate, validate, hand the request to the core, and frame
 * the run as OpenAI JSON or server-sent events. No routing or billing rule lives here.
 *
 * These two routes carry nearly all the traffic, so they run on `node:http` directly instead of through Fastify's
 * request pipeline (routing, hooks, request and reply objects, a logger per request): every other route stays in
 * Fastify. Errors leave in the same shape as Fastify's error handler gives them (see error-handler.ts).
 */
export function completionsFrontDoor(deps: CompletionsRouteDeps): CompletionsFrontDoor {
  let closing = false;
  return {
    serve(req, res) {
      if (req.method !== "POST") return false;
      const url = req.url ?? "";
      const query = url.indexOf("?");
      const apiType = ROUTES.get(query < 0 ? url : url.slice(0, query));
      if (!apiType) return false;
      const arrivedAt = performance.now();
      if (closing) {
        res.setHeader("connection", "close");
        sendError(res, new AppError("shutting_down"), null);
        return true;
      }
      handle(deps, req, res, apiType, arrivedAt).catch((caught: unknown) => {
        const error = reported(deps, caught);
        if (!res.headersSent) sendError(res, error, null);
        else res.destroy();
      });
      return true;
    },
    close() {
      closing = true;
    },
  };
}

async function handle(deps: CompletionsRouteDeps, req: IncomingMessage, res: ServerResponse, apiType: ApiType, arrivedAt: number): Promise<void> {
  // The response's "close" before it finished means the client went away: stop the upstream and settle.
  const client: Client = { gone: false, run: null };
  res.on("close", () => {
    if (res.writableFinished) return;
    client.gone = true;
    client.run?.cancel();
  });
  let body: unknown;
  try {
    body = await readJsonBody(req, deps.bodyLimitBytes);
  } catch (error) {
    // As Fastify does after a body error: the client may still be sending, and what it sends is not read.
    res.setHeader("connection", "close");
    throw error;
  }
  const key = checkKeyKind(await deps.auth.authenticate(req.headers.authorization), INFERENCE);
  const completion = parseCompletionRequest(body, apiType);
  const run = await deps.router.start(completion, key.caller);
  client.run = run;
  if (client.gone) run.cancel();
  const overhead = () => Math.max(0, performance.now() - arrivedAt - run.upstreamMs).toFixed(3);
  if (completion.stream) return streamRun(deps, res, run, apiType, client, overhead);
  let result: CompletionResult;
  try {
    result = await run.result();
  } catch (error) {
    sendError(res, reported(deps, error), run.id);
    return;
  }
  const json = JSON.stringify(completionJson(apiType, result));
  res.writeHead(200, {
    "content-type": JSON_CONTENT,
    "content-length": Buffer.byteLength(json),
    "x-generation-id": run.id,
    [OVERHEAD_HEADER]: overhead(),
  });
  res.end(json);
}

/** The error as the client gets it; an unexpected one (a bug: `internal`) is logged with its details first. */
function reported(deps: CompletionsRouteDeps, caught: unknown): AppError {
  const error = toAppError(caught);
  if (error.code === "internal") deps.log.error({ err: caught }, "request failed");
  return error;
}

/** Whether the client went away before its answer was complete, and the run to cancel then. */
interface Client {
  gone: boolean;
  run: CompletionRun | null;
}

/**
 * `X-Switchyard-Overhead-Ms`: the time the request spent in Switchyard itself — from its arrival to the response
 * headers, less the time spent waiting on upstream providers — with microsecond resolution.
 */
const OVERHEAD_HEADER = "x-switchyard-overhead-ms";

/** An error answer in the OpenAI shape, with the error's headers (and the generation id once a run started). */
function sendError(res: ServerResponse, error: AppError, generationId: string | null): void {
  const json = JSON.stringify(errorBody(error));
  const headers: Record<string, string | number> = { "content-type": JSON_CONTENT, "content-length": Buffer.byteLength(json), ...errorHeaders(error) };
  if (generationId) headers["x-generation-id"] = generationId;
  res.writeHead(error.status, headers);
  res.end(json);
}

/**
 * Streams a run. Until the first token the status is still open: an error then is a plain HTTP error. If the wait is
 * long, the stream opens early with keep-alive comments, and a later failure arrives in-band as an error chunk.
 */
async function streamRun(
  deps: CompletionsRouteDeps,
  res: ServerResponse,
  run: CompletionRun,
  apiType: ApiType,
  client: Client,
  overhead: () => string,
): Promise<void> {
  const iterator = run[Symbol.asyncIterator]();
  const chunks = new ChunkWriter(apiType, run.id, run.created);
  const out = new EventWriter(res, client);
  let opened = false;
  const open = () => {
    if (opened) return;
    opened = true;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "x-generation-id": run.id,
      [OVERHEAD_HEADER]: overhead(),
    });
  };
  let keepAlive = setTimeout(function tick() {
    open();
    res.write(KEEP_ALIVE);
    keepAlive = setTimeout(tick, deps.keepAliveMs);
  }, deps.keepAliveMs);
  const wrote = () => keepAlive.refresh();
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done) break;
      const event: RunEvent = step.value;
      if (event.type === "start") {
        chunks.startAnswer(event.model, event.providerName);
        open();
        continue;
      }
      if (event.type === "chunk") {
        await out.write(`data: ${chunks.chunk(event.chunk)}\n\n`);
        wrote();
        continue;
      }
      const { result } = event;
      const final = result.error ? chunks.error(result.error) : chunks.usage(result);
      await out.write(`data: ${final}\n\ndata: [DONE]\n\n`);
    }
  } catch (caught) {
    const error = reported(deps, caught);
    if (!opened) {
      opened = true;
      sendError(res, error, run.id);
    } else if (!client.gone) {
      await out.write(`data: ${chunks.error(error)}\n\ndata: [DONE]\n\n`);
    }
  } finally {
    clearTimeout(keepAlive);
    if (client.gone) await iterator.return?.(undefined);
    out.end();
  }
}

/**
 * The events of one stream, written as they come: those of the same turn of the event loop (a network read of the
 * upstream often brings several) leave in one write at the end of the turn, so each chunk still goes out as soon as it
 * arrived, without the cost of a write per chunk (a chunked HTTP body frames every write). When the socket's buffer is
 * full, `write` returns a promise that resolves once it drains (or the client leaves): the caller stops reading the
 * upstream until then.
 */
/** Pending text written at once, without waiting for the end of the turn (Node's default stream buffer size). */
const FLUSH_AT_CHARS = 16 * 1024;

class EventWriter {
  private pending = "";
  private scheduled = false;
  private draining: Promise<void> | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly client: Client,
  ) {}

  write(text: string): Promise<void> | null {
    if (this.res.destroyed || this.client.gone) return null;
    this.pending += text;
    // A producer that never yields to the event loop (an in-process provider) must not pile a whole answer up here.
    if (this.pending.length >= FLUSH_AT_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
    return this.draining;
  }

  /** Writes what is pending and ends the response. */
  end(): void {
    this.scheduled = true;
    const text = this.pending;
    this.pending = "";
    if (text && !this.res.destroyed) this.res.end(text);
    else this.res.end();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending === "" || this.res.writableEnded) return;
    const text = this.pending;
    this.pending = "";
    if (this.res.destroyed || this.res.write(text) || this.draining) return;
    this.draining = new Promise((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        this.draining = null;
        resolve();
      };
      this.res.once("drain", done);
      this.res.once("close", done);
    });
  }
}
