import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import { parseCompletionRequest } from "../../core/completion-request.js";
import { assertOwn, requireCaller } from "../access.js";
import { CompletionStream } from "../completion-stream.js";
import type { GraphQLContext } from "../context.js";
import { completionBody, CompletionInput } from "../inputs/completion.input.js";
import { loaderKey } from "../loaders.js";
import { CompletionEventType, CompletionType } from "../types/completion.type.js";
import { GenerationType } from "../types/generation.type.js";

/** What `completionStream`'s subscribe function receives: graphql-js coerced arguments (plain objects) and the context. */
type SubscribeData = SubscribeResolverData<unknown, { input: CompletionInput }, GraphQLContext>;

/**
 * Completions through the routing core, exactly as `POST /chat/completions`: the input is mapped to the REST body and
 * validated by the same parser, and the run is the core's. The mutation answers once the run has settled; the
 * subscription streams it.
 */
@Resolver(() => CompletionType)
export class CompletionResolver {
  @Mutation(() => CompletionType, {
    description: "A chat completion, answered once complete (as a non-streamed REST request): content, usage, cost and the generation.",
  })
  async createCompletion(@Ctx() ctx: GraphQLContext, @Arg("input", () => CompletionInput) input: CompletionInput): Promise<CompletionType> {
    const caller = await requireCaller(ctx);
    const request = parseCompletionRequest(completionBody(input, false), "chat");
    const run = await ctx.services.router.start(request, caller, ctx.signal);
    return CompletionType.from(await run.result(), caller.accountId);
  }

  @FieldResolver(() => GenerationType, {
    nullable: true,
    description: "The usage record, once settled (this waits for the settlement of this node's batch); null if it was not recorded.",
  })
  async generation(@Root() completion: CompletionType, @Ctx() ctx: GraphQLContext): Promise<GenerationType | null> {
    assertOwn(ctx, completion.accountId);
    await ctx.services.settled(completion.id);
    const row = await ctx.loaders.generation.load(loaderKey(completion.accountId, completion.id));
    return row ? GenerationType.from(row) : null;
  }

  @Subscription(() => CompletionEventType, {
    description:
      "Streams a chat completion: output deltas, then a final event with the finish reason, usage and cost (or the error). " +
      "Completing the subscription or closing the socket aborts the upstream request; what was generated is billed.",
    subscribe: (data: SubscribeData) => startStream(data),
  })
  completionStream(
    @Root() event: CompletionEventType,
    @Arg("input", () => CompletionInput) _input: CompletionInput,
  ): CompletionEventType {
    return event;
  }
}

/**
 * Starts the run before the subscription is established, so request errors (validation, credits, unknown models)
 * are GraphQL errors of the operation — as REST answers them with an HTTP error before the stream opens.
 */
async function startStream({ args, context }: SubscribeData): Promise<CompletionStream> {
  const caller = await requireCaller(context);
  const request = parseCompletionRequest(completionBody(args.input, true), "chat");
  const run = await context.services.router.start(request, caller);
  return new CompletionStream(run);
}
