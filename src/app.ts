import Fastify, { LogController, type FastifyInstance } from "fastify";
import { createServer } from "node:http";
import path from "node:path";
import { AccountDeletionService } from "./accounts/account-deletion.service.js";
import { AccountsService } from "./accounts/accounts.service.js";
import { DashboardAuthService } from "./accounts/dashboard-auth.service.js";
import { KeyAuthenticator } from "./accounts/key-auth.js";
import { postgresLoginThrottle } from "./accounts/login-throttle.js";
import { SessionAuthenticator } from "./accounts/sessions.js";
import { KeysService } from "./accounts/keys.service.js";
import { PrivacyService } from "./accounts/privacy.service.js";
import { AutoTopUpService } from "./billing/auto-top-up.service.js";
import { CreditExpiry } from "./billing/credit-expiry.service.js";
import { LeasedCredits } from "./billing/credit-leases.js";
import { applySettlements, type SettlementItem } from "./billing/settlement-batcher.js";
import { SettlementLog } from "./billing/settlement-log.js";
import { PurchasesService } from "./billing/purchases.service.js";
import { createStripeClient } from "./billing/stripe-client.js";
import { StripeWebhooks } from "./billing/stripe-webhook.js";
import { defaultCatalog, readCatalogFile, type CatalogFile } from "./catalog/catalog-file.js";
import { CatalogStore } from "./catalog/catalog-store.js";
import type { Config } from "./config.js";
import { HealthTracker } from "./core/health.js";
import { systemClock, type Clock, type ModerationPort, type ProviderAdapter, type SearchPort } from "./core/ports.js";
import { CompletionRouter } from "./core/router.js";
import { MemoryEventBus, type EventBus } from "./events/event-bus.js";
import { connectRedis, RedisEventBus } from "./events/redis-event-bus.js";
import { buildGraphQLSchema } from "./graphql/schema.js";
import { mountGraphQL } from "./graphql/server.js";
import { BalanceCache } from "./limits/balance-cache.js";
import { purgeExpiredCounters, RateLimits, type CounterBackend } from "./limits/rate-limits.js";
import { OpenAIModeration } from "./moderation/openai-moderation.js";
import { SimulatedModeration } from "./moderation/simulated-moderation.js";
import { openDatabase, type Database } from "./persistence/database.js";
import { AnthropicAdapter } from "./providers/anthropic.js";
import { OpenAICompatibleAdapter } from "./providers/openai-compatible.js";
import { ProviderRegistry } from "./providers/registry.js";
import { SimulatedAdapter } from "./providers/simulated.js";
import { completionsFrontDoor, type CompletionsFrontDoor } from "./rest/completions.route.js";
import { registerCreditRoutes } from "./rest/credits.route.js";
import { parseJsonBody } from "./rest/request-body.js";
import { registerAccountRoutes } from "./rest/account.route.js";
import { registerAuthRoutes } from "./rest/auth.route.js";
import { installErrorHandling } from "./rest/error-handler.js";
import { registerGenerationRoutes } from "./rest/generation.route.js";
import { registerHealthRoutes } from "./rest/health.route.js";
import { registerKeyRoutes } from "./rest/key.route.js";
import { registerKeysRoutes } from "./rest/keys.route.js";
import { registerPrivacyRoutes } from "./rest/privacy.route.js";
import { registerActivityRoutes } from "./rest/activity.route.js";
import { registerModelRoutes } from "./rest/models.route.js";
import { SearxngSearch } from "./search/searxng-search.js";
import { SimulatedSearch } from "./search/simulated-search.js";
import { ActivityService } from "./usage/activity.service.js";
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
  /** The web search backend instead of the configured one (null: none). */
  search?: SearchPort | null;
  /** The moderation backend instead of the configured one (null: none). */
  moderation?: ModerationPort | null;
}

export interface App {
  config: Config;
  db: Database;
  http: FastifyInstance;
  bus: EventBus;
  catalog: CatalogStore;
  health: HealthTracker;
  router: CompletionRouter;
  credits: LeasedCredits;
  /** Buying credits through Stripe, auto top-up and credit expiry. */
  purchases: PurchasesService;
  autoTopUp: AutoTopUpService;
  expiry: CreditExpiry;
  accounts: AccountsService;
  auth: KeyAuthenticator;
  /** Dashboard sessions (cookie and CSRF checks), for every front door that accepts a signed-in browser. */
  sessions: SessionAuthenticator;
  limits: RateLimits;
  /** Starts listening; resolves with the base URL (`http://host:port`). */
  listen(): Promise<string>;
  /** Stops taking requests, lets streams in flight finish, then closes everything. Safe to call twice. */
  close(): Promise<void>;
}

