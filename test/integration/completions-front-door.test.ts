import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyAuthenticator } from "../../src/accounts/key-auth.js";
import type { CompletionRouter } from "../../src/core/router.js";
import { AppError } from "../../src/errors.js";
import { completionsFrontDoor, type CompletionsFrontDoor } from "../../src/rest/completions.route.js";

interface ErrorBody {
  error: { code: number; message: string; metadata: { error_type: string } };
}

/**
 * The completion front door on its own HTTP server: what it takes, what it leaves to the rest of the server, and how
 * it answers while the server shuts down. The routing core never runs here (the key is refused first, or the door is
 * closed); the full request path is in completions.test.ts.
 */
describe("the completion front door", () => {
  let server: Server;
  let door: CompletionsFrontDoor;
  let base: string;
  beforeAll(async () => {
    const auth = {
      authenticate: async () => {
        throw new AppError("unauthenticated", "No auth credentials found.");
      },
    } as unknown as KeyAuthenticator;
    door = completionsFrontDoor({ auth, router: {} as CompletionRouter, keepAliveMs: 1000, bodyLimitBytes: 64, log: { error: () => {} } });
    server = createServer((req, res) => {
      if (door.serve(req, res)) return;
      res.writeHead(299).end("not mine");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const post = (path: string, body: string) => fetch(`${base}${path}`, { method: "POST", body, headers: { "content-type": "text/plain" } });

  it("takes only POST to the two completion paths (a query string allowed), and leaves everything else", async () => {
    expect((await post("/api/v1/chat/completions?x=1", "{}")).status).toBe(401);
    expect((await post("/api/v1/completions", "{}")).status).toBe(401);
    for (const response of [
      await fetch(`${base}/api/v1/chat/completions`),
      await post("/api/v1/chat/completions/", "{}"),
      await post("/api/v1/models", "{}"),
    ]) {
      expect(response.status).toBe(299);
    }
  });

  it("reads the body before the key: malformed JSON and a body over the limit are client errors that close the connection", async () => {
    const malformed = await post("/api/v1/chat/completions", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("connection")).toBe("close");
    expect(((await malformed.json()) as ErrorBody).error).toMatchObject({ code: 400, message: "The request body is not valid JSON.", metadata: { error_type: "invalid_request" } });
    const large = await post("/api/v1/chat/completions", JSON.stringify({ padding: "x".repeat(100) }));
    expect(large.status).toBe(413);
    // The rest of a body too large to read is not read: the connection closes after the answer, as Fastify does.
    expect(large.headers.get("connection")).toBe("close");
    expect(((await large.json()) as ErrorBody).error.metadata.error_type).toBe("payload_too_large");
  });

  it("answers 503 shutting_down, closing the connection, once the server shuts down", async () => {
    door.close();
    const response = await post("/api/v1/chat/completions", "{}");
    expect(response.status).toBe(503);
    expect(response.headers.get("connection")).toBe("close");
    expect(((await response.json()) as ErrorBody).error).toMatchObject({ code: 503, metadata: { error_type: "shutting_down" } });
  });
});
