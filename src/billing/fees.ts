import { AppError } from "../errors.js";
import { formatUsd, maxMoney, mulDivRound, parseUsd, usdFromNumber, type Money } from "./money.js";

/** One US cent in picodollars: what a card can be charged is always a whole number of these. */
export const CENT: Money = 10_000_000_000n;

/** The platform fee and the purchase limits (see `Config["credits"]`). */
export interface FeeSchedule {
  /** Fee in parts per million of the amount (5.5% = 55000). */
  feePpm: bigint;
  feeMinimum: Money;
  minPurchase: Money;
  maxPurchase: Money;
}

/** What a buyer pays for `amount` of credits: the amount plus the fee, all whole cents. */
export interface PurchaseQuote {
  amount: Money;
  fee: Money;
  total: Money;
}

/**
 * The fee on a purchase: `amount × rate`, rounded half away from zero to a whole cent (the one rounding step), and at
 * least the minimum fee. `amount` must be whole cents.
 */
export function purchaseFee(amount: Money, schedule: Pick<FeeSchedule, "feePpm" | "feeMinimum">): Money {
  const proportional = mulDivRound(amount, schedule.feePpm, 1_000_000n * CENT) * CENT;
  return maxMoney(proportional, schedule.feeMinimum);
}

export function quotePurchase(amount: Money, schedule: FeeSchedule): PurchaseQuote {
  const fee = purchaseFee(amount, schedule);
  return { amount, fee, total: amount + fee };
}

/**
 * Reads a purchase amount given by a client: a JSON number (`10`, `12.5`) or a decimal string (`"12.50"`) of USD,
 * whole cents, within the schedule's limits. Anything else is `invalid_request` naming the field and the limits.
 */
export function readPurchaseAmount(value: unknown, schedule: Pick<FeeSchedule, "minPurchase" | "maxPurchase">, field: string): Money {
  return readUsdAmount(value, field, schedule.minPurchase, schedule.maxPurchase);
}

/** Reads a USD amount (JSON number or decimal string) in whole cents between `min` and `max`, or throws `invalid_request`. */
export function readUsdAmount(value: unknown, field: string, min: Money, max: Money): Money {
  const range = `between ${formatUsd(min)} and ${formatUsd(max)} USD`;
  let amount: Money;
  try {
    if (typeof value === "number") amount = usdFromNumber(value);
    else if (typeof value === "string") amount = parseUsd(value);
    else throw new RangeError("missing");
  } catch {
    throw new AppError("invalid_request", `${field} must be an amount in USD ${range}, like 10 or "12.50".`, { metadata: { param: field } });
  }
  if (amount % CENT !== 0n) {
    throw new AppError("invalid_request", `${field} must be whole cents (at most 2 decimals), got ${formatUsd(amount)}.`, { metadata: { param: field } });
  }
  if (amount < min || amount > max) {
    throw new AppError("invalid_request", `${field} must be ${range}, got ${formatUsd(amount)}.`, { metadata: { param: field } });
  }
  return amount;
}

/**
 * An amount as the integer count of cents Stripe's API takes. This is the one place money becomes a JavaScript number:
 * the Stripe SDK only accepts numbers, and every amount here is far below 2^53 cents, so the conversion is exact.
 */
export function stripeCents(amount: Money): number {
  if (amount % CENT !== 0n) throw new RangeError(`${formatUsd(amount)} USD is not a whole number of cents`);
  return Number(amount / CENT);
}

/** `$12.5` → `"$12.50"`, for descriptions a person reads (Checkout line items, ledger entries). */
export function displayUsd(amount: Money): string {
  const [whole, fraction = ""] = formatUsd(amount).split(".");
  return `$${whole}.${fraction.padEnd(2, "0")}`;
}