/** How often orphaned credit holds are looked for, how often the catalog is re-read, and expired counters purged. */
const REAPER_INTERVAL_MS = 60_000;
const CATALOG_REFRESH_MS = 30_000;
const COUNTER_PURGE_MS = 15 * 60_000;
/** Longer than the idle timeout of common load balancers (60 s), so they close idle connections first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const db = await openDatabase(config.database, { migrate: true, inMemory: overrides.inMemoryDatabase });
  const closers: Array<() => Promise<void> | void> = [() => db.close()];
  try {
    const clock = overrides.clock ?? systemClock;
    // Errors of background connections are logged once the HTTP server (and its logger) exists.
    let logBackground: (error: unknown) => void = () => {};
    const redis = config.redisUrl ? connectRedis(config.redisUrl, (error) => logBackground(error)) : null;
    if (redis) closers.unshift(() => void redis.disconnect());
    let bus: EventBus;
    if (redis) {
      const redisBus = new RedisEventBus(redis, (error) => logBackground(error));
      await redisBus.start();
      bus = redisBus;
    } else {
      bus = new MemoryEventBus();
    }
    closers.unshift(() => bus.close());
    const simulated = new SimulatedAdapter();
    const openai = new OpenAICompatibleAdapter({ connectTimeoutMs: config.routing.connectTimeoutMs });
    closers.unshift(() => openai.close());
    const anthropic = new AnthropicAdapter({ connectTimeoutMs: config.routing.connectTimeoutMs });
    closers.unshift(() => anthropic.close());
    const adapters = new ProviderRegistry(overrides.adapters ?? [openai, anthropic, simulated]);

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

    // The completion routes are served ahead of Fastify (see completions.route.ts); set once the router exists.
    let completions: CompletionsFrontDoor | null = null;
    const http = Fastify({
      serverFactory: (fastifyHandler) => {
        const server = createServer((req, res) => {
          if (!completions?.serve(req, res)) fastifyHandler(req, res);
        });
        // What Fastify sets on a server it makes itself (it leaves a server from a factory as it is).
        server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
        server.requestTimeout = 0;
        return server;
      },
      logger: config.logLevel === "silent" ? false : { level: config.logLevel },
      // No per-request log lines: they cost time on the hot path and would sit next to request data. Errors are logged.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: config.http.bodyLimitBytes,
      trustProxy: config.http.trustProxy,
      return503OnClosing: true,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    });
    const log = {
      warn: (details: Record<string, unknown>, message: string) => http.log.warn(details, message),
      error: (details: Record<string, unknown>, message: string) => http.log.error(details, message),
    };
    logBackground = (err) => log.warn({ err }, "a background connection failed");
    catalog.startRefreshing(CATALOG_REFRESH_MS, (err) => log.warn({ err }, "reloading the catalog failed"));

    const stripe = createStripeClient(config.stripe);
    const purchases = new PurchasesService({ sql: db.sql, stripe, settings: config.credits, bus, log });
    const autoTopUp = new AutoTopUpService({ sql: db.sql, stripe, settings: config.credits, log });
    closers.unshift(() => autoTopUp.idle());
    const expiry = new CreditExpiry({ sql: db.sql, clock, bus, log, expiryMonths: config.credits.expiryMonths });
    expiry.start(config.credits.expiryIntervalMs);
    closers.unshift(() => expiry.stop());
    const balances = new BalanceCache(db.sql, bus, clock);
    closers.unshift(() => balances.close());
    // Settlements of a process that died before committing them are in its log: commit them before serving.
    const settlementsDir = path.join(config.database.dataDir, "settlements");
    const replayed = await SettlementLog.recover(settlementsDir, (records) => applySettlements(db.sql, records as SettlementItem[]).then(() => {}));
    if (replayed > 0) log.warn({ replayed }, "replayed settlements logged by a process that stopped before committing them");
    const settlementLog = SettlementLog.open(settlementsDir);
    closers.unshift(() => settlementLog.close());
    const credits = new LeasedCredits(
      db.sql,
      settlementLog,
      balances,
      clock,
      (record, balance) => {
        autoTopUp.notifySettled(record.accountId, balance);
        bus.publish("balance.changed", { accountId: record.accountId, balance: balance.toString() });
        bus.publish("generation.created", { accountId: record.accountId, generationId: record.id });
      },
      (err) => log.error({ err }, "committing settlements failed; retrying"),
    );
    credits.start(REAPER_INTERVAL_MS);
    closers.unshift(() => credits.close());
    const stopShrinking = [
      bus.subscribe("key.changed", ({ hash }) => credits.shrinkLeases({ keyHash: hash })),
      bus.subscribe("account.changed", ({ accountId }) => credits.shrinkLeases({ accountId })),
    ];
    closers.unshift(() => stopShrinking.forEach((stop) => stop()));
    let counters: CounterBackend;
    if (redis) {
      counters = { kind: "redis", client: redis };
    } else {
      const pool = db.sql.newPool(4);
      closers.unshift(() => pool.end());
      counters = { kind: "postgres", pool };
      const purge = setInterval(() => purgeExpiredCounters(pool).catch((err) => log.warn({ err }, "purging rate-limit counters failed")), COUNTER_PURGE_MS);
      purge.unref();
      closers.unshift(() => clearInterval(purge));
    }
    const limits = new RateLimits(counters, config.limits, balances, clock, (err) => log.warn({ err }, "rate-limit counters unreachable"));

    const search = overrides.search !== undefined ? overrides.search : searchBackend(config, closers);
    const moderation = overrides.moderation !== undefined ? overrides.moderation : moderationBackend(config, closers);
    if (!moderation) {
      const moderated = [...catalog.snapshot().endpoints.values()].filter((e) => e.moderated && e.status === 0 && e.provider.active);
      if (moderated.length > 0) {
        log.warn(
          { endpoints: moderated.map((e) => e.id) },
          "no moderation backend is configured (SWITCHYARD_MODERATION_URL): moderated endpoints serve only :beta requests",
        );
      }
    }

    const health = new HealthTracker(clock);
    const router = new CompletionRouter({
      catalog,
      credits,
      limits,
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
      search,
      moderation,
    });
    const auth = new KeyAuthenticator(db.sql, bus, clock);
    closers.unshift(() => auth.close());
    const accounts = new AccountsService(db.orm, db.sql, bus, config.signupCredits);

    const sessions = new SessionAuthenticator(db.sql, config.sessions);
    const loginThrottle = postgresLoginThrottle(db.sql, config.sessions, config.sessionSecret);
    closers.unshift(() => loginThrottle.close());
    const dashboard = new DashboardAuthService({ db: db.sql, accounts, sessions, throttle: loginThrottle });
    const cookie = { production: config.env === "production", maxAgeMs: config.sessions.maxAgeMs };

    installJsonParsing(http);
    installErrorHandling(http);
    registerHealthRoutes(http, { sql: db.sql, version: VERSION });
    registerModelRoutes(http, { catalog, health, auth });
    registerKeyRoutes(http, { auth, sql: db.sql, limits });
    // One instance of each service for both front doors.
    const keys = new KeysService(db.sql, bus, accounts);
    const privacy = new PrivacyService(db.sql, bus, catalog);
    const activity = new ActivityService(db.sql);
    registerKeysRoutes(http, { auth, keys });
    const principals = { keys: auth, sessions };
    registerPrivacyRoutes(http, { auth: principals, privacy });
    registerActivityRoutes(http, { auth: principals, activity });
    registerGenerationRoutes(http, { auth, sql: db.sql, catalog, settled: (id) => credits.whenSettled(id) });
    const webhooks = new StripeWebhooks({ webhookSecret: config.stripe.webhookSecret, purchases, autoTopUp, log });
    registerCreditRoutes(http, { auth, sql: db.sql, purchases, autoTopUp, webhooks, fees: config.credits });
    registerAuthRoutes(http, { dashboard, sessions, cookie });
    registerAccountRoutes(http, { dashboard, sessions, deletion: new AccountDeletionService(db.sql, bus, credits), cookie });
    completions = completionsFrontDoor({ auth, router, keepAliveMs: config.routing.keepAliveMs, bodyLimitBytes: config.http.bodyLimitBytes, log });
    const closeGraphQL = await mountGraphQL(
      http,
      await buildGraphQLSchema(),
      {
        catalog,
        health,
        router,
        auth,
        sessions,
        keys,
        privacy,
        activity,
        purchases,
        autoTopUp,
        fees: config.credits,
        bus,
        sql: db.sql,
        settled: (id) => credits.whenSettled(id),
      },
      config.graphql,
    );
    closers.unshift(closeGraphQL);
    closers.unshift(() => {
      completions?.close();
      return http.close();
    });

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
      purchases,
      autoTopUp,
      expiry,
      accounts,
      auth,
      sessions,
      limits,
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

/** SearXNG at the configured URL; else the simulated search outside production; else none. */
function searchBackend(config: Config, closers: Array<() => Promise<void> | void>): SearchPort | null {
  if (config.search.url) {
    const searxng = new SearxngSearch({ url: config.search.url, timeoutMs: config.search.timeoutMs, connectTimeoutMs: config.routing.connectTimeoutMs });
    closers.unshift(() => searxng.close());
    return searxng;
  }
  return config.env === "production" ? null : new SimulatedSearch();
}

/** The OpenAI-compatible moderation API at the configured URL; else the simulated backend outside production; else none. */
function moderationBackend(config: Config, closers: Array<() => Promise<void> | void>): ModerationPort | null {
  const { moderation } = config;
  if (moderation.url) {
    const api = new OpenAIModeration({
      url: moderation.url,
      apiKey: moderation.apiKey ?? null,
      model: moderation.model,
      timeoutMs: moderation.timeoutMs,
      connectTimeoutMs: config.routing.connectTimeoutMs,
    });
    closers.unshift(() => api.close());
    return api;
  }
  return config.env === "production" ? null : new SimulatedModeration(moderation.flaggedTerms);
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
    try {
      done(null, parseJsonBody(body));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
