import { withMigratedScratchDatabase } from "./migration-db.js";

/** CI drift check: fails when the entities differ from what the committed migrations create. */
const pending = await withMigratedScratchDatabase((orm) => orm.schema.getUpdateSchemaSQL({ wrap: false }));
if (pending.trim()) {
  console.error("The entities differ from the committed migrations. Run `npm run migration:create -- <name>`. Pending SQL:");
  console.error(pending.trim().replace(/^/gm, "  "));
  process.exit(1);
}
console.log("Migrations match the entities.");
