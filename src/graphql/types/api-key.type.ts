import { Field, ID, ObjectType } from "type-graphql";
import type { LimitReset } from "../../accounts/api-key.entity.js";
import type { KeyView } from "../../accounts/keys.service.js";
import type { Money } from "../../billing/money.js";
import { MoneyScalar } from "../money.scalar.js";
import { ConnectionType } from "./connection.type.js";
import { LimitResetEnum } from "./enums.type.js";

@ObjectType("ApiKey", { description: "An inference API key of the account: never its plaintext, always its current usage." })
export class ApiKeyType {
  @Field(() => ID, { description: "SHA-256 hex of the key: its id." })
  hash!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "A recognisable, non-secret rendering: `sk-sy-v1-abc…xyz`." })
  label!: string;

  @Field(() => Boolean)
  disabled!: boolean;

  @Field(() => MoneyScalar, { nullable: true, description: "Spending limit per `limitReset` period (or for all time)." })
  limit!: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "Spending left in the current period, after requests in flight." })
  limitRemaining!: Money | null;

  @Field(() => LimitResetEnum, { nullable: true })
  limitReset!: LimitReset | null;

  @Field(() => MoneyScalar, { description: "All-time usage." })
  usage!: Money;

  @Field(() => MoneyScalar, { description: "Usage this UTC day." })
  usageDaily!: Money;

  @Field(() => MoneyScalar, { description: "Usage this ISO week (from Monday, UTC)." })
  usageWeekly!: Money;

  @Field(() => MoneyScalar, { description: "Usage this calendar month (UTC)." })
  usageMonthly!: Money;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  updatedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => ID, { nullable: true, description: "The dashboard user who created the key, if one did." })
  creatorUserId!: string | null;

  static from(k: KeyView): ApiKeyType {
    return Object.assign(new ApiKeyType(), {
      hash: k.hash,
      name: k.name,
      label: k.label,
      disabled: k.disabled,
      limit: k.limit,
      limitRemaining: k.usage.limitRemaining,
      limitReset: k.limitReset,
      usage: k.usage.usage,
      usageDaily: k.usage.daily,
      usageWeekly: k.usage.weekly,
      usageMonthly: k.usage.monthly,
      createdAt: k.createdAt,
      updatedAt: k.updatedAt,
      expiresAt: k.expiresAt,
      creatorUserId: k.creatorUserId,
    });
  }
}

export const ApiKeyConnection = ConnectionType("ApiKey", ApiKeyType);

@ObjectType("ProvisionedKey", { description: "A new key. `key` is its plaintext, shown this once and never again." })
export class ProvisionedKeyType {
  @Field(() => String)
  key!: string;

  @Field(() => ApiKeyType)
  apiKey!: ApiKeyType;
}
