import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { MIGRATIONS_DIR } from "../../src/persistence/orm-config.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const BIN = fileURLToPath(new URL("../../bin/switchyard.js", import.meta.url));

/** Runs the CLI in-process against a database of this file's own, capturing its output. */
async function cli(env: Record<string, string>, ...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, { LOG_LEVEL: "silent", ...env });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, any> };
}

describe("the switchyard CLI", () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, SWITCHYARD_SIGNUP_CREDITS: "0" };
  });
  afterAll(() => db?.drop());

  it("migrates the database", async () => {
    const result = await cli(env, "migrate", "--json");
    expect(result.code).toBe(0);
    expect(result.json()).toEqual({ migrations: (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".ts")).length });
  });

  it("syncs the default catalog, and a user's own catalog file on top of it", async () => {
    const base = await cli(env, "catalog", "sync", "--json");
    expect(base.code).toBe(0);
    expect(base.json()).toMatchObject({ providers: 6, models: 8 });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sy-cli-"));
    const file = path.join(dir, "acme.json");
    await fs.writeFile(
      file,
      JSON.stringify({
        providers: [
          {
            slug: "acme",
            name: "Acme AI",
            adapter: "openai-compatible",
            baseUrl: "http://127.0.0.1:9000/v1",
            apiKeyEnv: "ACME_API_KEY",
            dataPolicy: { training: false, retainsPrompts: false },
          },
        ],
        models: [
          {
            id: "acme/model-a",
            name: "Acme Model A",
            contextLength: 8192,
            endpoints: [{ provider: "acme", upstreamModel: "model-a", maxCompletionTokens: 4096, pricing: { prompt: "0.000001", completion: "0.000002" } }],
          },
          // An endpoint of a default provider for a model of the user's.
          { id: "acme/model-b", name: "Acme Model B", contextLength: 4096, endpoints: [{ provider: "simulated", upstreamModel: "b", pricing: { prompt: "0", completion: "0" } }] },
        ],
      }),
    );
    const own = await cli(env, "catalog", "sync", "--file", file, "--json");
    expect(own.code).toBe(0);
    expect(own.json()).toEqual({ providers: 1, models: 2, endpoints: 2 });
    const rows = await pgRows(db.url, "select id, price_prompt::text, price_completion::text from model_endpoint where model_id = 'acme/model-a'");
    expect(rows).toEqual([{ id: "acme/model-a:standard@acme", price_prompt: "1000000", price_completion: "2000000" }]);
  });

  it("reports every problem of a bad catalog file and changes nothing", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sy-cli-"));
    const file = path.join(dir, "bad.json");
    await fs.writeFile(file, JSON.stringify({ models: [{ id: "x/y", name: "Y", contextLength: 10, endpoints: [{ provider: "nobody", upstreamModel: "y", pricing: { prompt: "abc", completion: "0" } }] }] }));
    const result = await cli(env, "catalog", "sync", "--file", file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Invalid catalog ${file}`);
    expect(result.stderr).toContain("models.0.endpoints.0.pricing.prompt");
    expect(await pgRows(db.url, "select id from model where id = 'x/y'")).toEqual([]);
  });

  it("creates an account, grants credits and creates keys, in text and in JSON", async () => {
    const created = await cli(env, "accounts", "create", "--email", "Ada@Example.com", "--json");
    expect(created.code).toBe(0);
    const account = created.json();
    expect(account).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: "ada@example.com" });

    const text = await cli(env, "credits", "grant", "--account", "ada@example.com", "--amount", "12.5", "--reason", "welcome");
    expect(text.code).toBe(0);
    expect(text.stdout).toBe("Granted 12.5 USD. Balance: 12.5 USD.\n");
    const json = await cli(env, "credits", "grant", "--account", account.id, "--amount=-0.25", "--reason", "correction", "--json");
    expect(json.json()).toEqual({ balance: "12.25" });
    const ledger = await pgRows(db.url, `select kind, amount::text, balance_after::text, description from ledger_entry where account_id = '${account.id}' order by id`);
    expect(ledger).toEqual([
      { kind: "grant", amount: "12500000000000", balance_after: "12500000000000", description: "welcome" },
      { kind: "adjustment", amount: "-250000000000", balance_after: "12250000000000", description: "correction" },
    ]);

    const key = await cli(env, "keys", "create", "--account", account.id, "--name", "ci", "--limit", "5", "--limit-reset", "daily", "--json");
    expect(key.code).toBe(0);
    expect(key.json()).toEqual({ key: expect.stringMatching(/^sk-sy-v1-[0-9a-f]{64}$/), hash: expect.stringMatching(/^[0-9a-f]{64}$/), name: "ci" });
    const management = await cli(env, "keys", "create", "--account", "ada@example.com", "--management");
    expect(management.stdout).toMatch(/^Created management key "Management key" \(hash [0-9a-f]{64}\)\.\nsk-sy-v1-[0-9a-f]{64}\nThis is the only time/);

    const list = await cli(env, "keys", "list", "--account", "ada@example.com", "--json");
    const keys = list.json().keys as Array<Record<string, unknown>>;
    expect(keys.map((k) => [k.name, k.kind, k.limit, k.limit_reset])).toEqual([
      ["ci", "inference", "5", "daily"],
      ["Management key", "management", null, null],
    ]);
    expect(JSON.stringify(keys)).not.toContain(key.json().key);
    const plain = await cli(env, "keys", "list", "--account", "ada@example.com");
    expect(plain.stdout.split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("explains mistakes: unknown accounts, missing flags, bad amounts, unknown commands", async () => {
    const unknown = await cli(env, "keys", "list", "--account", "nobody@example.com");
    expect(unknown).toMatchObject({ code: 1, stderr: 'No account matches "nobody@example.com" (give its id or email).\n' });
    const missing = await cli(env, "credits", "grant", "--account", "ada@example.com", "--amount", "1");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--reason is required.");
    const amount = await cli(env, "credits", "grant", "--account", "ada@example.com", "--amount", "1.0000000000001", "--reason", "x");
    expect(amount.code).toBe(2);
    expect(amount.stderr).toContain("more than 12 decimal places");
    const duplicate = await cli(env, "accounts", "create", "--email", "ada@example.com");
    expect(duplicate).toMatchObject({ code: 1, stderr: "An account with the email ada@example.com already exists.\n" });
    const command = await cli(env, "accounts", "delete");
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('Unknown command "accounts delete".');
    const config = await cli({ ...env, PORT: "eighty" }, "migrate");
    expect(config.code).toBe(1);
    expect(config.stderr).toContain('PORT: expected an integer between 0 and 65535, got "eighty"');
  });
});

/**
 * The real command on a fresh directory with nothing but Node: `switchyard serve` creates the embedded database,
 * prints a working key and curl line, and the CLI works beside the running server through its embedded database.
 */
describe("switchyard serve on the embedded database", () => {
  let dir: string;
  let server: ChildProcess | undefined;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "sy-serve-"));
  });
  afterAll(async () => {
    server?.kill("SIGTERM");
    if (server && server.exitCode === null) await once(server, "exit");
    await fs.rm(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const child = spawn(process.execPath, [BIN, "serve"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: dir, PORT: "0", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    const deadline = Date.now() + 45_000;
    while (!/Dev API key: (\S+)/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const url = /listening on (http:\/\/\S+)/.exec(output)![1];
    const key = /Dev API key: (\S+)/.exec(output)![1];
    return { child, output, url, key };
  };
  const runBin = async (...args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, LOG_LEVEL: "silent" } });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    const [code] = await once(child, "exit");
    return { code, stdout };
  };

  it("starts with a dev key and a curl line that work, lets the CLI in, and keeps its data across restarts", async () => {
    const first = await start();
    server = first.child;
    expect(first.output).toContain("Database: embedded PostgreSQL in");
    expect(first.output).toContain(`curl ${first.url}/api/v1/chat/completions`);
    const completion = await fetch(`${first.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${first.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "switchyard/echo", messages: [{ role: "user", content: "Hello!" }] }),
    });
    expect(completion.status).toBe(200);
    expect(((await completion.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toContain("You said: Hello!");

    // The CLI reaches the running server's embedded database (PGlite allows one process to open the files).
    const created = await runBin("accounts", "create", "--email", "beside@example.com", "--json");
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.stdout);
    const key = JSON.parse((await runBin("keys", "create", "--account", id, "--json")).stdout).key;
    const me = await fetch(`${first.url}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);

    // SIGTERM is a graceful shutdown: every settlement committed (the settlement log removed), exit code 0.
    server.kill("SIGTERM");
    const [exitCode, signal] = await once(server, "exit");
    expect({ exitCode, signal }).toEqual({ exitCode: 0, signal: null });
    expect(await fs.readdir(path.join(dir, ".switchyard", "settlements"))).toEqual([]);
    const second = await start();
    server = second.child;
    expect(second.key).toBe(first.key);
    expect(second.output).not.toContain("created now");
    const again = await fetch(`${second.url}/api/v1/key`, { headers: { authorization: `Bearer ${key}` } });
    expect(again.status).toBe(200);
  }, 120_000);
});

async function pgRows(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
