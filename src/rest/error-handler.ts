import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { AppError, errorBody, toAppError } from "../errors.js";
import { notJson, tooLarge } from "./request-body.js";

/** HTTP headers an error carries: its own, plus `Retry-After` (whole seconds) when it says when to come back. */
export function errorHeaders(error: AppError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  return headers;
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).headers(errorHeaders(error)).send(errorBody(error));
}

/**
 * A request to `/graphql` refused before GraphQL saw it (a body that is not JSON, too large, not valid Unicode) is
 * answered as GraphQL answers: `{errors: [{message, extensions: {code}}]}`.
 */
function sendGraphQLError(reply: FastifyReply, error: AppError): FastifyReply {
  const extensions = { code: error.spec.graphql, status: error.status, ...(error.metadata ? { metadata: error.metadata } : {}) };
  return reply.code(error.status).headers(errorHeaders(error)).send({ errors: [{ message: error.message, extensions }] });
}

function isGraphQLPath(url: string): boolean {
  return url === "/graphql" || url.startsWith("/graphql?");
}

/**
 * Every REST error leaves in the OpenAI/OpenRouter shape `{error:{code,message,type,param,metadata}}`. Fastify's own
 * client errors (malformed JSON, body too large) become their registry codes; anything unexpected is a 500 with a
 * generic message, logged with its details (never sent to the client).
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | AppError, request, reply) => {
    let error: AppError;
    if (raw instanceof AppError) error = raw;
    else if (raw.code === "FST_ERR_CTP_BODY_TOO_LARGE" || raw.statusCode === 413) {
      error = tooLarge();
    } else if (raw.code === "FST_ERR_CTP_INVALID_JSON_BODY" || raw instanceof SyntaxError) {
      error = notJson();
    } else if (raw.statusCode && raw.statusCode >= 400 && raw.statusCode < 500) {
      error = new AppError(raw.statusCode === 404 ? "not_found" : "invalid_request", raw.message);
    } else {
      error = toAppError(raw);
    }
    if (error.status >= 500 && error.code === "internal") request.log.error({ err: raw }, "request failed");
    return isGraphQLPath(request.url) ? sendGraphQLError(reply, error) : sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new AppError("not_found", `No route for ${request.method} ${request.url.split("?")[0]}.`)),
  );
}
