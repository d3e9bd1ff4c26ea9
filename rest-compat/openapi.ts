import type { GraphQLSchema } from 'graphql';
import { toJsonSchema, type JsonSchema } from '../src/kernel/json-schema.ts';
import { responseSchema, successStatuses } from './response.ts';
import { routePolicy } from './router.ts';
import type { RestRoute } from './route.ts';
import { snakeJsonSchema } from './schemas.ts';

/** What a route answers on success, as OpenAPI sees it: derived, never declared twice. */
export const routeResponse = (schema: GraphQLSchema, route: RestRoute) => (route.kind === 'handler' ? route.response : responseSchema(schema, route));

const errorEnvelope = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'request_id'],
      properties: {
        code: { type: 'string', description: 'Stable machine-readable code, e.g. invalid_request, tenant_mismatch.' },
        message: { type: 'string' },
        request_id: { type: 'string', description: 'Same as the x-request-id response header.' },
        details: { type: 'object' },
      },
    },
  },
};

const describeStatus: Record<number, string> = {
  400: 'Invalid request', 401: 'Missing, invalid, expired or revoked credential', 403: 'Not allowed',
  404: 'Not found', 409: 'Conflict', 412: 'Precondition failed', 415: 'Unsupported media type', 422: 'Unprocessable',
  428: 'Precondition required', 429: 'Rate limited', 503: 'Unavailable',
};

/** OpenAPI 3.1 for the REST compat surface, generated from the route table. */
export function buildOpenApi(schema: GraphQLSchema, routes: RestRoute[], info: { version: string; serverUrl?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const named: Record<string, unknown> = {};
  /** Named definitions (`.meta({ id })`: enums such as IntentState) become shared component schemas. */
  const componentize = (json: JsonSchema): JsonSchema => {
    const walk = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(walk);
      if (!node || typeof node !== 'object') return node;
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        if (key === '$defs') for (const [name, def] of Object.entries(value as Record<string, unknown>)) named[name] = walk(def);
        else if (key === '$ref' && typeof value === 'string') out[key] = value.replace('#/$defs/', '#/components/schemas/');
        else out[key] = walk(value);
      }
      return out;
    };
    return walk(json) as JsonSchema;
  };
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (route.query) {
      const q = componentize(toJsonSchema(route.query, 'input')) as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema: schema as never });
      }
    }
    const policy = routePolicy(schema, route);
    const isPublic = policy.principals === 'public';
    const errorStatuses = new Set<number>([400, ...(isPublic ? [] : [401, 403]), 429, ...(route.errors ?? [])]);
    const body = componentize(toJsonSchema(routeResponse(schema, route), 'output'));
    const contentType = route.kind === 'handler' ? (route.contentType ?? 'application/json') : 'application/json';
    const responses: Record<string, unknown> = Object.fromEntries(
      (route.kind === 'operation' ? successStatuses(route) : [200]).map((status) => [String(status), { description: 'Success', content: { [contentType]: { schema: body } } }]),
    );
    for (const status of [...errorStatuses].sort()) {
      const envelope = { $ref: '#/components/schemas/ErrorEnvelope' };
      // A route may answer an error status with its own body (a throttled Signal review event: 429).
      const own = responses[String(status)] ? { oneOf: [body, envelope] } : envelope;
      responses[String(status)] = { description: describeStatus[status] ?? 'Error', content: { 'application/json': { schema: own } } };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{([a-z_]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      security: isPublic ? [] : [{ bearerAuth: [] }],
      ...(params.length ? { parameters: params } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: componentize(snakeJsonSchema(toJsonSchema(route.body, 'input'))), ...(route.example?.body ? { example: route.example.body } : {}) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Paybond Gateway API',
      version: info.version,
      description: 'REST compat surface of the Paybond Gateway. Every route runs the same pipeline as /graphql.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'API key (paybond_sk_<env>_…), session JWT, Harbor JWT, PAT or agent JWT.',
        },
      },
      schemas: { ErrorEnvelope: errorEnvelope, ...named },
    },
  };
}
