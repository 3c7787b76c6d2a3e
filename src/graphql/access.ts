import type { Caller } from "../core/types.js";
import { AppError } from "../errors.js";
import type { GraphQLContext, Principal } from "./context.js";

/*
 * Who may do what on GraphQL — the same rules as the REST routes:
 * - account data and completions: an inference key of the account, or a dashboard session;
 * - key management: a management key, or a dashboard session;
 * - a management key does nothing else, and an inference key manages no keys.
 * Every resolver that touches account data goes through one of these, and reads only the account they return.
 */

/** The account an operation acts for, and who signed in. */
export interface AccountAccess {
  accountId: string;
  /** The signed-in user, or null for a key. */
  userId: string | null;
}

/** An inference key or a session; a management key is FORBIDDEN, no credentials UNAUTHENTICATED. */
export function requireAccount(ctx: GraphQLContext): AccountAccess {
  const principal = authenticated(ctx);
  if (principal.kind === "key" && principal.key.kind !== "inference") {
    throw new AppError("forbidden", "This is a management key: it can only manage API keys. Use an API key or a dashboard session.");
  }
  return accessOf(principal);
}

/** A management key or a session (which manage the account's keys); an inference key is FORBIDDEN. */
export function requireKeyManager(ctx: GraphQLContext): AccountAccess {
  const principal = authenticated(ctx);
  if (principal.kind === "key" && principal.key.kind !== "management") {
    throw new AppError("forbidden", "Managing API keys needs a management key or a dashboard session.");
  }
  return accessOf(principal);
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
  const own = ctx.principal ? accountIdOf(ctx.principal) : null;
  if (own !== accountId) throw new AppError("forbidden", "This object belongs to another account.");
}

/** The operation's principal; UNAUTHENTICATED without one. */
function authenticated(ctx: GraphQLContext): Principal {
  if (ctx.principal) return ctx.principal;
  throw new AppError(
    "unauthenticated",
    ctx.sessionEnded
      ? "The session has ended. Log in again."
      : "Authenticate with `Authorization: Bearer <API key>` (or the dashboard's session cookie).",
  );
}

function accessOf(principal: Principal): AccountAccess {
  return { accountId: accountIdOf(principal), userId: principal.kind === "session" ? principal.session.userId : null };
}

function accountIdOf(principal: Principal): string {
  return principal.kind === "key" ? principal.key.accountId : principal.session.accountId;
}
