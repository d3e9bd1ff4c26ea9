import { GraphQLError, Kind } from 'graphql';
import { z } from 'zod';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder, type SchemaTypes } from './builder.ts';
import { DomainError, graphqlCode, registeredErrorCodes, type ErrorCode } from '../kernel/errors.ts';
import type { FieldPolicy } from '../kernel/policy.ts';
import { environmentSchema } from '../kernel/environment.ts';
import { enumFromZod } from './inputs.ts';
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

export const EnvironmentEnum = enumFromZod(environmentSchema);

/**
 * Who may call a root field and how it is limited, declared once on the field (kernel/policy.ts):
 * scope-auth enforces it, the REST router and the rate limiter read it from the field's extensions.
 */
export const policy = (p: FieldPolicy) => ({ authScopes: { policy: p }, extensions: { policy: p } });

/** Marks an output field that carries a one-time secret: never stored in an idempotency record. */
export const ONE_TIME_SECRET = { extensions: { secret: true } } as const;

let errorCodeEnum: PothosSchemaTypes.EnumRef<SchemaTypes, ErrorCode> | undefined;

/** The ErrorCode enum, built once every area has registered its codes (src/graphql/schema.ts). */
export function defineErrorCodeEnum() {
  errorCodeEnum = builder.enumType('ErrorCode', {
    description: 'Stable error codes; REST bodies carry the same code in lower case.',
    values: Object.fromEntries(
      [...registeredErrorCodes()].map(([code, status]) => [graphqlCode(code), { value: code, description: `HTTP ${status}.` }]),
    ) as Record<string, { value: ErrorCode }>,
  }) as PothosSchemaTypes.EnumRef<SchemaTypes, ErrorCode>;
}

export interface UserErrorShape {
  field: string[] | null;
  message: string;
  code: ErrorCode;
  details?: Record<string, unknown> | null;
}

export const UserError = builder.objectRef<UserErrorShape>('UserError').implement({
  description: 'A business rule refused the mutation; nothing was changed.',
  fields: (t) => ({
    field: t.exposeStringList('field', { nullable: true, description: 'Path of the input field at fault, when one is.' }),
    message: t.exposeString('message', { description: 'What went wrong, for people.' }),
    code: t.field({ type: errorCodeEnum!, description: 'What went wrong, for programs.', resolve: (e) => e.code }),
    details: t.field({ type: 'JSON', nullable: true, description: 'Machine-readable specifics, e.g. guardrail violations.', resolve: (e) => e.details ?? null }),
  }),
});

/** The `userErrors` field every mutation payload carries. */
export const userErrorsField = <T extends { userErrors: UserErrorShape[] }>(t: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, T>) =>
  t.field({ type: [UserError], description: 'Business-rule refusals; empty when the mutation succeeded.', resolve: (p) => p.userErrors });

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

/** Relay pagination bounds, for every connection field: `first`/`last` between 1 and 100. */
export const connectionArgs = z.object({
  first: z.number().int().min(1).max(100).nullish(),
  last: z.number().int().min(1).max(100).nullish(),
  after: z.string().max(200).nullish(),
  before: z.string().max(200).nullish(),
});

builder.queryType({ description: 'Reads. Every field is scoped to the tenant of the credential.' });
builder.mutationType({ description: 'Writes. Each is authorized, rate limited and audited per its declared policy.' });
