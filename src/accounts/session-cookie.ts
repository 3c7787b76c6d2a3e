/** The dashboard session cookie. Its value is an opaque random token; only the token's SHA-256 is stored. */
export const SESSION_COOKIE = "sy_session";

/**
 * The value of cookie `name` in a `Cookie` request header (the first one when it repeats), or null. Values are not
 * decoded: session tokens are base64url, and anything else is not a session token.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  const text = Array.isArray(header) ? header.join("; ") : header;
  if (!text) return null;
  for (const pair of text.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return null;
}

/** Where a response goes: enough to decide the cookie's `Secure` attribute. */
export interface CookieTarget {
  production: boolean;
  /** The request's protocol as the client saw it (`X-Forwarded-Proto` counts when the proxy is trusted). */
  protocol: string;
  /** The request's host name, without port. */
  hostname: string;
}

/**
 * `Secure` is set always in production and over HTTPS, and everywhere else except plain HTTP to a loopback name
 * (`localhost`, `*.localhost`, `127.x.x.x`, `::1`): there a development browser would drop a `Secure` cookie. A
 * development server reached over plain HTTP on any other name sends `Secure`, so a session never travels in clear text.
 */
export function cookieIsSecure(target: CookieTarget): boolean {
  if (target.production || target.protocol !== "http") return true;
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "::1";
  return !loopback;
}

/** `Set-Cookie` for a new session: `HttpOnly; SameSite=Lax; Path=/`, `Max-Age` in whole seconds, `Secure` as decided. */
export function sessionCookieHeader(token: string, maxAgeMs: number, secure: boolean): string {
  return cookieHeader(token, Math.floor(maxAgeMs / 1000), secure);
}

/** `Set-Cookie` that makes the browser forget the session cookie. */
export function clearedSessionCookieHeader(secure: boolean): string {
  return cookieHeader("", 0, secure);
}

function cookieHeader(value: string, maxAgeSeconds: number, secure: boolean): string {
  const parts = [`${SESSION_COOKIE}=${value}`, "Path=/", `Max-Age=${maxAgeSeconds}`, "HttpOnly", "SameSite=Lax"];
  if (maxAgeSeconds === 0) parts.push("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  if (secure) parts.push("Secure");
  return parts.join("; ");
}
