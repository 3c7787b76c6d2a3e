import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { readPurchaseAmount } from "../../billing/fees.js";
import { formatUsd, type Money } from "../../billing/money.js";
import { requireAccount } from "../access.js";
import type { GraphQLContext } from "../context.js";
import { AutoTopUpInput, autoTopUpSettings } from "../inputs/account.input.js";
import { MoneyScalar } from "../money.scalar.js";
import { AutoTopUpType, CheckoutSessionType } from "../types/account.type.js";

/** Buying credits and auto top-up, through the billing services (as `POST /credits/checkout`, `PUT /credits/auto-top-up`). */
@Resolver()
export class BillingResolver {
  @Mutation(() => CheckoutSessionType, {
    description: "Starts a Stripe Checkout for `amount` USD of credits (whole cents, within the purchase limits) plus the fee; send the buyer to `url`.",
  })
  async purchaseCredits(@Ctx() ctx: GraphQLContext, @Arg("amount", () => MoneyScalar) amount: Money): Promise<CheckoutSessionType> {
    const { accountId } = requireAccount(ctx);
    const checked = readPurchaseAmount(formatUsd(amount), ctx.services.fees, "amount");
    return CheckoutSessionType.from(await ctx.services.purchases.checkout(accountId, checked));
  }

  @Mutation(() => AutoTopUpType, { description: "Saves the auto top-up settings (and resumes a paused auto top-up)." })
  async setAutoTopUp(@Ctx() ctx: GraphQLContext, @Arg("input", () => AutoTopUpInput) input: AutoTopUpInput): Promise<AutoTopUpType> {
    const { accountId } = requireAccount(ctx);
    return AutoTopUpType.from(await ctx.services.autoTopUp.save(accountId, autoTopUpSettings(input)));
  }
}
