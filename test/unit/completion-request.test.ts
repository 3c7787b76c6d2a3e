import { describe, expect, it } from "vitest";
import { parseCompletionRequest } from "../../src/core/completion-request.js";
import { AppError } from "../../src/errors.js";

const withProvider = (provider: unknown) =>
  parseCompletionRequest({ model: "test/chat", messages: [{ role: "user", content: "hi" }], provider }, "chat");

describe("provider.max_price", () => {
  it("accepts JSON numbers that print in exponent notation and reads them exactly", () => {
    // String(1e-7) is "1e-7": each amount is read through its shortest decimal form (0.0000001), not refused.
    const { maxPrice } = withProvider({ max_price: { prompt: 2.5e-7, completion: 1e21, request: 1e-7, image: 1.2e-11 } }).provider;
    expect(maxPrice).toEqual({
      prompt: 0n, // 0.00000025 USD per million tokens: 0.25 picodollars per token, rounded down
      completion: 10n ** 27n, // 1e21 USD per million tokens
      request: 100_000n,
      image: 12n,
    });
  });

  it("still refuses an exponent-notation number with more than 12 decimals, naming the field", () => {
    const tooPrecise = () => withProvider({ max_price: { request: 1e-13 } });
    expect(tooPrecise).toThrow(AppError);
    expect(tooPrecise).toThrow("provider.max_price.request: 0.0000000000001 has more than 12 decimal places");
  });
});
