import { countTokens } from "gpt-tokenizer";
import { describe, expect, it } from "vitest";
import { countTextTokens } from "../../src/core/tokens.js";

describe("countTextTokens", () => {
  it("counts ordinary text exactly, in one pass", () => {
    const prose = "The quick brown fox jumps over the lazy dog. ".repeat(200);
    expect(countTextTokens(prose)).toBe(countTokens(prose));
    expect(countTextTokens("")).toBe(0);
  });

  it("counts runs with no space between them piecewise, within 1% of the exact count where it can be computed", () => {
    // Exact byte-pair encoding of these takes time quadratic in their length; the piecewise count stays close to it.
    for (const run of ["a".repeat(5000), "🦓".repeat(3001), `x${"🦓".repeat(2000)}`, "QmFzZTY0IQ==".repeat(400)]) {
      const text = `before ${run} after`;
      const exact = countTokens(text);
      expect(Math.abs(countTextTokens(text) - exact)).toBeLessThanOrEqual(Math.ceil(exact / 100));
    }
  });

  it("counts a megabyte of emoji with no space in it (the whole-run encoding would take minutes)", () => {
    const emoji = "🦓".repeat(256 * 1024);
    expect(countTextTokens(emoji)).toBe(3 * 256 * 1024);
  });
});
