import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimatorArgs } from "graphql-query-complexity";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./pagination.js";

/*
 * Limits every operation must stay within, over HTTP and graphql-ws alike, checked before anything runs:
 * - depth: fields nested in fields, counting the leaf (`{ me { id } }` is 2); introspection fields (`__schema`…) are
 *   not counted, so GraphiQL's introspection query passes;
 * - complexity: one per field, and a connection's fields count `first` times (a page of 100 generations with their
 *   key costs about 100 times what one does).
 * Both refusals are GRAPHQL_VALIDATION_FAILED errors (HTTP 400).
 */

export interface OperationLimits {
  maxDepth: number;
  maxComplexity: number;
}

const VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED";

/** A validation rule refusing operations nested deeper than `maxDepth`. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const depth = selectionDepth(operation.selectionSet, (name) => context.getFragment(name), new Set());
      if (depth > maxDepth) {
        context.reportError(
          new GraphQLError(`The operation is nested ${depth} levels deep; at most ${maxDepth} are allowed.`, {
            nodes: [operation],
            extensions: { code: VALIDATION_FAILED },
          }),
        );
      }
    },
  });
}

function selectionDepth(
  set: SelectionSetNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
  visiting: Set<string>,
): number {
  let deepest = 0;
  for (const selection of set.selections) {
    let depth = 0;
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith("__")) continue;
      depth = 1 + (selection.selectionSet ? selectionDepth(selection.selectionSet, fragment, visiting) : 0);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      depth = selectionDepth(selection.selectionSet, fragment, visiting);
    } else {
      // Unknown and cyclic fragments are reported by the standard rules; here they just add nothing.
      const name = selection.name.value;
      const definition = fragment(name);
      if (!definition || visiting.has(name)) continue;
      visiting.add(name);
      depth = selectionDepth(definition.selectionSet, fragment, visiting);
      visiting.delete(name);
    }
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/** The complexity of a connection field: its selection counted once per item of the page asked for. */
export function connectionComplexity({ args, childComplexity }: ComplexityEstimatorArgs): number {
  const first = typeof args.first === "number" ? Math.min(Math.max(args.first, 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  return 1 + childComplexity * first;
}

/**
 * The refusal of an operation whose complexity is over the limit, or null. Operations whose variables do not even
 * coerce are left to execution, which reports that better.
 */
export function complexityError(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
  maxComplexity: number,
): GraphQLError | null {
  let complexity: number;
  try {
    complexity = getComplexity({
      schema,
      query: document,
      variables,
      operationName: operationName ?? undefined,
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch {
    return null;
  }
  if (complexity <= maxComplexity) return null;
  const operation = document.definitions.find((d): d is ASTNode & { kind: Kind.OPERATION_DEFINITION } => d.kind === Kind.OPERATION_DEFINITION);
  return new GraphQLError(
    `The operation is too complex: ${complexity} (at most ${maxComplexity}). Ask for fewer fields or smaller pages (\`first\`).`,
    { nodes: operation ? [operation] : undefined, extensions: { code: VALIDATION_FAILED, http: { status: 400 } } },
  );
}

/** Apollo: checks the complexity once the operation is known, before it executes. */
export function complexityPlugin<T extends object>(schema: GraphQLSchema, maxComplexity: number): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const error = complexityError(schema, document, request.variables, request.operationName, maxComplexity);
          if (error) throw error;
        },
      };
    },
  };
}
