import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { creditTotals } from "../../billing/credit-totals.js";
import { AppError } from "../../errors.js";
import { assertOwn, requireAccount } from "../access.js";
import type { GraphQLContext } from "../context.js";
import { PrivacySettingsInput, privacyPatch } from "../inputs/account.input.js";
import { findAccount, usersOf } from "../records/accounts.js";
import { AccountType, AutoTopUpType, CreditsType, PrivacySettingsType, UserType } from "../types/account.type.js";

@Resolver(() => AccountType)
export class AccountResolver {
  @Query(() => AccountType, { description: "The authenticated caller's account." })
  me(@Ctx() ctx: GraphQLContext): Promise<AccountType> {
    return loadAccount(ctx, requireAccount(ctx).accountId);
  }

  @Query(() => AccountType, {
    description: "An account by id: only the caller's own (FORBIDDEN for any other id). Without `id`, the same as `me`.",
  })
  account(@Ctx() ctx: GraphQLContext, @Arg("id", () => ID, { nullable: true }) id?: string): Promise<AccountType> {
    const { accountId } = requireAccount(ctx);
    if (id !== undefined && id !== null && id !== accountId) throw new AppError("forbidden", "An account can only read itself.");
    return loadAccount(ctx, accountId);
  }

  @Query(() => CreditsType, { description: "The caller's credits and usage totals (as `GET /credits`)." })
  async credits(@Ctx() ctx: GraphQLContext): Promise<CreditsType> {
    return CreditsType.from(await creditTotals(ctx.services.sql, requireAccount(ctx).accountId));
  }

  @FieldResolver(() => CreditsType, { name: "credits" })
  async accountCredits(@Root() account: AccountType, @Ctx() ctx: GraphQLContext): Promise<CreditsType> {
    assertOwn(ctx, account.id);
    return CreditsType.from(await creditTotals(ctx.services.sql, account.id));
  }

  @FieldResolver(() => PrivacySettingsType)
  async privacySettings(@Root() account: AccountType, @Ctx() ctx: GraphQLContext): Promise<PrivacySettingsType> {
    assertOwn(ctx, account.id);
    return PrivacySettingsType.from(await ctx.services.privacy.get(account.id));
  }

  @FieldResolver(() => AutoTopUpType)
  async autoTopUp(@Root() account: AccountType, @Ctx() ctx: GraphQLContext): Promise<AutoTopUpType> {
    assertOwn(ctx, account.id);
    return AutoTopUpType.from(await ctx.services.autoTopUp.get(account.id));
  }

  @FieldResolver(() => [UserType], {
    description: "The people who sign in to this account's dashboard (their emails): for a dashboard session only, FORBIDDEN to API keys.",
  })
  async users(@Root() account: AccountType, @Ctx() ctx: GraphQLContext): Promise<UserType[]> {
    assertOwn(ctx, account.id);
    if (ctx.principal?.kind !== "session") throw new AppError("forbidden", "Only a dashboard session can list the account's users.");
    return (await usersOf(ctx.services.sql, account.id)).map(UserType.from);
  }

  @Mutation(() => PrivacySettingsType, { description: "Changes the given privacy settings; they apply from the next request." })
  async updatePrivacySettings(
    @Ctx() ctx: GraphQLContext,
    @Arg("input", () => PrivacySettingsInput) input: PrivacySettingsInput,
  ): Promise<PrivacySettingsType> {
    const { accountId } = requireAccount(ctx);
    return PrivacySettingsType.from(await ctx.services.privacy.update(accountId, privacyPatch(input)));
  }
}

async function loadAccount(ctx: GraphQLContext, accountId: string): Promise<AccountType> {
  const row = await findAccount(ctx.services.sql, accountId);
  if (!row) throw new AppError("unauthenticated", "This account has been deleted.");
  return AccountType.from(row);
}
