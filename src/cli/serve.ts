import { buildApp, type App } from "../app.js";
import type { Config } from "../config.js";
import { VERSION } from "../version.js";
import { devBanner, ensureDevAccess } from "./dev-bootstrap.js";
import type { CliIO } from "./output.js";

/**
 * `switchyard serve`: builds the app, listens, prints where and how to call it, and shuts down gracefully on
 * SIGINT/SIGTERM (stops accepting, lets requests in flight finish, settles, closes the database). Resolves when the
 * server has stopped.
 */
export async function serve(config: Config, io: CliIO): Promise<void> {
  const app = await buildApp(config);
  let url: string;
  try {
    url = await app.listen();
  } catch (error) {
    await app.close();
    throw error;
  }
  io.stdout(`${banner(app, url)}\n`);
  if (config.dev.bootstrap) io.stdout(`${devBanner(url, await ensureDevAccess(app))}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.stdout(`\n${signal}: finishing requests in flight, then stopping…\n`);
      app.close().then(resolve, resolve);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}

function banner(app: App, url: string): string {
  const snapshot = app.catalog.snapshot();
  const active = [...snapshot.providers.values()].filter((p) => p.active);
  const database = app.db.embedded
    ? `embedded PostgreSQL in ${app.config.database.dataDir}`
    : `PostgreSQL at ${new URL(app.db.url).host}`;
  return [
    `Switchyard ${VERSION} listening on ${url}`,
    `  REST:     ${url}/api/v1   (OpenAI-compatible)`,
    `  GraphQL:  ${url}/graphql  (queries, mutations; subscriptions over graphql-ws)`,
    `  Database: ${database}`,
    `  Catalog:  ${snapshot.models.size} models; providers active: ${active.map((p) => p.slug).join(", ") || "none"}`,
  ].join("\n");
}
