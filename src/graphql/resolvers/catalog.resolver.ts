import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import { listModels } from "../../catalog/model-listing.js";
import type { GraphQLContext } from "../context.js";
import { ModelFilterInput } from "../inputs/filter.input.js";
import { EndpointHealthType, ModelEndpointType, ModelType, ProviderType } from "../types/catalog.type.js";

/** The public catalog: models, their endpoints and providers, from the in-memory snapshot (no database query). */
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
    }).map(ModelType.from);
  }

  @Query(() => ModelType, { nullable: true, description: "One model id (a base id or a static variant such as `:free`); null when not listed." })
  model(@Ctx() ctx: GraphQLContext, @Arg("id", () => ID) id: string): ModelType | null {
    const entry = ctx.loaders.listedModel(id);
    return entry ? ModelType.from(entry) : null;
  }

  @Query(() => [ProviderType])
  providers(@Ctx() ctx: GraphQLContext): ProviderType[] {
    return [...ctx.services.catalog.snapshot().providers.values()].map(ProviderType.from);
  }
}

@Resolver(() => ModelEndpointType)
export class ModelEndpointResolver {
  @FieldResolver(() => EndpointHealthType, { description: "Live health as this node sees it: uptime, time to first token, throughput." })
  health(@Root() endpoint: ModelEndpointType, @Ctx() ctx: GraphQLContext): EndpointHealthType {
    const { health } = ctx.services;
    // Latency figures are for authenticated callers, as on `GET /models/{id}/endpoints`.
    return EndpointHealthType.from(health.stats(endpoint.id), health.isHealthy(endpoint.id), ctx.principal !== null);
  }
}
