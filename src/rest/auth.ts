import type { FastifyRequest } from "fastify";
import type { ApiKeyKind } from "../accounts/api-key.entity.js";
import type { AuthenticatedKey, KeyAuthenticator } from "../accounts/key-auth.js";
import { AppError } from "../errors.js";

/**
 * Authenticates the request's Bearer key and checks it may use this route: inference routes take inference keys,
 * key management takes management keys, and routes that only read the key itself take either.
 */
export async function requireKey(
  auth: KeyAuthenticator,
  request: FastifyRequest,
  allowed: readonly ApiKeyKind[],
): Promise<AuthenticatedKey> {
  const key = await auth.authenticate(request.headers.authorization);
  if (!allowed.includes(key.kind)) {
    throw new AppError(
      "forbidden",
      key.kind === "management"
        ? "This is a management key: it can only manage API keys. Use an API key for this request."
        : "This route needs a management key.",
    );
  }
  return key;
}

export const INFERENCE: readonly ApiKeyKind[] = ["inference"];
export const MANAGEMENT: readonly ApiKeyKind[] = ["management"];
export const ANY_KEY: readonly ApiKeyKind[] = ["inference", "management"];
