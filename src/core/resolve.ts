import { AppError } from "../errors.js";
import { takesReasoning } from "./reasoning.js";
import type { CatalogSnapshot, EndpointInfo, EndpointVariant, ModelInfo, Sort } from "./types.js";

/**
 * Model ids and their variant suffixes. Static variants pick a set of endpoints from the catalog and show as their own
 * ids in `/models`: `:free`, `:extended`, `:thinking`, and `:beta` (the standard endpoints without Switchyard's
 * moderation step). Dynamic variants work on any model: `:nitro` sorts by throughput, `:floor` by price, `:online`
 * adds a web search (the web plugin with its defaults). Suffixes stack (`author/model:free:online`).
 */
const STATIC_SUFFIXES = ["free", "extended", "thinking", "beta"] as const;
const DYNAMIC_SUFFIXES = ["nitro", "floor", "online"] as const;

/** The most model ids a request may name (`model` plus the `models` fall-backs). */
export const MAX_MODELS = 3;

/** A requested model id, resolved against the catalog. */
export interface ModelTarget {
  /** The id as the client sent it. */
  requested: string;
  model: ModelInfo;
  /** The endpoint set to route among. */
  variant: EndpointVariant;
  /** The id reported as `model` and billed: the base id with its static variant. */
  answerId: string;
  /** `:nitro` / `:floor`. */
  sort: Sort | null;
  /** `:beta`: skip the moderation step. */
  skipModeration: boolean;
  /** `:thinking` on a model without dedicated thinking endpoints: reasoning is switched on. */
  forceReasoning: boolean;
  /** `:online`: search the web (unless the request's web plugin says otherwise). */
  online: boolean;
}

export function resolveModel(requested: string, snapshot: CatalogSnapshot): ModelTarget {
  const [base, ...suffixes] = requested.split(":");
  const model = snapshot.models.get(base);
  if (!model) {
    throw new AppError("model_not_found", `${requested} is not a valid model ID.`, { metadata: { model: requested } });
  }
  let variant: EndpointVariant = "standard";
  let sort: Sort | null = null;
  let skipModeration = false;
  let forceReasoning = false;
  let online = false;
  const statics: string[] = [];
  for (const suffix of suffixes) {
    switch (suffix) {
      case "free":
      case "extended":
      case "thinking":
        statics.push(suffix);
        variant = suffix;
        break;
      case "beta":
        skipModeration = true;
        break;
      case "nitro":
        sort = "throughput";
        break;
      case "floor":
        sort = "price";
        break;
      case "online":
        online = true;
        break;
      default:
        throw new AppError("model_not_found", `${requested} is not a valid model ID: unknown variant ":${suffix}".`, {
          metadata: { model: requested, variants: [...STATIC_SUFFIXES, ...DYNAMIC_SUFFIXES] },
        });
    }
  }
  if (statics.length > 1) {
    throw new AppError("invalid_request", `${requested} combines the variants ${statics.map((s) => `:${s}`).join(" and ")}; use one.`);
  }
  if (variant !== "standard" && !model.endpoints.some((e) => e.variant === variant)) {
    if (variant === "thinking" && model.endpoints.some((e) => e.variant === "standard" && takesReasoning(e.supportedParameters))) {
      variant = "standard";
      forceReasoning = true;
    } else {
      throw new AppError("model_not_found", `${requested} is not a valid model ID: ${base} has no :${variant} variant.`, {
        metadata: { model: requested },
      });
    }
  }
  const answerSuffix = [...statics, ...(skipModeration ? ["beta"] : [])].map((s) => `:${s}`).join("");
  return { requested, model, variant, answerId: `${base}${answerSuffix}`, sort, skipModeration, forceReasoning, online };
}

/** One id a model is listed under in `/models`, with the endpoints it routes to. */
export interface ListedVariant {
  id: string;
  variant: EndpointVariant;
  endpoints: EndpointInfo[];
  /** `:beta`: the moderated standard endpoints, served without Switchyard's moderation step. */
  skipModeration: boolean;
}

/**
 * The ids a model is listed under in `/models`: its base id for standard endpoints, one id per static variant with
 * endpoints of its own, `:thinking` for a model without thinking endpoints whose standard endpoints take `reasoning` or
 * `reasoning_effort` (those endpoints, as `resolveModel` routes it), and `:beta` when a standard endpoint is moderated.
 */
export function listedVariants(model: ModelInfo): ListedVariant[] {
  const of = (variant: EndpointVariant) => model.endpoints.filter((e) => e.variant === variant);
  const standard = of("standard");
  const thinking = of("thinking");
  const listed: ListedVariant[] = [
    { id: model.id, variant: "standard", endpoints: standard, skipModeration: false },
    { id: `${model.id}:free`, variant: "free", endpoints: of("free"), skipModeration: false },
    { id: `${model.id}:extended`, variant: "extended", endpoints: of("extended"), skipModeration: false },
    {
      id: `${model.id}:thinking`,
      variant: thinking.length > 0 ? "thinking" : "standard",
      endpoints: thinking.length > 0 ? thinking : standard.filter((e) => takesReasoning(e.supportedParameters)),
      skipModeration: false,
    },
    { id: `${model.id}:beta`, variant: "standard", endpoints: standard.some((e) => e.moderated) ? standard : [], skipModeration: true },
  ];
  return listed.filter((v) => v.endpoints.length > 0);
}
