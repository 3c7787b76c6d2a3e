import pg from "pg";
import { createFreshDatabase } from "../helpers/database.js";
import { spawnChild, stopChild, waitForOutput } from "./processes.js";

/**
 * The database a benchmark run uses. In order of preference:
 * 1. the server of `DATABASE_URL`, in a fresh database `sy_bench_<random>` dropped at the end (or, when the role may not
 *    create databases, the database of the URL itself);
 * 2. a PostgreSQL on 127.0.0.1:5432 (user postgres), in a fresh database dropped at the end;
 * 3. the embedded PostgreSQL (PGlite), in memory, in a process of its own. It serialises every query, so figures
 *    measured on it are not comparable with those on a real server.
 */
export interface BenchDatabase {
  url: string;
  kind: "postgres" | "embedded";
  /** Shown in the report: which server, and what that means for the figures. */
  description: string;
  drop(): Promise<void>;
}

export const LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test";

export async function openBenchDatabase(
  env: NodeJS.ProcessEnv,
  embeddedScript: string,
  log: (message: string) => void,
): Promise<BenchDatabase> {
  const configured = env.DATABASE_URL || undefined;
  if (configured) {
    const fresh = await freshBenchDatabase(configured).catch((error: Error) => {
      log(`could not create a fresh database on the DATABASE_URL server (${error.message}): using its database as it is`);
      return null;
    });
    if (fresh) return fresh;
    return {
      url: configured,
      kind: "postgres",
      description: `${await serverVersion(configured)} from DATABASE_URL, in its own database (a fresh one could not be created)`,
      drop: async () => {},
    };
  }
  const local = await freshBenchDatabase(LOCAL_POSTGRES_URL).catch((error: Error) => {
    log(`no PostgreSQL at ${new URL(LOCAL_POSTGRES_URL).host} (${error.message}): starting the embedded one`);
    return null;
  });
  if (local) return local;
  return startEmbedded(embeddedScript);
}

async function freshBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const fresh = await createFreshDatabase(serverUrl, "sy_bench", 3_000);
  return {
    url: fresh.url,
    kind: "postgres",
    description: `${await serverVersion(serverUrl)} at ${new URL(serverUrl).host}, fresh database ${fresh.name} (dropped after the run)`,
    drop: fresh.drop,
  };
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>("show server_version");
    return `PostgreSQL ${rows[0].server_version.split(" ")[0]}`;
  } catch {
    return "PostgreSQL";
  } finally {
    await client.end().catch(() => {});
  }
}

async function startEmbedded(script: string): Promise<BenchDatabase> {
  const child = spawnChild(process.execPath, [...process.execArgv, script], { env: process.env, stdinPipe: true });
  const [, url] = await waitForOutput(child, /^(postgresql:\/\/\S+)$/m, 60_000, "the embedded PostgreSQL");
  return {
    url,
    kind: "embedded",
    description:
      "embedded PostgreSQL (PGlite, in memory, in its own process): no PostgreSQL server was reachable. It runs one " +
      "query at a time, so these figures are NOT comparable with runs on a real PostgreSQL",
    drop: () => stopChild(child),
  };
}

/** An open client for the checks that read the database directly (the credit check). */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // Dropping the database at the end terminates connections; that must not crash the run.
  client.on("error", () => {});
  await client.connect();
  return client;
}
