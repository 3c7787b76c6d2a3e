import { withMigratedScratchDatabase } from "./migration-db.js";

/** `npm run migration:create -- <name>`: writes a migration for the difference between the entities and `migrations/`. */
const name = process.argv[2];
await withMigratedScratchDatabase(async (orm) => {
  const result = await orm.getMigrator().createMigration(undefined, false, false, name);
  if (!result.fileName) console.log("No changes: the migrations already match the entities.");
  else console.log(`Wrote migrations/${result.fileName}`);
});
