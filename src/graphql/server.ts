import { ApolloServer } from "@apollo/server";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import type { FastifyInstance } from "fastify";
import {
  getOperationAST,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { CSRF_HEADER } from "../accounts/sessions.js";
import { AppError, isAppError, toAppError } from "../errors.js";
import { authenticateConnection, authenticateRequest, type Credentials } from "./authenticate.js";
import type { GraphQLContext, GraphQLServices } from "./context.js";
import { complexityError, complexityPlugin, depthLimitRule, type OperationLimits } from "./limits.js";
import { createLoaders } from "./loaders.js";

export interface GraphQLOptions extends OperationLimits {
  /** Answer introspection queries. */
  introspection: boolean;
}

/** What a graphql-ws connection keeps between its operations. */
type ConnectionState = {
  credentials?: Credentials;
  /** Aborted when the socket closes: completions run by queries or mutations over the socket stop and settle. */
  closed?: AbortController;
  /** Ids of this socket's `completionStream` operations still running. */
  streams?: Set<string>;
};

/**
 * Mounts the GraphQL API on the gateway's HTTP server: queries and mutations over HTTP at `/graphql` (Apollo) and
 * every operation, subscriptions included, over graphql-ws on the same path and port. Both transports authenticate the
 * same way, apply the same depth and complexity limits and render errors with the same `extensions.code`s.
 *
 * Shutdown (Fastify's `preClose`, before the HTTP server waits for its requests): new sockets and new completion streams
 * are refused, completion streams in flight run to their end (as REST lets SSE streams finish), then every socket is
 * closed with 1001 "Going away" — account-event subscribers reconnect, to another node. Returns that same function.
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
    validationRules: [depthLimitRule(options.maxDepth)],
    // Cookie sessions make browsers' simple cross-site requests dangerous: every operation must carry a header a
    // simple request cannot (a JSON content type, or one of these). The dashboard sends its X-CSRF-Token anyway.
    csrfPrevention: { requestHeaders: ["x-apollo-operation-name", "apollo-require-preflight", CSRF_HEADER] },
    plugins: [fastifyApolloDrainPlugin(app), complexityPlugin<GraphQLContext>(schema, options.maxComplexity)],
    // The app stops Apollo in its own graceful shutdown. Apollo's handlers would stop it on SIGINT/SIGTERM and then
    // re-raise the signal, killing the process before the settlements were committed and the leases returned.
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  await app.register(fastifyApollo(apollo), {
    path: "/graphql",
    context: async (request, reply): Promise<GraphQLContext> => {
      const credentials = await authenticateRequest(services, request).catch((error: unknown) => {
        throw asGraphQLError(error);
      });
      // The response closing before it finished means the client went away: a completion in flight stops and settles.
      const client = new AbortController();
      reply.raw.on("close", () => {
        if (!reply.raw.writableFinished) client.abort();
      });
      return { ...credentials, services, loaders: createLoaders(services), signal: client.signal };
    },
  });

  let closing = false;
  let streaming = 0;
  let streamsDone: (() => void) | null = null;
  const streamEnded = () => {
    streaming -= 1;
    if (streaming === 0) streamsDone?.();
  };

  const rules = [...specifiedRules, depthLimitRule(options.maxDepth), ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const wsServer = new WebSocketServer({ server: app.server, path: "/graphql" });
  const ws = useServer<Record<string, unknown>, ConnectionState>(
    {
      schema,
      onConnect: async (ctx) => {
        if (closing) {
          ctx.extra.socket.close(1001, "Going away");
          return false;
        }
        try {
          ctx.extra.credentials = await authenticateConnection(services, ctx.extra.request, ctx.connectionParams);
        } catch (error) {
          const appError = toAppError(error);
          const code = appError.code === "forbidden" ? CloseCode.Forbidden : appError.code === "unauthenticated" ? CloseCode.Unauthorized : CloseCode.InternalServerError;
          ctx.extra.socket.close(code, closeReason(appError.message));
          return false;
        }
        const closed = new AbortController();
        ctx.extra.closed = closed;
        ctx.extra.socket.once("close", () => closed.abort());
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [withCode(error as GraphQLError, "GRAPHQL_PARSE_FAILED")];
        }
        const invalid = validate(schema, document, rules);
        if (invalid.length > 0) return invalid.map((error) => withCode(error, "GRAPHQL_VALIDATION_FAILED"));
        const tooComplex = complexityError(schema, document, payload.variables ?? undefined, payload.operationName, options.maxComplexity);
        if (tooComplex) return [tooComplex];
        const stream = isCompletionStream(document, payload.operationName);
        if (closing && stream) {
          return [new GraphQLError("The server is shutting down: start the stream again (on another node).", { extensions: { code: "SERVICE_UNAVAILABLE" } })];
        }
        const credentials = ctx.extra.credentials ?? { principal: null, sessionEnded: false };
        const contextValue: GraphQLContext = {
          ...credentials,
          services,
          // A subscription lives long: its events must not see values an earlier event cached.
          loaders: createLoaders(services, { cache: false }),
          signal: ctx.extra.closed?.signal ?? new AbortController().signal,
        };
        if (stream) {
          // Counted until graphql-ws reports the operation complete (however it ends), for shutdown to wait on.
          (ctx.extra.streams ??= new Set()).add(id);
          streaming += 1;
        }
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      onComplete: (ctx, id) => {
        // graphql-ws sends the operation's `complete` message right after this hook: let it go out before any close.
        if (ctx.extra.streams?.delete(id)) setImmediate(streamEnded);
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
    },
    wsServer,
  );
  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      if (streaming > 0) await new Promise<void>((resolve) => (streamsDone = resolve));
      await ws.dispose();
    })());
  app.addHook("preClose", close);
  return close;
}

/** Whether the operation to run is a `completionStream` subscription. */
function isCompletionStream(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  return (
    operation?.operation === "subscription" &&
    operation.selectionSet.selections.some((s) => s.kind === Kind.FIELD && s.name.value === "completionStream")
  );
}

/**
 * Every GraphQL error carries a literal `extensions.code` from the error registry. Unexpected errors are masked as
 * INTERNAL_SERVER_ERROR so no internal detail reaches a client.
 */
function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
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
  if (typeof code === "string" && code !== "INTERNAL_SERVER_ERROR") {
    // `http` steers Apollo's status code; it is no business of clients (and graphql-ws would send it along).
    const { http: _http, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  const masked = new AppError("internal");
  return { message: masked.message, locations: formatted.locations, path: formatted.path, extensions: { code: masked.spec.graphql } };
}

/** An authentication failure as Apollo renders it: the registry's code, and its HTTP status (401, 403). */
function asGraphQLError(error: unknown): GraphQLError {
  const appError = isAppError(error) ? error : new AppError("internal");
  return new GraphQLError(appError.message, { originalError: appError, extensions: { code: appError.spec.graphql, http: { status: appError.status } } });
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}

/** WebSocket close reasons are at most 123 bytes. */
function closeReason(message: string): string {
  return Buffer.byteLength(message) <= 123 ? message : `${Buffer.from(message).subarray(0, 119).toString("utf8").replace(/\uFFFD$/, "")}…`;
}
