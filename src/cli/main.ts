import { parseArgs } from "node:util";
import { AccountsService } from "../accounts/accounts.service.js";
import { LIMIT_RESETS, type LimitReset } from "../accounts/api-key.entity.js";
import { formatUsd, parseUsd } from "../billing/money.js";
import { CatalogFileError, defaultCatalog, readCatalogFile, type CatalogFile } from "../catalog/catalog-file.js";
import { syncCatalogs } from "../catalog/catalog.service.js";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { AppError } from "../errors.js";
import { MemoryEventBus } from "../events/event-bus.js";
import { openDatabase, type Database } from "../persistence/database.js";
import { VERSION } from "../version.js";
import { processIO, report, type CliIO } from "./output.js";
import { serve } from "./serve.js";

const USAGE = `Usage: switchyard <command> [options]

Commands:
  serve                                  Start the gateway (the default command)
  migrate                                Apply pending database migrations
  accounts create --email E [--name N]   Create an account
  credits grant --account A --amount USD --reason R
                                         Add (or, negative, remove) credits: one ledger entry
  keys create --account A [--management] [--limit USD] [--limit-reset daily|weekly|monthly] [--name N]
                                         Create an API key (printed once)
  keys list --account A                  List an account's keys
  catalog sync [--file F]                Load a catalog file (default: the built-in catalog and SWITCHYARD_CATALOG)

--account takes an account id or email. Add --json for one JSON object on stdout.
Configuration comes from the environment, as for the server (see README.md).`;

class UsageError extends Error {}

