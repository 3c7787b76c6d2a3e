import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServerResponse } from "node:http";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import { finalResult, type CompletionRouter, type CompletionRun } from "../core/router.js";
import type { ApiType, RunEvent } from "../core/types.js";
import { errorBody, toAppError } from "../errors.js";
import { INFERENCE, requireKey } from "./auth.js";
import { parseCompletionRequest } from "../core/completion-request.js";
import { errorHeaders } from "./error-handler.js";
import { chunkJson, completionJson, errorChunkJson, usageChunkJson, type ChunkHeader } from "./openai-format.js";

export interface CompletionsRouteDeps {
  auth: KeyAuthenticator;
  router: CompletionRouter;
  /** Interval of `: SWITCHYARD PROCESSING` comments while a stream waits. */
  keepAliveMs: number;
}

const KEEP_ALIVE = ": SWITCHYARD PROCESSING\n\n";

/**
 * `POST /chat/completions` and `POST /completions`: authenticate, validate, hand the request to the core, and frame
 * the run as OpenAI JSON or server-sent events. No routing or billing rule lives here.
 */
export function registerCompletionRoutes(app: FastifyInstance, deps: CompletionsRouteDeps): void {
  app.post("/api/v1/chat/completions", (request, reply) => handle(deps, request, reply, "chat"));
  app.post("/api/v1/completions", (request, reply) => handle(deps, request, reply, "completions"));
}

async function handle(deps: CompletionsRouteDeps, request: FastifyRequest, reply: FastifyReply, apiType: ApiType): Promise<unknown> {
  const key = await requireKey(deps.auth, request, INFERENCE);
  const completion = parseCompletionRequest(request.body, apiType);
  const client = new AbortController();
  // The response's "close" before it finished means the client went away: stop the upstream and settle.
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) client.abort();
  });
  const run = await deps.router.start(completion, key.caller, client.signal);
  reply.header("x-generation-id", run.id);
  if (completion.stream) return streamRun(deps, reply, run, apiType, client.signal);
  return respondWhole(reply, run, apiType);
}

async function respondWhole(reply: FastifyReply, run: CompletionRun, apiType: ApiType): Promise<unknown> {
  const result = await finalResult(run);
  return reply.header(OVERHEAD_HEADER, overheadMs(reply, run)).send(completionJson(apiType, result));
}

/**
 * `X-Switchyard-Overhead-Ms`: the time the request spent in Switchyard itself — from its arrival to the response
 * headers, less the time spent waiting on upstream providers — with microsecond resolution.
 */
const OVERHEAD_HEADER = "x-switchyard-overhead-ms";

function overheadMs(reply: FastifyReply, run: CompletionRun): string {
  return Math.max(0, reply.elapsedTime - run.upstreamMs).toFixed(3);
}

/**
 * Streams a run. Until the first token the status is still open: an error then is a plain HTTP error. If the wait is
 * long, the stream opens early with keep-alive comments, and a later failure arrives in-band as an error chunk.
 */
async function streamRun(
  deps: CompletionsRouteDeps,
  reply: FastifyReply,
  run: CompletionRun,
  apiType: ApiType,
  clientGone: AbortSignal,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const iterator = run[Symbol.asyncIterator]();
  let header: ChunkHeader = { id: run.id, created: run.created, model: "", provider: "" };
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
      [OVERHEAD_HEADER]: overheadMs(reply, run),
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
        header = { id: run.id, created: run.created, model: event.model, provider: event.providerName };
        open();
        continue;
      }
      if (event.type === "chunk") {
        await write(res, `data: ${JSON.stringify(chunkJson(apiType, header, event.chunk))}\n\n`, clientGone);
        wrote();
        continue;
      }
      const { result } = event;
      const final = result.error ? errorChunkJson(apiType, header, result.error) : usageChunkJson(apiType, header, result);
      await write(res, `data: ${JSON.stringify(final)}\n\ndata: [DONE]\n\n`, clientGone);
    }
  } catch (caught) {
    const error = toAppError(caught);
    if (!opened) {
      opened = true;
      res.writeHead(error.status, { "content-type": "application/json; charset=utf-8", "x-generation-id": run.id, ...errorHeaders(error) });
      res.write(JSON.stringify(errorBody(error)));
    } else if (!clientGone.aborted) {
      await write(res, `data: ${JSON.stringify(errorChunkJson(apiType, header, error))}\n\ndata: [DONE]\n\n`, clientGone);
    }
  } finally {
    clearTimeout(keepAlive);
    if (clientGone.aborted) await iterator.return?.(undefined);
    res.end();
  }
}

/**
 * Writes and, when the socket's buffer is full, waits for it to drain (or for the client to leave). Chunks written in
 * the same turn of the event loop leave in one system call (cork until the next tick): each chunk still goes out as
 * soon as it arrived, without the cost of a write per chunk.
 */
function write(res: ServerResponse, text: string, clientGone: AbortSignal): Promise<void> | void {
  if (res.destroyed || clientGone.aborted) return;
  if (res.writableCorked === 0) {
    res.cork();
    process.nextTick(() => res.uncork());
  }
  if (res.write(text)) return;
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      clientGone.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    clientGone.addEventListener("abort", done, { once: true });
  });
}

