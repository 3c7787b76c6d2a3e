import { describe, expect, it } from "vitest";
import { formatUsd, mulDivRound, parseUsd, PICO_PER_USD, usdFromNumber, usdToNumber } from "../../src/billing/money.js";

describe("parseUsd", () => {
  it("reads whole and fractional dollars as picodollars", () => {
    expect(parseUsd("0")).toBe(0n);
    expect(parseUsd("1")).toBe(1_000_000_000_000n);
    expect(parseUsd("12.5")).toBe(12_500_000_000_000n);
    expect(parseUsd("0.000002")).toBe(2_000_000n);
    expect(parseUsd("0.00000015")).toBe(150_000n);
    expect(parseUsd("0.000000000001")).toBe(1n);
  });

  it("reads negative amounts", () => {
    expect(parseUsd("-0.5")).toBe(-500_000_000_000n);
    expect(parseUsd("-3")).toBe(-3_000_000_000_000n);
  });

  it("ignores surrounding whitespace", () => {
    expect(parseUsd("  0.25\n")).toBe(250_000_000_000n);
  });

  it("refuses a price with more than 12 decimals", () => {
    expect(() => parseUsd("0.0000000000001")).toThrow(new RangeError("0.0000000000001 has more than 12 decimal places"));
    expect(() => parseUsd("1.1234567890121")).toThrow(RangeError);
  });

  it("accepts trailing zeros beyond the 12th decimal", () => {
    expect(parseUsd("0.000000000001000000")).toBe(1n);
    expect(parseUsd("2.0000000000000")).toBe(2_000_000_000_000n);
  });

  it("refuses anything that is not a plain decimal", () => {
    for (const text of ["", "abc", "1e-6", "$1", "1,5", "1.", ".5", "+1", "0x10", "1.2.3", "--1", "Infinity"]) {
      expect(() => parseUsd(text), text).toThrow(RangeError);
    }
    expect(() => parseUsd("abc")).toThrow('expected a decimal USD amount like "0.000002", got "abc"');
  });
});

describe("formatUsd", () => {
  it("strips trailing zeros", () => {
    expect(formatUsd(1_500_000n)).toBe("0.0000015");
    expect(formatUsd(12_500_000_000_000n)).toBe("12.5");
    expect(formatUsd(1n)).toBe("0.000000000001");
  });

  it("renders whole amounts without a decimal point", () => {
    expect(formatUsd(0n)).toBe("0");
    expect(formatUsd(PICO_PER_USD)).toBe("1");
    expect(formatUsd(9_200_000n * PICO_PER_USD)).toBe("9200000");
  });

  it("renders negative amounts with a leading minus", () => {
    expect(formatUsd(-1_500_000n)).toBe("-0.0000015");
    expect(formatUsd(-2_250_000_000_000n)).toBe("-2.25");
    expect(formatUsd(-1n)).toBe("-0.000000000001");
  });

  it("round-trips through parseUsd", () => {
    for (const text of ["0", "0.000002", "-0.0000015", "123.456789012345", "9200000"]) {
      expect(formatUsd(parseUsd(text))).toBe(text);
    }
  });
});

describe("usdToNumber", () => {
  it("renders typical per-token prices with the same digits", () => {
    expect(usdToNumber(parseUsd("0.00000015"))).toBe(1.5e-7);
    expect(String(usdToNumber(parseUsd("0.00000015")))).toBe("1.5e-7");
    expect(String(usdToNumber(parseUsd("0.000002")))).toBe("0.000002");
    expect(String(usdToNumber(parseUsd("0.0000003")))).toBe("3e-7");
    expect(String(usdToNumber(parseUsd("0.000015")))).toBe("0.000015");
  });

  it("renders amounts with 15 significant digits exactly", () => {
    expect(String(usdToNumber(parseUsd("999.999999999999")))).toBe("999.999999999999");
    expect(String(usdToNumber(parseUsd("0.123456789012")))).toBe("0.123456789012");
    expect(String(usdToNumber(parseUsd("-12.000000000001")))).toBe("-12.000000000001");
  });

  it("renders any amount below 1,000 USD with all 12 decimals", () => {
    expect(String(usdToNumber(parseUsd("948.506674740999")))).toBe("948.506674740999");
  });

  it("loses the last digits beyond 15 significant ones, as documented", () => {
    expect(String(usdToNumber(parseUsd("8948.506674740999")))).not.toBe("8948.506674740999");
  });
});

