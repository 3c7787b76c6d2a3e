import type { FastifyRequest } from "fastify";
import type { ApiKeyKind } from "../accounts/api-key.entity.js";
import type { AuthenticatedKey, KeyAuthenticator } from "../accounts/key-auth.js";
import { hasSessionCookie, type SessionAuthenticator, type SessionPrincipal } from "../accounts/sessions.js";
import { AppError } from "../errors.js";

/**
 * Authenticates the request's Bearer key and checks it may use this route: inference routes take inference keys,
 * key management takes management keys, and routes that only read the key itself take either.
 */
export async function requireKey(
  auth: KeyAuthenticator,
  request: FastifyRequest,
  allowed: readonly ApiKeyKind[],
): Promise<AuthenticatedKey> {
  return checkKeyKind(await auth.authenticate(request.headers.authorization), allowed);
}

/** The key when its kind may use the route, else `forbidden` saying which kind the route needs. */
export function checkKeyKind(key: AuthenticatedKey, allowed: readonly ApiKeyKind[]): AuthenticatedKey {
  if (!allowed.includes(key.kind)) {
    throw new AppError(
      "forbidden",
      key.kind === "management"
        ? "This is a management key: it can only manage API keys. Use an API key for this request."
        : "This route needs a management key.",
    );
  }
  return key;
}

export const INFERENCE: readonly ApiKeyKind[] = ["inference"];
export const MANAGEMENT: readonly ApiKeyKind[] = ["management"];
export const ANY_KEY: readonly ApiKeyKind[] = ["inference", "management"];

/** The account a request acts for, and how it proved it: an API key, or a dashboard session. */
export interface AccountPrincipal {
  accountId: string;
  /** The key's hash when authenticated by a key; null for a session. */
  keyHash: string | null;
  /** The signed-in user when authenticated by a session; null for a key. */
  userId: string | null;
  kind: "key" | "session";
}

/**
 * Authenticates a request that acts for an account with either credential: a Bearer key of an `allowed` kind (when an
 * `Authorization` header is present, it decides, and cookies are ignored), or else a dashboard session cookie, which
 * on methods other than GET, HEAD and OPTIONS must come with its `X-CSRF-Token` header (403 `forbidden` without it).
 * Neither is `unauthenticated` (401).
 */
export async function requireAccount(
  auth: { keys: KeyAuthenticator; sessions: SessionAuthenticator },
  request: FastifyRequest,
  allowed: readonly ApiKeyKind[] = INFERENCE,
): Promise<AccountPrincipal> {
  if (request.headers.authorization !== undefined) {
    const key = await requireKey(auth.keys, request, allowed);
    return { accountId: key.accountId, keyHash: key.hash, userId: null, kind: "key" };
  }
  const session = await requireSession(auth.sessions, request);
  return { accountId: session.accountId, keyHash: null, userId: session.userId, kind: "session" };
}

/** A dashboard session (with its CSRF check on unsafe methods), or `unauthenticated` (401). */
export async function requireSession(sessions: SessionAuthenticator, request: FastifyRequest): Promise<SessionPrincipal> {
  const session = await sessions.authenticate(request);
  if (session) return session;
  throw new AppError(
    "unauthenticated",
    hasSessionCookie(request.headers) ? "The session has ended. Log in again." : "No auth credentials found.",
  );
}
