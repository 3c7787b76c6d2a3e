import { Resolver, Root, Subscription } from "type-graphql";
import { requireAccount } from "../access.js";
import { accountEvents } from "../account-events.js";
import type { GraphQLContext } from "../context.js";
import { loaderKey } from "../loaders.js";
import { BalanceEventType } from "../types/account.type.js";
import { GenerationType } from "../types/generation.type.js";

/**
 * Live events of the caller's account, for dashboards: from the event bus, so with `REDIS_URL` they arrive from every
 * node. Delivery is best effort (a dashboard refetches what it needs after reconnecting).
 */
@Resolver()
export class EventsResolver {
  @Subscription(() => BalanceEventType, {
    description: "The account's balance after each change (settlements, purchases, grants).",
    subscribe: ({ context }: { context: GraphQLContext }) => {
      const { accountId } = requireAccount(context);
      return accountEvents(context.services.bus, "balance.changed", accountId, (payload) =>
        Object.assign(new BalanceEventType(), { accountId: payload.accountId, balance: BigInt(payload.balance) }),
      );
    },
  })
  balanceChanged(@Root() event: BalanceEventType): BalanceEventType {
    return event;
  }

  @Subscription(() => GenerationType, {
    description: "Each new generation (usage record) of the account, once settled.",
    subscribe: ({ context }: { context: GraphQLContext }) => {
      const { accountId } = requireAccount(context);
      return accountEvents(context.services.bus, "generation.created", accountId, async (payload) => {
        // A subscription's loaders cache nothing (see mountGraphQL): no earlier event's row is served for this one.
        const row = await context.loaders.generation.load(loaderKey(accountId, payload.generationId));
        return row ? GenerationType.from(row) : null;
      });
    },
  })
  generationCreated(@Root() generation: GenerationType): GenerationType {
    return generation;
  }
}
