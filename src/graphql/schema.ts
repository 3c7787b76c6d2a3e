import type { GraphQLSchema } from "graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { buildSchema } from "type-graphql";
import { AccountResolver } from "./resolvers/account.resolver.js";
import { CatalogResolver } from "./resolvers/catalog.resolver.js";

/** The GraphQL schema, built from the resolvers (code first). `npm run codegen` emits it to `schema.graphql`. */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [CatalogResolver, AccountResolver],
    validate: false,
    // Times are `DateTime` (RFC 3339 strings).
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    emitSchemaFile: false,
  });
}
