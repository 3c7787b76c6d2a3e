import { Entity, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";

/** A model, identified by its base slug `author/name`. Variants (`:free`, `:extended`, …) are sets of its endpoints. */
@Entity({ tableName: "model" })
export class Model {
  [OptionalProps]?:
    | "description"
    | "inputModalities"
    | "outputModalities"
    | "tokenizer"
    | "instructType"
    | "huggingFaceId"
    | "defaultParameters"
    | "createdAt"
    | "updatedAt";

  @PrimaryKey({ type: "text" })
  id!: string;

  @Property({ type: "text" })
  name!: string;

  @Property({ type: "text", defaultRaw: "''" })
  description: string = "";

  @Property({ type: "integer" })
  contextLength!: number;

  @Property({ type: "text[]", defaultRaw: "'{text}'" })
  inputModalities: string[] = ["text"];

  @Property({ type: "text[]", defaultRaw: "'{text}'" })
  outputModalities: string[] = ["text"];

  @Property({ type: "text", defaultRaw: "'Other'" })
  tokenizer: string = "Other";

  @Property({ type: "text", nullable: true })
  instructType: string | null = null;

  @Property({ type: "text", nullable: true })
  huggingFaceId: string | null = null;

  @Property({ type: "jsonb", nullable: true })
  defaultParameters: Record<string, number> | null = null;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", defaultRaw: "now()", onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
