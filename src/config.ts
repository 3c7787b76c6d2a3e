import path from "node:path";
import { z } from "zod";
import { parseUsd, type Money } from "./billing/money.js";

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
  /** Signs dashboard session cookies. Generated per process outside production. */
  sessionSecret: string;
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
  SESSION_SECRET: z.string().min(32, { message: "expected at least 32 characters" }).optional(),
  SWITCHYARD_CONNECT_TIMEOUT_MS: intIn(1, 600_000).default(10_000),
  SWITCHYARD_FIRST_TOKEN_TIMEOUT_MS: intIn(1, 3_600_000).default(60_000),
  SWITCHYARD_IDLE_TIMEOUT_MS: intIn(1, 3_600_000).default(60_000),
  SWITCHYARD_REQUEST_TIMEOUT_MS: intIn(1, 3_600_000).default(600_000),
  SWITCHYARD_MAX_ATTEMPTS: intIn(1, 20).default(5),
  SWITCHYARD_KEEPALIVE_MS: intIn(10, 120_000).default(5_000),
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
  if (production && present.STRIPE_API_BASE) problems.push("STRIPE_API_BASE: only for tests; unset it when NODE_ENV=production");
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
    sessionSecret: e.SESSION_SECRET ?? randomSecret(),
    routing: {
      connectTimeoutMs: e.SWITCHYARD_CONNECT_TIMEOUT_MS,
      firstTokenTimeoutMs: e.SWITCHYARD_FIRST_TOKEN_TIMEOUT_MS,
      idleTimeoutMs: e.SWITCHYARD_IDLE_TIMEOUT_MS,
      requestTimeoutMs: e.SWITCHYARD_REQUEST_TIMEOUT_MS,
      maxAttempts: e.SWITCHYARD_MAX_ATTEMPTS,
      keepAliveMs: e.SWITCHYARD_KEEPALIVE_MS,
    },
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
