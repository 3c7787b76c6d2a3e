import "reflect-metadata";
import { MikroORM } from "@mikro-orm/postgresql";
import { openEmbeddedPostgres } from "../src/persistence/embedded-postgres.js";
import { ormOptions } from "../src/persistence/orm-config.js";

/**
 * A throw-away in-memory PostgreSQL migrated to the committed migrations, for comparing the entities against them.
 * `DATABASE_URL` is deliberately ignored: a scratch database is all these scripts need.
 */
export async function withMigratedScratchDatabase<T>(work: (orm: MikroORM) => Promise<T>): Promise<T> {
  const embedded = await openEmbeddedPostgres(null);
  const orm = await MikroORM.init(ormOptions(embedded.url, 2));
  try {
    await orm.getMigrator().up();
    return await work(orm);
  } finally {
    await orm.close(true);
    await embedded.close();
  }
}
