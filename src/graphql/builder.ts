import SchemaBuilder from '@pothos/core';
import { isObjectType, type GraphQLResolveInfo } from 'graphql';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import type { RequestContext } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';
import { ALL_KINDS, checkPolicy, type FieldPolicy } from '../kernel/policy.ts';

/** One scope: the field's policy (kernel/policy.ts), so GraphQL and REST authorize alike. */
export interface AuthScopes {
  policy: FieldPolicy;
}

function failedPolicy(failure: AuthFailure): FieldPolicy | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope === 'policy' ? (failure.parameter as FieldPolicy) : undefined;
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const inner of failure.failures) {
      const found = failedPolicy(inner);
      if (found) return found;
    }
  }
  return undefined;
}

/** Any credential at all (node lookups: each node type then scopes the row to the caller's tenant). */
const ANY_CREDENTIAL: FieldPolicy = { principals: ALL_KINDS };

/**
 * A global id names a type that is an object type implementing Node; anything else (an unknown
 * type, a type that is not a node) can only be the caller's invention: it is not found.
 */
function isNodeType(info: GraphQLResolveInfo, typename: string): boolean {
  const type = info.schema.getType(typename);
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
}

/** A lookup that fails on what the caller sent (an id of the wrong shape for its table) is not found, logged as a warning. */
async function safely<T>(ctx: RequestContext, load: () => Promise<T> | T, fallback: T): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof DomainError) throw error;
    ctx.runtime.log.warn({ err: error, request_id: ctx.requestId }, 'node lookup failed; answered as not found');
    return fallback;
  }
}

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    authScopes: (ctx) => ({ policy: (policy: FieldPolicy) => checkPolicy(ctx.principal, policy) === null }),
    unauthorizedError: (_parent, ctx, _info, result) => {
      const policy = failedPolicy(result.failure);
      return (policy && checkPolicy(ctx.principal, policy)) ?? new DomainError('forbidden', 'Not allowed');
    },
  },
  prisma: {
    client: (ctx) => ctx.runtime.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
    maxConnectionSize: 100,
    defaultConnectionSize: 20,
  },
  relay: {
    clientMutationId: 'omit',
    // A malformed global id decodes to no type: node(id) answers null, a typed argument refuses it (400).
    decodeGlobalID: (globalID) => {
      try {
        return decodeGlobalID(globalID);
      } catch {
        return { typename: '', id: globalID };
      }
    },
    cursorType: 'String',
    nodeTypeOptions: { description: 'An object with a global id: fetch any of them with node(id) / nodes(ids).' },
    idFieldOptions: { description: 'Global id (Relay); REST bodies carry it as node_id.' },
    pageInfoTypeOptions: { description: 'Where a page sits in its list.' },
    hasNextPageFieldOptions: { description: 'Whether more items follow.' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede.' },
    startCursorFieldOptions: { description: 'Cursor of the first item.' },
    endCursorFieldOptions: { description: 'Cursor of the last item (pass as after).' },
    firstArgOptions: { description: 'Page size from the start (1–100).' },
    lastArgOptions: { description: 'Page size from the end (1–100).' },
    afterArgOptions: { description: 'Items after this cursor.' },
    beforeArgOptions: { description: 'Items before this cursor.' },
    edgesFieldOptions: { description: 'The items of the page.' },
    pageInfoFieldOptions: { description: 'Where the page sits.' },
    cursorFieldOptions: { description: 'Cursor of this item.' },
    nodeFieldOptions: { description: 'The item.' },
    nodeQueryOptions: {
      description: 'Any object of the caller’s tenant by global id (null for another tenant’s).',
      args: { id: { description: 'A global id.' } }, authScopes: { policy: ANY_CREDENTIAL }, extensions: { policy: ANY_CREDENTIAL },
      resolve: (_root, args, ctx, info, resolveNode) => (isNodeType(info, args.id.typename) ? safely(ctx, () => resolveNode(args.id), null) : null),
    },
    nodesQueryOptions: {
      description: 'Several objects by global id (null where not found).',
      args: { ids: { description: 'Global ids.' } }, authScopes: { policy: ANY_CREDENTIAL }, extensions: { policy: ANY_CREDENTIAL },
      resolve: async (_root, args, ctx, info, resolveNodes) => {
        const requested = args.ids;
        const known = requested.filter((id) => isNodeType(info, id.typename));
        if (!known.length) return requested.map(() => null);
        // Pothos' helper resolves `args.ids` (not its argument): narrow them to the known ones.
        (args as { ids: typeof requested }).ids = known;
        const found = await safely(ctx, () => resolveNodes(known), known.map(() => null));
        const byIndex = new Map(known.map((id, i) => [id, found[i] ?? null]));
        return requested.map((id) => byIndex.get(id) ?? null);
      },
    },
  },
  validation: {
    validationError: (result) =>
      new DomainError('invalid_request', result.issues.map((i) => `${pathOf(i.path)}${i.message}`).join('; '), {
          details: { issues: result.issues.map((i) => ({ field: pathOf(i.path).replace(/: $/, ''), message: i.message })) },
      }),
  },
});

const pathOf = (path: ReadonlyArray<PropertyKey | { key: PropertyKey }> | undefined): string =>
  path && path.length ? `${path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.')}: ` : '';

export type SchemaTypes = typeof builder.$inferSchemaTypes;
