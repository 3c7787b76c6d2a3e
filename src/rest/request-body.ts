import type { IncomingMessage } from "node:http";
import { AppError } from "../errors.js";
import { mayHoldSurrogateEscape, unpairedSurrogatePath } from "../persistence/storable-text.js";

/**
 * Reads a request body as JSON, whatever its content type says (as the Fastify routes do, see app.ts): undefined when
 * it is empty, 413 `payload_too_large` above `limit` bytes (by its Content-Length at once, else as it arrives), 400
 * `invalid_request` when it is not JSON, and `cancelled` when the client leaves before sending all of it.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const fail = (error: AppError) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onError);
      reject(error);
    };
    const onData = (part: Buffer) => {
      size += part.length;
      if (size > limit) fail(tooLarge());
      else parts.push(part);
    };
    const onError = () => fail(new AppError("cancelled", "The client closed the connection before sending the whole request."));
    const onEnd = () => {
      req.off("error", onError);
      req.off("aborted", onError);
      try {
        resolve(parseJsonBody(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)));
      } catch (error) {
        reject(error);
      }
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onError);
  });
}

/**
 * A request body as JSON: undefined when empty; `invalid_request` (400) when it is not JSON, or when a string in it
 * holds an unpaired surrogate (`"\ud800"`): that is not Unicode text, and no provider or database could take it.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const text = body.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw notJson();
  }
  if (mayHoldSurrogateEscape(text)) {
    const path = unpairedSurrogatePath(value);
    if (path !== null) throw notUnicode(path);
  }
  return value;
}

/** The answer to a body whose string at `path` is not valid Unicode. */
export function notUnicode(path: string): AppError {
  return new AppError("invalid_request", `The request body is not valid Unicode: ${path} holds an unpaired UTF-16 surrogate.`, {
    metadata: { param: path },
  });
}

/** The answer to a body over the size limit (here and in Fastify's error handler). */
export function tooLarge(): AppError {
  return new AppError("payload_too_large", "The request body is larger than this server accepts.");
}

/** The answer to a body that is not JSON (here and in Fastify's error handler). */
export function notJson(): AppError {
  return new AppError("invalid_request", "The request body is not valid JSON.");
}
