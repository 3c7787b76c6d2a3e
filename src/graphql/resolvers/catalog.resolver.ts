import { Arg, Ctx, Field, InputType, Int, Query, Resolver } from "type-graphql";
import { listModels, type ListedModel } from "../../catalog/model-listing.js";
import type { Pricing, ProviderInfo } from "../../core/types.js";
import type { GraphQLContext } from "../context.js";
import { ModelType, PricingType, ProviderType } from "../types/catalog.type.js";

@InputType({ description: "Narrows the model list; every given condition must hold." })
export class ModelFilterInput {
  @Field(() => String, { nullable: true, description: "Search in id, name and description." })
  search?: string;

  @Field(() => [String], { nullable: true, description: "Parameters every returned model supports." })
  supportedParameters?: string[];

  @Field(() => [String], { nullable: true })
  providers?: string[];

  @Field(() => Int, { nullable: true })
  minContextLength?: number;
}

@Resolver()
export class CatalogResolver {
  @Query(() => [ModelType], { description: "Models with at least one active endpoint, one entry per requestable id." })
  models(
    @Ctx() ctx: GraphQLContext,
    @Arg("filter", () => ModelFilterInput, { nullable: true }) filter?: ModelFilterInput,
  ): ModelType[] {
    return listModels(ctx.services.catalog.snapshot(), {
      q: filter?.search,
      supportedParameters: filter?.supportedParameters,
      providers: filter?.providers,
      minContext: filter?.minContextLength,
      outputModalities: "all",
    }).map(toModel);
  }

  @Query(() => [ProviderType])
  providers(@Ctx() ctx: GraphQLContext): ProviderType[] {
    return [...ctx.services.catalog.snapshot().providers.values()].map(toProvider);
  }
}

export function toPricing(p: Pricing): PricingType {
  return Object.assign(new PricingType(), { ...p, reasoning: p.reasoning ?? p.completion });
}

function toModel(entry: ListedModel): ModelType {
  return Object.assign(new ModelType(), {
    id: entry.id,
    name: entry.model.name,
    description: entry.model.description,
    variant: entry.variant,
    contextLength: entry.contextLength,
    maxCompletionTokens: entry.top.maxCompletionTokens,
    inputModalities: [...new Set(entry.endpoints.flatMap((e) => e.inputModalities))],
    outputModalities: [...entry.model.outputModalities],
    supportedParameters: entry.supportedParameters,
    pricing: toPricing(entry.top.pricing),
    providers: entry.endpoints.map((e) => e.tag),
    created: Math.floor(entry.model.createdAt.getTime() / 1000),
  });
}

function toProvider(p: ProviderInfo): ProviderType {
  return Object.assign(new ProviderType(), {
    slug: p.slug,
    name: p.name,
    adapter: p.adapter,
    active: p.active,
    trainsOnData: p.dataPolicy?.training ?? null,
    retainsPrompts: p.dataPolicy?.retainsPrompts ?? null,
    privacyPolicyUrl: p.privacyPolicyUrl,
    headquarters: p.headquarters,
  });
}
