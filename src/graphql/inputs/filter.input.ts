import { Field, InputType, Int } from "type-graphql";

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

@InputType("GenerationFilterInput", { description: "Narrows the generation list; every given condition must hold." })
export class GenerationFilterInput {
  @Field(() => String, { nullable: true, description: "The model that answered, with its variant (`author/name:free`)." })
  model?: string | null;

  @Field(() => String, { nullable: true, description: "Provider slug." })
  provider?: string | null;

  @Field(() => String, { nullable: true, description: "Made with this key (its hash)." })
  keyHash?: string | null;

  @Field(() => Date, { nullable: true, description: "Created at or after this time." })
  since?: Date | null;

  @Field(() => Date, { nullable: true, description: "Created before this time." })
  until?: Date | null;
}
