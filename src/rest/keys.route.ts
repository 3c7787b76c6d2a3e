import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { checkKeyHash } from "../accounts/api-keys.js";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import type { KeysService, KeyView } from "../accounts/keys.service.js";
import { LIMIT_RESETS } from "../accounts/api-key.entity.js";
import { usdFromNumber, usdToNumber } from "../billing/money.js";
import { AppError } from "../errors.js";
import { MANAGEMENT, requireKey } from "./auth.js";
import { parseInput, plainText } from "../validation.js";

export interface KeysRouteDeps {
  auth: KeyAuthenticator;
  keys: KeysService;
}

const usdLimit = z
  .number()
  .nonnegative()
  .max(1_000_000)
  .transform((value, ctx) => {
    try {
      return usdFromNumber(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
const expiresAt = z.iso
  .datetime({ offset: false, message: "expected a UTC ISO 8601 time like 2027-01-01T00:00:00Z" })
  .transform((value) => new Date(value))
  .refine((date) => date.getTime() > Date.now(), { message: "must be in the future" });

const createSchema = z.strictObject({
  name: plainText(100),
  label: z.string().optional(),
  limit: usdLimit.nullish(),
  limit_reset: z.enum(LIMIT_RESETS).nullish(),
  include_byok_in_limit: z.boolean().optional(),
  expires_at: expiresAt.nullish(),
});

const updateSchema = z.strictObject({
  name: plainText(100).optional(),
  disabled: z.boolean().optional(),
  limit: usdLimit.nullish(),
  limit_reset: z.enum(LIMIT_RESETS).nullish(),
  include_byok_in_limit: z.boolean().optional(),
  expires_at: expiresAt.nullish(),
});

const listQuery = z.object({
  include_disabled: z.enum(["true", "false"]).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/**
 * Key provisioning with a management key: `GET/POST /keys`, `GET/PATCH/DELETE /keys/{hash}`. The plaintext of a key
 * appears once, in the 201 response that creates it. Keys of one account share its credits, each with its own limit.
 */
export function registerKeysRoutes(app: FastifyInstance, deps: KeysRouteDeps): void {
  app.get("/api/v1/keys", async (request) => {
    const key = await requireKey(deps.auth, request, MANAGEMENT);
    const query = parseInput(listQuery, request.query, "query");
    const keys = await deps.keys.list(key.accountId, {
      includeDisabled: query.include_disabled !== "false",
      offset: query.offset ?? 0,
      limit: query.limit ?? 1000,
    });
    return { data: keys.map(keyJson) };
  });

  app.post("/api/v1/keys", async (request, reply) => {
    const key = await requireKey(deps.auth, request, MANAGEMENT);
    const body = parseInput(createSchema, request.body ?? {});
    if (body.limit_reset && (body.limit === undefined || body.limit === null)) {
      throw new AppError("invalid_request", "limit_reset needs a limit.", { metadata: { param: "limit_reset" } });
    }
    const created = await deps.keys.create(key.accountId, {
      name: body.name,
      limit: body.limit ?? null,
      limitReset: body.limit_reset ?? null,
      expiresAt: body.expires_at ?? null,
      creatorUserId: null,
    });
    return reply.code(201).send({ data: keyJson(created.key), key: created.plaintext });
  });

  app.get<{ Params: { hash: string } }>("/api/v1/keys/:hash", async (request) => {
    const key = await requireKey(deps.auth, request, MANAGEMENT);
    return { data: keyJson(await deps.keys.get(key.accountId, checkKeyHash(request.params.hash))) };
  });

  app.patch<{ Params: { hash: string } }>("/api/v1/keys/:hash", async (request) => {
    const key = await requireKey(deps.auth, request, MANAGEMENT);
    const body = parseInput(updateSchema, request.body ?? {});
    const updated = await deps.keys.update(key.accountId, checkKeyHash(request.params.hash), {
      name: body.name,
      disabled: body.disabled,
      limit: body.limit,
      limitReset: body.limit_reset,
      expiresAt: body.expires_at,
    });
    return { data: keyJson(updated) };
  });

  app.delete<{ Params: { hash: string } }>("/api/v1/keys/:hash", async (request) => {
    const key = await requireKey(deps.auth, request, MANAGEMENT);
    await deps.keys.delete(key.accountId, checkKeyHash(request.params.hash));
    return { deleted: true };
  });
}

/** A key in OpenRouter's shape; money in USD. */
export function keyJson(k: KeyView): Record<string, unknown> {
  return {
    hash: k.hash,
    name: k.name,
    label: k.label,
    disabled: k.disabled,
    ...keyUsageJson(k),
    created_at: k.createdAt.toISOString(),
    updated_at: k.updatedAt?.toISOString() ?? null,
    expires_at: k.expiresAt?.toISOString() ?? null,
    creator_user_id: k.creatorUserId,
  };
}

/**
 * A key's limit and usage in OpenRouter's fields (`/keys` and `/key` alike); money in USD. Switchyard has no BYOK:
 * those counters are always zero.
 */
export function keyUsageJson(k: Pick<KeyView, "limit" | "limitReset" | "usage">): Record<string, unknown> {
  return {
    limit: k.limit === null ? null : usdToNumber(k.limit),
    limit_remaining: k.usage.limitRemaining === null ? null : usdToNumber(k.usage.limitRemaining),
    limit_reset: k.limitReset,
    include_byok_in_limit: false,
    usage: usdToNumber(k.usage.usage),
    usage_daily: usdToNumber(k.usage.daily),
    usage_weekly: usdToNumber(k.usage.weekly),
    usage_monthly: usdToNumber(k.usage.monthly),
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
  };
}