describe("usdFromNumber", () => {
  it("expands exponent notation without float arithmetic", () => {
    expect(usdFromNumber(1e-7)).toBe(100_000n);
    expect(usdFromNumber(1.5e-7)).toBe(150_000n);
    expect(usdFromNumber(-2.5e-7)).toBe(-250_000n);
    expect(usdFromNumber(1e-12)).toBe(1n);
    expect(usdFromNumber(1e21)).toBe(10n ** 21n * PICO_PER_USD);
  });

  it("reads plain numbers through their shortest decimal form", () => {
    expect(usdFromNumber(12.5)).toBe(12_500_000_000_000n);
    expect(usdFromNumber(0.1)).toBe(100_000_000_000n);
    expect(usdFromNumber(0)).toBe(0n);
    expect(usdFromNumber(-3)).toBe(-3_000_000_000_000n);
  });

  it("refuses more than 12 decimals", () => {
    expect(() => usdFromNumber(1e-13)).toThrow(RangeError);
    expect(() => usdFromNumber(0.1234567890123)).toThrow(RangeError);
  });

  it("refuses non-finite numbers", () => {
    expect(() => usdFromNumber(Number.NaN)).toThrow(new RangeError("expected a finite USD amount, got NaN"));
    expect(() => usdFromNumber(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it("inverts usdToNumber for per-token prices", () => {
    for (const text of ["0.00000015", "0.000002", "0.0000003", "1.25", "0.000000000001"]) {
      expect(usdFromNumber(usdToNumber(parseUsd(text)))).toBe(parseUsd(text));
    }
  });
});

describe("mulDivRound", () => {
  it("is exact when the division leaves no remainder", () => {
    expect(mulDivRound(200n, 99n, 100n)).toBe(198n);
    expect(mulDivRound(0n, 99n, 100n)).toBe(0n);
  });

  it("rounds half away from zero", () => {
    expect(mulDivRound(150n, 99n, 100n)).toBe(149n); // 148.5
    expect(mulDivRound(50n, 99n, 100n)).toBe(50n); // 49.5
    expect(mulDivRound(1n, 1n, 2n)).toBe(1n); // 0.5
    expect(mulDivRound(5n, 1n, 2n)).toBe(3n); // 2.5
  });

  it("rounds below half down and above half up", () => {
    expect(mulDivRound(149n, 99n, 100n)).toBe(148n); // 147.51
    expect(mulDivRound(10n, 1n, 3n)).toBe(3n); // 3.33
    expect(mulDivRound(20n, 1n, 3n)).toBe(7n); // 6.67
  });

  it("rounds negative amounts half away from zero", () => {
    expect(mulDivRound(-150n, 99n, 100n)).toBe(-149n); // -148.5
    expect(mulDivRound(-1n, 1n, 2n)).toBe(-1n); // -0.5
    expect(mulDivRound(-10n, 1n, 3n)).toBe(-3n); // -3.33
    expect(mulDivRound(-20n, 1n, 3n)).toBe(-7n); // -6.67
  });

  it("handles a negative numerator or denominator like a negative amount", () => {
    expect(mulDivRound(150n, -99n, 100n)).toBe(-149n);
    expect(mulDivRound(150n, 99n, -100n)).toBe(-149n);
    expect(mulDivRound(-150n, 99n, -100n)).toBe(149n);
    expect(mulDivRound(20n, 1n, -3n)).toBe(-7n);
  });
});
