import type { Plugin } from '@envelop/core';
import { getOperationAST, Kind, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import type { RequestContext, Runtime, ServiceContext } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';
import { bucketHash } from '../kernel/audit/redact.ts';
import { recordAudit } from '../kernel/audit/service.ts';
import { currentPolicy } from '../areas/guardrails/policy.ts';
import { routeGroupDefaults, type RouteGroup } from '../kernel/limits/groups.ts';
import type { FieldPolicy } from '../kernel/policy.ts';
import { consume, rateLimitedError, rateLimitHeaders, type LimitPolicy, type LimitState } from '../kernel/limits/limiter.ts';
import { requestState } from '../kernel/http/request-state.ts';
import { metrics } from '../kernel/metrics.ts';

function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): string[] {
  return selectionSet.selections.flatMap((s) => {
    if (s.kind === Kind.FIELD) return [s.name.value];
    if (s.kind === Kind.INLINE_FRAGMENT) return rootFields(s.selectionSet, fragments, seen);
    if (seen.has(s.name.value)) return [];
    seen.add(s.name.value);
    const fragment = fragments.get(s.name.value);
    return fragment ? rootFields(fragment.selectionSet, fragments, seen) : [];
  });
}

/** The route group a root field declares in its policy (src/kernel/policy.ts), if any. */
export function fieldGroup(root: GraphQLObjectType | null | undefined, field: string): RouteGroup | null {
  const policy = root?.getFields()[field]?.extensions.policy as FieldPolicy | undefined;
  return policy?.rateLimit ?? null;
}

const rootOf = (schema: GraphQLSchema, operation: 'query' | 'mutation' | 'subscription') =>
  operation === 'mutation' ? schema.getMutationType() : operation === 'query' ? schema.getQueryType() : null;

/**
 * A group's limit for a tenant: its rate_limit_profile override, else the group's default. The
 * profile comes through the node's cache, which a saved guardrail policy invalidates on every node
 * at once (src/kernel/cache.ts).
 */
async function policyFor(runtime: Runtime, tenantId: string, group: RouteGroup): Promise<LimitPolicy> {
  const override = (await currentPolicy(runtime, tenantId)).rateLimitProfile[group];
  const defaults = routeGroupDefaults(group);
  return { group, limit: override?.limit ?? defaults.limit, windowSeconds: override?.window_seconds ?? defaults.windowSeconds };
}

/**
 * Count one call (or `amount` units) of `group` for `tenantId` in the shared store. Returns the
 * limit state (its response headers: rateLimitHeaders); throws the 429 (first refusal of a window
 * audited with a hashed bucket key) when over. Byte-stream routes call it directly; GraphQL fields
 * are counted by useRateLimits.
 */
export async function countRouteGroup(runtime: Runtime, ctx: ServiceContext, tenantId: string, group: RouteGroup, amount = 1): Promise<LimitState | null> {
  if (runtime.config.RATE_LIMITS === 'off') return null;
  const state = await consume(runtime.store, await policyFor(runtime, tenantId, group), tenantId, amount);
  if (state.allowed) return state;
  metrics.rateLimitRefusals.inc({ group });
  const windowIndex = Math.floor(runtime.clock.now().getTime() / 1000 / state.policy.windowSeconds);
  if (await runtime.store.putIfAbsent(`rl-audit:${group}:${tenantId}:${windowIndex}`, state.policy.windowSeconds)) {
    await recordAudit(runtime.db, ctx, {
      tenantId,
      eventType: 'rate_limit.exceeded',
      resource: group,
      decision: 'denied',
      details: { bucket: bucketHash(runtime.keys.hmacSecret, `${group}:${tenantId}`), limit: state.policy.limit, window_seconds: state.policy.windowSeconds },
    }).catch((error: unknown) => runtime.log.error({ err: error }, 'rate-limit audit failed'));
  }
  throw rateLimitedError(state);
}

/**
 * Route-group rate limits, counted per tenant in the shared store (memory, or Redis for every
 * node) before any resolver runs, so refused attempts (bad proof, guardrail denial) count too.
 * Tenants override a group's limit through the guardrail policy's rate_limit_profile. Every limited
 * response carries RateLimit and RateLimit-Policy (draft-11); a refusal is 429 with Retry-After,
 * and the first refusal of a window is audited with a hashed bucket key.
 */
export function useRateLimits(runtime: Runtime): Plugin<RequestContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      if (!ctx.principal) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const fragments = new Map<string, FragmentDefinitionNode>();
      for (const d of args.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
      const root = rootOf(args.schema, operation.operation);
      const groups = [...new Set(rootFields(operation.selectionSet, fragments).map((f) => fieldGroup(root, f)).filter((g): g is RouteGroup => Boolean(g)))];
      const request = requestState(ctx.request);
      // A caller-written document also spends its query cost (src/plugins/cost.ts).
      if (request.queryCost !== undefined) groups.push('graphql_query_cost');
      if (!groups.length) return;
      const { tenantId } = ctx.principal;
      const headers = request.responseHeaders;
      return (async () => {
        for (const group of groups) {
          const cost = group === 'graphql_query_cost' ? Math.max(1, Math.ceil(request.queryCost ?? 1)) : 1;
          try {
            const state = await countRouteGroup(runtime, ctx, tenantId, group, cost);
            if (!state) continue;
            if (group === 'graphql_query_cost') request.costBudget = { limit: state.policy.limit, remaining: state.remaining, reset_seconds: state.resetSeconds };
            for (const [name, value] of Object.entries(rateLimitHeaders(state))) headers.append(name, value);
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            setResultAndStopExecution({ errors: [error] });
            return;
          }
        }
      })();
    },
  };
}
