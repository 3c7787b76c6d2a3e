import { Field, InputType } from "type-graphql";
import type { LimitReset } from "../../accounts/api-key.entity.js";
import type { KeyPatch } from "../../accounts/keys.service.js";
import { parseUsd, type Money } from "../../billing/money.js";
import { AppError } from "../../errors.js";
import { isPlainText, PLAIN_TEXT_MESSAGE } from "../../validation.js";
import { MoneyScalar } from "../money.scalar.js";
import { LimitResetEnum } from "../types/enums.type.js";

/** The resolvers check `hash` arguments under this name, by the rule of `/keys/{hash}`. */
export { checkKeyHash as keyHash } from "../../accounts/api-keys.js";

/*
 * Key provisioning inputs, checked by the same rules as `POST /keys` and `PATCH /keys/{hash}`: a name of 1-100
 * characters, a limit between 0 and 1,000,000 USD, `limitReset` only with a limit, an expiry in the future.
 */

const MAX_LIMIT = parseUsd("1000000");

@InputType("ProvisionKeyInput")
export class ProvisionKeyInput {
  @Field(() => String)
  name!: string;

  @Field(() => MoneyScalar, { nullable: true, description: "Spending limit in USD (per `limitReset` period, or for all time)." })
  limit?: Money | null;

  @Field(() => LimitResetEnum, { nullable: true })
  limitReset?: LimitReset | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;
}

@InputType("UpdateKeyInput", { description: "Only the given fields change; null clears a limit, its reset or an expiry." })
export class UpdateKeyInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => Boolean, { nullable: true })
  disabled?: boolean | null;

  @Field(() => MoneyScalar, { nullable: true })
  limit?: Money | null;

  @Field(() => LimitResetEnum, { nullable: true })
  limitReset?: LimitReset | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;
}

export interface NewKey {
  name: string;
  limit: Money | null;
  limitReset: LimitReset | null;
  expiresAt: Date | null;
}

export function newKey(input: ProvisionKeyInput): NewKey {
  const limit = checkLimit(input.limit);
  if (input.limitReset && (limit === null || limit === undefined)) {
    throw new AppError("invalid_request", "limitReset needs a limit.", { metadata: { param: "limitReset" } });
  }
  return { name: checkName(input.name), limit: limit ?? null, limitReset: input.limitReset ?? null, expiresAt: checkExpiry(input.expiresAt) ?? null };
}

export function keyPatch(input: UpdateKeyInput): KeyPatch {
  if (input.disabled === null) throw new AppError("invalid_request", "disabled: expected true or false.", { metadata: { param: "disabled" } });
  return {
    name: input.name === undefined || input.name === null ? undefined : checkName(input.name),
    disabled: input.disabled,
    limit: checkLimit(input.limit),
    limitReset: input.limitReset,
    expiresAt: checkExpiry(input.expiresAt),
  };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 100) {
    throw new AppError("invalid_request", "name: expected 1 to 100 characters.", { metadata: { param: "name" } });
  }
  if (!isPlainText(trimmed)) throw new AppError("invalid_request", `name: ${PLAIN_TEXT_MESSAGE}.`, { metadata: { param: "name" } });
  return trimmed;
}

function checkLimit(limit: Money | null | undefined): Money | null | undefined {
  if (limit !== null && limit !== undefined && (limit < 0n || limit > MAX_LIMIT)) {
    throw new AppError("invalid_request", "limit: expected between 0 and 1000000 USD.", { metadata: { param: "limit" } });
  }
  return limit;
}

function checkExpiry(expiresAt: Date | null | undefined): Date | null | undefined {
  if (expiresAt instanceof Date && expiresAt.getTime() <= Date.now()) {
    throw new AppError("invalid_request", "expiresAt: must be in the future.", { metadata: { param: "expiresAt" } });
  }
  return expiresAt;
}
