import { Ctx, Query, Resolver } from "type-graphql";
import { Account } from "../../accounts/account.entity.js";
import { AppError } from "../../errors.js";
import { requireInferenceKey, type GraphQLContext } from "../context.js";
import { AccountType } from "../types/account.type.js";

@Resolver()
export class AccountResolver {
  @Query(() => AccountType, { description: "The authenticated caller's account." })
  async me(@Ctx() ctx: GraphQLContext): Promise<AccountType> {
    const key = requireInferenceKey(ctx);
    const account = await ctx.services.orm.em.fork().findOne(Account, { id: key.accountId, deletedAt: null });
    if (!account) throw new AppError("unauthenticated", "This API key's account has been deleted.");
    return Object.assign(new AccountType(), {
      id: account.id,
      name: account.name,
      balance: account.balance,
      held: account.held,
      createdAt: account.createdAt,
    });
  }
}
