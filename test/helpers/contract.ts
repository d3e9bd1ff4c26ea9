import { expect } from 'vitest';
import type { z } from 'zod';
import { routes } from '../../rest-compat/routes/index.ts';
import { routeResponse } from '../../rest-compat/openapi.ts';
import type { RestRoute } from '../../rest-compat/route.ts';
import { schema } from '../../src/graphql/schema.ts';

/**
 * Every REST 2xx body the suite sees is checked against the route's response schema (derived
 * from its GraphQL selection and Shape, or declared by a handler route): a response that drifts
 * from what OpenAPI promises fails the test that produced it.
 */
const compiled = routes.map((route) => ({
  route,
  pattern: new RegExp(`^${route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\\{[a-z_]+\\\}|\{[a-z_]+\}/g, '[^/]+')}/?$`),
}));
const schemas = new Map<RestRoute, z.ZodType>();

export function checkRestResponse(method: string, pathname: string, status: number, contentType: string | null, body: unknown): void {
  if (status < 200 || status >= 300 || pathname === '/graphql') return;
  const path = pathname.split('?')[0]!;
  const entry = compiled.find((c) => (c.route.method === method || (c.route.method === 'GET' && method === 'HEAD')) && c.pattern.test(path));
  if (!entry || method === 'HEAD') return;
  if (!contentType?.includes('json')) return;
  let responseSchema = schemas.get(entry.route);
  if (!responseSchema) schemas.set(entry.route, (responseSchema = routeResponse(schema, entry.route)));
  const checked = responseSchema.safeParse(body);
  expect(checked.success, `${method} ${entry.route.path} answered ${status} with a body outside its response schema: ${checked.error?.message}\n${JSON.stringify(body)}`).toBe(true);
}
