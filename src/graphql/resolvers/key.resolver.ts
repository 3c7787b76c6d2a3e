import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { requireKeyManager } from "../access.js";
import type { GraphQLContext } from "../context.js";
import { keyHash, keyPatch, newKey, ProvisionKeyInput, UpdateKeyInput } from "../inputs/key.input.js";
import { connectionComplexity } from "../limits.js";
import { loaderKey } from "../loaders.js";
import { badCursor, decodeCursor, encodeCursor, pageSize, toPage, type Page } from "../pagination.js";
import { ApiKeyConnection, ApiKeyType, ProvisionedKeyType } from "../types/api-key.type.js";

/**
 * Key provisioning, with a management key or a dashboard session (as `/api/v1/keys` with a management key). The
 * plaintext of a key appears once, in `provisionKey`'s answer.
 */
@Resolver()
export class KeyResolver {
  @Query(() => ApiKeyConnection, { description: "The account's inference keys, oldest first.", complexity: connectionComplexity })
  async keys(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("includeDisabled", () => Boolean, { defaultValue: true }) includeDisabled: boolean = true,
  ): Promise<Page<ApiKeyType>> {
    const { accountId } = requireKeyManager(ctx);
    const size = pageSize(first);
    // Keys are few and ordered by creation, so a cursor is a position in that order.
    const list = includeDisabled ? "keys" : "keys-enabled";
    const position = decodeCursor(list, after);
    const offset = position ? Number(position[0]) + 1 : 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw badCursor();
    const views = await ctx.services.keys.list(accountId, { includeDisabled, offset, limit: size + 1 });
    return toPage(
      views.map((view, i) => ({ view, index: offset + i })),
      size,
      (item) => encodeCursor(list, [item.index]),
      (item) => ApiKeyType.from(item.view),
    );
  }

  @Query(() => ApiKeyType, { nullable: true, description: "One key of the account by its hash; null when the account has none such." })
  async key(@Ctx() ctx: GraphQLContext, @Arg("hash", () => ID) hash: string): Promise<ApiKeyType | null> {
    const { accountId } = requireKeyManager(ctx);
    const view = await ctx.loaders.key.load(loaderKey(accountId, keyHash(hash)));
    return view ? ApiKeyType.from(view) : null;
  }

  @Mutation(() => ProvisionedKeyType, { description: "Creates an inference key; its plaintext is in the answer, once." })
  async provisionKey(@Ctx() ctx: GraphQLContext, @Arg("input", () => ProvisionKeyInput) input: ProvisionKeyInput): Promise<ProvisionedKeyType> {
    const { accountId, userId } = requireKeyManager(ctx);
    const created = await ctx.services.keys.create(accountId, { ...newKey(input), creatorUserId: userId });
    return Object.assign(new ProvisionedKeyType(), { key: created.plaintext, apiKey: ApiKeyType.from(created.key) });
  }

  @Mutation(() => ApiKeyType, { description: "Changes the given fields of a key; authentication caches drop it at once." })
  async updateKey(
    @Ctx() ctx: GraphQLContext,
    @Arg("hash", () => ID) hash: string,
    @Arg("input", () => UpdateKeyInput) input: UpdateKeyInput,
  ): Promise<ApiKeyType> {
    const { accountId } = requireKeyManager(ctx);
    return ApiKeyType.from(await ctx.services.keys.update(accountId, keyHash(hash), keyPatch(input)));
  }

  @Mutation(() => Boolean, { description: "Deletes a key: it stops working at once. True when deleted (NOT_FOUND otherwise)." })
  async deleteKey(@Ctx() ctx: GraphQLContext, @Arg("hash", () => ID) hash: string): Promise<boolean> {
    const { accountId } = requireKeyManager(ctx);
    await ctx.services.keys.delete(accountId, keyHash(hash));
    return true;
  }
}
