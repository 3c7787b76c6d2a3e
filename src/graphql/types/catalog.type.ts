import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { Money } from "../../billing/money.js";
import type { ListedModel } from "../../catalog/model-listing.js";
import type { BreakerState, HealthStats, Percentiles } from "../../core/health.js";
import type { EndpointInfo, Pricing, ProviderInfo } from "../../core/types.js";
import { MoneyScalar } from "../money.scalar.js";
import { BreakerStateEnum } from "./enums.type.js";

@ObjectType("Pricing", { description: "Prices of one endpoint in USD per token (or per request, image or search)." })
export class PricingType {
  @Field(() => MoneyScalar)
  prompt!: Money;

  @Field(() => MoneyScalar)
  completion!: Money;

  @Field(() => MoneyScalar)
  request!: Money;

  @Field(() => MoneyScalar)
  image!: Money;

  @Field(() => MoneyScalar, { description: "Per reasoning token (the completion price unless the endpoint sets one)." })
  reasoning!: Money;

  @Field(() => MoneyScalar, { nullable: true })
  cacheRead!: Money | null;

  @Field(() => MoneyScalar, { nullable: true })
  cacheWrite!: Money | null;

  @Field(() => MoneyScalar)
  webSearch!: Money;

  static from(p: Pricing): PricingType {
    return Object.assign(new PricingType(), { ...p, reasoning: p.reasoning ?? p.completion });
  }
}

@ObjectType("Provider", { description: "An upstream that serves models." })
export class ProviderType {
  @Field(() => ID)
  slug!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "The protocol adapter: openai-compatible, anthropic or simulated." })
  adapter!: string;

  @Field(() => Boolean, { description: "False while its credentials are not configured." })
  active!: boolean;

  @Field(() => String, { nullable: true, description: "Why the provider is inactive (e.g. `set ACME_API_KEY to enable it`)." })
  inactiveReason!: string | null;

  @Field(() => Boolean, { nullable: true, description: "May train on prompts; null when unknown (treated as true)." })
  trainsOnData!: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Retains prompts; null when unknown (treated as true)." })
  retainsPrompts!: boolean | null;

  @Field(() => String, { nullable: true })
  privacyPolicyUrl!: string | null;

  @Field(() => String, { nullable: true })
  termsOfServiceUrl!: string | null;

  @Field(() => String, { nullable: true })
  statusPageUrl!: string | null;

  @Field(() => String, { nullable: true })
  headquarters!: string | null;

  @Field(() => [String])
  datacenters!: string[];

  static from(p: ProviderInfo): ProviderType {
    return Object.assign(new ProviderType(), {
      slug: p.slug,
      name: p.name,
      adapter: p.adapter,
      active: p.active,
      inactiveReason: p.inactiveReason,
      trainsOnData: p.dataPolicy?.training ?? null,
      retainsPrompts: p.dataPolicy?.retainsPrompts ?? null,
      privacyPolicyUrl: p.privacyPolicyUrl,
      termsOfServiceUrl: p.termsOfServiceUrl,
      statusPageUrl: p.statusPageUrl,
      headquarters: p.headquarters,
      datacenters: [...p.datacenters],
    });
  }
}

@ObjectType("Percentiles")
export class PercentilesType {
  @Field(() => Float)
  p50!: number;

  @Field(() => Float)
  p75!: number;

  @Field(() => Float)
  p90!: number;

  @Field(() => Float)
  p99!: number;

  static from(p: Percentiles | null): PercentilesType | null {
    return p ? Object.assign(new PercentilesType(), p) : null;
  }
}

@ObjectType("EndpointHealth", { description: "What this gateway node has seen of an endpoint, live." })
export class EndpointHealthType {
  @Field(() => Float, { nullable: true, description: "Percent of successful attempts over 5 minutes; null without attempts." })
  uptime5m!: number | null;

  @Field(() => Float, { nullable: true })
  uptime30m!: number | null;

  @Field(() => Float, { nullable: true })
  uptime1d!: number | null;

  @Field(() => PercentilesType, {
    nullable: true,
    description: "Time to first token in ms over 30 minutes; null without samples, and for anonymous callers.",
  })
  latency!: PercentilesType | null;

  @Field(() => PercentilesType, { nullable: true, description: "Output tokens per second over 30 minutes; null without samples." })
  throughput!: PercentilesType | null;

