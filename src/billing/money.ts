/**
 * Exact money. Every amount inside Switchyard is a `bigint` count of picodollars (1e-12 USD): fine enough that every
 * per-token price in the catalog is an integer (prices with more than 12 decimals are rejected when the catalog is
 * loaded), and wide enough for balances up to about 9.2 million USD in a PostgreSQL `bigint` column.
 *
 * Values cross the API as decimal strings (`"0.000002"`) or, where the OpenAI wire format wants a number (`usage.cost`),
 * as a JSON number parsed from that exact string — never from float arithmetic.
 */
export type Money = bigint;

export const USD_DECIMALS = 12;
export const PICO_PER_USD = 10n ** BigInt(USD_DECIMALS);

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Parses a USD decimal string. Throws a `RangeError` naming the problem for malformed or too-precise input. */
export function parseUsd(text: string): Money {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`expected a decimal USD amount like "0.000002", got ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = ""] = match;
  if (fraction.length > USD_DECIMALS) {
    // Only trailing zeros may go beyond the 12th decimal.
    if (/[^0]/.test(fraction.slice(USD_DECIMALS))) {
      throw new RangeError(`${text} has more than ${USD_DECIMALS} decimal places`);
    }
  }
  const units = BigInt(whole) * PICO_PER_USD + BigInt(fraction.slice(0, USD_DECIMALS).padEnd(USD_DECIMALS, "0"));
  return sign ? -units : units;
}

/**
 * Converts a JSON number given by a client (e.g. `limit: 12.5`) to money. The number is read through its shortest
 * decimal representation, which is what the client wrote; more than 12 decimals is an error.
 */
export function usdFromNumber(value: number): Money {
  if (!Number.isFinite(value)) throw new RangeError(`expected a finite USD amount, got ${value}`);
  return parseUsd(numberToPlainDecimal(value));
}

/** Renders money as a plain decimal string with no trailing zeros: `1500000n` → `"0.0000015"`. */
export function formatUsd(amount: Money): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = abs / PICO_PER_USD;
  const fraction = (abs % PICO_PER_USD).toString().padStart(USD_DECIMALS, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/**
 * Renders money as a JSON number for wire fields that OpenAI clients read as numbers (`usage.cost`, key usage). The
 * double is parsed from the exact decimal string, so its shortest representation prints the same digits back whenever
 * the amount has at most 15 significant digits — every amount below 1,000 USD (12 decimals), such as any single
 * generation's cost. Larger amounts with all 12 decimals lose the last digits; exact strings are served alongside
 * wherever totals can grow that large (the GraphQL `Money` scalar).
 */
export function usdToNumber(amount: Money): number {
  return Number(formatUsd(amount));
}

/**
 * `amount × numerator / denominator`, rounded half away from zero. This is the one rounding step of a generation's cost
 * (for discounts); everything else is integer-exact.
 */
export function mulDivRound(amount: Money, numerator: bigint, denominator: bigint): Money {
  const product = amount * numerator;
  const quotient = product / denominator;
  const remainder = product % denominator;
  const twice = (remainder < 0n ? -remainder : remainder) * 2n;
  if (twice >= (denominator < 0n ? -denominator : denominator)) {
    return product < 0n !== denominator < 0n ? quotient - 1n : quotient + 1n;
  }
  return quotient;
}

export function maxMoney(a: Money, b: Money): Money {
  return a > b ? a : b;
}

export function minMoney(a: Money, b: Money): Money {
  return a < b ? a : b;
}

function numberToPlainDecimal(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Expand exponent notation (1e-7 → 0.0000001) without going through float arithmetic.
  const [mantissa, exponentText] = text.toLowerCase().split("e");
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "");
  const [intPart, fracPart = ""] = digits.split(".");
  const allDigits = intPart + fracPart;
  const pointIndex = intPart.length + exponent;
  let result: string;
  if (pointIndex <= 0) result = `0.${"0".repeat(-pointIndex)}${allDigits}`;
  else if (pointIndex >= allDigits.length) result = allDigits + "0".repeat(pointIndex - allDigits.length);
  else result = `${allDigits.slice(0, pointIndex)}.${allDigits.slice(pointIndex)}`;
  return negative ? `-${result}` : result;
}
