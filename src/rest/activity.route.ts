import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import type { SessionAuthenticator } from "../accounts/sessions.js";
import { usdToNumber } from "../billing/money.js";
import { ACTIVITY_GROUPS, type ActivityService } from "../usage/activity.service.js";
import { ANY_KEY, requireAccount } from "./auth.js";
import { parseInput } from "../validation.js";

export interface ActivityRouteDeps {
  auth: { keys: KeyAuthenticator; sessions: SessionAuthenticator };
  activity: ActivityService;
}

const day = z.iso.date({ message: "expected a date like 2026-11-27" });
const query = z.object({
  date_from: day.optional(),
  date_to: day.optional(),
  model: z.string().min(1).optional(),
  provider: z.string().min(1).optional(),
  api_key_hash: z.string().regex(/^[0-9a-f]{64}$/, { message: "expected a key hash (64 hex characters)" }).optional(),
  group_by: z.enum(ACTIVITY_GROUPS).optional(),
});

/**
 * `GET /activity`: the account's usage by UTC day — requests, tokens and cost — over the last 30 days by default,
 * filterable by model, provider and key, optionally broken down by one of them (`group_by`). Any key of the account,
 * or a dashboard session.
 */
export function registerActivityRoutes(app: FastifyInstance, deps: ActivityRouteDeps): void {
  app.get("/api/v1/activity", async (request) => {
    const { accountId } = await requireAccount(deps.auth, request, ANY_KEY);
    const q = parseInput(query, request.query, "query parameter");
    const buckets = await deps.activity.query(accountId, {
      from: q.date_from,
      to: q.date_to,
      model: q.model,
      provider: q.provider,
      keyHash: q.api_key_hash,
      groupBy: q.group_by ?? "day",
    });
    return {
      data: buckets.map((b) => ({
        date: b.day,
        ...(q.group_by === "model" ? { model: b.model } : {}),
        ...(q.group_by === "provider" ? { provider: b.provider } : {}),
        ...(q.group_by === "key" ? { api_key_hash: b.keyHash } : {}),
        requests: b.requests,
        prompt_tokens: Number(b.promptTokens),
        completion_tokens: Number(b.completionTokens),
        reasoning_tokens: Number(b.reasoningTokens),
        usage: usdToNumber(b.cost),
      })),
    };
  });
}
