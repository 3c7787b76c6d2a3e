import { GraphQLScalarType, Kind } from "graphql";
import { formatUsd, parseUsd, type Money } from "../billing/money.js";

/**
 * `Money`: an exact USD amount as a decimal string (`"0.0000015"`), never a float. Inputs accept a decimal string
 * (or an integer literal); more than 12 decimal places is rejected.
 */
export const MoneyScalar = new GraphQLScalarType<Money, string>({
  name: "Money",
  description: "An exact amount of US dollars as a decimal string, e.g. \"12.50\" or \"0.0000015\".",
  serialize(value) {
    if (typeof value !== "bigint") throw new TypeError("Money must be serialised from a bigint of picodollars");
    return formatUsd(value);
  },
  parseValue(value) {
    if (typeof value !== "string" && typeof value !== "number") throw new TypeError("Money must be a decimal string");
    return parseUsd(String(value));
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING && ast.kind !== Kind.INT && ast.kind !== Kind.FLOAT) throw new TypeError("Money must be a decimal string");
    return parseUsd(ast.value);
  },
});
