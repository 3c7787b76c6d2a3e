import path from "node:path";
import { z } from "zod";
import { parseUsd, type Money } from "./billing/money.js";
import { parseFlaggedTerms, type FlaggedTerm } from "./moderation/simulated-moderation.js";

const CENT = 10_000_000_000n;

/**
 * The typed configuration. This module is the only reader of `process.env`: everything else receives a `Config`.
 * Every field is documented in README.md ("Configuration") and listed in `.env.example`.
 */
export interface Config {
  /** `production` forbids insecure fallbacks (no generated session secret, no development account). */
  env: "development" | "production" | "test";
  http: {
    host: string;
    port: number;
    /** Largest accepted request body; larger bodies get a 413. */
    bodyLimitBytes: number;
    /** Trust `X-Forwarded-*` from a reverse proxy. */
    trustProxy: boolean;
  };
  database: {
    /** A PostgreSQL URL; unset means the embedded PostgreSQL (PGlite) with its data under `dataDir`. */
    url: string | undefined;
    /** Directory for local state: the embedded database and its connection file. */
    dataDir: string;
    poolSize: number;
  };
  /** With Redis, nodes share rate-limit counters, cache invalidation and subscription fan-out. */
  redisUrl: string | undefined;
  catalog: {
    /** Extra catalog files loaded at start on top of the built-in default catalog, in order. */
    files: string[];
  };
  /**
   * Provider credentials and endpoints from the environment, by variable name (every variable ending in `_API_KEY` or
   * `_BASE_URL`). The catalog names the variable a provider reads (`apiKeyEnv`, `baseUrlEnv`); a provider whose key
   * variable is unset stays inactive.
   */
  providerEnv: Readonly<Record<string, string>>;
  stripe: {
    secretKey: string | undefined;
    webhookSecret: string | undefined;
    /** Override of Stripe's API origin, for a local fake in tests (e.g. `http://127.0.0.1:12111`). */
    apiBase: string | undefined;
  };
  /** Buying credits (Stripe Checkout), auto top-up and expiry. Amounts are picodollars in whole cents. */
  credits: {
    /** The platform fee charged on top of every purchase, in parts per million of the amount (5.5% = 55000). */
    feePpm: bigint;
    /** The smallest fee charged on a purchase. */
    feeMinimum: Money;
    /** Smallest and largest amount of credits one checkout (or one auto top-up) may buy. */
    minPurchase: Money;
    maxPurchase: Money;
    /** Stripe payment method types Checkout offers (`card`, `alipay`, `crypto`…); each must be enabled in the Stripe account. */
    paymentMethodTypes: string[];
    /** Where Checkout sends the buyer after paying or cancelling; `{CHECKOUT_SESSION_ID}` is filled in by Stripe. */
    successUrl: string;
    cancelUrl: string;
    /** Auto top-up pauses after this many consecutive failed charges, until the account saves its settings again. */
    autoTopUpMaxFailures: number;
    /** Purchased credits expire this many months after purchase; 0 means never. */
    expiryMonths: number;
    /** How often the expiry job looks for purchases to expire. */
    expiryIntervalMs: number;
  };
  /**
   * Server-side secret of dashboard sessions: keys the HMACs that name login-throttle counters, so the store holds no
   * email or IP address. Generated per process outside production (a restart then forgets login failures).
   */
  sessionSecret: string;
  /** Dashboard sessions (cookie `sy_session`) and login throttling. */
  sessions: {
    /** A session unused for this long ends (sliding expiry). */
    idleTimeoutMs: number;
    /** A session ends this long after login however much it is used; also the cookie's `Max-Age`. */
    maxAgeMs: number;
    /** Failed logins in a row for one email from one IP address before that pair is locked out. */
    maxFailures: number;
    /** Failed logins from one IP address (any email) within a day before that address is locked out. */
    maxFailuresPerIp: number;
    /** How long a lockout lasts. */
    lockoutMs: number;
  };
  routing: {
    connectTimeoutMs: number;
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    requestTimeoutMs: number;
    /** Upper bound on upstream attempts per request, across all models and endpoints. */
    maxAttempts: number;
    /** Interval of `: SWITCHYARD PROCESSING` SSE comments while waiting for the first token. */
    keepAliveMs: number;
  };
  /**
   * Web search for the web plugin and `:online`. With a URL, a SearXNG-compatible JSON API; without one, the simulated
   * backend outside production and no web search in production (such requests get 503 `not_configured`).
   */
  search: {
    /** Base URL of a SearXNG-compatible instance (`GET <url>/search?q=…&format=json`). */
    url: string | undefined;
    /** Longest wait for the search backend. */
    timeoutMs: number;
  };
  /**
   * Moderation of the endpoints the catalog marks `moderated`. With a URL, an OpenAI-moderations-compatible API;
   * without one, the simulated backend (flagging `flaggedTerms`) outside production, and none in production: moderated
   * endpoints then serve only `:beta` requests.
   */
  moderation: {
    /** Base URL of the API (`POST <url>/moderations`), e.g. `https://api.openai.com/v1`. */
    url: string | undefined;
    /** Bearer token for the API. Never rendered. */
    apiKey: string | undefined;
    model: string;
    timeoutMs: number;
    /** What the simulated backend flags (development and tests only). */
    flaggedTerms: FlaggedTerm[];
  };
  /** The GraphQL API (`/graphql`, HTTP and graphql-ws). */
  graphql: {
    /** Answer introspection queries (and so let tools such as GraphiQL read the schema). Off by default in production. */
    introspection: boolean;
    /** Deepest selection nesting an operation may have; deeper operations are refused before they run. */
    maxDepth: number;
    /** Largest estimated cost of an operation (about one per field, times `first` for each page of a connection). */
    maxComplexity: number;
  };
  /** Request limits per account. */
  limits: {
    /** Requests to `:free` models per UTC day, across all free models. */
    freePerDay: number;
    /** Requests to `:free` models per minute. */
    freePerMinute: number;
    /** Paid models: requests per second for each dollar of balance… */
    paidPerDollar: number;
    /** …but at least this many… */
    paidMinimum: number;
    /** …and at most this many. */
    paidMaximum: number;
  };
  /** Credits every new account receives to try paid models (its own ledger entry); 0 for none. */
  signupCredits: Money;
  /** Development bootstrap: on first start outside production, create an account with these credits and a key. */
  dev: { bootstrap: boolean; credits: Money };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `expected an integer between ${min} and ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `expected at least ${min}` }).max(max, { message: `expected at most ${max}` }));

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}` },
  );

