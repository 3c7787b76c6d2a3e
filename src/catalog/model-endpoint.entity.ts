import { BigIntType, Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from "@mikro-orm/core";
import { Model } from "./model.entity.js";
import type { DataPolicy, EndpointVariant } from "../core/types.js";
import { Provider } from "./provider.entity.js";

/**
 * One provider's offer of one model variant: where to send it (`upstreamModel`), what it costs (picodollars per
 * token, request, image or search), what it accepts, and what the provider does with data.
 */
@Entity({ tableName: "model_endpoint" })
@Unique({ properties: ["model", "variant", "tag"] })
export class ModelEndpoint {
  [OptionalProps]?:
    | "maxCompletionTokens"
    | "maxPromptTokens"
    | "quantization"
    | "priceRequest"
    | "priceImage"
    | "priceReasoning"
    | "priceCacheRead"
    | "priceCacheWrite"
    | "priceWebSearch"
    | "supportedParameters"
    | "inputModalities"
    | "dataPolicy"
    | "moderated"
    | "status"
    | "simulation"
    | "createdAt"
    | "updatedAt";

  /** `model:variant@tag`, stable across catalog syncs. */
  @PrimaryKey({ type: "text" })
  id!: string;

  @ManyToOne(() => Model, { deleteRule: "cascade" })
  model!: Model;

  @ManyToOne(() => Provider, { deleteRule: "cascade" })
  provider!: Provider;

  /** Routing slug used in `provider.order/only/ignore`: the provider slug, or `provider/sub-tag`. */
  @Property({ type: "text" })
  tag!: string;

  @Property({ type: "text" })
  variant!: EndpointVariant;

  @Property({ type: "text" })
  upstreamModel!: string;

  @Property({ type: "integer" })
  contextLength!: number;

  @Property({ type: "integer", nullable: true })
  maxCompletionTokens: number | null = null;

  @Property({ type: "integer", nullable: true })
  maxPromptTokens: number | null = null;

  @Property({ type: "text", nullable: true })
  quantization: string | null = null;

  @Property({ type: new BigIntType("bigint") })
  pricePrompt!: bigint;

  @Property({ type: new BigIntType("bigint") })
  priceCompletion!: bigint;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  priceRequest: bigint = 0n;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  priceImage: bigint = 0n;

  /** Price of a reasoning token; null means the completion price. */
  @Property({ type: new BigIntType("bigint"), nullable: true })
  priceReasoning: bigint | null = null;

  @Property({ type: new BigIntType("bigint"), nullable: true })
  priceCacheRead: bigint | null = null;

  @Property({ type: new BigIntType("bigint"), nullable: true })
  priceCacheWrite: bigint | null = null;

  @Property({ type: new BigIntType("bigint"), defaultRaw: "0" })
  priceWebSearch: bigint = 0n;

  @Property({ type: "text[]", defaultRaw: "'{}'" })
  supportedParameters: string[] = [];

  /** Input modalities this endpoint accepts; null means the model's. */
  @Property({ type: "text[]", nullable: true })
  inputModalities: string[] | null = null;

  /** Overrides the provider's data policy for this endpoint. */
  @Property({ type: "jsonb", nullable: true })
  dataPolicy: DataPolicy | null = null;

  /** Input passes the moderation backend before routing (skipped by the `:beta` variant). */
  @Property({ type: "boolean", defaultRaw: "false" })
  moderated: boolean = false;

  /** 0 = active; negative = unavailable (e.g. -10 = removed from the catalog). */
  @Property({ type: "integer", defaultRaw: "0" })
  status: number = 0;

  /** Behaviour of a `simulated` endpoint (latency, throughput, injected fault); null for real providers. */
  @Property({ type: "jsonb", nullable: true })
  simulation: Record<string, unknown> | null = null;

  @Property({ type: "timestamptz", defaultRaw: "now()" })
  createdAt: Date = new Date();

  @Property({ type: "timestamptz", defaultRaw: "now()", onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
