import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AccountDeletionService } from "../accounts/account-deletion.service.js";
import type { DashboardAuthService } from "../accounts/dashboard-auth.service.js";
import type { SessionAuthenticator } from "../accounts/sessions.js";
import { usdToNumber } from "../billing/money.js";
import { requireSession } from "./auth.js";
import { clearSessionCookie, parseBody, type SessionCookieOptions } from "./auth.route.js";

export interface AccountRouteDeps {
  dashboard: DashboardAuthService;
  sessions: SessionAuthenticator;
  deletion: AccountDeletionService;
  cookie: SessionCookieOptions;
}

const deleteSchema = z.object({ password: z.string() });

/**
 * `DELETE /account`: deletes the signed-in account. Needs a dashboard session (API keys cannot delete an account), its
 * CSRF header, and the password re-entered in the body (`{"password": "…"}`); see {@link AccountDeletionService} for
 * what is deleted and what is kept. Answers `{data:{id, deleted:true, forfeited_credits}}` (USD) and clears the cookie.
 */
export function registerAccountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  app.delete("/api/v1/account", async (request, reply) => {
    const session = await requireSession(deps.sessions, request);
    const { password } = parseBody(deleteSchema, request.body);
    await deps.dashboard.confirmPassword(session.userId, password, { ip: request.ip });
    const deleted = await deps.deletion.deleteAccount(session.accountId);
    clearSessionCookie(reply, request, deps.cookie);
    return reply.send({ data: { id: deleted.accountId, deleted: true, forfeited_credits: usdToNumber(deleted.forfeited) } });
  });
}
