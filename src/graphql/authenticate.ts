import type { IncomingHttpHeaders } from "node:http";
import { hasSessionCookie, CSRF_HEADER } from "../accounts/sessions.js";
import type { GraphQLServices, Principal } from "./context.js";

/** The credentials of an operation: who it acts for, or nobody (with a note that a session cookie had ended). */
export interface Credentials {
  principal: Principal | null;
  sessionEnded: boolean;
}

/**
 * Authenticates a GraphQL request as the REST routes do (`requireAccount`): an `Authorization` header, when present,
 * decides (a bad key is UNAUTHENTICATED, not anonymity); otherwise the dashboard's session cookie, whose CSRF token
 * must come in `X-CSRF-Token` on methods other than GET, HEAD and OPTIONS (FORBIDDEN without it). Neither means an
 * anonymous operation, which only public fields (the catalog) accept.
 */
export async function authenticateRequest(
  services: GraphQLServices,
  request: { method?: string; headers: IncomingHttpHeaders },
  authorization: string | undefined = request.headers.authorization,
): Promise<Credentials> {
  if (authorization !== undefined) return { principal: { kind: "key", key: await services.auth.authenticate(authorization) }, sessionEnded: false };
  const session = await services.sessions.authenticate(request);
  if (session) return { principal: { kind: "session", session }, sessionEnded: false };
  return { principal: null, sessionEnded: hasSessionCookie(request.headers) };
}

/**
 * Authenticates a graphql-ws connection from its `connection_init` parameters and the upgrade request:
 * `connectionParams.authorization` (`Bearer <key>`), else the upgrade's `Authorization` header, else the session cookie.
 * Opening a socket with a cookie counts as a state-changing request: the session's CSRF token must come as
 * `connectionParams.csrfToken`, so a page on another site cannot open a socket with the user's cookie.
 */
export function authenticateConnection(
  services: GraphQLServices,
  upgrade: { headers: IncomingHttpHeaders },
  params: Readonly<Record<string, unknown>> | undefined,
): Promise<Credentials> {
  const authorization = typeof params?.authorization === "string" ? params.authorization : upgrade.headers.authorization;
  const csrf = typeof params?.csrfToken === "string" ? params.csrfToken : undefined;
  const headers: IncomingHttpHeaders = { cookie: upgrade.headers.cookie, ...(csrf !== undefined ? { [CSRF_HEADER]: csrf } : {}) };
  return authenticateRequest(services, { method: "POST", headers }, authorization);
}