/** Runs one CLI command. Resolves with the process exit code: 0 success, 1 failure, 2 bad usage. */
export async function runCli(argv: string[], io: CliIO = processIO, env?: NodeJS.ProcessEnv): Promise<number> {
  const [command = "serve", sub, ...rest] = argv;
  try {
    if (command === "--help" || command === "-h" || command === "help") {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (command === "--version" || command === "-v") {
      io.stdout(`${VERSION}\n`);
      return 0;
    }
    const config = loadConfig(env);
    if (command === "serve") {
      await serve(config, io);
      return 0;
    }
    // One-word commands (`migrate`) take everything after them; the others are `<noun> <verb>`.
    const single = COMMANDS[command] !== undefined;
    const key = single ? command : `${command} ${sub ?? ""}`.trim();
    const args = single ? [sub, ...rest].filter((a): a is string => a !== undefined) : rest;
    const handler = COMMANDS[key];
    if (!handler) throw new UsageError(`Unknown command "${key}".`);
    return await withDatabase(config, (db) => handler(args, { config, db, io }));
  } catch (error) {
    return fail(io, error);
  }
}

interface CommandContext {
  config: Config;
  db: Database;
  io: CliIO;
}

type Command = (args: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  async migrate(args, { db, io }) {
    const { json } = options(args, {});
    const executed = await db.orm.getMigrator().getExecutedMigrations();
    report(io, json, { migrations: executed.length }, `Database is up to date (${executed.length} migrations applied).`);
    return 0;
  },

  async "accounts create"(args, { config, db, io }) {
    const o = options(args, { email: { type: "string" }, name: { type: "string" } });
    const email = required(o.email, "--email");
    const { account, user } = await services(db, config).createAccount({ email, name: o.name });
    report(io, o.json, { id: account.id, email: user.email }, `Created account ${account.id} (${user.email}).`);
    return 0;
  },

  async "credits grant"(args, { config, db, io }) {
    const o = options(args, { account: { type: "string" }, amount: { type: "string" }, reason: { type: "string" } });
    const accounts = services(db, config);
    const account = await accounts.findAccount(required(o.account, "--account"));
    const amount = usd(required(o.amount, "--amount"), "--amount");
    const balance = await accounts.grantCredits(account.id, amount, required(o.reason, "--reason"));
    report(io, o.json, { balance: formatUsd(balance) }, `Granted ${formatUsd(amount)} USD. Balance: ${formatUsd(balance)} USD.`);
    return 0;
  },

  async "keys create"(args, { config, db, io }) {
    const o = options(args, {
      account: { type: "string" },
      management: { type: "boolean" },
      limit: { type: "string" },
      "limit-reset": { type: "string" },
      name: { type: "string" },
    });
    const accounts = services(db, config);
    const account = await accounts.findAccount(required(o.account, "--account"));
    const limitReset = o["limit-reset"];
    if (limitReset !== undefined && !(LIMIT_RESETS as readonly string[]).includes(limitReset)) {
      throw new UsageError(`--limit-reset must be one of ${LIMIT_RESETS.join(", ")}.`);
    }
    const kind = o.management ? "management" : "inference";
    const name = o.name ?? (kind === "management" ? "Management key" : "API key");
    const { key, plaintext } = await accounts.createKey(account.id, {
      kind,
      name,
      limit: o.limit === undefined ? null : usd(o.limit, "--limit"),
      limitReset: (limitReset as LimitReset | undefined) ?? null,
    });
    report(
      io,
      o.json,
      { key: plaintext, hash: key.hash, name: key.name },
      `Created ${kind} key "${key.name}" (hash ${key.hash}).\n${plaintext}\nThis is the only time the key is shown: store it now.`,
    );
    return 0;
  },

  async "keys list"(args, { config, db, io }) {
    const o = options(args, { account: { type: "string" } });
    const accounts = services(db, config);
    const account = await accounts.findAccount(required(o.account, "--account"));
    const keys = await accounts.listKeys(account.id);
    const data = keys.map((k) => ({
      hash: k.hash,
      name: k.name,
      label: k.label,
      kind: k.kind,
      disabled: k.disabled,
      limit: k.limit === null ? null : formatUsd(k.limit),
      limit_reset: k.limitReset,
      usage: formatUsd(k.usage),
      created_at: k.createdAt.toISOString(),
      expires_at: k.expiresAt?.toISOString() ?? null,
    }));
    const lines = data.map(
      (k) =>
        `${k.hash}  ${k.label}  ${k.kind.padEnd(10)}  ${k.disabled ? "disabled" : "active  "}  usage ${k.usage}` +
        `${k.limit === null ? "" : ` / limit ${k.limit}${k.limit_reset ? ` ${k.limit_reset}` : ""}`}  ${k.name}`,
    );
    report(io, o.json, { keys: data }, lines.length ? lines.join("\n") : "No keys.");
    return 0;
  },

  async "catalog sync"(args, { config, db, io }) {
    const o = options(args, { file: { type: "string" } });
    const known = (await db.sql.query<{ slug: string }>("select slug from provider")).map((r) => r.slug);
    let catalogs: CatalogFile[];
    if (o.file) {
      catalogs = [await readCatalogFile(o.file, known)];
    } else {
      const base = defaultCatalog();
      catalogs = [base];
      const providers = [...known, ...base.providers.map((p) => p.slug)];
      for (const file of config.catalog.files) catalogs.push(await readCatalogFile(file, providers));
    }
    const { providers, models, endpoints } = await syncCatalogs(db.orm, catalogs);
    report(
      io,
      o.json,
      { providers, models, endpoints },
      `Synced ${providers} providers, ${models} models and ${endpoints} endpoints. ` +
        "A running server picks the change up within 30 seconds.",
    );
    return 0;
  },
};

function services(db: Database, config: Config): AccountsService {
  return new AccountsService(db.orm, db.sql, new MemoryEventBus(), config.signupCredits);
}

async function withDatabase(config: Config, work: (db: Database) => Promise<number>): Promise<number> {
  const db = await openDatabase(config.database, { migrate: true });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

type OptionSpec = Record<string, { type: "string" | "boolean" }>;

function options<T extends OptionSpec>(args: string[], spec: T) {
  try {
    const { values } = parseArgs({ args, options: { ...spec, json: { type: "boolean" } }, strict: true, allowPositionals: false });
    const parsed = values as Record<string, string | boolean | undefined>;
    return { ...parsed, json: parsed.json === true } as { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string } & {
      json: boolean;
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required.`);
  return value;
}

function usd(value: string, flag: string): bigint {
  try {
    return parseUsd(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

function fail(io: CliIO, error: unknown): number {
  if (error instanceof UsageError) {
    io.stderr(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (error instanceof AppError || error instanceof ConfigError || error instanceof CatalogFileError) {
    io.stderr(`${error.message}\n`);
    return 1;
  }
  io.stderr(`switchyard: ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
