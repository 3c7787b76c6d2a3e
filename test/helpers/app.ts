import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { buildApp, type App, type AppOverrides } from "../../src/app.js";
import { parseUsd } from "../../src/billing/money.js";
import { ledgerTotals } from "../../src/billing/ledger.js";
import { parseCatalog } from "../../src/catalog/catalog-file.js";
import { loadConfig } from "../../src/config.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export interface TestAccount {
  accountId: string;
  email: string;
  /** An inference key's plaintext. */
  key: string;
  keyHash: string;
}

/** A fetch Response whose JSON is untyped, for terse assertions. */
export type TestResponse = Omit<Response, "json"> & { json(): Promise<any> };

export interface TestApp {
  app: App;
  /** `http://127.0.0.1:<port>` */
  url: string;
  db: TestDatabase;
  /** An account with `credits` USD (default 10) and an inference key. */
  account(options?: { credits?: string }): Promise<TestAccount>;
  /** A real HTTP request to the running server. `body` objects are sent as JSON. */
  fetch(pathname: string, options?: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  close(): Promise<void>;
}

interface StartOptions {
  /** A catalog document (as in a catalog file) loaded instead of the default catalog. */
  catalog?: unknown;
  /** Extra environment for the configuration. */
  env?: Record<string, string>;
  overrides?: AppOverrides;
  /** Another node: run against this (already migrated) database, which `close` then leaves in place. */
  database?: TestDatabase;
}

let accounts = 0;

/** Starts a real Switchyard on a free port, against a database of the test file's own. */
export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const shared = options.database;
  const db = shared ?? (await createTestDatabase());
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-test-"));
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: db.url,
    SWITCHYARD_DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    // Limits out of the way unless a test is about them; no sign-up allowance, so balances are what tests grant.
    SWITCHYARD_FREE_REQUESTS_PER_DAY: "1000000",
    SWITCHYARD_FREE_REQUESTS_PER_MINUTE: "1000000",
    SWITCHYARD_PAID_RPS_MIN: "1000000",
    SWITCHYARD_PAID_RPS_MAX: "1000000",
    SWITCHYARD_SIGNUP_CREDITS: "0",
    ...options.env,
  });
  let app: App;
  try {
    app = await buildApp(config, {
      ...options.overrides,
      catalogs: options.catalog ? [parseCatalog(options.catalog, "test catalog")] : options.overrides?.catalogs,
    });
  } catch (error) {
    if (!shared) await db.drop();
    throw error;
  }
  const url = await app.listen();
  return {
    app,
    url,
    db,
    async account(opts = {}) {
      accounts += 1;
      const email = `user${accounts}-${process.pid}-${Date.now()}@test.local`;
      const { account } = await app.accounts.createAccount({ email });
      const credits = parseUsd(opts.credits ?? "10");
      if (credits !== 0n) await app.accounts.grantCredits(account.id, credits, "test credits");
      const { key, plaintext } = await app.accounts.createKey(account.id, { kind: "inference", name: "test key" });
      return { accountId: account.id, email, key: plaintext, keyHash: key.hash };
    },
    fetch(pathname, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers["content-type"] ??= "application/json";
        body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      }
      return fetch(`${url}${pathname}`, { method: opts.method ?? (body === undefined ? "GET" : "POST"), headers, body });
    },
    async close() {
      await app.close();
      if (!shared) await db.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The ledger invariant, once every settlement so far is committed: the balance equals the sum of the ledger entries,
 * `held` equals the credit holds (the node's leases) on record, and no request of the account still holds credits.
 */
export async function expectLedgerBalanced(app: App, accountId: string): Promise<{ balance: bigint }> {
  await app.credits.flush();
  const totals = await ledgerTotals(app.db.sql, accountId);
  expect(totals.balance).toBe(totals.ledgerSum);
  // Held and the holds in one statement: a lease write committing between two reads would not be a mismatch.
  const [holds] = await app.db.sql.query<{ held: string; total: string }>(
    "select a.held::text, coalesce((select sum(amount) from credit_hold where account_id = a.id), 0)::text as total from account a where a.id = $1",
    [accountId],
  );
  expect(holds.held).toBe(holds.total);
  expect(app.credits.inUse(accountId)).toBe(0n);
  return { balance: totals.balance };
}

/** An account's ledger entries, oldest first, once every settlement so far is committed. */
export async function ledgerOf(app: App, accountId: string) {
  await app.credits.flush();
  return app.db.sql.query<{ kind: string; amount: bigint; reference: string | null; description: string }>(
    "select kind, amount, reference, description from ledger_entry where account_id = $1 order by id",
    [accountId],
  );
}

/** A server-sent-event response read back: its raw `data:` payloads and comment lines, and the whole text. */
export interface SseEvents {
  data: string[];
  comments: string[];
  raw: string;
}

/** Reads a server-sent-event response into its raw `data:` payloads and comment lines. */
export async function readSse(response: TestResponse): Promise<SseEvents> {
  const raw = await response.text();
  const data: string[] = [];
  const comments: string[] = [];
  for (const block of raw.split("\n\n")) {
    for (const line of block.split("\n")) {
      if (line.startsWith("data: ")) data.push(line.slice(6));
      else if (line.startsWith(":")) comments.push(line);
    }
  }
  return { data, comments, raw };
}

/** A streamed completion read back: its events, its chunks (without `[DONE]`), and what they add up to. */
export interface StreamedAnswer extends SseEvents {
  chunks: Array<Record<string, any>>;
  content: string;
  reasoning: string;
  toolCalls: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  annotations: unknown[];
  finishReason: string | null;
  usage: Record<string, any> | null;
  done: boolean;
}

export async function readStream(response: TestResponse): Promise<StreamedAnswer> {
  const sse = await readSse(response);
  const done = sse.data.at(-1) === "[DONE]";
  const chunks = sse.data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as Record<string, any>);
  const answer: StreamedAnswer = { ...sse, chunks, content: "", reasoning: "", toolCalls: [], annotations: [], finishReason: null, usage: null, done };
  for (const chunk of chunks) {
    if (chunk.usage) answer.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta ?? {};
    answer.content += delta.content ?? "";
    answer.reasoning += delta.reasoning ?? "";
    if (delta.annotations) answer.annotations.push(...delta.annotations);
    for (const part of delta.tool_calls ?? []) {
      const call = (answer.toolCalls[part.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      if (part.id) call.id = part.id;
      if (part.function?.name) call.function.name += part.function.name;
      if (part.function?.arguments) call.function.arguments += part.function.arguments;
    }
    if (choice.finish_reason) answer.finishReason = choice.finish_reason;
  }
  return answer;
}

/** The `sy_session` cookie a response sets: its value and its attributes, lower-cased names. */
export function sessionCookie(response: TestResponse): { value: string; attributes: Record<string, string | true> } {
  const header = response.headers.getSetCookie().find((c) => c.startsWith("sy_session="));
  expect(header, "a sy_session Set-Cookie header").toBeDefined();
  const [pair, ...rest] = header!.split(";").map((part) => part.trim());
  const attributes: Record<string, string | true> = {};
  for (const attribute of rest) {
    const eq = attribute.indexOf("=");
    if (eq === -1) attributes[attribute.toLowerCase()] = true;
    else attributes[attribute.slice(0, eq).toLowerCase()] = attribute.slice(eq + 1);
  }
  return { value: pair.slice("sy_session=".length), attributes };
}
