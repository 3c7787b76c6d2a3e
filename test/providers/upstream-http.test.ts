import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpstreamCall } from "../../src/core/ports.js";
import { UpstreamHttp } from "../../src/providers/upstream-http.js";
import { AppError } from "../../src/errors.js";

/** A body of `size` bytes whose every byte is known (its index mod 251), to check order and completeness. */
function pattern(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

const BIG = pattern(4 * 1024 * 1024);

describe("UpstreamHttp (the upstream client both HTTP adapters use)", () => {
  let server: Server;
  let base: string;
  let connections = 0;
  const http = new UpstreamHttp({ connectTimeoutMs: 2000 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(BIG);
      } else if (req.url === "/reset") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n");
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ path: req.url, method: req.method }));
      }
    });
    server.on("connection", () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (signal = new AbortController().signal) =>
    ({ endpoint: { provider: { name: "Test", slug: "test" } }, stream: false, signal }) as unknown as UpstreamCall;

  async function readAll(body: AsyncIterable<Uint8Array | string>, pauseEvery = 0): Promise<Buffer> {
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of body) {
      parts.push(Buffer.from(chunk));
      // A slow reader: the client must hold back (pause the connection), not lose or reorder bytes.
      if (pauseEvery > 0 && ++n % pauseEvery === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return Buffer.concat(parts);
  }

  it("delivers a 4 MiB body to a slow reader whole and in order, and keeps the connection for the next call", async () => {
    const before = connections;
    const first = await http.post(call(), `${base}/big`, {}, {});
    expect(first.status).toBe(200);
    expect((await readAll(first.body, 4)).equals(BIG)).toBe(true);
    // The connection returns to the pool once undici has finished with the response, a moment after its last byte.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await http.post(call(), `${base}/echo?x=1`, {}, {});
    expect(JSON.parse((await readAll(second.body)).toString())).toEqual({ path: "/echo?x=1", method: "POST" });
    expect(connections - before).toBe(1);
  });

  it("gives up the connection when the reader stops early, and the next call still works", async () => {
    const response = await http.post(call(), `${base}/big`, {}, {});
    for await (const chunk of response.body) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    const next = await http.post(call(), `${base}/echo`, {}, {});
    expect(JSON.parse((await readAll(next.body)).toString())).toMatchObject({ path: "/echo" });
  });

  it("hands the reader what arrived, then the transport's error when the connection is reset mid-body", async () => {
    const response = await http.post(call(), `${base}/reset`, {}, {});
    const reader = response.body[Symbol.asyncIterator]();
    expect(Buffer.from((await reader.next()).value as Uint8Array).toString()).toBe("data: first\n\n");
    await expect(reader.next()).rejects.toBeInstanceOf(Error);
  });

  it("ends a call when its signal aborts, before and after the answer's headers", async () => {
    const early = new AbortController();
    early.abort(new Error("stop"));
    await expect(http.post(call(early.signal), `${base}/echo`, {}, {})).rejects.toThrow("stop");
    const late = new AbortController();
    const response = await http.post(call(late.signal), `${base}/reset`, {}, {});
    const reader = response.body[Symbol.asyncIterator]();
    await reader.next();
    late.abort(new Error("client left"));
    await expect(reader.next()).rejects.toThrow("client left");
  });

  it("turns a refused connection into the provider's retryable provider_error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await http.post(call(), `http://127.0.0.1:${port}/x`, {}, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "provider_error", message: "Could not reach Test: connection refused." });
  });
});
