import { Field, ObjectType, type ClassType } from "type-graphql";
import type { Page } from "../pagination.js";

@ObjectType("PageInfo")
export class PageInfoType {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: "Pass as `after` for the next page; null on an empty page." })
  endCursor!: string | null;
}

/**
 * A cursor connection type for `node`: `<Name>Connection { edges { cursor node } nodes pageInfo }` and its
 * `<Name>Edge`. Resolvers return a {@link Page}.
 */
export function ConnectionType<T extends object>(name: string, node: ClassType<T>): ClassType<Page<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${name} objects, newest first unless said otherwise.` })
  class Connection implements Page<T> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => [node], { description: "The nodes of `edges`, for clients that need no cursors." })
    nodes!: T[];

    @Field(() => PageInfoType)
    pageInfo!: PageInfoType;
  }

  return Connection;
}
