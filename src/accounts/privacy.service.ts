import { AppError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { CatalogPort } from "../core/ports.js";
import type { Sql } from "../persistence/sql.js";

/** An account's privacy settings: which providers may serve it, and whether its prompts are logged. */
export interface PrivacySettings {
  /** Paid endpoints whose provider may train on prompts. */
  allowTraining: boolean;
  /** Free endpoints whose provider may train on prompts. */
  allowFreeTraining: boolean;
  /** Endpoints whose provider retains prompts (anything short of zero data retention). */
  allowRetention: boolean;
  /** When set, only these providers (slugs or `provider/tag`s) may serve the account. */
  allowedProviders: string[] | null;
  ignoredProviders: string[];
  /** Store prompt and completion text with each generation, for a 1% discount on usage. */
  logPrompts: boolean;
}

/**
 * Reading and changing privacy settings. A change takes effect on the next request: the account's keys are dropped
 * from authentication caches (on every node with Redis), and requests can only tighten these settings further.
 */
export class PrivacyService {
  constructor(
    private readonly sql: Sql,
    private readonly bus: EventBus,
    private readonly catalog: CatalogPort,
  ) {}

  async get(accountId: string): Promise<PrivacySettings> {
    const [row] = await this.sql.query<PrivacyRow>(
      `select allow_training, allow_free_training, allow_retention, allowed_providers, ignored_providers, log_prompts
         from account where id = $1 and deleted_at is null`,
      [accountId],
    );
    if (!row) throw new AppError("not_found", "The account does not exist.");
    return {
      allowTraining: row.allow_training,
      allowFreeTraining: row.allow_free_training,
      allowRetention: row.allow_retention,
      allowedProviders: row.allowed_providers,
      ignoredProviders: row.ignored_providers,
      logPrompts: row.log_prompts,
    };
  }

  async update(accountId: string, patch: Partial<PrivacySettings>): Promise<PrivacySettings> {
    for (const [field, slugs] of [
      ["allowedProviders", patch.allowedProviders],
      ["ignoredProviders", patch.ignoredProviders],
    ] as const) {
      const unknown = (slugs ?? []).filter((slug) => !this.catalog.snapshot().providers.has(slug.split("/")[0]));
      if (unknown.length > 0) {
        throw new AppError("invalid_request", `${field}: unknown provider ${unknown.map((s) => `"${s}"`).join(", ")}.`, { metadata: { param: field } });
      }
    }
    const columns: Array<[string, unknown]> = [
      ["allow_training", patch.allowTraining],
      ["allow_free_training", patch.allowFreeTraining],
      ["allow_retention", patch.allowRetention],
      ["allowed_providers", patch.allowedProviders],
      ["ignored_providers", patch.ignoredProviders],
      ["log_prompts", patch.logPrompts],
    ];
    const sets: string[] = [];
    const params: unknown[] = [accountId];
    for (const [column, value] of columns) {
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    }
    if (sets.length > 0) {
      await this.sql.query(`update account set ${sets.join(", ")} where id = $1 and deleted_at is null`, params);
      this.bus.publish("account.changed", { accountId });
    }
    return this.get(accountId);
  }
}

interface PrivacyRow {
  allow_training: boolean;
  allow_free_training: boolean;
  allow_retention: boolean;
  allowed_providers: string[] | null;
  ignored_providers: string[];
  log_prompts: boolean;
}
