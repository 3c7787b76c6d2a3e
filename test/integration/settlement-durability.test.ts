import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { ledgerTotals } from "../../src/billing/ledger.js";
import { loadConfig } from "../../src/config.js";
import { startTestApp } from "../helpers/app.js";
import { createTestDatabase, REAL_DATABASE_URL } from "../helpers/database.js";
import { chatBody, TEST_CATALOG } from "../helpers/catalogs.js";

const BIN = fileURLToPath(new URL("../../bin/switchyard.js", import.meta.url));

async function count(url: string, sql: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query(sql, params)).rows[0].n);
  } finally {
    await client.end();
  }
}

/**
 * Settlements are committed in batches after the answer is sent. None may be lost: not on a clean shutdown, and not
 * when the process is killed while its batches cannot reach the database (they are in its write-ahead log and the
 * next start commits them).
 */
describe("batched settlement keeps every settlement", () => {
  it("commits every settlement on a clean shutdown", async () => {
    const t = await startTestApp({ catalog: TEST_CATALOG });
    try {
      const user = await t.account({ credits: "5" });
      const n = 40;
      const responses = await Promise.all(
        Array.from({ length: n }, (_, i) => t.fetch("/api/v1/chat/completions", { key: user.key, body: chatBody("test/chat", { stream: i % 2 === 0, provider: { order: ["alpha"] } }) })),
      );
      for (const response of responses) {
        expect(response.status).toBe(200);
        await response.text();
      }
      // Close at once: whatever is still queued must be committed by the shutdown itself.
      await t.app.close();
      expect(await count(t.db.url, "select count(*) as n from generation where account_id = $1", [user.accountId])).toBe(n);
      expect(await count(t.db.url, "select count(*) as n from ledger_entry where account_id = $1 and kind = 'usage'", [user.accountId])).toBe(n);
      expect(await count(t.db.url, "select count(*) as n from credit_hold where account_id = $1", [user.accountId])).toBe(0);
      const client = new pg.Client({ connectionString: t.db.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          "select a.balance::text, a.held::text, (select sum(amount) from ledger_entry where account_id = a.id)::text as ledger from account a where id = $1",
          [user.accountId],
        );
        expect(rows[0].balance).toBe(rows[0].ledger);
        expect(rows[0].held).toBe("0");
      } finally {
        await client.end();
      }
    } finally {
      await t.close();
    }
  });

  it.skipIf(!REAL_DATABASE_URL)(
    "commits, at the next start, the settlements of a process killed while the database was out of reach",
    async () => {
      const db = await createTestDatabase();
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "sy-durable-"));
      const catalogFile = path.join(dataDir, "catalog.json");
      await fs.writeFile(catalogFile, JSON.stringify(TEST_CATALOG));
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: dataDir,
        PORT: "0",
        LOG_LEVEL: "warn",
        DATABASE_URL: db.url,
        SWITCHYARD_DATA_DIR: dataDir,
        SWITCHYARD_CATALOG: catalogFile,
        SWITCHYARD_PAID_RPS_MIN: "100000",
        SWITCHYARD_PAID_RPS_MAX: "100000",
      };
      const server = spawn(process.execPath, [BIN, "serve"], { cwd: dataDir, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      server.stdout!.on("data", (chunk) => (output += chunk));
      server.stderr!.on("data", (chunk) => (output += chunk));
      const blocker = new pg.Client({ connectionString: db.url });
      try {
        const deadline = Date.now() + 45_000;
        while (!/Dev API key: (\S+)/.test(output)) {
          if (server.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const url = /listening on (http:\/\/\S+)/.exec(output)![1];
        const key = /Dev API key: (\S+)/.exec(output)![1];
        const ask = () =>
          fetch(`${url}/api/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(chatBody("test/chat", { provider: { order: ["alpha"] }, max_tokens: 20 })),
          });
        // The first request takes a credit lease for the requests that follow; then the account is locked away
        // from the server, so their settlements cannot commit.
        expect((await ask()).status).toBe(200);
        const accountId = JSON.parse(await fs.readFile(path.join(dataDir, "dev-account.json"), "utf8")).accountId as string;
        await blocker.connect();
        await blocker.query("begin");
        await blocker.query("select 1 from account where id = $1 for update", [accountId]);
        const n = 20;
        const answers = await Promise.all(Array.from({ length: n }, () => ask()));
        expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
        server.kill("SIGKILL");
        await once(server, "exit");
        await blocker.query("rollback");
        expect(await count(db.url, "select count(*) as n from generation where account_id = $1", [accountId])).toBeLessThan(n + 1);

        // The next start finds the dead process's log and commits what it had not.
        const app = await buildApp(loadConfig({ ...env, PORT: "0", LOG_LEVEL: "silent", SWITCHYARD_DEV_BOOTSTRAP: "false" }));
        try {
          expect(await count(db.url, "select count(*) as n from generation where account_id = $1", [accountId])).toBe(n + 1);
          expect(await count(db.url, "select count(*) as n from ledger_entry where account_id = $1 and kind = 'usage'", [accountId])).toBe(n + 1);
          const totals = await ledgerTotals(app.db.sql, accountId);
          expect(totals.balance).toBe(totals.ledgerSum);
          expect(await fs.readdir(path.join(dataDir, "settlements"))).toHaveLength(1);
        } finally {
          await app.close();
        }
      } finally {
        server.kill("SIGKILL");
        await blocker.end().catch(() => {});
        await db.drop();
        await fs.rm(dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
