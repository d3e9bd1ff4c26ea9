import { z } from 'zod';
import { handler, type RestRoute } from '../route.ts';
import { jsonResponse } from '../../src/kernel/http/envelope.ts';
import { buildOpenApi } from '../openapi.ts';
import { GATEWAY_VERSION } from '../../src/version.ts';
import { schema } from '../../src/graphql/schema.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';

const tag = 'System';

/** Routes that answer without GraphQL: liveness, readiness, the OpenAPI document. */
export function systemRoutes(all: () => RestRoute[]): RestRoute[] {
  let openapi: unknown;
  return [
    handler({
      method: 'GET',
      path: '/healthz',
      summary: 'Process is up.',
      tag,
      auth: PUBLIC,
      response: z.object({ status: z.literal('ok') }),
      handle: async () => jsonResponse({ status: 'ok' }),
    }),
    handler({
      method: 'GET',
      path: '/readyz',
      summary: 'Database (and Redis, when configured) reachable.',
      tag,
      auth: PUBLIC,
      response: z.object({ status: z.enum(['ready', 'unavailable']), checks: z.record(z.string(), z.string()) }),
      errors: [503],
      handle: async (_input, { runtime }) => {
        const checks = await runtime.readiness();
        const ready = Object.values(checks).every((v) => v === 'ok');
        return jsonResponse({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
      },
    }),
    handler({
      method: 'GET',
      path: '/openapi.json',
      summary: 'OpenAPI 3.1 description of this REST surface, generated from the route table.',
      tag,
      auth: PUBLIC,
      response: z.object({ openapi: z.string() }).loose(),
      handle: async (_input, { runtime }) => {
        openapi ??= buildOpenApi(schema, all(), { version: GATEWAY_VERSION, serverUrl: runtime.config.PUBLIC_BASE_URL });
        return jsonResponse(openapi, 200, { 'cache-control': 'public, max-age=300' });
      },
    }),
  ];
}
