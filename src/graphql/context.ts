import type { AuthenticatedKey, KeyAuthenticator } from "../accounts/key-auth.js";
import type { KeysService } from "../accounts/keys.service.js";
import type { PrivacyService } from "../accounts/privacy.service.js";
import type { SessionAuthenticator, SessionPrincipal } from "../accounts/sessions.js";
import type { AutoTopUpService } from "../billing/auto-top-up.service.js";
import type { FeeSchedule } from "../billing/fees.js";
import type { PurchasesService } from "../billing/purchases.service.js";
import type { HealthTracker } from "../core/health.js";
import type { CatalogPort } from "../core/ports.js";
import type { CompletionRouter } from "../core/router.js";
import type { EventBus } from "../events/event-bus.js";
import type { Sql } from "../persistence/sql.js";
import type { ActivityService } from "../usage/activity.service.js";
import type { Loaders } from "./loaders.js";

/** What resolvers reach: the same domain services the REST shim uses, and nothing of their own. */
export interface GraphQLServices {
  catalog: CatalogPort;
  health: HealthTracker;
  router: CompletionRouter;
  auth: KeyAuthenticator;
  sessions: SessionAuthenticator;
  keys: KeysService;
  privacy: PrivacyService;
  activity: ActivityService;
  purchases: PurchasesService;
  autoTopUp: AutoTopUpService;
  /** Purchase limits, to validate `purchaseCredits` amounts as `POST /credits/checkout` does. */
  fees: FeeSchedule;
  /** Live account events (`balanceChanged`, `generationCreated`); Redis-backed across nodes when configured. */
  bus: EventBus;
  sql: Sql;
  /** Settlements are committed in batches: resolves once this generation's is (reads of it then see it). */
  settled(generationId: string): Promise<void>;
}

/** Who an operation acts for: an API key (inference or management), or a signed-in dashboard user. */
export type Principal = { kind: "key"; key: AuthenticatedKey } | { kind: "session"; session: SessionPrincipal };

/** Per-operation context. */
export interface GraphQLContext {
  /** Null for anonymous operations (the public catalog queries). */
  principal: Principal | null;
  /** The request carried a session cookie whose session has ended: "log in again" rather than "no credentials". */
  sessionEnded: boolean;
  services: GraphQLServices;
  /** Batching loaders of this operation (a page of generations loads its keys in one query). */
  loaders: Loaders;
  /** Aborted when the HTTP client goes away before the answer: an in-flight completion stops and settles. */
  signal: AbortSignal;
}
