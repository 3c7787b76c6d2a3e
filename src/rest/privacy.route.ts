import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { KeyAuthenticator } from "../accounts/key-auth.js";
import type { PrivacyService, PrivacySettings } from "../accounts/privacy.service.js";
import type { SessionAuthenticator } from "../accounts/sessions.js";
import { requireAccount } from "./auth.js";
import { parseInput, plainText } from "../validation.js";

export interface PrivacyRouteDeps {
  auth: { keys: KeyAuthenticator; sessions: SessionAuthenticator };
  privacy: PrivacyService;
}

const slugs = z.array(plainText(100).toLowerCase()).max(100);
const patchSchema = z.strictObject({
  allow_training: z.boolean().optional(),
  allow_free_training: z.boolean().optional(),
  allow_retention: z.boolean().optional(),
  allowed_providers: slugs.nullable().optional(),
  ignored_providers: slugs.optional(),
  log_prompts: z.boolean().optional(),
});

/**
 * `GET/PATCH /account/privacy`: the account's data-policy filters, provider lists and prompt-logging opt-in, with an
 * API key of the account or a dashboard session.
 */
export function registerPrivacyRoutes(app: FastifyInstance, deps: PrivacyRouteDeps): void {
  app.get("/api/v1/account/privacy", async (request) => {
    const { accountId } = await requireAccount(deps.auth, request);
    return { data: privacyJson(await deps.privacy.get(accountId)) };
  });

  app.patch("/api/v1/account/privacy", async (request) => {
    const { accountId } = await requireAccount(deps.auth, request);
    const body = parseInput(patchSchema, request.body ?? {});
    const updated = await deps.privacy.update(accountId, {
      allowTraining: body.allow_training,
      allowFreeTraining: body.allow_free_training,
      allowRetention: body.allow_retention,
      allowedProviders: body.allowed_providers,
      ignoredProviders: body.ignored_providers,
      logPrompts: body.log_prompts,
    });
    return { data: privacyJson(updated) };
  });
}

function privacyJson(p: PrivacySettings): Record<string, unknown> {
  return {
    allow_training: p.allowTraining,
    allow_free_training: p.allowFreeTraining,
    allow_retention: p.allowRetention,
    allowed_providers: p.allowedProviders,
    ignored_providers: p.ignoredProviders,
    log_prompts: p.logPrompts,
    prompt_logging_discount: "1%",
  };
}
