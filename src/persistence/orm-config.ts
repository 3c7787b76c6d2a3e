import { defineConfig, type Options } from "@mikro-orm/postgresql";
import { Migrator } from "@mikro-orm/migrations";
import { fileURLToPath } from "node:url";
import { ENTITIES } from "./entities.js";

/** Top-level `migrations/` (resolved from this file, so it works from `src/` under tsx and from `dist/src/`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** MikroORM options for a PostgreSQL URL. The same options serve the real server and the embedded one. */
export function ormOptions(url: string, poolSize: number): Options {
  return defineConfig({
    clientUrl: url,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: poolSize },
    // Entities declare every type explicitly; no reflection, no discovery from files.
    discovery: { requireEntitiesArray: true },
    // Required under vitest and tsx, whose module loaders the ORM's default `require`-style import does not know.
    dynamicImportProvider: (id: string) => import(id),
    migrations: {
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      glob: "!(*.d).{js,ts}",
      tableName: "mikro_orm_migrations",
      silent: true,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: "ts",
      fileName: (timestamp: string, name?: string) => `Migration${timestamp}${name ? `_${name}` : ""}`,
    },
    // Queries are logged by the server's own logger only when asked; the ORM stays quiet.
    debug: false,
    allowGlobalContext: false,
  });
}
