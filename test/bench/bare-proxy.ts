import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { serveUntilParentEnds } from "./processes.js";

/**
 * The floor a Node gateway stands on: a minimal pass-through proxy on `node:http`, with nothing of a gateway in it (no
 * auth, parsing, routing, billing or record). It forwards each request as it is to the upstream over kept-alive
 * connections and pipes the answer back, chunk by chunk. The benchmark runs it where it runs the gateway (core 0) and
 * measures it the same way, so the gateway's figures can be read against what any Node proxy costs on this machine.
 *
 * `node bare-proxy.ts --upstream http://127.0.0.1:PORT` prints `{"port": N}` once listening.
 */
export function startBareProxy(upstream: string, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const server = createServer({ keepAlive: true, noDelay: true }, (req: IncomingMessage, res: ServerResponse) => {
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on("close", () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            agent.destroy();
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
  });
}

async function main(): Promise<void> {
  const upstream = process.argv[process.argv.indexOf("--upstream") + 1];
  if (!upstream?.startsWith("http://")) throw new Error("usage: bare-proxy.ts --upstream http://127.0.0.1:PORT");
  serveUntilParentEnds(await startBareProxy(upstream));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
