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
  const name = `sy_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: REAL_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(REAL_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    real: true,
    async drop() {
      const client = new pg.Client({ connectionString: REAL_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
