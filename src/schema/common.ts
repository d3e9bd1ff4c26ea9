import { GraphQLError, Kind } from 'graphql';
import { z } from 'zod';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder, type SchemaTypes } from '../builder.ts';
import { DomainError, errorStatus, graphqlCode, type ErrorCode } from '../errors.ts';
import type { Principal, RequestContext } from '../context.ts';

builder.scalarType('DateTime', {
  description: 'RFC 3339 timestamp in UTC, e.g. 2026-01-01T00:00:00.000Z',
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an RFC 3339 string');
    return date;
  },
  parseLiteral: (ast) => {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : null;
    if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an RFC 3339 string');
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
});

export const EnvironmentEnum = builder.enumType('Environment', { values: ['live', 'sandbox'] as const });

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable error codes; REST bodies carry the same code in lower case.',
  values: Object.fromEntries((Object.keys(errorStatus) as ErrorCode[]).map((code) => [graphqlCode(code), { value: code }])),
});

export interface UserErrorShape {
  field: string[] | null;
  message: string;
  code: ErrorCode;
  details?: Record<string, unknown> | null;
}

export const UserError = builder.objectRef<UserErrorShape>('UserError').implement({
  description: 'A business rule refused the mutation; nothing was changed.',
  fields: (t) => ({
    field: t.exposeStringList('field', { nullable: true }),
    message: t.exposeString('message'),
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code }),
    details: t.field({ type: 'JSON', nullable: true, description: 'Machine-readable specifics, e.g. guardrail violations.', resolve: (e) => e.details ?? null }),
  }),
});

/** The `userErrors` field every mutation payload carries. */
export const userErrorsField = <T extends { userErrors: UserErrorShape[] }>(t: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, T>) =>
  t.field({ type: [UserError], resolve: (p) => p.userErrors });

/** Codes that are about the caller or the system, not the input: they stay top-level errors. */
const TOP_LEVEL = new Set<string>(['unauthenticated', 'forbidden', 'rate_limited', 'service_unavailable', 'guardrail_audit_unavailable', 'internal_error', 'tenant_mismatch']);

/**
 * Run a mutation's service call; a DomainError becomes `userErrors` (payload convention),
 * except auth/rate-limit/system failures, which stay top-level errors.
 */
export async function withUserErrors<T extends object>(run: () => Promise<T>): Promise<Partial<T> & { userErrors: UserErrorShape[] }> {
  try {
    return { ...(await run()), userErrors: [] };
  } catch (error) {
    if (error instanceof DomainError && !TOP_LEVEL.has(error.code) && !error.code.startsWith('signature_')) {
      return { userErrors: [{ field: error.field ?? null, message: error.message, code: error.code, details: error.details ?? null }] } as Partial<T> & {
        userErrors: UserErrorShape[];
      };
    }
    throw error;
  }
}

/** Accept either a GraphQL global id of `typename` or the raw id REST uses. */
export function rawId(id: string, typename: string): string {
  try {
    const decoded = decodeGlobalID(id);
    if (decoded.typename === typename) return decoded.id;
  } catch {
    // not a global id: use as given
  }
  return id;
}

/** The principal of a field guarded by authScopes (scope-auth guarantees it is set). */
export function principalOf(ctx: RequestContext): Principal {
  if (!ctx.principal) throw new DomainError('unauthenticated', 'Authentication required');
  return ctx.principal;
}

export const authed = (ctx: RequestContext) => ({ ...ctx, principal: principalOf(ctx) });

/** GraphQL gives absent optional inputs as null; services take undefined. */
export const compact = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]: NonNullable<T[K]> | undefined };

/** Relay pagination bounds, for every connection field: `first`/`last` between 1 and 100. */
export const connectionArgs = z.object({
  first: z.number().int().min(1).max(100).nullish(),
  last: z.number().int().min(1).max(100).nullish(),
  after: z.string().max(200).nullish(),
  before: z.string().max(200).nullish(),
});

builder.queryType({});
builder.mutationType({});
