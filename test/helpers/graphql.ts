import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type FormattedExecutionResult } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { expect } from "vitest";
import WebSocket from "ws";
import { MeDocument } from "../generated/graphql.js";

/** graphql-ws clients of a test server, and reading what their operations stream. */

export interface WsClientOptions {
  /** `connection_init` parameters (`authorization`, `x-csrf-token`…). */
  params?: Record<string, unknown>;
  /** A session token sent as the `sy_session` cookie of the upgrade request, as a browser's would be. */
  cookie?: string;
  /** An Authorization header on the upgrade request. */
  authorization?: string;
}

/**
 * A graphql-ws client of the server at `baseUrl` (Node has no global WebSocket: `ws` is the implementation); no
 * retries, so a refused connection fails the operation at once. The caller disposes of it.
 */
export function connectWs(baseUrl: string, options: WsClientOptions = {}): Client {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = `sy_session=${options.cookie}`;
  if (options.authorization) headers.authorization = options.authorization;
  class HeaderWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  return createClient({
    url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: HeaderWebSocket,
    connectionParams: options.params,
    retryAttempts: 0,
  });
}

export function iterate<R, V>(client: Client, doc: TypedDocumentNode<R, V>, variables?: V): AsyncIterableIterator<FormattedExecutionResult<R>> {
  return client.iterate<R>({ query: print(doc), variables: variables as Record<string, unknown> | undefined }) as AsyncIterableIterator<
    FormattedExecutionResult<R>
  >;
}

/**
 * A subscription that is live on the server when this resolves: a query on the same socket has been answered after it
 * (operations of one socket start in order, and a subscription's source is set up before any query's database read).
 */
export async function subscribed<R, V>(client: Client, doc: TypedDocumentNode<R, V>, variables?: V): Promise<AsyncIterableIterator<FormattedExecutionResult<R>>> {
  const results = iterate(client, doc, variables);
  await drain(iterate(client, MeDocument));
  return results;
}

/** Every event of a stream until it completes (throws what the stream throws: GraphQL errors or a close event). */
export async function drain<R>(results: AsyncIterableIterator<FormattedExecutionResult<R>>): Promise<R[]> {
  const all: R[] = [];
  for await (const result of results) {
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    all.push(result.data!);
  }
  return all;
}

/** The next result of a stream, or a failure after `ms`. */
export async function next<R>(results: AsyncIterableIterator<FormattedExecutionResult<R>>, ms = 10_000): Promise<FormattedExecutionResult<R>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)));
  try {
    const step = await Promise.race([results.next(), timeout]);
    expect(step.done).toBe(false);
    return step.value as FormattedExecutionResult<R>;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What an operation failed with: the GraphQL errors the server sent (in an `error` message for invalid operations, in
 * a `next` result when the subscription could not start), or the close event of a refused connection.
 */
export async function failure(results: AsyncIterableIterator<FormattedExecutionResult<unknown>>): Promise<any> {
  try {
    for await (const result of results) if (result.errors) return result.errors;
  } catch (error) {
    return error;
  }
  throw new Error("the operation completed without failing");
}
