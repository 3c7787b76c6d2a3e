import { randomBytes } from "node:crypto";
import pg from "pg";
import { openEmbeddedPostgres } from "../../src/persistence/embedded-postgres.js";

/** A PostgreSQL database of a test file's own: created fresh, dropped at the end. */
export interface TestDatabase {
  url: string;
  /** True on a real PostgreSQL server (DATABASE_URL), false on the embedded PGlite. */
  real: boolean;
  drop(): Promise<void>;
}

/** The server URL the test run targets, if any (CI sets it to the real PostgreSQL). */
export const REAL_DATABASE_URL = process.env.DATABASE_URL || undefined;

/**
 * With DATABASE_URL: a new database on that server (so test files never see each other's rows). Without: an
 * in-memory PGlite served on a free port.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!REAL_DATABASE_URL) {
    const embedded = await openEmbeddedPostgres(null);
    return { url: embedded.url, real: false, drop: () => embedded.close() };
  }
  const fresh = await createFreshDatabase(REAL_DATABASE_URL, "sy_test");
  return { url: fresh.url, real: true, drop: fresh.drop };
}

/**
 * A new database `<prefix>_<random>` on the server of `serverUrl` (whose role may create databases), and how to drop
 * it again (connections still open to it are ended). Shared by the tests and the benchmark.
 */
export async function createFreshDatabase(
  serverUrl: string,
  prefix: string,
  connectTimeoutMs?: number,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = () => new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: connectTimeoutMs });
  const client = admin();
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = admin();
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
