import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { DashboardAuthService, DashboardIdentity } from "../accounts/dashboard-auth.service.js";
import { clearedSessionCookieHeader, cookieIsSecure, sessionCookieHeader } from "../accounts/session-cookie.js";
import type { SessionAuthenticator } from "../accounts/sessions.js";
import { AppError } from "../errors.js";
import { plainText } from "../validation.js";
import { requireSession } from "./auth.js";

export interface SessionCookieOptions {
  /** Production always sends `Secure` cookies. */
  production: boolean;
  /** The cookie's `Max-Age`: the session's maximum age. */
  maxAgeMs: number;
}

export interface AuthRouteDeps {
  dashboard: DashboardAuthService;
  sessions: SessionAuthenticator;
  cookie: SessionCookieOptions;
}

const signupSchema = z.object({
  email: z.string(),
  password: z.string(),
  name: plainText(200).optional(),
});
const loginSchema = z.object({ email: z.string().max(1024), password: z.string() });

/**
 * Dashboard sessions for browsers: `POST /auth/signup`, `POST /auth/login`, `POST /auth/logout` and `GET /auth/session`.
 * Signup, login and session answer `{data:{account:{id,name}, user:{id,email}, csrf_token}}`; the session itself
 * travels only in the HttpOnly `sy_session` cookie. Every answer is `Cache-Control: no-store`.
 */
export function registerAuthRoutes(app: FastifyInstance, deps: AuthRouteDeps): void {
  app.post("/api/v1/auth/signup", async (request, reply) => {
    const input = parseBody(signupSchema, request.body);
    const signedIn = await deps.dashboard.signup(input, clientOf(request));
    setSessionCookie(reply, request, deps.cookie, signedIn.session.token);
    return reply.code(201).send(sessionBody(signedIn, signedIn.session.csrfToken));
  });

  app.post("/api/v1/auth/login", async (request, reply) => {
    const input = parseBody(loginSchema, request.body);
    const signedIn = await deps.dashboard.login(input, clientOf(request));
    setSessionCookie(reply, request, deps.cookie, signedIn.session.token);
    return reply.send(sessionBody(signedIn, signedIn.session.csrfToken));
  });

  app.post("/api/v1/auth/logout", async (request, reply) => {
    // Without a live session there is nothing to end; the cookie is cleared either way. With one, the CSRF header is
    // required like on any other state-changing request, so another site cannot log the user out.
    const session = await deps.sessions.authenticate(request);
    if (session) await deps.sessions.end(session.tokenHash);
    clearSessionCookie(reply, request, deps.cookie);
    return reply.code(204).send();
  });

  app.get("/api/v1/auth/session", async (request, reply) => {
    const session = await requireSession(deps.sessions, request);
    const identity = await deps.dashboard.identity(session.userId);
    if (!identity) throw new AppError("unauthenticated", "The session has ended. Log in again.");
    reply.header("cache-control", "no-store");
    return sessionBody(identity, session.csrfToken);
  });
}

export function setSessionCookie(reply: FastifyReply, request: FastifyRequest, options: SessionCookieOptions, token: string): void {
  reply.header("set-cookie", sessionCookieHeader(token, options.maxAgeMs, secureFor(request, options)));
  reply.header("cache-control", "no-store");
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, options: SessionCookieOptions): void {
  reply.header("set-cookie", clearedSessionCookieHeader(secureFor(request, options)));
  reply.header("cache-control", "no-store");
}

function secureFor(request: FastifyRequest, options: SessionCookieOptions): boolean {
  return cookieIsSecure({ production: options.production, protocol: request.protocol, hostname: request.hostname });
}

function clientOf(request: FastifyRequest): { ip: string; userAgent: string | null } {
  return { ip: request.ip, userAgent: request.headers["user-agent"] ?? null };
}

function sessionBody(identity: DashboardIdentity, csrfToken: string) {
  return { data: { account: identity.account, user: identity.user, csrf_token: csrfToken } };
}

/**
 * Validates a body holding credentials. Unlike the general request validation, the message names the field and what
 * was expected but never echoes what arrived: it may be a password.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.map(String).join(".") || "(body)";
  const expected = issue.code === "invalid_type" ? `expected ${issue.expected}` : issue.message;
  throw new AppError("invalid_request", `Invalid request: ${field}: ${expected}.`, { metadata: { param: field } });
}
