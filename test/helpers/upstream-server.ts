import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import { SimulatedConnectionReset, simulate } from "../../src/providers/simulated/engine.js";
import type { WireResponse } from "../../src/providers/openai-wire.js";
import { simulationSchema, type Simulation } from "../../src/providers/simulated/scenario.js";

/**
 * A real OpenAI-compatible upstream for tests: an HTTP server on 127.0.0.1 and a free port that answers
 * `POST /v1/chat/completions` by running the simulated model (`simulate()`) and writing its status, headers and body
 * to the socket. Faults therefore happen on the wire: a `SimulatedConnectionReset` before the response resets the
 * socket, one during the body drops the connection mid-answer, and a client that disconnects aborts the simulation.
 * Every request is recorded (headers and body) so tests can assert what an adapter sent. The server itself
 * (`startTestServer`) is shared with the fake Anthropic upstream (`anthropic-server.ts`), which answers in its protocol.
 */

/** A simulation as written in a catalog (defaults not yet applied). */
export type SimulationInput = z.input<typeof simulationSchema>;

/** A fixed reply, for behaviour the simulation cannot express (odd error bodies, echoing what was received). */
export interface UpstreamReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  /** Lower-cased, as Node delivers them. */
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed JSON body, or null when it was not a JSON object. */
  body: Record<string, unknown> | null;
  /** True once the client went away before the response was complete. */
  clientDisconnected: boolean;
}

/**
 * What the upstream does: one simulation for every request, or a choice per request. `faultTimes` is counted per
 * upstream model name (the request body's `model`), as the simulated adapter counts it per endpoint.
 */
export type UpstreamBehaviour = SimulationInput | ((request: RecordedRequest) => SimulationInput | UpstreamReply);

export interface UpstreamServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** What a provider's `baseUrl` is set to: `<url>/v1` for an OpenAI-compatible server. */
  readonly baseUrl: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Drops open connections (aborting running simulations) and stops listening. */
  close(): Promise<void>;
}

/**
 * How a test server answers one recorded request: a fixed reply, or a response whose body is produced as it goes.
 * `signal` aborts when the client disconnects. Throwing `SimulatedConnectionReset` (before the response, or from its
 * body) drops the connection as a crashed upstream would.
 */
export type Responder = (request: RecordedRequest, signal: AbortSignal) => UpstreamReply | WireResponse | Promise<UpstreamReply | WireResponse>;

const CHAT_PATH = "/v1/chat/completions";

/** An OpenAI-compatible upstream running the simulated model; see the top of this file. */
export async function startUpstreamServer(behaviour: UpstreamBehaviour): Promise<UpstreamServer> {
  const faults = new FaultCounter();
  const choose = typeof behaviour === "function" ? behaviour : () => behaviour;
  return startTestServer({
    basePath: "/v1",
    respond(recorded, signal) {
      if (recorded.method !== "POST" || recorded.url !== CHAT_PATH) {
        return { status: 404, body: errorJson(`No route for ${recorded.method} ${recorded.url}`, "not_found_error") };
      }
      if (!recorded.body) return { status: 400, body: errorJson("The body is not a JSON object.", "invalid_request_error") };
      const choice = choose(recorded);
      if ("status" in choice) return choice;
      const simulation = simulationSchema.parse(choice);
      return simulate(recorded.body, simulation, { signal, injectFault: faults.inject(String(recorded.body.model), simulation) });
    },
  });
}

/** Counts requests per upstream model, for faults limited to the first N requests (`faultTimes`). */
export class FaultCounter {
  private readonly counts = new Map<string, number>();

  /** Counts a request for `model`; whether it gets the simulation's fault. */
  inject(model: string, simulation: Simulation): boolean {
    const count = (this.counts.get(model) ?? 0) + 1;
    this.counts.set(model, count);
    return simulation.fault !== undefined && (simulation.faultTimes === undefined || count <= simulation.faultTimes);
  }
}

/**
 * A test upstream on 127.0.0.1 and a free port: records every request, lets `respond` answer it, and writes the answer
 * to the socket, so faults happen on the wire (see the top of this file). `basePath` is appended to the server's URL to
 * make its `baseUrl`.
 */
export async function startTestServer(options: { basePath: string; respond: Responder }): Promise<UpstreamServer> {
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      rawBody,
      body: parseObject(rawBody),
      clientDisconnected: false,
    };
    requests.push(recorded);

    const controller = new AbortController();
    let closedByUs = false;
    res.on("close", () => {
      if (res.writableFinished || closedByUs) return;
      recorded.clientDisconnected = true;
      controller.abort(new Error("client disconnected"));
    });

    let response;
    try {
      response = await options.respond(recorded, controller.signal);
    } catch (error) {
      closedByUs = true;
      // Nothing of the response has been sent: a real reset (RST) is safe and is what a crashed upstream looks like.
      if (error instanceof SimulatedConnectionReset) req.socket.resetAndDestroy();
      else if (!controller.signal.aborted) reply(res, { status: 500, body: JSON.stringify({ error: { message: String(error) } }) });
      return;
    }
    if (typeof response.body === "string") return reply(res, response as UpstreamReply);
    res.writeHead(response.status, response.headers);
    res.flushHeaders();
    try {
      for await (const piece of response.body) {
        if (!res.write(piece)) await once(res, "drain", { signal: controller.signal });
      }
      res.end();
    } catch {
      closedByUs = true;
      // Mid-body: flush what was written, then close (FIN, not RST) without ending the HTTP body, so the client reads
      // every token sent before the cut and then a connection that closed mid-answer. Destroying at once would drop
      // writes still buffered in the process; a reset would let the client's kernel discard unread tokens.
      req.socket.end(() => req.socket.destroy());
    }
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseUrl: `${url}${options.basePath}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port that was free a moment ago), for connection-refused tests. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

function reply(res: ServerResponse, response: UpstreamReply): void {
  res.writeHead(response.status, { "content-type": "application/json", ...response.headers });
  res.end(response.body);
}

function errorJson(message: string, type: string): string {
  return JSON.stringify({ error: { message, type, param: null, code: null } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