const usd = z.string().transform((value, ctx) => {
  try {
    const amount = parseUsd(value);
    if (amount < 0n) throw new RangeError("must not be negative");
    return amount;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

/** A USD amount in whole cents (what a card can be charged). */
const cents = usd.refine((amount) => amount % CENT === 0n, { message: "expected whole cents (at most 2 decimals)" });

/** A percentage with at most 4 decimals, between 0 and 100, as parts per million (`5.5` → 55000n). */
const percent = z.string().transform((value, ctx) => {
  const match = /^(\d{1,3})(?:\.(\d{1,4}))?$/.exec(value.trim());
  const ppm = match ? BigInt(match[1]) * 10_000n + BigInt((match[2] ?? "").padEnd(4, "0")) : -1n;
  if (ppm < 0n || ppm > 1_000_000n) {
    ctx.addIssue({ code: "custom", message: "expected a percentage between 0 and 100 with at most 4 decimals, like 5.5" });
    return z.NEVER;
  }
  return ppm;
});

/** The environment variables Switchyard reads, with their defaults. Keep README.md and .env.example in step. */
const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: intIn(0, 65535).default(8080),
  SWITCHYARD_BODY_LIMIT_BYTES: intIn(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  SWITCHYARD_TRUST_PROXY: bool.default(false),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  SWITCHYARD_DATA_DIR: z.string().min(1).default(".switchyard"),
  DATABASE_POOL_SIZE: intIn(1, 200).default(10),
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  SWITCHYARD_CATALOG: z.string().optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_/, { message: "expected a Stripe secret key (sk_test_… or sk_live_…)" }).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_/, { message: "expected a Stripe webhook secret (whsec_…)" }).optional(),
  STRIPE_API_BASE: url(["http:", "https:"]).optional(),
  STRIPE_PAYMENT_METHOD_TYPES: z
    .string()
    .regex(/^[a-z][a-z_]*(,[a-z][a-z_]*)*$/, { message: "expected Stripe payment method types separated by commas, like card,alipay,crypto" })
    .default("card"),
  STRIPE_CHECKOUT_SUCCESS_URL: url(["http:", "https:"]).default("http://localhost:8080/?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
  STRIPE_CHECKOUT_CANCEL_URL: url(["http:", "https:"]).default("http://localhost:8080/?checkout=cancelled"),
  SWITCHYARD_CREDIT_FEE_PERCENT: percent.default(55_000n),
  SWITCHYARD_CREDIT_FEE_MIN_USD: cents.default(parseUsd("0.80")),
  SWITCHYARD_CREDIT_MIN_PURCHASE_USD: cents.default(parseUsd("5")),
  SWITCHYARD_CREDIT_MAX_PURCHASE_USD: cents.default(parseUsd("10000")),
  SWITCHYARD_AUTO_TOP_UP_MAX_FAILURES: intIn(1, 100).default(3),
  SWITCHYARD_CREDIT_EXPIRY_MONTHS: intIn(0, 1200).default(12),
  SWITCHYARD_EXPIRY_INTERVAL_MS: intIn(1000, 7 * 24 * 3_600_000).default(3_600_000),
  SESSION_SECRET: z.string().min(32, { message: "expected at least 32 characters" }).optional(),
  SWITCHYARD_SESSION_IDLE_HOURS: intIn(1, 24 * 366).default(24 * 30),
  SWITCHYARD_SESSION_MAX_HOURS: intIn(1, 24 * 366).default(24 * 90),
  SWITCHYARD_LOGIN_MAX_FAILURES: intIn(1, 1000).default(5),
  SWITCHYARD_LOGIN_MAX_FAILURES_PER_IP: intIn(1, 100_000).default(100),
  SWITCHYARD_LOGIN_LOCKOUT_SECONDS: intIn(1, 7 * 24 * 3600).default(900),
  SWITCHYARD_CONNECT_TIMEOUT_MS: intIn(1, 600_000).default(10_000),
  SWITCHYARD_FIRST_TOKEN_TIMEOUT_MS: intIn(1, 3_600_000).default(60_000),
  SWITCHYARD_IDLE_TIMEOUT_MS: intIn(1, 3_600_000).default(60_000),
  SWITCHYARD_REQUEST_TIMEOUT_MS: intIn(1, 3_600_000).default(600_000),
  SWITCHYARD_MAX_ATTEMPTS: intIn(1, 20).default(5),
  SWITCHYARD_KEEPALIVE_MS: intIn(10, 120_000).default(5_000),
  SWITCHYARD_SEARCH_URL: url(["http:", "https:"]).optional(),
  SWITCHYARD_SEARCH_TIMEOUT_MS: intIn(100, 120_000).default(10_000),
  SWITCHYARD_MODERATION_URL: url(["http:", "https:"]).optional(),
  SWITCHYARD_MODERATION_KEY: z.string().min(1).optional(),
  SWITCHYARD_MODERATION_MODEL: z.string().min(1).default("omni-moderation-latest"),
  SWITCHYARD_MODERATION_TIMEOUT_MS: intIn(100, 120_000).default(10_000),
  SWITCHYARD_MODERATION_FLAGGED_TERMS: z.string().optional(),
  SWITCHYARD_GRAPHQL_INTROSPECTION: bool.optional(),
  SWITCHYARD_GRAPHQL_MAX_DEPTH: intIn(2, 100).default(12),
  SWITCHYARD_GRAPHQL_MAX_COMPLEXITY: intIn(10, 1_000_000).default(5000),
  SWITCHYARD_FREE_REQUESTS_PER_DAY: intIn(0, 10_000_000).default(200),
  SWITCHYARD_FREE_REQUESTS_PER_MINUTE: intIn(0, 1_000_000).default(20),
  SWITCHYARD_PAID_RPS_PER_DOLLAR: intIn(0, 1_000_000).default(1),
  SWITCHYARD_PAID_RPS_MIN: intIn(1, 1_000_000).default(1),
  SWITCHYARD_PAID_RPS_MAX: intIn(1, 1_000_000).default(500),
  SWITCHYARD_SIGNUP_CREDITS: usd.default(parseUsd("0.05")),
  SWITCHYARD_DEV_BOOTSTRAP: bool.optional(),
  SWITCHYARD_DEV_CREDITS: usd.default(parseUsd("10")),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/**
 * Reads and validates the configuration. Throws a {@link ConfigError} listing every problem at once, each naming the
 * variable, what was expected and what arrived.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  // Empty strings mean "unset": `.env` files and shells often leave variables empty.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? "environment");
        const got = present[name];
        return `${name}: ${issue.message}${got === undefined ? "" : `, got ${shown(name, got)}`}`;
      });
  // Rules across variables read the raw values, so they are reported together with any malformed variable.
  const production = present.NODE_ENV === "production";
  if (production && !present.SESSION_SECRET) problems.push("SESSION_SECRET: required when NODE_ENV=production");
  if (production && bool.safeParse(present.SWITCHYARD_DEV_BOOTSTRAP).data === true) {
    problems.push("SWITCHYARD_DEV_BOOTSTRAP: the development account must not be created when NODE_ENV=production");
  }
  if (present.STRIPE_SECRET_KEY && !present.STRIPE_WEBHOOK_SECRET) {
    problems.push("STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set (webhooks credit the accounts)");
  }
  if (parsed.success && parsed.data.SWITCHYARD_CREDIT_MIN_PURCHASE_USD > parsed.data.SWITCHYARD_CREDIT_MAX_PURCHASE_USD) {
    problems.push("SWITCHYARD_CREDIT_MIN_PURCHASE_USD: must not be more than SWITCHYARD_CREDIT_MAX_PURCHASE_USD");
  }
  if (production && present.STRIPE_API_BASE) problems.push("STRIPE_API_BASE: only for tests; unset it when NODE_ENV=production");
  if (production && present.SWITCHYARD_MODERATION_FLAGGED_TERMS) {
    problems.push("SWITCHYARD_MODERATION_FLAGGED_TERMS: the simulated moderation backend is not used when NODE_ENV=production; set SWITCHYARD_MODERATION_URL");
  }
  if (present.SWITCHYARD_MODERATION_KEY && !present.SWITCHYARD_MODERATION_URL) {
    problems.push("SWITCHYARD_MODERATION_KEY: set SWITCHYARD_MODERATION_URL as well (the key is for that API)");
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;

  const providerEnv = Object.fromEntries(
    Object.entries(present).filter(([name]) => /^[A-Z][A-Z0-9_]*_(API_KEY|BASE_URL)$/.test(name)),
  ) as Record<string, string>;

  return {
    env: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      bodyLimitBytes: e.SWITCHYARD_BODY_LIMIT_BYTES,
      trustProxy: e.SWITCHYARD_TRUST_PROXY,
    },
    database: {
      url: e.DATABASE_URL,
      dataDir: path.resolve(cwd, e.SWITCHYARD_DATA_DIR),
      poolSize: e.DATABASE_POOL_SIZE,
    },
    redisUrl: e.REDIS_URL,
    catalog: {
      files: (e.SWITCHYARD_CATALOG ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .map((file) => path.resolve(cwd, file)),
    },
    providerEnv: Object.freeze(providerEnv),
    stripe: { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiBase: e.STRIPE_API_BASE },
    credits: {
      feePpm: e.SWITCHYARD_CREDIT_FEE_PERCENT,
      feeMinimum: e.SWITCHYARD_CREDIT_FEE_MIN_USD,
      minPurchase: e.SWITCHYARD_CREDIT_MIN_PURCHASE_USD,
      maxPurchase: e.SWITCHYARD_CREDIT_MAX_PURCHASE_USD,
      paymentMethodTypes: [...new Set(e.STRIPE_PAYMENT_METHOD_TYPES.split(","))],
      successUrl: e.STRIPE_CHECKOUT_SUCCESS_URL,
      cancelUrl: e.STRIPE_CHECKOUT_CANCEL_URL,
      autoTopUpMaxFailures: e.SWITCHYARD_AUTO_TOP_UP_MAX_FAILURES,
      expiryMonths: e.SWITCHYARD_CREDIT_EXPIRY_MONTHS,
      expiryIntervalMs: e.SWITCHYARD_EXPIRY_INTERVAL_MS,
    },
    sessionSecret: e.SESSION_SECRET ?? randomSecret(),
    sessions: {
      idleTimeoutMs: e.SWITCHYARD_SESSION_IDLE_HOURS * 3_600_000,
      maxAgeMs: e.SWITCHYARD_SESSION_MAX_HOURS * 3_600_000,
      maxFailures: e.SWITCHYARD_LOGIN_MAX_FAILURES,
      maxFailuresPerIp: e.SWITCHYARD_LOGIN_MAX_FAILURES_PER_IP,
      lockoutMs: e.SWITCHYARD_LOGIN_LOCKOUT_SECONDS * 1000,
    },
    routing: {
      connectTimeoutMs: e.SWITCHYARD_CONNECT_TIMEOUT_MS,
      firstTokenTimeoutMs: e.SWITCHYARD_FIRST_TOKEN_TIMEOUT_MS,
      idleTimeoutMs: e.SWITCHYARD_IDLE_TIMEOUT_MS,
      requestTimeoutMs: e.SWITCHYARD_REQUEST_TIMEOUT_MS,
      maxAttempts: e.SWITCHYARD_MAX_ATTEMPTS,
      keepAliveMs: e.SWITCHYARD_KEEPALIVE_MS,
    },
    search: { url: e.SWITCHYARD_SEARCH_URL, timeoutMs: e.SWITCHYARD_SEARCH_TIMEOUT_MS },
    moderation: {
      url: e.SWITCHYARD_MODERATION_URL,
      apiKey: e.SWITCHYARD_MODERATION_KEY,
      model: e.SWITCHYARD_MODERATION_MODEL,
      timeoutMs: e.SWITCHYARD_MODERATION_TIMEOUT_MS,
      flaggedTerms: parseFlaggedTerms(e.SWITCHYARD_MODERATION_FLAGGED_TERMS ?? ""),
    },
    graphql: {
      introspection: e.SWITCHYARD_GRAPHQL_INTROSPECTION ?? !production,
      maxDepth: e.SWITCHYARD_GRAPHQL_MAX_DEPTH,
      maxComplexity: e.SWITCHYARD_GRAPHQL_MAX_COMPLEXITY,
    },
    limits: {
      freePerDay: e.SWITCHYARD_FREE_REQUESTS_PER_DAY,
      freePerMinute: e.SWITCHYARD_FREE_REQUESTS_PER_MINUTE,
      paidPerDollar: e.SWITCHYARD_PAID_RPS_PER_DOLLAR,
      paidMinimum: e.SWITCHYARD_PAID_RPS_MIN,
      paidMaximum: e.SWITCHYARD_PAID_RPS_MAX,
    },
    signupCredits: e.SWITCHYARD_SIGNUP_CREDITS,
    dev: { bootstrap: e.SWITCHYARD_DEV_BOOTSTRAP ?? !production, credits: e.SWITCHYARD_DEV_CREDITS },
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * How a rejected value is echoed: secrets and keys not at all, URLs without their credentials (a database URL carries
 * its password), everything else as given.
 */
function shown(name: string, value: string): string {
  if (name.includes("SECRET") || name.endsWith("_KEY")) return "(hidden)";
  if (name.endsWith("_URL")) {
    try {
      const url = new URL(value);
      if (!url.username && !url.password) return JSON.stringify(value);
      url.username = url.username ? "***" : "";
      url.password = url.password ? "***" : "";
      return JSON.stringify(url.toString());
    } catch {
      return "(hidden)";
    }
  }
  return JSON.stringify(value);
}

function randomSecret(): string {
  return globalThis.crypto.getRandomValues(Buffer.alloc(32)).toString("base64url");
}
