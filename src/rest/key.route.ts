import type { FastifyInstance, FastifyRequest } from "fastify";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import { currentKeyUsage } from "../accounts/key-usage.js";
import { KEY_COUNTER_COLUMNS, keyCounters, type KeyCounterColumns } from "../accounts/keys.service.js";
import type { RateLimits } from "../limits/rate-limits.js";
import type { Sql } from "../persistence/sql.js";
import { ANY_KEY, requireKey } from "./auth.js";
import { keyUsageJson } from "./keys.route.js";

export interface KeyRouteDeps {
  auth: KeyAuthenticator;
  sql: Sql;
  limits: RateLimits;
}

/** `GET /key` (and the legacy `/auth/key`): the calling key's label, limit, usage and tier. Money is USD. */
export function registerKeyRoutes(app: FastifyInstance, deps: KeyRouteDeps): void {
  const handler = async (request: FastifyRequest) => {
    const key = await requireKey(deps.auth, request, ANY_KEY);
    const [row] = await deps.sql.query<KeyRow>(
      `select k.name, k.label, k.kind, ${KEY_COUNTER_COLUMNS}, k.expires_at, k.creator_user_id,
              exists (select 1 from ledger_entry l where l.account_id = k.account_id and l.kind in ('purchase', 'auto_top_up')) as purchased
         from api_key k where k.hash = $1`,
      [key.hash],
    );
    const usage = currentKeyUsage(keyCounters(row));
    const [freeToday, perSecond] = await Promise.all([
      deps.limits.freeUsageToday(key.accountId),
      deps.limits.paidRequestsPerSecond(key.accountId),
    ]);
    return {
      data: {
        name: row.name,
        label: row.label,
        ...keyUsageJson({ limit: row.limit, limitReset: row.limit_reset, usage }),
        is_free_tier: !row.purchased,
        is_management_key: row.kind === "management",
        is_provisioning_key: row.kind === "management",
        creator_user_id: row.creator_user_id,
        expires_at: row.expires_at ? row.expires_at.toISOString() : null,
        free_model_daily_requests: freeToday,
        rate_limit: { requests: perSecond, interval: "1s", note: "Paid models: requests per second, from the account's balance." },
      },
    };
  };
  app.get("/api/v1/key", handler);
  app.get("/api/v1/auth/key", handler);
}

interface KeyRow extends KeyCounterColumns {
  name: string;
  label: string;
  kind: string;
  expires_at: Date | null;
  creator_user_id: string | null;
  purchased: boolean;
}
