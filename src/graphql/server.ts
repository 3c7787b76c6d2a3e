import { ApolloServer } from "@apollo/server";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import type { FastifyInstance } from "fastify";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { AppError, isAppError } from "../errors.js";
import type { GraphQLContext, GraphQLServices } from "./context.js";

export interface GraphQLOptions {
  introspection: boolean;
}

/**
 * Mounts the GraphQL API on the gateway's HTTP server: queries and mutations over HTTP at `/graphql` (Apollo) and
 * subscriptions over graphql-ws on the same path and port. Returns a function that closes the WebSocket side.
 */
export async function mountGraphQL(
  app: FastifyInstance,
  schema: GraphQLSchema,
  services: GraphQLServices,
  options: GraphQLOptions,
): Promise<() => Promise<void>> {
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: options.introspection,
    formatError,
    plugins: [fastifyApolloDrainPlugin(app)],
  });
  await apollo.start();
  await app.register(fastifyApollo(apollo), {
    path: "/graphql",
    context: async (request) => ({ key: await authenticate(services, request.headers.authorization), services }),
  });

  const wsServer = new WebSocketServer({ server: app.server, path: "/graphql" });
  const ws = useServer<Record<string, unknown>>(
    {
      schema,
      context: async (ctx): Promise<GraphQLContext> => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.extra.request.headers.authorization;
        return { key: await authenticate(services, typeof authorization === "string" ? authorization : undefined), services };
      },
      onError: () => {},
    },
    wsServer,
  );
  return async () => {
    await ws.dispose();
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
  };
}

/** The Bearer key of an operation, if any; a bad key is an UNAUTHENTICATED error (HTTP 401), not anonymity. */
async function authenticate(services: GraphQLServices, authorization: string | undefined): Promise<GraphQLContext["key"]> {
  if (!authorization) return null;
  try {
    return await services.auth.authenticate(authorization);
  } catch (error) {
    const appError = isAppError(error) ? error : new AppError("internal");
    throw new GraphQLError(appError.message, {
      extensions: { code: appError.spec.graphql, http: { status: appError.status } },
    });
  }
}

/**
 * Every GraphQL error carries a literal `extensions.code` from the error registry. Unexpected errors are masked as
 * INTERNAL_SERVER_ERROR so no internal detail reaches a client.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (isAppError(original)) {
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: original.spec.graphql, status: original.status, ...(original.metadata ? { metadata: original.metadata } : {}) },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === "string" && code !== "INTERNAL_SERVER_ERROR") return formatted;
  const masked = new AppError("internal");
  return { message: masked.message, locations: formatted.locations, path: formatted.path, extensions: { code: masked.spec.graphql } };
}
