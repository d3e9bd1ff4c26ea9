import { z } from 'zod';
import { handler, type RestRoute } from '../route.ts';
import { errorResponse, jsonResponse } from '../../src/kernel/http/envelope.ts';
import { metrics } from '../../src/kernel/metrics.ts';
import { safeEqual, sha256Hex } from '../../src/crypto/hash.ts';
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
      response: z.object({ status: z.enum(['ready', 'unavailable', 'draining']), checks: z.record(z.string(), z.string()) }),
      errors: [503],
      handle: async (_input, { runtime }) => {
        const checks = await runtime.readiness();
        const ready = Object.values(checks).every((v) => v === 'ok');
        const status = runtime.draining ? 'draining' : ready ? 'ready' : 'unavailable';
        return jsonResponse({ status, checks }, status === 'ready' ? 200 : 503, status === 'ready' ? {} : { 'Retry-After': '5' });
      },
    }),
    handler({
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics of this process (Bearer METRICS_TOKEN when set; production serves none without it).',
      tag,
      auth: PUBLIC,
      response: z.string(),
      contentType: 'text/plain',
      ownCredential: true,
      errors: [401, 404],
      handle: async (_input, { runtime, request, requestId }) => {
        const token = runtime.config.METRICS_TOKEN;
        if (!token && runtime.config.isProduction) return errorResponse('route_not_found', 'No route for GET /metrics (set METRICS_TOKEN to serve metrics in production)', requestId);
        const presented = /^Bearer (.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1] ?? '';
        if (token && !safeEqual(sha256Hex(presented), sha256Hex(token))) return errorResponse('unauthenticated', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', requestId);
        return new Response(await metrics.registry.metrics(), { status: 200, headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' } });
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
