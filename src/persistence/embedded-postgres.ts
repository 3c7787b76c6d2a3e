import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { processAlive } from "./process-alive.js";

/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly, in this process) served over the PostgreSQL wire
 * protocol on 127.0.0.1, so MikroORM and `pg` talk to it exactly as to a real server, with one SQL dialect and one set
 * of migrations.
 *
 * PGlite is a single backend: queries are serialised and an open transaction makes every other connection wait. It is
 * for development and for tests that do not measure concurrency; concurrency tests run on a real server.
 *
 * Only one process may open a data directory. The process that opens it writes `embedded.json` (pid and port) beside
 * it, and other processes (the CLI while a server runs) connect through that port instead of opening the files.
 */
export interface EmbeddedPostgres {
  /** A `postgresql://` URL that reaches it. */
  url: string;
  /** True when this process opened the database; false when it connected to another process's. */
  owned: boolean;
  close(): Promise<void>;
}

interface ConnectionFile {
  pid: number;
  port: number;
}

/** Connections the socket server accepts: the pools of this process plus a few CLI invocations. */
const MAX_CONNECTIONS = 64;

/**
 * Opens the embedded database in `dataDir` (or reuses the one another live process serves from it). With
 * `dataDir: null` the database lives in memory and disappears on close (tests).
 */
export async function openEmbeddedPostgres(dataDir: string | null): Promise<EmbeddedPostgres> {
  if (dataDir) {
    const shared = await findRunningInstance(dataDir);
    if (shared) return { url: urlFor(shared.port), owned: false, close: async () => {} };
    await fs.mkdir(dataDir, { recursive: true });
  }
  const db = dataDir ? new PGlite(path.join(dataDir, "pgdata")) : new PGlite();
  await db.waitReady;
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: MAX_CONNECTIONS });
  await server.start();
  const port = Number(server.getServerConn().split(":").pop());
  const connectionFile = dataDir ? path.join(dataDir, "embedded.json") : null;
  if (connectionFile) {
    await fs.writeFile(connectionFile, JSON.stringify({ pid: process.pid, port } satisfies ConnectionFile));
  }
  let closed = false;
  return {
    url: urlFor(port),
    owned: true,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await db.close();
      if (connectionFile) await fs.rm(connectionFile, { force: true });
    },
  };
}

function urlFor(port: number): string {
  return `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
}

async function findRunningInstance(dataDir: string): Promise<ConnectionFile | null> {
  let file: ConnectionFile;
  try {
    file = JSON.parse(await fs.readFile(path.join(dataDir, "embedded.json"), "utf8")) as ConnectionFile;
  } catch {
    return null;
  }
  if (file.pid === process.pid || !processAlive(file.pid)) return null;
  return (await portAnswers(file.port)) ? file : null;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
