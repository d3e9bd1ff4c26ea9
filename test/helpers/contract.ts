import { expect } from 'vitest';
import type { z } from 'zod';
import { routes } from '../../rest-compat/routes/index.ts';
import { documentedStatuses, routeResponse } from '../../rest-compat/openapi.ts';
import type { RestRoute } from '../../rest-compat/route.ts';
import { schema } from '../../src/graphql/schema.ts';

/**
 * Every REST response the suite sees is checked against what OpenAPI documents for its route: the
 * status is one the route documents, every response carries x-request-id, 429 and 503 carry
 * Retry-After, and a 2xx JSON body matches the route's response schema (derived from its GraphQL
 * selection and Shape, or declared by a handler route). A response that drifts from the document
 * fails the test that produced it.
 */
const compiled = routes.map((route) => ({
  route,
  pattern: new RegExp(`^${route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[a-z_]+\}/g, '[^/]+')}/?$`),
}));
const schemas = new Map<RestRoute, z.ZodType>();
const statuses = new Map<RestRoute, number[]>();

export function checkRestResponse(method: string, pathname: string, status: number, headers: Headers, body: unknown): void {
  const path = pathname.split('?')[0]!;
  if (path === '/graphql') return;
  const entry = compiled.find((c) => (c.route.method === method || (c.route.method === 'GET' && method === 'HEAD')) && c.pattern.test(path));
  expect(headers.get('x-request-id'), `${method} ${path}: no x-request-id`).toBeTruthy();
  if (!entry) return;
  const route = entry.route;
  let documented = statuses.get(route);
  if (!documented) {
    const { success, errors } = documentedStatuses(schema, route);
    statuses.set(route, (documented = [...success, ...errors]));
  }
  expect(documented, `${method} ${route.path} answered ${status}, which its OpenAPI entry does not document: ${JSON.stringify(body)}`).toContain(status);
  if (status === 429 || status === 503) expect(headers.get('retry-after'), `${method} ${route.path} ${status} without Retry-After`).toMatch(/^\d+$/);
  if (status < 200 || status >= 300 || method === 'HEAD' || !headers.get('content-type')?.includes('json')) return;
  let responseSchema = schemas.get(route);
  if (!responseSchema) schemas.set(route, (responseSchema = routeResponse(schema, route)));
  const checked = responseSchema.safeParse(body);
  expect(checked.success, `${method} ${route.path} answered ${status} with a body outside its response schema: ${checked.error?.message}\n${JSON.stringify(body)}`).toBe(true);
}
