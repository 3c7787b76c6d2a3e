import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { Money } from "../../billing/money.js";
import { MoneyScalar } from "../money.scalar.js";

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

  @Field(() => Boolean, { nullable: true, description: "May train on prompts; null when unknown (treated as true)." })
  trainsOnData!: boolean | null;

  @Field(() => Boolean, { nullable: true, description: "Retains prompts; null when unknown (treated as true)." })
  retainsPrompts!: boolean | null;

  @Field(() => String, { nullable: true })
  privacyPolicyUrl!: string | null;

  @Field(() => String, { nullable: true })
  headquarters!: string | null;
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

  @Field(() => Float, { description: "Unix time the model was added." })
  created!: number;
}
