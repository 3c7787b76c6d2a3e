import { hash, randomBytes } from "node:crypto";
import { AppError } from "../errors.js";

/** Every Switchyard API key starts with this; the version lets the format change without ambiguity. */
export const KEY_PREFIX = "sk-sy-v1-";

export interface NewApiKey {
  /** Shown once, to the creator; never stored. */
  plaintext: string;
  /** SHA-256 hex of the plaintext: the key's id and the only thing stored. */
  hash: string;
  /** A recognisable, non-secret rendering for lists: `sk-sy-v1-a1b…9f0`. */
  label: string;
}

export function generateApiKey(): NewApiKey {
  const plaintext = KEY_PREFIX + randomBytes(32).toString("hex");
  return { plaintext, hash: hashApiKey(plaintext), label: labelOf(plaintext) };
}

export function hashApiKey(plaintext: string): string {
  // The one-shot crypto.hash: a third of the cost of a Hash object, on every authenticated request.
  return hash("sha256", plaintext, "hex");
}

/** A key hash from a request (`/keys/{hash}`, GraphQL `hash` arguments): returned if well-formed, else invalid_request. */
export function checkKeyHash(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new AppError("invalid_request", "A key hash is 64 lower-case hex characters.", { metadata: { param: "hash" } });
  return hash;
}

function labelOf(plaintext: string): string {
  const secret = plaintext.slice(KEY_PREFIX.length);
  return `${KEY_PREFIX}${secret.slice(0, 3)}...${secret.slice(-3)}`;
}

/**
 * The token of an `Authorization: Bearer <token>` header (case-insensitive scheme, surrounding spaces ignored), or
 * null when the header is absent or not a Bearer credential.
 */
export function parseBearer(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
