import "reflect-metadata";
import fs from "node:fs/promises";
import { lexicographicSortSchema, printSchema } from "graphql";
import { buildGraphQLSchema } from "../src/graphql/schema.js";

/**
 * Emits the GraphQL schema built from the resolvers to `schema.graphql` (sorted, so diffs are stable). With `--check`
 * it writes nothing and fails when the committed file differs from the code (CI drift check).
 */
const FILE = new URL("../schema.graphql", import.meta.url);
const HEADER = "# Generated from the resolvers in src/graphql by `npm run codegen`. Do not edit by hand.\n\n";

const sdl = HEADER + printSchema(lexicographicSortSchema(await buildGraphQLSchema())) + "\n";
if (process.argv.includes("--check")) {
  const committed = await fs.readFile(FILE, "utf8").catch(() => "");
  if (committed !== sdl) {
    console.error("schema.graphql is out of date with the resolvers. Run `npm run codegen` and commit the result.");
    process.exit(1);
  }
  console.log("schema.graphql matches the resolvers.");
} else {
  await fs.writeFile(FILE, sdl);
  console.log("Wrote schema.graphql.");
}
