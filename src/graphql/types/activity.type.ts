import { GraphQLLocalDate, GraphQLSafeInt } from "graphql-scalars";
import { Field, Int, ObjectType } from "type-graphql";
import type { Money } from "../../billing/money.js";
import type { ActivityBucket } from "../../usage/activity.service.js";
import { MoneyScalar } from "../money.scalar.js";

@ObjectType("ActivityBucket", { description: "Usage of one UTC day (and one model, provider or key when grouped by it)." })
export class ActivityBucketType {
  @Field(() => GraphQLLocalDate)
  date!: string;

  @Field(() => String, { nullable: true, description: "Set when grouped by MODEL." })
  model!: string | null;

  @Field(() => String, { nullable: true, description: "Provider slug; set when grouped by PROVIDER." })
  provider!: string | null;

  @Field(() => String, { nullable: true, description: "Set when grouped by KEY; null there for dashboard-session requests." })
  keyHash!: string | null;

  @Field(() => Int)
  requests!: number;

  @Field(() => GraphQLSafeInt)
  promptTokens!: number;

  @Field(() => GraphQLSafeInt)
  completionTokens!: number;

  @Field(() => GraphQLSafeInt)
  reasoningTokens!: number;

  @Field(() => MoneyScalar)
  cost!: Money;

  static from(b: ActivityBucket): ActivityBucketType {
    return Object.assign(new ActivityBucketType(), {
      date: b.day,
      model: b.model,
      provider: b.provider,
      keyHash: b.keyHash,
      requests: b.requests,
      promptTokens: Number(b.promptTokens),
      completionTokens: Number(b.completionTokens),
      reasoningTokens: Number(b.reasoningTokens),
      cost: b.cost,
    });
  }
}
