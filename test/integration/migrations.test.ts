import { MikroORM } from "@mikro-orm/postgresql";
import fs from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { openEmbeddedPostgres } from "../../src/persistence/embedded-postgres.js";
import { MIGRATIONS_DIR, ormOptions } from "../../src/persistence/orm-config.js";
import { createTestDatabase, REAL_DATABASE_URL } from "../helpers/database.js";

/** Tables every later migration builds on (more are added by later features). */
const TABLES = ["account", "activity_day", "api_key", "app_user", "credit_hold", "generation", "ledger_entry", "model", "model_endpoint", "provider", "rate_limit_counter"];
const FUNCTIONS = ["sy_key_period_usage", "sy_place_hold", "sy_post_ledger", "sy_reap_holds", "sy_release_hold", "sy_settle"];

async function migrateAndInspect(url: string) {
  const orm = await MikroORM.init(ormOptions(url, 2));
  try {
    const applied = await orm.getMigrator().up();
    const again = await orm.getMigrator().up();
    const connection = orm.em.getConnection();
    const tables = await connection.execute<Array<{ table_name: string }>>(
      "select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by 1",
    );
    const functions = await connection.execute<Array<{ proname: string }>>(
      "select proname from pg_proc where proname like 'sy\\_%' order by 1",
    );
    const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    return { applied: applied.length, again: again.length, tables: tables.map((t) => t.table_name), functions: functions.map((f) => f.proname), drift };
  } finally {
    await orm.close(true);
  }
}

async function expectMigrated(url: string) {
  const migrations = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".ts")).length;
  const result = await migrateAndInspect(url);
  expect(result).toMatchObject({ applied: migrations, again: 0, drift: "" });
  expect(result.tables).toEqual(expect.arrayContaining(TABLES));
  expect(result.functions).toEqual(expect.arrayContaining(FUNCTIONS));
}

describe("migrations", () => {
  it("bring an empty embedded PostgreSQL to the schema the entities describe", async () => {
    const embedded = await openEmbeddedPostgres(null);
    try {
      await expectMigrated(embedded.url);
    } finally {
      await embedded.close();
    }
  });

  it.skipIf(!REAL_DATABASE_URL)("bring an empty database on the real PostgreSQL server to the same schema", async () => {
    const db = await createTestDatabase();
    try {
      await expectMigrated(db.url);
    } finally {
      await db.drop();
    }
  });
});
