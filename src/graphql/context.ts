import type { AuthenticatedKey, KeyAuthenticator } from "../accounts/key-auth.js";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { HealthTracker } from "../core/health.js";
import type { CatalogPort } from "../core/ports.js";
import { AppError } from "../errors.js";
import type { Sql } from "../persistence/sql.js";

/** What resolvers reach: the same domain services the REST shim uses. */
export interface GraphQLServices {
  catalog: CatalogPort;
  health: HealthTracker;
  auth: KeyAuthenticator;
  orm: MikroORM;
  sql: Sql;
}

/** Per-operation context: the caller (if authenticated) and the services. */
export interface GraphQLContext {
  /** The Bearer key, or null for anonymous operations (public catalog queries). */
  key: AuthenticatedKey | null;
  services: GraphQLServices;
}

/** The caller's inference key, or an UNAUTHENTICATED / FORBIDDEN error. */
export function requireInferenceKey(ctx: GraphQLContext): AuthenticatedKey {
  if (!ctx.key) throw new AppError("unauthenticated", "Authenticate with `Authorization: Bearer <API key>`.");
  if (ctx.key.kind !== "inference") throw new AppError("forbidden", "This is a management key: it can only manage API keys.");
  return ctx.key;
}
