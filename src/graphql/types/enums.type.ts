import { registerEnumType } from "type-graphql";

/*
 * GraphQL enums (UPPER_CASE names) over the lower-case values the domain uses: resolvers see and return domain values
 * (`"stop"`, `"daily"`…), clients see `STOP`, `DAILY`….
 */

export const FinishReasonEnum = {
  STOP: "stop",
  LENGTH: "length",
  TOOL_CALLS: "tool_calls",
  CONTENT_FILTER: "content_filter",
  ERROR: "error",
} as const;
registerEnumType(FinishReasonEnum, {
  name: "FinishReason",
  description: "Why an answer ended, normalised across providers (REST `finish_reason` in lower case).",
});

export const ChatRoleEnum = { SYSTEM: "system", DEVELOPER: "developer", USER: "user", ASSISTANT: "assistant", TOOL: "tool" } as const;
registerEnumType(ChatRoleEnum, { name: "ChatRole" });

export const ContentPartTypeEnum = { TEXT: "text", IMAGE_URL: "image_url" } as const;
registerEnumType(ContentPartTypeEnum, { name: "ContentPartType" });

export const ProviderSortEnum = { PRICE: "price", THROUGHPUT: "throughput", LATENCY: "latency" } as const;
registerEnumType(ProviderSortEnum, { name: "ProviderSort" });

export const DataCollectionEnum = { ALLOW: "allow", DENY: "deny" } as const;
registerEnumType(DataCollectionEnum, {
  name: "DataCollection",
  description: "DENY drops endpoints whose provider may train on prompts.",
});

export const ToolChoiceModeEnum = { NONE: "none", AUTO: "auto", REQUIRED: "required", FUNCTION: "function" } as const;
registerEnumType(ToolChoiceModeEnum, { name: "ToolChoiceMode" });

export const LimitResetEnum = { DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly" } as const;
registerEnumType(LimitResetEnum, { name: "LimitReset", description: "The period after which a key's spending limit starts again (UTC)." });

export const LedgerKindEnum = {
  PURCHASE: "purchase",
  PURCHASE_FEE: "purchase_fee",
  GRANT: "grant",
  USAGE: "usage",
  REFUND: "refund",
  EXPIRY: "expiry",
  ADJUSTMENT: "adjustment",
  AUTO_TOP_UP: "auto_top_up",
  FORFEIT: "forfeit",
} as const;
registerEnumType(LedgerKindEnum, { name: "CreditTransactionKind" });

export const ActivityGroupEnum = { DAY: "day", MODEL: "model", PROVIDER: "provider", KEY: "key" } as const;
registerEnumType(ActivityGroupEnum, { name: "ActivityGroup", description: "Buckets per UTC day, or per day and model / provider / key." });

export const BreakerStateEnum = { CLOSED: "closed", OPEN: "open", HALF_OPEN: "half_open" } as const;
registerEnumType(BreakerStateEnum, { name: "BreakerState", description: "The endpoint's circuit breaker on this node." });

export const ApiTypeEnum = { CHAT: "chat", COMPLETIONS: "completions" } as const;
registerEnumType(ApiTypeEnum, { name: "ApiType", description: "CHAT: chat completions; COMPLETIONS: legacy text completions." });

export const AutoTopUpStatusEnum = { DISABLED: "disabled", ACTIVE: "active", PENDING: "pending", PAUSED: "paused" } as const;
registerEnumType(AutoTopUpStatusEnum, { name: "AutoTopUpStatus" });
