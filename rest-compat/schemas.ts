import { z } from 'zod';
import { toSnake } from './route.ts';

/** Shared REST response pieces (snake_case, as the API reference writes them). */
export const timestamp = z.iso.datetime({ offset: true });
export const environment = z.enum(['live', 'sandbox']);

/** A camelCase domain input schema re-keyed to the snake_case REST body (same rules). */
export function snakeBody<T extends z.ZodRawShape>(schema: z.ZodObject<T>) {
  return z.object(Object.fromEntries(Object.entries(schema.shape).map(([k, v]) => [toSnake(k), v])));
}

export const sessionTokens = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  expires_at: timestamp,
  session_id: z.string(),
  tenant_id: z.string(),
  organization_id: z.string(),
  environment,
});

export const apiKey = z.object({
  api_key_id: z.string(),
  node_id: z.string(),
  name: z.string(),
  prefix: z.string(),
  hint: z.string(),
  environment,
  status: z.enum(['active', 'revoked', 'expired']),
  created_at: timestamp,
  expires_at: timestamp.nullable(),
  last_used_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
  rotated_from_id: z.string().nullable(),
});

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

/** Relay connection → `{ <items>: [...], next_cursor }`. */
export function page(connection: Record<string, unknown>, key: string) {
  const c = connection as { edges: Array<{ node: unknown }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  return { [key]: c.edges.map((e) => e.node), next_cursor: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null };
}

export const pageVariables = (query: URLSearchParams) => ({
  first: query.has('limit') ? Number(query.get('limit')) : 20,
  after: query.get('cursor') ?? undefined,
});
