import { GraphQLLocalDate } from "graphql-scalars";
import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import type { ActivityGroup } from "../../usage/activity.service.js";
import { providerName } from "../../usage/provider-name.js";
import { assertOwn, requireAccount } from "../access.js";
import type { GraphQLContext } from "../context.js";
import { GenerationFilterInput } from "../inputs/filter.input.js";
import { keyHash } from "../inputs/key.input.js";
import { connectionComplexity } from "../limits.js";
import { loaderKey } from "../loaders.js";
import { badCursor, decodeCursor, encodeCursor, pageSize, toPage, type Page } from "../pagination.js";
import { generationPage } from "../records/generations.js";
import { ledgerPage } from "../records/ledger.js";
import { ActivityBucketType } from "../types/activity.type.js";
import { ApiKeyType } from "../types/api-key.type.js";
import { ModelType, ProviderType } from "../types/catalog.type.js";
import { ActivityGroupEnum } from "../types/enums.type.js";
import { GenerationConnection, GenerationType, ProviderAttemptType } from "../types/generation.type.js";
import { CreditTransactionConnection, CreditTransactionType } from "../types/transaction.type.js";

/** The caller's ledger, generations and activity: an inference key of the account or a dashboard session. */
@Resolver()
export class UsageResolver {
  @Query(() => CreditTransactionConnection, { description: "The account's ledger, newest first.", complexity: connectionComplexity })
  async transactions(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ): Promise<Page<CreditTransactionType>> {
    const { accountId } = requireAccount(ctx);
    const size = pageSize(first);
    const position = decodeCursor("transactions", after);
    if (position && !/^\d+$/.test(position[0])) throw badCursor();
    const rows = await ledgerPage(ctx.services.sql, accountId, position ? BigInt(position[0]) : null, size + 1);
    return toPage(rows, size, (row) => encodeCursor("transactions", [row.id.toString()]), CreditTransactionType.from);
  }

  @Query(() => GenerationConnection, {
    description: "The account's generations (usage records), newest first. A generation appears once settled, a few ms after its answer.",
    complexity: connectionComplexity,
  })
  async generations(
    @Ctx() ctx: GraphQLContext,
    @Arg("filter", () => GenerationFilterInput, { nullable: true }) filter?: GenerationFilterInput,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ): Promise<Page<GenerationType>> {
    const { accountId } = requireAccount(ctx);
    const size = pageSize(first);
    const position = decodeCursor("generations", after);
    if (position && (position.length !== 2 || Number.isNaN(Date.parse(position[0])))) throw badCursor();
    const rows = await generationPage(
      ctx.services.sql,
      accountId,
      { ...filter, keyHash: filter?.keyHash ? keyHash(filter.keyHash) : null },
      position ? { createdAt: position[0], id: position[1] } : null,
      size + 1,
    );
    return toPage(rows, size, (row) => encodeCursor("generations", [row.position, row.id]), GenerationType.from);
  }

  @Query(() => GenerationType, { nullable: true, description: "One generation of the account by id; null until it is settled, or if not the account's." })
  async generation(@Ctx() ctx: GraphQLContext, @Arg("id", () => ID) id: string): Promise<GenerationType | null> {
    const { accountId } = requireAccount(ctx);
    await ctx.services.settled(id);
    const row = await ctx.loaders.generation.load(loaderKey(accountId, id));
    return row ? GenerationType.from(row) : null;
  }

  @Query(() => [ActivityBucketType], {
    description: "Usage by UTC day (default: the last 30 days), optionally per model, provider or key (as `GET /activity`).",
  })
  async activity(
    @Ctx() ctx: GraphQLContext,
    @Arg("from", () => GraphQLLocalDate, { nullable: true }) from?: string,
    @Arg("to", () => GraphQLLocalDate, { nullable: true }) to?: string,
    @Arg("groupBy", () => ActivityGroupEnum, { nullable: true }) groupBy?: ActivityGroup,
    @Arg("model", () => String, { nullable: true }) model?: string,
    @Arg("provider", () => String, { nullable: true }) provider?: string,
    @Arg("key", () => String, { nullable: true, description: "A key's hash." }) key?: string,
  ): Promise<ActivityBucketType[]> {
    const { accountId } = requireAccount(ctx);
    const buckets = await ctx.services.activity.query(accountId, {
      from: from ?? undefined,
      to: to ?? undefined,
      model: model ?? undefined,
      provider: provider ?? undefined,
      keyHash: key ? keyHash(key) : undefined,
      groupBy: groupBy ?? "day",
    });
    return buckets.map(ActivityBucketType.from);
  }
}

@Resolver(() => GenerationType)
export class GenerationResolver {
  @FieldResolver(() => ModelType, { nullable: true, description: "The model that answered; null once it is no longer listed." })
  model(@Root() generation: GenerationType, @Ctx() ctx: GraphQLContext): ModelType | null {
    assertOwn(ctx, generation.accountId);
    const entry = ctx.loaders.listedModel(generation.modelId);
    return entry ? ModelType.from(entry) : null;
  }

  @FieldResolver(() => ProviderType, { nullable: true, description: "The provider that answered; null once it left the catalog." })
  provider(@Root() generation: GenerationType, @Ctx() ctx: GraphQLContext): ProviderType | null {
    assertOwn(ctx, generation.accountId);
    const provider = ctx.services.catalog.snapshot().providers.get(generation.providerSlug);
    return provider ? ProviderType.from(provider) : null;
  }

  @FieldResolver(() => ApiKeyType, { nullable: true, description: "The key that made the request; null for a session, or once deleted." })
  async key(@Root() generation: GenerationType, @Ctx() ctx: GraphQLContext): Promise<ApiKeyType | null> {
    assertOwn(ctx, generation.accountId);
    if (!generation.keyHash) return null;
    const view = await ctx.loaders.key.load(loaderKey(generation.accountId, generation.keyHash));
    return view ? ApiKeyType.from(view) : null;
  }

  @FieldResolver(() => [ProviderAttemptType], { description: "Every upstream attempt, failed ones included (REST `provider_responses`)." })
  attempts(@Root() generation: GenerationType, @Ctx() ctx: GraphQLContext): ProviderAttemptType[] {
    assertOwn(ctx, generation.accountId);
    const catalog = ctx.services.catalog.snapshot();
    return generation.storedAttempts.map((a) =>
      Object.assign(new ProviderAttemptType(), { ...a, providerName: providerName(catalog, a.provider) }),
    );
  }
}

@Resolver(() => CreditTransactionType)
export class CreditTransactionResolver {
  @FieldResolver(() => GenerationType, { nullable: true, description: "For USAGE entries: the generation charged." })
  async generation(@Root() entry: CreditTransactionType, @Ctx() ctx: GraphQLContext): Promise<GenerationType | null> {
    assertOwn(ctx, entry.accountId);
    if (entry.kind !== "usage" || !entry.reference) return null;
    const row = await ctx.loaders.generation.load(loaderKey(entry.accountId, entry.reference));
    return row ? GenerationType.from(row) : null;
  }
}
