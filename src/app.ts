import Fastify, { LogController, type FastifyInstance } from "fastify";
import { AccountsService } from "./accounts/accounts.service.js";
import { KeyAuthenticator } from "./accounts/key-auth.js";
import { PgCredits } from "./billing/credits.service.js";
import { defaultCatalog, readCatalogFile, type CatalogFile } from "./catalog/catalog-file.js";
import { CatalogStore } from "./catalog/catalog-store.js";
import type { Config } from "./config.js";
import { HealthTracker } from "./core/health.js";
import { systemClock, type Clock, type ProviderAdapter } from "./core/ports.js";
import { CompletionRouter } from "./core/router.js";
import { MemoryEventBus, type EventBus } from "./events/event-bus.js";
import { buildGraphQLSchema } from "./graphql/schema.js";
import { mountGraphQL } from "./graphql/server.js";
import { openDatabase, type Database } from "./persistence/database.js";
import { OpenAICompatibleAdapter } from "./providers/openai-compatible.js";
import { ProviderRegistry } from "./providers/registry.js";
import { SimulatedAdapter } from "./providers/simulated.js";
import { registerCompletionRoutes } from "./rest/completions.route.js";
import { installErrorHandling } from "./rest/error-handler.js";
import { registerGenerationRoutes } from "./rest/generation.route.js";
import { registerHealthRoutes } from "./rest/health.route.js";
import { registerKeyRoutes } from "./rest/key.route.js";
import { registerModelRoutes } from "./rest/models.route.js";
import { VERSION } from "./version.js";

/**
 * The composition root: builds every part of Switchyard from the configuration, wires the ports of the routing core,
 * and mounts both front doors on one HTTP server. Tests build the app with overrides; nothing here is global.
 */
export interface AppOverrides {
  /** Provider adapters to use instead of the built-in ones. */
  adapters?: ProviderAdapter[];
  clock?: Clock;
  random?: () => number;
  /** Keep the embedded database in memory (tests). */
  inMemoryDatabase?: boolean;
  /** Catalogs to load at start instead of the default one (plus `SWITCHYARD_CATALOG` files, which always load). */
  catalogs?: CatalogFile[];
}

export interface App {
  config: Config;
  db: Database;
  http: FastifyInstance;
  bus: EventBus;
  catalog: CatalogStore;
  health: HealthTracker;
  router: CompletionRouter;
  credits: PgCredits;
  accounts: AccountsService;
  auth: KeyAuthenticator;
  /** Starts listening; resolves with the base URL (`http://host:port`). */
  listen(): Promise<string>;
  /** Stops taking requests, lets streams in flight finish, then closes everything. Safe to call twice. */
  close(): Promise<void>;
}

