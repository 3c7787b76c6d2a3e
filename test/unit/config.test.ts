import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const CWD = "/srv/switchyard";
const SESSION_SECRET = "s".repeat(32);

/** The problems a configuration is refused with (fails the test when it is accepted). */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env, CWD);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("loadConfig", () => {
  it("applies the documented defaults to an empty environment", () => {
    const config = loadConfig({}, CWD);
    expect(config).toEqual({
      env: "development",
      http: { host: "127.0.0.1", port: 8080, bodyLimitBytes: 10 * 1024 * 1024, trustProxy: false },
      database: { url: undefined, dataDir: "/srv/switchyard/.switchyard", poolSize: 10 },
      redisUrl: undefined,
      catalog: { files: [] },
      providerEnv: {},
      stripe: { secretKey: undefined, webhookSecret: undefined, apiBase: undefined },
      sessionSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      routing: {
        connectTimeoutMs: 10_000,
        firstTokenTimeoutMs: 60_000,
        idleTimeoutMs: 60_000,
        requestTimeoutMs: 600_000,
        maxAttempts: 5,
        keepAliveMs: 5_000,
      },
      limits: { freePerDay: 200, freePerMinute: 20, paidPerDollar: 1, paidMinimum: 1, paidMaximum: 500 },
      signupCredits: 50_000_000_000n,
      credits: {
        feePpm: 55_000n,
        feeMinimum: 800_000_000_000n,
        minPurchase: 5_000_000_000_000n,
        maxPurchase: 10_000_000_000_000_000n,
        paymentMethodTypes: ["card"],
        successUrl: "http://localhost:8080/?checkout=success&session_id={CHECKOUT_SESSION_ID}",
        cancelUrl: "http://localhost:8080/?checkout=cancelled",
        autoTopUpMaxFailures: 3,
        expiryMonths: 12,
        expiryIntervalMs: 3_600_000,
      },
      sessions: { idleTimeoutMs: 2_592_000_000, maxAgeMs: 7_776_000_000, maxFailures: 5, maxFailuresPerIp: 100, lockoutMs: 900_000 },
      search: { url: undefined, timeoutMs: 10_000 },
      moderation: { url: undefined, apiKey: undefined, model: "omni-moderation-latest", timeoutMs: 10_000, flaggedTerms: [] },
      graphql: { introspection: true, maxDepth: 12, maxComplexity: 5000 },
      dev: { bootstrap: true, credits: 10_000_000_000_000n },
      logLevel: "info",
    });
  });

  it("generates a different session secret per process outside production", () => {
    expect(loadConfig({}, CWD).sessionSecret).not.toBe(loadConfig({}, CWD).sessionSecret);
  });

  it("reads every variable it documents", () => {
    const config = loadConfig(
      {
        NODE_ENV: "production",
        HOST: "0.0.0.0",
        PORT: "3000",
        SWITCHYARD_BODY_LIMIT_BYTES: "2048",
        SWITCHYARD_TRUST_PROXY: "yes",
        DATABASE_URL: "postgres://db.internal/switchyard",
        SWITCHYARD_DATA_DIR: "/var/lib/switchyard",
        DATABASE_POOL_SIZE: "25",
        REDIS_URL: "rediss://cache.internal:6380",
        STRIPE_SECRET_KEY: "sk_live_abc",
        STRIPE_WEBHOOK_SECRET: "whsec_abc",
        SESSION_SECRET,
        SWITCHYARD_CONNECT_TIMEOUT_MS: "1",
        SWITCHYARD_FIRST_TOKEN_TIMEOUT_MS: "2",
        SWITCHYARD_IDLE_TIMEOUT_MS: "3",
        SWITCHYARD_REQUEST_TIMEOUT_MS: "4",
        SWITCHYARD_MAX_ATTEMPTS: "20",
        SWITCHYARD_KEEPALIVE_MS: "10",
        SWITCHYARD_DEV_CREDITS: "2.5",
        SWITCHYARD_SEARCH_URL: "https://searx.internal",
        SWITCHYARD_SEARCH_TIMEOUT_MS: "2500",
        SWITCHYARD_MODERATION_URL: "https://api.openai.com/v1",
        SWITCHYARD_MODERATION_KEY: "sk-moderation",
        SWITCHYARD_MODERATION_MODEL: "text-moderation-latest",
        SWITCHYARD_MODERATION_TIMEOUT_MS: "3000",
        LOG_LEVEL: "debug",
      },
      CWD,
    );
    expect(config).toMatchObject({
      env: "production",
      http: { host: "0.0.0.0", port: 3000, bodyLimitBytes: 2048, trustProxy: true },
      database: { url: "postgres://db.internal/switchyard", dataDir: "/var/lib/switchyard", poolSize: 25 },
      redisUrl: "rediss://cache.internal:6380",
      stripe: { secretKey: "sk_live_abc", webhookSecret: "whsec_abc", apiBase: undefined },
      sessionSecret: SESSION_SECRET,
      routing: { connectTimeoutMs: 1, firstTokenTimeoutMs: 2, idleTimeoutMs: 3, requestTimeoutMs: 4, maxAttempts: 20, keepAliveMs: 10 },
      dev: { bootstrap: false, credits: 2_500_000_000_000n },
      search: { url: "https://searx.internal", timeoutMs: 2500 },
      moderation: { url: "https://api.openai.com/v1", apiKey: "sk-moderation", model: "text-moderation-latest", timeoutMs: 3000, flaggedTerms: [] },
      logLevel: "debug",
    });
  });

  it("reads the simulated moderation terms, with optional categories, and refuses them in production", () => {
    expect(loadConfig({ SWITCHYARD_MODERATION_FLAGGED_TERMS: " forbidden , bomb=violence,," }, CWD).moderation.flaggedTerms).toEqual([
      { term: "forbidden", category: "flagged_term" },
      { term: "bomb", category: "violence" },
    ]);
    expect(problemsOf({ NODE_ENV: "production", SESSION_SECRET, SWITCHYARD_MODERATION_FLAGGED_TERMS: "forbidden" })).toEqual([
      "SWITCHYARD_MODERATION_FLAGGED_TERMS: the simulated moderation backend is not used when NODE_ENV=production; set SWITCHYARD_MODERATION_URL",
    ]);
    expect(problemsOf({ SWITCHYARD_MODERATION_KEY: "sk-x", SWITCHYARD_SEARCH_URL: "ftp://x" })).toEqual([
      'SWITCHYARD_SEARCH_URL: expected a URL starting with http:// or https://, got "ftp://x"',
      "SWITCHYARD_MODERATION_KEY: set SWITCHYARD_MODERATION_URL as well (the key is for that API)",
    ]);
  });

  it("resolves a relative data directory under the working directory", () => {
    expect(loadConfig({ SWITCHYARD_DATA_DIR: "state/db" }, CWD).database.dataDir).toBe("/srv/switchyard/state/db");
  });

  it("accepts the boolean spellings true/false, 1/0 and yes/no", () => {
    for (const [text, value] of [["true", true], ["1", true], ["yes", true], ["false", false], ["0", false], ["no", false]] as const) {
      expect(loadConfig({ SWITCHYARD_TRUST_PROXY: text }, CWD).http.trustProxy).toBe(value);
    }
  });

  it("accepts port 0 and 65535 and nothing outside", () => {
    expect(loadConfig({ PORT: "0" }, CWD).http.port).toBe(0);
    expect(loadConfig({ PORT: "65535" }, CWD).http.port).toBe(65535);
    expect(problemsOf({ PORT: "65536" })).toEqual(['PORT: expected at most 65535, got "65536"']);
    expect(problemsOf({ PORT: "-1" })).toEqual(['PORT: expected an integer between 0 and 65535, got "-1"']);
  });

  it("treats empty strings as unset", () => {
    const config = loadConfig(
      { PORT: "", HOST: "", NODE_ENV: "", DATABASE_URL: "", STRIPE_SECRET_KEY: "", SESSION_SECRET: "", OPENAI_API_KEY: "" },
      CWD,
    );
    expect(config.http).toMatchObject({ host: "127.0.0.1", port: 8080 });
    expect(config.env).toBe("development");
    expect(config.database.url).toBeUndefined();
    expect(config.stripe.secretKey).toBeUndefined();
    expect(config.providerEnv).toEqual({});
  });

  it("lists every problem at once, each naming its variable", () => {
    expect(
      problemsOf({
        PORT: "abc",
        SWITCHYARD_TRUST_PROXY: "maybe",
        REDIS_URL: "http://cache",
        LOG_LEVEL: "loud",
        SWITCHYARD_DEV_CREDITS: "1.0000000000001",
        SWITCHYARD_MAX_ATTEMPTS: "0",
      }),
    ).toEqual([
      'PORT: expected an integer between 0 and 65535, got "abc"',
      'SWITCHYARD_TRUST_PROXY: expected true or false, got "maybe"',
      'REDIS_URL: expected a URL starting with redis:// or rediss://, got "http://cache"',
      'SWITCHYARD_MAX_ATTEMPTS: expected at least 1, got "0"',
      'SWITCHYARD_DEV_CREDITS: 1.0000000000001 has more than 12 decimal places, got "1.0000000000001"',
      'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent", got "loud"',
    ]);
  });

  it("puts every problem in the error message", () => {
    expect(() => loadConfig({ PORT: "abc", HOST: "" }, CWD)).toThrow(
      'Invalid configuration:\n  - PORT: expected an integer between 0 and 65535, got "abc"',
    );
  });

  it("refuses negative development credits", () => {
    expect(problemsOf({ SWITCHYARD_DEV_CREDITS: "-1" })).toEqual(['SWITCHYARD_DEV_CREDITS: must not be negative, got "-1"']);
  });

  it("shows secrets as (hidden), never their value", () => {
    const problems = problemsOf({
      SESSION_SECRET: "too-short-secret",
      STRIPE_SECRET_KEY: "pk_live_publishable",
      STRIPE_WEBHOOK_SECRET: "not-a-webhook-secret",
    });
    expect(problems).toEqual([
      "STRIPE_SECRET_KEY: expected a Stripe secret key (sk_test_… or sk_live_…), got (hidden)",
      "STRIPE_WEBHOOK_SECRET: expected a Stripe webhook secret (whsec_…), got (hidden)",
      "SESSION_SECRET: expected at least 32 characters, got (hidden)",
    ]);
    const text = problems.join("\n");
    for (const secret of ["too-short-secret", "pk_live_publishable", "not-a-webhook-secret"]) expect(text).not.toContain(secret);
  });

  it("never shows the password of a rejected database or Redis URL", () => {
    const text = problemsOf({ DATABASE_URL: "mysql://admin:hunter2@db/app", REDIS_URL: "http://:hunter3@cache" }).join("\n");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("hunter3");
  });

  it("requires SESSION_SECRET in production", () => {
    expect(problemsOf({ NODE_ENV: "production" })).toEqual(["SESSION_SECRET: required when NODE_ENV=production"]);
    expect(loadConfig({ NODE_ENV: "production", SESSION_SECRET }, CWD).sessionSecret).toBe(SESSION_SECRET);
  });

  it("does not create the development account in production", () => {
    expect(loadConfig({ NODE_ENV: "production", SESSION_SECRET }, CWD).dev.bootstrap).toBe(false);
    expect(loadConfig({ NODE_ENV: "development", SWITCHYARD_DEV_BOOTSTRAP: "false" }, CWD).dev.bootstrap).toBe(false);
    expect(problemsOf({ NODE_ENV: "production", SESSION_SECRET, SWITCHYARD_DEV_BOOTSTRAP: "true" })).toEqual([
      "SWITCHYARD_DEV_BOOTSTRAP: the development account must not be created when NODE_ENV=production",
    ]);
  });

  it("refuses STRIPE_API_BASE in production", () => {
    expect(problemsOf({ NODE_ENV: "production", SESSION_SECRET, STRIPE_API_BASE: "http://127.0.0.1:12111" })).toEqual([
      "STRIPE_API_BASE: only for tests; unset it when NODE_ENV=production",
    ]);
    expect(loadConfig({ STRIPE_API_BASE: "http://127.0.0.1:12111" }, CWD).stripe.apiBase).toBe("http://127.0.0.1:12111");
  });

  it("requires STRIPE_WEBHOOK_SECRET when STRIPE_SECRET_KEY is set", () => {
    expect(problemsOf({ STRIPE_SECRET_KEY: "sk_test_abc" })).toEqual([
      "STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set (webhooks credit the accounts)",
    ]);
    expect(loadConfig({ STRIPE_SECRET_KEY: "rk_test_abc", STRIPE_WEBHOOK_SECRET: "whsec_abc" }, CWD).stripe).toEqual({
      secretKey: "rk_test_abc",
      webhookSecret: "whsec_abc",
      apiBase: undefined,
    });
  });

  it("lists the cross-variable problems together", () => {
    expect(problemsOf({ NODE_ENV: "production", STRIPE_SECRET_KEY: "sk_live_abc", STRIPE_API_BASE: "http://127.0.0.1:1" })).toEqual([
      "SESSION_SECRET: required when NODE_ENV=production",
      "STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set (webhooks credit the accounts)",
      "STRIPE_API_BASE: only for tests; unset it when NODE_ENV=production",
    ]);
  });

  it("lists a malformed variable and a missing production secret together", () => {
    expect(problemsOf({ NODE_ENV: "production", PORT: "abc" })).toEqual([
      'PORT: expected an integer between 0 and 65535, got "abc"',
      "SESSION_SECRET: required when NODE_ENV=production",
    ]);
  });

  it("captures only *_API_KEY and *_BASE_URL variables as provider settings", () => {
    const config = loadConfig(
      {
        OPENAI_API_KEY: "sk-openai",
        ANTHROPIC_BASE_URL: "http://127.0.0.1:9001",
        ACME_2_API_KEY: "acme",
        STRIPE_SECRET_KEY: "sk_test_abc",
        STRIPE_WEBHOOK_SECRET: "whsec_abc",
        lowercase_api_key: "ignored",
        API_KEY: "ignored",
        OPENAI_API_KEY_OLD: "ignored",
        PATH: "/usr/bin",
        EMPTY_API_KEY: "",
      },
      CWD,
    );
    expect(config.providerEnv).toEqual({
      OPENAI_API_KEY: "sk-openai",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9001",
      ACME_2_API_KEY: "acme",
    });
    expect(Object.isFrozen(config.providerEnv)).toBe(true);
  });

  it("splits SWITCHYARD_CATALOG on ':' and resolves each file under the working directory", () => {
    expect(path.delimiter).toBe(":");
    expect(loadConfig({ SWITCHYARD_CATALOG: "catalogs/extra.json:/etc/switchyard/local.json::" }, CWD).catalog.files).toEqual([
      "/srv/switchyard/catalogs/extra.json",
      "/etc/switchyard/local.json",
    ]);
  });
});
