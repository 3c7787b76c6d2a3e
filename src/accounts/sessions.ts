import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { AppError } from "../errors.js";
import type { Queryable } from "../persistence/sql.js";
import { SESSION_COOKIE, readCookie } from "./session-cookie.js";

/** The header that carries a session's CSRF token on every cookie-authenticated request that is not GET, HEAD or OPTIONS. */
export const CSRF_HEADER = "x-csrf-token";

/** Who a valid session cookie belongs to. */
export interface SessionPrincipal {
  accountId: string;
  userId: string;
  /** The session's CSRF token, to give back to the dashboard (`X-CSRF-Token` on unsafe requests). */
  csrfToken: string;
  /** SHA-256 hex of the cookie token: the session's id in the `session` table. */
  tokenHash: string;
}

/** A session just started: the cookie value (shown once, never stored) and its CSRF token. */
export interface NewSession {
  token: string;
  tokenHash: string;
  csrfToken: string;
  expiresAt: Date;
}

/** What authentication needs of a request: a Fastify request and a raw `IncomingMessage` (a WebSocket upgrade) both fit. */
export interface SessionRequest {
  method?: string;
  headers: IncomingHttpHeaders;
}

export interface SessionOptions {
  /** A session unused this long ends (sliding expiry). */
  idleTimeoutMs: number;
  /** A session ends this long after it started, used or not. */
  maxAgeMs: number;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** `last_seen_at` and the sliding expiry are written at most this often per session, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Dashboard sessions: an opaque 256-bit random token in an HttpOnly cookie, stored server-side only as its SHA-256, so
 * deleting the row ends the session everywhere (logout, account deletion). The token is not signed: it is unguessable,
 * and it is looked up in the table on every request, so a signature would add nothing.
 *
 * CSRF (synchronizer token): each session's CSRF token is an HMAC of the cookie token, so it needs no storage, cannot be
 * computed by anyone who cannot read the cookie (HttpOnly: no script can), and changes with every login. It is handed
 * to the dashboard in the signup, login and session responses, and must come back in `X-CSRF-Token` on every
 * cookie-authenticated request that is not GET, HEAD or OPTIONS. Bearer-key requests are not cookie-authenticated and
 * need no token. A WebSocket handshake is a GET; a WebSocket server should pass the token from its connection
 * parameters as `x-csrf-token` with `method: "POST"`, so connections are checked like any other state-changing request.
 */
export class SessionAuthenticator {
  constructor(
    private readonly db: Queryable,
    private readonly options: SessionOptions,
  ) {}

  /** Starts a session for a user and clears that user's expired sessions. */
  async start(input: { userId: string; accountId: string; userAgent?: string | null }): Promise<NewSession> {
    const token = randomBytes(32).toString("base64url");
    const tokenHash = hashSessionToken(token);
    await this.db.query("delete from session where user_id = $1 and expires_at <= now()", [input.userId]);
    const [row] = await this.db.query<{ expires_at: Date }>(
      `insert into session (token_hash, user_id, account_id, expires_at, user_agent)
       values ($1, $2, $3, now() + $4::double precision * interval '1 millisecond', $5)
       returning expires_at`,
      [tokenHash, input.userId, input.accountId, Math.min(this.options.idleTimeoutMs, this.options.maxAgeMs), input.userAgent?.slice(0, 512) ?? null],
    );
    return { token, tokenHash, csrfToken: csrfTokenFor(token), expiresAt: row.expires_at };
  }

  /**
   * The session of the request's `sy_session` cookie, or null when there is none or it has ended (logged out, expired,
   * account deleted). For methods other than GET, HEAD and OPTIONS the `X-CSRF-Token` header must carry the session's
   * CSRF token: missing or wrong is `forbidden` (403). Using a session slides its expiry forward.
   */
  async authenticate(request: SessionRequest): Promise<SessionPrincipal | null> {
    const token = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (!token || !TOKEN.test(token)) return null;
    const tokenHash = hashSessionToken(token);
    const [row] = await this.db.query<{ user_id: string; account_id: string }>(
      `with found as (
         select s.token_hash, s.user_id, s.account_id
           from session s join account a on a.id = s.account_id
          where s.token_hash = $1 and s.expires_at > now() and a.deleted_at is null
       ), touched as (
         update session s
            set last_seen_at = now(),
                expires_at = least(now() + $2::double precision * interval '1 millisecond',
                                   s.created_at + $3::double precision * interval '1 millisecond')
           from found
          where s.token_hash = found.token_hash and s.last_seen_at < now() - $4::double precision * interval '1 millisecond'
       )
       select user_id, account_id from found`,
      [tokenHash, this.options.idleTimeoutMs, this.options.maxAgeMs, TOUCH_INTERVAL_MS],
    );
    if (!row) return null;
    const csrfToken = csrfTokenFor(token);
    if (!SAFE_METHODS.has((request.method ?? "GET").toUpperCase())) checkCsrf(request.headers[CSRF_HEADER], csrfToken);
    return { accountId: row.account_id, userId: row.user_id, csrfToken, tokenHash };
  }

  /** Ends a session (logout). Ending one that is already gone is not an error. */
  async end(tokenHash: string): Promise<void> {
    await this.db.query("delete from session where token_hash = $1", [tokenHash]);
  }
}

/** True when the request carries a session cookie at all (valid or not), to tell "log in again" from "no credentials". */
export function hasSessionCookie(headers: IncomingHttpHeaders): boolean {
  return readCookie(headers.cookie, SESSION_COOKIE) !== null;
}

export function hashSessionToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The CSRF token of a session: HMAC-SHA256 keyed by the cookie token, so only a holder of the cookie can compute it. */
export function csrfTokenFor(token: string): string {
  return createHmac("sha256", token).update("switchyard csrf v1").digest("base64url");
}

function checkCsrf(header: string | string[] | undefined, expected: string): void {
  if (header === undefined) {
    throw new AppError("forbidden", "This request needs the X-CSRF-Token header: the csrf_token from login or GET /api/v1/auth/session.");
  }
  const given = Buffer.from(Array.isArray(header) ? "" : header.trim());
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new AppError("forbidden", "The X-CSRF-Token header does not match this session.");
  }
}
