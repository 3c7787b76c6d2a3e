import { createPubSub } from "@graphql-yoga/subscription";
import type { GraphQLSchema } from "graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { buildSchema } from "type-graphql";
import { AccountResolver } from "./resolvers/account.resolver.js";
import { BillingResolver } from "./resolvers/billing.resolver.js";
import { CatalogResolver, ModelEndpointResolver } from "./resolvers/catalog.resolver.js";
import { CompletionResolver } from "./resolvers/completion.resolver.js";
import { EventsResolver } from "./resolvers/events.resolver.js";
import { KeyResolver } from "./resolvers/key.resolver.js";
import { CreditTransactionResolver, GenerationResolver, UsageResolver } from "./resolvers/usage.resolver.js";

/** The GraphQL schema, built from the resolvers (code first). `npm run codegen` emits it to `schema.graphql`. */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      CatalogResolver,
      ModelEndpointResolver,
      AccountResolver,
      KeyResolver,
      UsageResolver,
      GenerationResolver,
      CreditTransactionResolver,
      CompletionResolver,
      BillingResolver,
      EventsResolver,
    ],
    validate: false,
    // Times are `DateTime` (RFC 3339 strings).
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    emitSchemaFile: false,
    // Every subscription here brings its own source (`subscribe`: a run, or the event bus); type-graphql still wants one.
    pubSub: createPubSub(),
  });
}
