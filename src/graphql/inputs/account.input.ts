import { Field, InputType } from "type-graphql";
import type { PrivacySettings } from "../../accounts/privacy.service.js";
import { formatUsd, type Money } from "../../billing/money.js";
import type { AutoTopUpInput as AutoTopUpSettings } from "../../billing/auto-top-up.service.js";
import { AppError } from "../../errors.js";
import { MoneyScalar } from "../money.scalar.js";

@InputType("PrivacySettingsInput", { description: "Only the given fields change. `allowedProviders: null` allows every provider again." })
export class PrivacySettingsInput {
  @Field(() => Boolean, { nullable: true })
  allowTraining?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  allowFreeTraining?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  allowRetention?: boolean | null;

  @Field(() => [String], { nullable: true })
  allowedProviders?: string[] | null;

  @Field(() => [String], { nullable: true })
  ignoredProviders?: string[] | null;

  @Field(() => Boolean, { nullable: true })
  logPrompts?: boolean | null;
}

/** The settings patch, normalised as `PATCH /account/privacy` does: slugs trimmed and lower-cased, at most 100 of 1-100 characters. */
export function privacyPatch(input: PrivacySettingsInput): Partial<PrivacySettings> {
  for (const field of ["allowTraining", "allowFreeTraining", "allowRetention", "ignoredProviders", "logPrompts"] as const) {
    if (input[field] === null) throw new AppError("invalid_request", `${field}: may not be null.`, { metadata: { param: field } });
  }
  return {
    allowTraining: input.allowTraining ?? undefined,
    allowFreeTraining: input.allowFreeTraining ?? undefined,
    allowRetention: input.allowRetention ?? undefined,
    allowedProviders: input.allowedProviders === undefined ? undefined : input.allowedProviders === null ? null : slugs(input.allowedProviders, "allowedProviders"),
    ignoredProviders: input.ignoredProviders ? slugs(input.ignoredProviders, "ignoredProviders") : undefined,
    logPrompts: input.logPrompts ?? undefined,
  };
}

function slugs(values: string[], field: string): string[] {
  if (values.length > 100) throw new AppError("invalid_request", `${field}: at most 100 providers.`, { metadata: { param: field } });
  return values.map((value) => {
    const slug = value.trim().toLowerCase();
    if (slug.length < 1 || slug.length > 100) throw new AppError("invalid_request", `${field}: a provider slug has 1 to 100 characters.`, { metadata: { param: field } });
    return slug;
  });
}

@InputType("AutoTopUpInput", { description: "Omitted fields keep their saved value; null clears one." })
export class AutoTopUpInput {
  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => MoneyScalar, { nullable: true, description: "Top up when a settlement leaves the balance below this (USD)." })
  threshold?: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "Credits to buy per top-up (USD, whole cents, within the purchase limits)." })
  amount?: Money | null;

  @Field(() => String, { nullable: true, description: "A Stripe payment method (pm_…) of the account's customer; default: the card of the last checkout." })
  paymentMethodId?: string | null;
}

/** The settings as `AutoTopUpService.save` reads them (it validates amounts itself, like `PUT /credits/auto-top-up`). */
export function autoTopUpSettings(input: AutoTopUpInput): AutoTopUpSettings {
  const usd = (amount: Money | null | undefined) => (amount === undefined ? undefined : amount === null ? null : formatUsd(amount));
  return { enabled: input.enabled, threshold: usd(input.threshold), amount: usd(input.amount), paymentMethodId: input.paymentMethodId };
}
