import type { Caller } from "../core/types.js";
import { AppError } from "../errors.js";
import type { GraphQLContext } from "./context.js";

/*
 * Who may do what on GraphQL — the same rules as the REST routes:
 * - account data and completions: an inference key of the account, or a dashboard session;
 * - key management: a management key, or a dashboard session;
 * - a management key does nothing else, and an inference key manages no keys.
 * Every resolver that touches account data goes through one of these, and reads only the account they return.
 */

/** The account an operation acts for, and how it proved it. */
export interface AccountAccess {
  accountId: string;
  /** The inference key's hash, or null for a session. */
  keyHash: string | null;
  /** The signed-in user, or null for a key. */
  userId: string | null;
}

/** An inference key or a session; a management key is FORBIDDEN, no credentials UNAUTHENTICATED. */
export function requireAccount(ctx: GraphQLContext): AccountAccess {
  const principal = ctx.principal;
  if (!principal) throw unauthenticated(ctx);
  if (principal.kind === "session") return { accountId: principal.session.accountId, keyHash: null, userId: principal.session.userId };
  if (principal.key.kind !== "inference") {
    throw new AppError("forbidden", "This is a management key: it can only manage API keys. Use an API key or a dashboard session.");
  }
  return { accountId: principal.key.accountId, keyHash: principal.key.hash, userId: null };
}

/** A management key or a session (which manage the account's keys); an inference key is FORBIDDEN. */
export function requireKeyManager(ctx: GraphQLContext): AccountAccess {
  const principal = ctx.principal;
  if (!principal) throw unauthenticated(ctx);
  if (principal.kind === "session") return { accountId: principal.session.accountId, keyHash: null, userId: principal.session.userId };
  if (principal.key.kind !== "management") {
    throw new AppError("forbidden", "Managing API keys needs a management key or a dashboard session.");
  }
  return { accountId: principal.key.accountId, keyHash: null, userId: null };
}

/**
 * The caller as the routing core needs it. A key carries its account's privacy settings from the authentication
 * cache; a session reads them (one query), and its generations record no key.
 */
export async function requireCaller(ctx: GraphQLContext): Promise<Caller> {
  const access = requireAccount(ctx);
  const principal = ctx.principal!;
  if (principal.kind === "key") return principal.key.caller;
  const settings = await ctx.services.privacy.get(access.accountId);
  return {
    accountId: access.accountId,
    keyHash: null,
    logPrompts: settings.logPrompts,
    privacy: {
      allowTraining: settings.allowTraining,
      allowFreeTraining: settings.allowFreeTraining,
      allowRetention: settings.allowRetention,
      allowedProviders: settings.allowedProviders,
      ignoredProviders: settings.ignoredProviders,
    },
  };
}

/**
 * Field-level check for objects that belong to an account: the caller must act for that same account. Objects are only
 * ever loaded for the caller's account, so this failing means a resolver bug; it still fails closed.
 */
export function assertOwn(ctx: GraphQLContext, accountId: string): void {
  const principal = ctx.principal;
  const own = principal ? (principal.kind === "key" ? principal.key.accountId : principal.session.accountId) : null;
  if (own !== accountId) throw new AppError("forbidden", "This object belongs to another account.");
}

function unauthenticated(ctx: GraphQLContext): AppError {
  return new AppError(
    "unauthenticated",
    ctx.sessionEnded
      ? "The session has ended. Log in again."
      : "Authenticate with `Authorization: Bearer <API key>` (or the dashboard's session cookie).",
  );
}