  @Field(() => BreakerStateEnum)
  breaker!: BreakerState;

  @Field(() => Boolean, { description: "False while the planner puts the endpoint last (breaker open, or failing in the last 30 s)." })
  healthy!: boolean;

  static from(stats: HealthStats, healthy: boolean, withLatency: boolean): EndpointHealthType {
    return Object.assign(new EndpointHealthType(), {
      uptime5m: stats.uptime5m,
      uptime30m: stats.uptime30m,
      uptime1d: stats.uptime1d,
      latency: withLatency ? PercentilesType.from(stats.latency30m) : null,
      throughput: PercentilesType.from(stats.throughput30m),
      breaker: stats.breaker,
      healthy,
    });
  }
}

@ObjectType("ModelEndpoint", { description: "One provider serving one model id: its limits, prices, data policy and live health." })
export class ModelEndpointType {
  @Field(() => ID, { description: "`model:variant@tag`." })
  id!: string;

  @Field(() => String, { description: "`Provider name | model id`." })
  name!: string;

  @Field(() => String, { description: "Routing slug for `provider.order/only/ignore`: `provider` or `provider/sub-tag`." })
  tag!: string;

  @Field(() => ProviderType)
  provider!: ProviderType;

  @Field(() => Int)
  contextLength!: number;

  @Field(() => Int, { nullable: true })
  maxCompletionTokens!: number | null;

  @Field(() => Int, { nullable: true })
  maxPromptTokens!: number | null;

  @Field(() => String, { nullable: true })
  quantization!: string | null;

  @Field(() => PricingType)
  pricing!: PricingType;

  @Field(() => [String])
  supportedParameters!: string[];

  @Field(() => [String])
  inputModalities!: string[];

  @Field(() => Boolean, { description: "The provider may train on prompts sent here (the effective policy)." })
  trainsOnData!: boolean;

  @Field(() => Boolean, { description: "The provider retains prompts sent here; false means zero data retention." })
  retainsPrompts!: boolean;

  @Field(() => Boolean)
  moderated!: boolean;

  @Field(() => Int, { description: "0 when active; negative when unavailable." })
  status!: number;

  static from(entry: ListedModel, e: EndpointInfo): ModelEndpointType {
    return Object.assign(new ModelEndpointType(), {
      id: e.id,
      name: `${e.provider.name} | ${entry.id}`,
      tag: e.tag,
      provider: ProviderType.from(e.provider),
      contextLength: e.contextLength,
      maxCompletionTokens: e.maxCompletionTokens,
      maxPromptTokens: e.maxPromptTokens,
      quantization: e.quantization,
      pricing: PricingType.from(e.pricing),
      supportedParameters: [...e.supportedParameters].sort(),
      inputModalities: [...e.inputModalities],
      trainsOnData: e.dataPolicy.training,
      retainsPrompts: e.dataPolicy.retainsPrompts,
      moderated: e.moderated,
      status: e.status,
    });
  }
}

@ObjectType("Model", { description: "A model id a request may name: a base model or one of its static variants (:free, …)." })
export class ModelType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => String, { description: "standard, free, extended or thinking." })
  variant!: string;

  @Field(() => Int)
  contextLength!: number;

  @Field(() => Int, { nullable: true })
  maxCompletionTokens!: number | null;

  @Field(() => [String])
  inputModalities!: string[];

  @Field(() => [String])
  outputModalities!: string[];

  @Field(() => [String])
  supportedParameters!: string[];

  @Field(() => PricingType, { description: "Prices of the cheapest active endpoint." })
  pricing!: PricingType;

  @Field(() => [String], { description: "Routing tags of the endpoints serving it." })
  providers!: string[];

  @Field(() => [ModelEndpointType], { description: "The active endpoints serving this id, with prices and live health." })
  endpoints!: ModelEndpointType[];

  @Field(() => Float, { description: "Unix time the model was added." })
  created!: number;

  static from(entry: ListedModel): ModelType {
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
      pricing: PricingType.from(entry.top.pricing),
      providers: entry.endpoints.map((e) => e.tag),
      endpoints: entry.endpoints.map((e) => ModelEndpointType.from(entry, e)),
      created: Math.floor(entry.model.createdAt.getTime() / 1000),
    });
  }
}
