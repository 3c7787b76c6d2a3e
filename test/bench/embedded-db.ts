import { openEmbeddedPostgres } from "../../src/persistence/embedded-postgres.js";

/**
 * The benchmark's last-resort database: an in-memory embedded PostgreSQL (PGlite) served on a free port of 127.0.0.1,
 * in a process of its own so that it does not run inside the gateway or the load generator. Prints its URL on one
 * line, and stops when its standard input closes or on SIGTERM.
 */
const db = await openEmbeddedPostgres(null);
process.stdout.write(`${db.url}\n`);
const stop = () => {
  void db.close().finally(() => process.exit(0));
};
process.stdin.on("end", stop).on("error", stop).resume();
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
