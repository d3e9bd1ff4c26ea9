import type { Plugin } from '@envelop/core';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import type { DocumentNode, ExecutionResult, GraphQLError } from 'graphql';
import type { RequestContext } from '../context.ts';
import { maybeRequestState } from '../kernel/http/request-state.ts';
import { defineRouteGroups } from '../kernel/limits/groups.ts';

/** The most one document may cost, and how the cost is counted (graphql-armor's cost rule). */
export const MAX_QUERY_COST = 5000;

/**
 * Caller-written GraphQL documents spend from a per-tenant budget of query cost (the route group
 * graphql_query_cost, overridable like any group). REST routes run fixed documents and spend none.
 */
const costGroups = defineRouteGroups({ graphql_query_cost: { limit: 100_000, windowSeconds: 60 } });
type CostGroups = typeof costGroups;
declare module '../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends CostGroups {}
}

const requestOf = (context: unknown) => (context as { request?: Request } | undefined)?.request;

/**
 * The cost of each caller document, computed during validation, refused beyond MAX_QUERY_COST with
 * a message that says what it is, and reported with the remaining budget in every response's
 * `extensions.cost` (as GitHub's and Shopify's GraphQL APIs do).
 */
export function useQueryCost(): Plugin<RequestContext> {
  // Yoga caches parsed and validated documents, so a cost is remembered per document object.
  const costs = new WeakMap<DocumentNode, number>();
  return {
    onValidate({ context, params, addValidationRule }) {
      const state = maybeRequestState(requestOf(context) as Request);
      if (!state || state.routeTemplate) return;
      addValidationRule(
        costLimitRule({
          maxCost: MAX_QUERY_COST,
          flattenFragments: true,
          propagateOnRejection: true,
          onAccept: [(_ctx, { n }) => void costs.set(params.documentAST, n)],
          onReject: [
            (_ctx, error: GraphQLError) => {
              const found = /found (\d+(?:\.\d+)?)/.exec(error.message)?.[1];
              Object.assign(error, { message: `Query cost ${found ?? ''} exceeds the limit of ${MAX_QUERY_COST}: ask for fewer fields or smaller pages`.replace('  ', ' ') });
              Object.assign(error.extensions, { code: 'QUERY_TOO_COMPLEX', http: { status: 400, spec: true }, cost: { requested: Number(found), limit: MAX_QUERY_COST } });
            },
          ],
        }),
      );
    },
    onExecute({ args }) {
      const state = maybeRequestState(args.contextValue.request);
      const cost = costs.get(args.document);
      if (!state || state.routeTemplate || cost === undefined) return;
      state.queryCost = cost;
      return {
        onExecuteDone: ({ result, setResult }) => {
          if (!result || Symbol.asyncIterator in (result as object)) return;
          const executed = result as ExecutionResult;
          setResult({
            ...executed,
            extensions: {
              ...executed.extensions,
              cost: { requested: state.queryCost, limit: MAX_QUERY_COST, ...(state.costBudget ? { budget: state.costBudget } : {}) },
            },
          });
        },
      };
    },
  };
}
