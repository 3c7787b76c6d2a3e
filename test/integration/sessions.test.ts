import { createHash } from "node:crypto";
import http from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUsd } from "../../src/billing/money.js";
import { requireAccount } from "../../src/rest/auth.js";
import { installErrorHandling } from "../../src/rest/error-handler.js";
import { expectLedgerBalanced, sessionCookie, startTestApp, type TestApp } from "../helpers/app.js";

const PASSWORD = "correct horse battery staple";
const chat = { model: "switchyard/echo", messages: [{ role: "user", content: "remember the lighthouse" }] };

let emails = 0;
const newEmail = () => `Dash${++emails}-${process.pid}-${Date.now()}@Example.test`;
const cookieFor = (token: string) => `sy_session=${token}`;

/** A request with a Host header of our choosing (fetch does not let one set it). */
function rawPost(url: string, pathname: string, host: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}${pathname}`, { method: "POST", headers: { host } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("dashboard sessions", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  async function signup(email = newEmail(), password = PASSWORD, name?: string) {
    const response = await t.fetch("/api/v1/auth/signup", { body: { email, password, name }, headers: { "user-agent": "vitest-browser/1.0" } });
    expect(response.status).toBe(201);
    const body = await response.json();
    return { email, body, token: sessionCookie(response).value, csrf: body.data.csrf_token as string, accountId: body.data.account.id as string };
  }

  async function login(email: string, password = PASSWORD) {
    const response = await t.fetch("/api/v1/auth/login", { body: { email, password } });
    expect(response.status).toBe(200);
    const body = await response.json();
    return { body, token: sessionCookie(response).value, csrf: body.data.csrf_token as string };
  }

  const session = (token: string) => t.fetch("/api/v1/auth/session", { headers: { cookie: cookieFor(token) } });

  it("signs up with an HttpOnly, SameSite=Lax cookie holding a token stored only as its SHA-256", async () => {
    const email = newEmail();
    const response = await t.fetch("/api/v1/auth/signup", { body: { email, password: PASSWORD }, headers: { "user-agent": "vitest-browser/1.0" } });
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.json();
    expect(body).toEqual({
      data: {
        account: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: email.toLowerCase() },
        user: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: email.toLowerCase() },
        csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      },
    });
    const cookie = sessionCookie(response);
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Plain HTTP to 127.0.0.1 is local development: no Secure (the browser would drop the cookie).
    expect(cookie.attributes).toEqual({ path: "/", "max-age": String(90 * 24 * 3600), httponly: true, samesite: "Lax" });

    const rows = await t.app.db.sql.query<{ token_hash: string; user_agent: string; account_id: string; ttl_days: number }>(
      `select token_hash, user_agent, account_id, round(extract(epoch from expires_at - created_at) / 86400) :: int as ttl_days
         from session where user_id = $1`,
      [body.data.user.id],
    );
    expect(rows).toEqual([
      {
        token_hash: createHash("sha256").update(cookie.value).digest("hex"),
        user_agent: "vitest-browser/1.0",
        account_id: body.data.account.id,
        ttl_days: 30,
      },
    ]);
    const leaked = await t.app.db.sql.query("select 1 from session where token_hash = $1 or position($1 in coalesce(user_agent, '')) > 0", [cookie.value]);
    expect(leaked).toHaveLength(0);

    const me = await session(cookie.value);
    expect(me.status).toBe(200);
    expect(me.headers.get("cache-control")).toBe("no-store");
    expect(await me.json()).toEqual(body);
  });

  it("sends Secure cookies everywhere except plain HTTP to a loopback name", async () => {
    const port = new URL(t.url).port;
    const secureFor = async (host: string) => {
      const response = await rawPost(t.url, "/api/v1/auth/logout", host);
      expect(response.statusCode).toBe(204);
      const cookie = (response.headers["set-cookie"] ?? []).find((c) => c.startsWith("sy_session="));
      expect(cookie).toMatch(/^sy_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
      return cookie!.endsWith("; Secure");
    };
    expect(await secureFor(`localhost:${port}`)).toBe(false);
    expect(await secureFor(`dashboard.localhost:${port}`)).toBe(false);
    expect(await secureFor(`127.0.0.1:${port}`)).toBe(false);
    expect(await secureFor(`[::1]:${port}`)).toBe(false);
    expect(await secureFor("gateway.example.com")).toBe(true);
    expect(await secureFor(`192.168.1.20:${port}`)).toBe(true);
  });

  it("refuses a malformed email, weak passwords and a taken email without echoing the password", async () => {
    const refused = async (body: unknown, status: number) => {
      const response = await t.fetch("/api/v1/auth/signup", { body });
      expect(response.status).toBe(status);
      const text = await response.text();
      expect(text).not.toContain("Secret-");
      expect(text).not.toContain("aaaaaaaaaaaa");
      return JSON.parse(text).error;
    };
    expect(await refused({ email: "not-an-email", password: PASSWORD }, 400)).toMatchObject({
      message: "The email is not a valid email address.",
      metadata: { error_type: "invalid_request", param: "email" },
    });
    expect((await refused({ email: newEmail(), password: "Secret-1" }, 400)).message).toBe("The password must have at least 10 characters.");
    expect((await refused({ email: newEmail(), password: "aaaaaaaaaaaa" }, 400)).message).toBe("The password must not be one character repeated.");
    expect((await refused({ email: newEmail(), password: 12345678901 }, 400)).message).toBe("Invalid request: password: expected string.");
    expect((await refused({ email: newEmail() }, 400)).metadata.param).toBe("password");

    const { email } = await signup();
    const taken = await refused({ email: ` ${email.toUpperCase()} `, password: "Secret-another-one" }, 409);
    expect(taken).toEqual({
      code: 409,
      message: "An account with this email already exists. Log in instead.",
      type: "conflict_error",
      param: null,
      metadata: { error_type: "conflict", param: "email" },
    });
  });

  it("logs in with the email in any case, and answers a wrong password and an unknown email with the same 401", async () => {
    const { email, accountId } = await signup(newEmail(), PASSWORD, "  Ada's team ");
    const { body, token } = await login(email.toUpperCase());
    expect(body.data.account).toEqual({ id: accountId, name: "Ada's team" });
    expect((await session(token)).status).toBe(200);

    const wrongPassword = await t.fetch("/api/v1/auth/login", { body: { email, password: "wrong password!" } });
    const unknownEmail = await t.fetch("/api/v1/auth/login", { body: { email: newEmail(), password: PASSWORD } });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    const expected = {
      error: { code: 401, message: "Incorrect email or password.", type: "authentication_error", param: null, metadata: { error_type: "unauthenticated" } },
    };
    expect(await wrongPassword.json()).toEqual(expected);
    expect(await unknownEmail.json()).toEqual(expected);
    expect(wrongPassword.headers.getSetCookie()).toEqual([]);
  });

  it("locks an email out after 5 failed logins in a row from one address, with Retry-After, even for the right password", async () => {
    const { email } = await signup();
    for (let i = 0; i < 5; i++) {
      const response = await t.fetch("/api/v1/auth/login", { body: { email, password: `wrong password ${i}` } });
      expect(response.status).toBe(401);
    }
    const locked = await t.fetch("/api/v1/auth/login", { body: { email, password: PASSWORD } });
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect((await locked.json()).error).toMatchObject({
      code: 429,
      type: "rate_limit_error",
      message: "Too many failed logins. Try again later.",
      metadata: { error_type: "rate_limited" },
    });
    expect(locked.headers.getSetCookie()).toEqual([]);

    // The counters name no email and no address: their keys are HMACs under the session secret.
    const counters = await t.app.db.sql.query<{ key: string }>("select key from rate_limit_counter where key like 'login%'");
    expect(counters.length).toBeGreaterThanOrEqual(2);
    for (const { key } of counters) expect(key).toMatch(/^login_(email_ip|ip):[A-Za-z0-9_-]{43}$/);
  });

  it("resets the count of failures on a successful login", async () => {
    const { email } = await signup();
    const fail = async () => expect((await t.fetch("/api/v1/auth/login", { body: { email, password: "not the password" } })).status).toBe(401);
    for (let i = 0; i < 4; i++) await fail();
    await login(email);
    for (let i = 0; i < 4; i++) await fail();
    await login(email);
  });

  it("logs out by deleting the session server-side, and needs the CSRF header to do it", async () => {
    const { email } = await signup();
    const first = await login(email);
    const second = await login(email);

    const forged = await t.fetch("/api/v1/auth/logout", { method: "POST", headers: { cookie: cookieFor(first.token) } });
    expect(forged.status).toBe(403);
    expect((await session(first.token)).status).toBe(200);

    const out = await t.fetch("/api/v1/auth/logout", { method: "POST", headers: { cookie: cookieFor(first.token), "x-csrf-token": first.csrf } });
    expect(out.status).toBe(204);
    expect(sessionCookie(out)).toEqual({
      value: "",
      attributes: { path: "/", "max-age": "0", httponly: true, samesite: "Lax", expires: "Thu, 01 Jan 1970 00:00:00 GMT" },
    });
    const hash = createHash("sha256").update(first.token).digest("hex");
    expect(await t.app.db.sql.query("select 1 from session where token_hash = $1", [hash])).toHaveLength(0);

    const ended = await session(first.token);
    expect(ended.status).toBe(401);
    expect((await ended.json()).error.message).toBe("The session has ended. Log in again.");
    expect((await session(second.token)).status).toBe(200);

    const none = await t.fetch("/api/v1/auth/session");
    expect(none.status).toBe(401);
    expect((await none.json()).error.message).toBe("No auth credentials found.");
  });

  it("ends a session that has been idle too long", async () => {
    const { token } = await signup();
    const hash = createHash("sha256").update(token).digest("hex");
    await t.app.db.sql.query("update session set expires_at = now() - interval '1 second' where token_hash = $1", [hash]);
    expect((await session(token)).status).toBe(401);
  });

  it("slides a session's expiry forward with use, but not past its maximum age", async () => {
    const { token } = await signup();
    const hash = createHash("sha256").update(token).digest("hex");
    const expiresInDays = async () => {
      const [row] = await t.app.db.sql.query<{ days: number }>(
        "select round(extract(epoch from expires_at - now()) / 86400)::int as days from session where token_hash = $1",
        [hash],
      );
      return row.days;
    };
    await t.app.db.sql.query(
      "update session set expires_at = now() + interval '1 hour', last_seen_at = now() - interval '2 minutes' where token_hash = $1",
      [hash],
    );
    expect((await session(token)).status).toBe(200);
    expect(await expiresInDays()).toBe(30);

    await t.app.db.sql.query(
      "update session set created_at = now() - interval '80 days', last_seen_at = now() - interval '2 minutes' where token_hash = $1",
      [hash],
    );
    expect((await session(token)).status).toBe(200);
    expect(await expiresInDays()).toBe(10);
  });

  it("gives each session its own CSRF token and refuses a missing or wrong one with 403", async () => {
    const { email, token, csrf } = await signup();
    const other = await login(email);
    expect(other.csrf).not.toBe(csrf);
    expect((await (await session(token)).json()).data.csrf_token).toBe(csrf);

    const attempt = (headers: Record<string, string>) =>
      t.fetch("/api/v1/account", { method: "DELETE", body: { password: "not the password" }, headers: { cookie: cookieFor(token), ...headers } });
    const missing = await attempt({});
    expect(missing.status).toBe(403);
    expect(await missing.json()).toEqual({
      error: {
        code: 403,
        message: "This request needs the X-CSRF-Token header: the csrf_token from login or GET /api/v1/auth/session.",
        type: "permission_error",
        param: null,
        metadata: { error_type: "forbidden" },
      },
    });
    const wrong = await attempt({ "x-csrf-token": other.csrf });
    expect(wrong.status).toBe(403);
    expect((await wrong.json()).error.message).toBe("The X-CSRF-Token header does not match this session.");
    // With the right token the request gets through the CSRF check to the password check.
    const through = await attempt({ "x-csrf-token": csrf });
    expect(through.status).toBe(403);
    expect((await through.json()).error.message).toBe("The password is incorrect.");
  });

  describe("requireAccount", () => {
    let probe: FastifyInstance;
    let probeUrl: string;
    beforeAll(async () => {
      probe = Fastify();
      installErrorHandling(probe);
      probe.route({
        method: ["GET", "POST"],
        url: "/probe",
        handler: (request) => requireAccount({ keys: t.app.auth, sessions: t.app.sessions }, request),
      });
      probeUrl = await probe.listen({ host: "127.0.0.1", port: 0 });
    });
    afterAll(() => probe?.close());

    const call = (method: string, headers: Record<string, string>) => fetch(`${probeUrl}/probe`, { method, headers });

    it("accepts a session (with the CSRF header on unsafe methods) or an inference key", async () => {
      const { token, csrf, accountId, body } = await signup();
      const asSession = { accountId, keyHash: null, userId: body.data.user.id, kind: "session" };
      expect(await (await call("GET", { cookie: cookieFor(token) })).json()).toEqual(asSession);
      expect((await call("POST", { cookie: cookieFor(token) })).status).toBe(403);
      expect((await call("POST", { cookie: cookieFor(token), "x-csrf-token": "x".repeat(43) })).status).toBe(403);
      expect(await (await call("POST", { cookie: cookieFor(token), "x-csrf-token": csrf })).json()).toEqual(asSession);

      const { key, keyHash } = await t.account();
      const asKey = await call("POST", { authorization: `Bearer ${key}`, cookie: cookieFor(token) });
      expect(asKey.status).toBe(200);
      expect(await asKey.json()).toEqual({ accountId: expect.any(String), keyHash, userId: null, kind: "key" });

      const { plaintext: management } = await t.app.accounts.createKey(accountId, { kind: "management", name: "ops" });
      expect((await call("GET", { authorization: `Bearer ${management}` })).status).toBe(403);
      expect((await call("GET", { authorization: "Bearer sk-sy-v1-nope", cookie: cookieFor(token) })).status).toBe(401);
      expect((await call("GET", {})).status).toBe(401);
      expect((await call("GET", { cookie: cookieFor("A".repeat(43)) })).status).toBe(401);
    });
  });

  it("leaves Bearer-key requests alone: no CSRF header needed, stray cookies ignored", async () => {
    const { token } = await signup();
    const { key } = await t.account();
    const response = await t.fetch("/api/v1/chat/completions", { key, body: chat, headers: { cookie: cookieFor(token) } });
    expect(response.status).toBe(200);
    expect((await t.fetch("/api/v1/key", { key, headers: { cookie: "sy_session=garbage" } })).status).toBe(200);
  });

  describe("behind a trusted proxy", () => {
    let proxied: TestApp;
    beforeAll(async () => {
      proxied = await startTestApp({
        env: {
          SWITCHYARD_TRUST_PROXY: "true",
          SWITCHYARD_LOGIN_MAX_FAILURES: "2",
          SWITCHYARD_LOGIN_MAX_FAILURES_PER_IP: "3",
          SWITCHYARD_LOGIN_LOCKOUT_SECONDS: "60",
        },
      });
    });
    afterAll(() => proxied?.close());

    const loginFrom = (ip: string, email: string, password: string) =>
      proxied.fetch("/api/v1/auth/login", { body: { email, password }, headers: { "x-forwarded-for": ip } });

    it("locks out one email from one address, not from another", async () => {
      const email = newEmail();
      const signedUp = await proxied.fetch("/api/v1/auth/signup", { body: { email, password: PASSWORD }, headers: { "x-forwarded-for": "10.0.0.1" } });
      expect(signedUp.status).toBe(201);
      expect((await loginFrom("10.0.0.1", email, "wrong password 1")).status).toBe(401);
      expect((await loginFrom("10.0.0.1", email, "wrong password 2")).status).toBe(401);
      const locked = await loginFrom("10.0.0.1", email, PASSWORD);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(50);
      expect(Number(locked.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect((await loginFrom("10.0.0.2", email, PASSWORD)).status).toBe(200);
    });

    it("locks out an address that fails across many emails", async () => {
      for (let i = 0; i < 3; i++) expect((await loginFrom("10.0.0.3", newEmail(), PASSWORD)).status).toBe(401);
      const locked = await loginFrom("10.0.0.3", newEmail(), PASSWORD);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect((await loginFrom("10.0.0.4", newEmail(), PASSWORD)).status).toBe(401);
    });

    it("sends a Secure cookie when the proxy says the client used HTTPS", async () => {
      const response = await proxied.fetch("/api/v1/auth/logout", { method: "POST", headers: { "x-forwarded-proto": "https" } });
      expect(sessionCookie(response).attributes.secure).toBe(true);
    });
  });

  describe("account deletion", () => {
    /** Every row of every text-like column that contains `needle`, as `table.column`. */
    async function findEverywhere(needle: string): Promise<string[]> {
      const columns = await t.app.db.sql.query<{ table_name: string; column_name: string }>(
        `select table_name, column_name from information_schema.columns
          where table_schema = 'public' and data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')`,
      );
      const found: string[] = [];
      for (const { table_name, column_name } of columns) {
        const [row] = await t.app.db.sql.query<{ n: number }>(
          `select count(*)::int as n from "${table_name}" where position(lower($1) in lower("${column_name}"::text)) > 0`,
          [needle],
        );
        if (row.n > 0) found.push(`${table_name}.${column_name}`);
      }
      return found;
    }

    it("deletes keys, sessions, users and logged prompts, forfeits the credits, and frees the email", async () => {
      const { email, token, csrf, accountId, body } = await signup();
      const userId = body.data.user.id as string;
      await t.app.accounts.grantCredits(accountId, parseUsd("12.5"), "test credits");
      const { plaintext: key, key: apiKey } = await t.app.accounts.createKey(accountId, { kind: "inference", name: "laptop" });
      await t.app.db.sql.query("update account set log_prompts = true where id = $1", [accountId]);
      t.app.bus.publish("account.changed", { accountId });
      expect((await t.fetch("/api/v1/chat/completions", { key, body: chat })).status).toBe(200);
      await t.app.credits.flush();
      const [generation] = await t.app.db.sql.query<{ id: string; prompt_text: string | null }>(
        "select id, prompt_text from generation where account_id = $1",
        [accountId],
      );
      expect(generation.prompt_text).toContain("remember the lighthouse");
      const { balance: before } = await expectLedgerBalanced(t.app, accountId);
      expect(before).toBeGreaterThan(0n);
      // The search below finds what is there: the email before deletion, in the user and the account's name.
      expect(await findEverywhere(email)).toEqual(expect.arrayContaining(["app_user.email", "account.name"]));

      const wrong = await t.fetch("/api/v1/account", {
        method: "DELETE",
        body: { password: "not the password" },
        headers: { cookie: cookieFor(token), "x-csrf-token": csrf },
      });
      expect(wrong.status).toBe(403);
      expect(await wrong.text()).not.toContain("not the password");
      expect((await t.fetch("/api/v1/key", { key })).status).toBe(200);

      const byKey = await t.fetch("/api/v1/account", { method: "DELETE", key, body: { password: PASSWORD } });
      expect(byKey.status).toBe(401);

      const deleted = await t.fetch("/api/v1/account", {
        method: "DELETE",
        body: { password: PASSWORD },
        headers: { cookie: cookieFor(token), "x-csrf-token": csrf },
      });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ data: { id: accountId, deleted: true, forfeited_credits: Number(before) / 1e12 } });
      expect(sessionCookie(deleted).attributes["max-age"]).toBe("0");

      const keyResponse = await t.fetch("/api/v1/key", { key });
      expect(keyResponse.status).toBe(401);
      expect((await t.fetch("/api/v1/chat/completions", { key, body: chat })).status).toBe(401);
      expect((await session(token)).status).toBe(401);

      const sql = t.app.db.sql;
      expect(await sql.query("select 1 from app_user where account_id = $1 or id = $2", [accountId, userId])).toHaveLength(0);
      expect(await sql.query("select 1 from session where account_id = $1", [accountId])).toHaveLength(0);
      expect(await sql.query("select 1 from api_key where account_id = $1 or hash = $2", [accountId, apiKey.hash])).toHaveLength(0);
      const [account] = await sql.query<{ name: string; deleted: boolean; log_prompts: boolean }>(
        "select name, deleted_at is not null as deleted, log_prompts from account where id = $1",
        [accountId],
      );
      expect(account).toEqual({ name: "Deleted account", deleted: true, log_prompts: false });
      const [kept] = await sql.query<{ id: string; prompt_text: string | null; completion_text: string | null; model: string }>(
        "select id, prompt_text, completion_text, model from generation where account_id = $1",
        [accountId],
      );
      expect(kept).toEqual({ id: generation.id, prompt_text: null, completion_text: null, model: "switchyard/echo" });
      const forfeits = await sql.query<{ amount: bigint; balance_after: bigint }>(
        "select amount, balance_after from ledger_entry where account_id = $1 and kind = 'forfeit'",
        [accountId],
      );
      expect(forfeits).toEqual([{ amount: -before, balance_after: 0n }]);
      expect(await expectLedgerBalanced(t.app, accountId)).toEqual({ balance: 0n });

      expect(await findEverywhere(email)).toEqual([]);
      expect(await findEverywhere(email.split("@")[0])).toEqual([]);
      expect(await findEverywhere(PASSWORD)).toEqual([]);
      expect(await findEverywhere("remember the lighthouse")).toEqual([]);

      const again = await t.fetch("/api/v1/auth/signup", { body: { email, password: "a brand new password" } });
      expect(again.status).toBe(201);
      expect((await again.json()).data.account.id).not.toBe(accountId);
      expect((await t.fetch("/api/v1/auth/login", { body: { email, password: PASSWORD } })).status).toBe(401);
    });

    it("keeps a negative balance as debt, and waits for requests in flight", async () => {
      const { token, csrf, accountId } = await signup();
      const { balance } = await expectLedgerBalanced(t.app, accountId);
      await t.app.accounts.grantCredits(accountId, -(balance + parseUsd("3")), "test debt");
      const remove = () =>
        t.fetch("/api/v1/account", { method: "DELETE", body: { password: PASSWORD }, headers: { cookie: cookieFor(token), "x-csrf-token": csrf } });

      await t.app.db.sql.query("update account set held = 1 where id = $1", [accountId]);
      const busy = await remove();
      expect(busy.status).toBe(409);
      expect((await busy.json()).error.message).toBe("The account has requests in progress. Try again when they have finished.");
      await t.app.db.sql.query("update account set held = 0 where id = $1", [accountId]);

      const deleted = await remove();
      expect(deleted.status).toBe(200);
      expect((await deleted.json()).data.forfeited_credits).toBe(0);
      expect(await t.app.db.sql.query("select 1 from ledger_entry where account_id = $1 and kind = 'forfeit'", [accountId])).toHaveLength(0);
      expect(await expectLedgerBalanced(t.app, accountId)).toEqual({ balance: -parseUsd("3") });
    });
  });
});
