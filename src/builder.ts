import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import type PrismaTypes from './generated/pothos-prisma-types.ts';
import { getDatamodel } from './generated/pothos-prisma-types.ts';
import type { PrincipalKind, RequestContext } from './context.ts';
import { DomainError } from './errors.ts';
import { isTenantAdmin } from './domain/identity/roles.ts';

/** Scopes a field can require. `principals` takes the credential kinds that may call it. */
export interface AuthScopes {
  authenticated: boolean;
  principals: PrincipalKind[];
  tenantAdmin: boolean;
  harborRead: boolean;
  harborWrite: boolean;
  /** An agent JWT bound to a key, and this request signed with that key (high-risk actions). */
  signedAgent: boolean;
}

function failedScopes(failure: AuthFailure): string[] {
  if (failure.kind === AuthScopeFailureType.AuthScope) return [failure.scope];
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    return failure.failures.flatMap(failedScopes);
  }
  return [];
}

const scopeMessages: Record<string, string> = {
  principals: 'This operation is not available to this kind of credential',
  tenantAdmin: 'This operation requires the tenant_admin role or the tenant.admin entitlement',
  harborRead: 'This credential cannot read Harbor data',
  harborWrite: 'This credential cannot change Harbor data',
  signedAgent: 'This action is for signed agent requests only',
};

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
    authScopes: (ctx) => {
      const p = ctx.principal;
      return {
        authenticated: !!p,
        principals: (kinds) => !!p && kinds.includes(p.kind),
        tenantAdmin: !!p && isTenantAdmin(p),
        harborRead: !!p && p.scopes.includes('harbor:read'),
        harborWrite: !!p && p.scopes.includes('harbor:write'),
        signedAgent: !!p && p.kind === 'agent' && p.signed === true,
      };
    },
    unauthorizedError: (_parent, ctx, _info, result) => {
      if (!ctx.principal) return new DomainError('unauthenticated', 'Authentication required');
      const scopes = failedScopes(result.failure);
      // Agents that did not sign (or cannot: a PAT) are unauthenticated for a high-risk action.
      if (scopes.includes('signedAgent') && (ctx.principal.kind === 'agent' || ctx.principal.kind === 'pat')) {
        return new DomainError(
          'signature_missing',
          ctx.principal.kind === 'pat'
            ? 'This action needs a key-bound agent JWT and a signed request; a PAT cannot perform it'
            : 'This action needs X-Agent-Timestamp and X-Agent-Signature signed with the key bound to the agent JWT',
        );
      }
      const scope = scopes.find((s) => s !== 'authenticated');
      return new DomainError('forbidden', scopeMessages[scope ?? ''] ?? 'Not allowed');
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
    cursorType: 'String',
    nodeQueryOptions: { authScopes: { authenticated: true } },
    nodesQueryOptions: { authScopes: { authenticated: true } },
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