/** How often orphaned credit holds are looked for, and how often the catalog is re-read from the database. */
const REAPER_INTERVAL_MS = 60_000;
const CATALOG_REFRESH_MS = 30_000;

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const db = await openDatabase(config.database, { migrate: true, inMemory: overrides.inMemoryDatabase });
  const closers: Array<() => Promise<void> | void> = [() => db.close()];
  try {
    const clock = overrides.clock ?? systemClock;
    const bus: EventBus = new MemoryEventBus();
    closers.unshift(() => bus.close());
    const simulated = new SimulatedAdapter();
    const openai = new OpenAICompatibleAdapter({ connectTimeoutMs: config.routing.connectTimeoutMs });
    closers.unshift(() => openai.close());
    const adapters = new ProviderRegistry(overrides.adapters ?? [openai, simulated]);

    const catalog = new CatalogStore(db.orm, { providerEnv: config.providerEnv, adapters: adapters.kinds() }, bus);
    closers.unshift(() => catalog.close());
    const baseCatalogs = overrides.catalogs ?? [defaultCatalog()];
    const known = baseCatalogs.flatMap((c) => c.providers.map((p) => p.slug));
    const extraCatalogs: CatalogFile[] = [];
    for (const file of config.catalog.files) {
      const parsed = await readCatalogFile(file, known);
      known.push(...parsed.providers.map((p) => p.slug));
      extraCatalogs.push(parsed);
    }
    await catalog.sync(...baseCatalogs, ...extraCatalogs);

    const http = Fastify({
      logger: config.logLevel === "silent" ? false : { level: config.logLevel },
      // No per-request log lines: they cost time on the hot path and would sit next to request data. Errors are logged.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: config.http.bodyLimitBytes,
      trustProxy: config.http.trustProxy,
      return503OnClosing: true,
      keepAliveTimeout: 65_000,
    });
    const log = {
      warn: (details: Record<string, unknown>, message: string) => http.log.warn(details, message),
      error: (details: Record<string, unknown>, message: string) => http.log.error(details, message),
    };
    catalog.startRefreshing(CATALOG_REFRESH_MS, (err) => log.warn({ err }, "reloading the catalog failed"));

    const credits = new PgCredits(db.sql, (record, balance) => {
      bus.publish("balance.changed", { accountId: record.accountId, balance: balance.toString() });
      bus.publish("generation.created", { accountId: record.accountId, generationId: record.id });
    });
    credits.startReaper(REAPER_INTERVAL_MS, (err) => log.warn({ err }, "reaping credit holds failed"));
    closers.unshift(() => credits.stopReaper());

    const health = new HealthTracker(clock);
    const router = new CompletionRouter({
      catalog,
      credits,
      adapters,
      health,
      clock,
      random: overrides.random ?? Math.random,
      options: {
        firstTokenTimeoutMs: config.routing.firstTokenTimeoutMs,
        idleTimeoutMs: config.routing.idleTimeoutMs,
        requestTimeoutMs: config.routing.requestTimeoutMs,
        maxAttempts: config.routing.maxAttempts,
      },
      logger: log,
    });
    const auth = new KeyAuthenticator(db.sql, bus, clock);
    closers.unshift(() => auth.close());
    const accounts = new AccountsService(db.orm, db.sql, bus);

    installJsonParsing(http);
    installErrorHandling(http);
    registerHealthRoutes(http, { sql: db.sql, version: VERSION });
    registerModelRoutes(http, { catalog, health, auth });
    registerKeyRoutes(http, { auth, sql: db.sql });
    registerGenerationRoutes(http, { auth, sql: db.sql, catalog });
    registerCompletionRoutes(http, { auth, router, keepAliveMs: config.routing.keepAliveMs });
    const closeGraphQL = await mountGraphQL(
      http,
      await buildGraphQLSchema(),
      { catalog, health, auth, orm: db.orm, sql: db.sql },
      { introspection: config.env !== "production" },
    );
    closers.unshift(closeGraphQL);
    closers.unshift(() => http.close());

    let closing: Promise<void> | undefined;
    return {
      config,
      db,
      http,
      bus,
      catalog,
      health,
      router,
      credits,
      accounts,
      auth,
      async listen() {
        await http.listen({ host: config.http.host, port: config.http.port });
        const address = http.server.address();
        const port = typeof address === "object" && address ? address.port : config.http.port;
        const host = config.http.host.includes(":") ? `[${config.http.host}]` : config.http.host;
        return `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
      },
      close() {
        closing ??= closeAll(closers);
        return closing;
      },
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function closeAll(closers: Array<() => Promise<void> | void>): Promise<void> {
  for (const close of closers) {
    try {
      await close();
    } catch {
      // Keep closing the rest: a half-closed app holds ports and connections.
    }
  }
}

/**
 * Request bodies are JSON whatever their content type says (`curl -d` sends form encoding by default), and the raw
 * bytes are kept on the request for routes that verify signatures over them (Stripe webhooks).
 */
function installJsonParsing(http: FastifyInstance): void {
  http.removeAllContentTypeParsers();
  http.addContentTypeParser("*", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    (request as unknown as { rawBody: Buffer }).rawBody = body;
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString("utf8")));
    } catch {
      const error = new SyntaxError("The request body is not valid JSON.");
      done(error, undefined);
    }
  });
}
