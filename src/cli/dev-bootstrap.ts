import fs from "node:fs/promises";
import path from "node:path";
import type { App } from "../app.js";
import { hashApiKey } from "../accounts/api-keys.js";
import { formatUsd } from "../billing/money.js";
import { AppError } from "../errors.js";

export const DEV_EMAIL = "dev@switchyard.local";

export interface DevAccess {
  accountId: string;
  email: string;
  key: string;
  balance: bigint;
  created: boolean;
}

interface DevFile {
  accountId: string;
  key: string;
}

/**
 * Development convenience (never in production): on first start, an account with some credits and an API key, so a
 * `curl` works at once. The key's plaintext is kept in the data directory (`dev-account.json`, readable only by its
 * owner) so later starts can print it again; every other key exists only as a hash.
 */
export async function ensureDevAccess(app: App): Promise<DevAccess> {
  const file = path.join(app.config.database.dataDir, "dev-account.json");
  const existing = await readDevFile(file);
  if (existing && (await keyExists(app, existing.key, existing.accountId))) {
    const account = await app.accounts.findAccount(existing.accountId);
    return { accountId: account.id, email: DEV_EMAIL, key: existing.key, balance: account.balance, created: false };
  }
  let accountId: string;
  try {
    accountId = (await app.accounts.findAccount(DEV_EMAIL)).id;
  } catch (error) {
    if (!(error instanceof AppError && error.code === "not_found")) throw error;
    accountId = (await app.accounts.createAccount({ email: DEV_EMAIL, name: "Development" })).account.id;
  }
  let balance: bigint;
  try {
    balance = await app.accounts.grantCredits(accountId, app.config.dev.credits, "Development credits", "dev-bootstrap");
  } catch (error) {
    if (!(error instanceof AppError && error.code === "conflict")) throw error;
    balance = (await app.accounts.findAccount(accountId)).balance;
  }
  const { plaintext } = await app.accounts.createKey(accountId, { kind: "inference", name: "Development key" });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, JSON.stringify({ accountId, key: plaintext } satisfies DevFile, null, 2), { mode: 0o600 });
  return { accountId, email: DEV_EMAIL, key: plaintext, balance, created: true };
}

export function devBanner(url: string, access: DevAccess): string {
  const body = JSON.stringify({ model: "switchyard/echo", messages: [{ role: "user", content: "Hello!" }] });
  return [
    `  Dev account: ${access.email} (${formatUsd(access.balance)} USD of credits)${access.created ? " — created now" : ""}`,
    `  Dev API key: ${access.key}`,
    "",
    "Try it:",
    `  curl ${url}/api/v1/chat/completions \\`,
    `    -H "Authorization: Bearer ${access.key}" \\`,
    `    -H "Content-Type: application/json" \\`,
    `    -d '${body}'`,
  ].join("\n");
}

async function readDevFile(file: string): Promise<DevFile | null> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as DevFile;
  } catch {
    return null;
  }
}

async function keyExists(app: App, key: string, accountId: string): Promise<boolean> {
  const rows = await app.db.sql.query("select 1 from api_key where hash = $1 and account_id = $2 and not disabled", [hashApiKey(key), accountId]);
  return rows.length > 0;
}
