import { Account } from "../accounts/account.entity.js";
import { ApiKey } from "../accounts/api-key.entity.js";
import { Session } from "../accounts/session.entity.js";
import { User } from "../accounts/user.entity.js";
import { CreditHold } from "../billing/credit-hold.entity.js";
import { CreditPurchase } from "../billing/credit-purchase.entity.js";
import { LedgerEntry } from "../billing/ledger-entry.entity.js";
import { Model } from "../catalog/model.entity.js";
import { ModelEndpoint } from "../catalog/model-endpoint.entity.js";
import { Provider } from "../catalog/provider.entity.js";
import { RateLimitCounter } from "../limits/rate-limit-counter.entity.js";
import { ActivityDay } from "../usage/activity-day.entity.js";
import { Generation } from "../usage/generation.entity.js";

/** Every ORM entity. A new entity is added here, then `npm run migration:create` writes its migration. */
export const ENTITIES = [
  Account,
  User,
  ApiKey,
  Provider,
  Model,
  ModelEndpoint,
  LedgerEntry,
  CreditHold,
  CreditPurchase,
  Generation,
  ActivityDay,
  RateLimitCounter,
  Session,
];
