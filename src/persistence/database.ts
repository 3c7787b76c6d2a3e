import { MikroORM } from "@mikro-orm/postgresql";
import type { Config } from "../config.js";
import { openEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.js";
import { ormOptions } from "./orm-config.js";
import { ormScope } from "./orm-work.js";
import { Sql } from "./sql.js";

/** The open database: the ORM for domain reads and writes, `sql` for hand-written statements on the hot path. */
export interface Database {
  orm: MikroORM;
  sql: Sql;
  url: string;
  /** The embedded server when `DATABASE_URL` is unset; null on a real server. */
  embedded: EmbeddedPostgres | null;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Apply pending migrations before returning (the server and `switchyard migrate` do; tools that only read need not). */
  migrate: boolean;
  /** Keep the embedded database in memory instead of under `dataDir` (tests). */
  inMemory?: boolean;
}

/**
 * Connects to `DATABASE_URL`, or opens (or joins) the embedded PostgreSQL under the data directory when it is unset,
 * and optionally migrates it to the latest schema.
 */
export async function openDatabase(config: Config["database"], options: OpenDatabaseOptions): Promise<Database> {
  const embedded = config.url ? null : await openEmbeddedPostgres(options.inMemory ? null : config.dataDir);
  const url = config.url ?? embedded!.url;
  let orm: MikroORM | undefined;
  let sql: Sql | undefined;
  try {
    orm = await MikroORM.init(ormOptions(url, config.poolSize));
    if (options.migrate) await ormScope(() => orm!.getMigrator().up());
    sql = new Sql(url, config.poolSize);
  } catch (error) {
    await orm?.close(true).catch(() => {});
    await embedded?.close().catch(() => {});
    throw error;
  }
  const opened = { orm, sql };
  return {
    orm,
    sql,
    url,
    embedded,
    async close() {
      await opened.sql.close();
      await opened.orm.close(true);
      await embedded?.close();
    },
  };
}
