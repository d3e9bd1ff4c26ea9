import { z } from 'zod';
import type { RestRoute } from './route.ts';

type JsonSchema = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def;
      if (def?.type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' });
    },
  }) as JsonSchema;
  delete json.$schema;
  return json;
}

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
export function buildOpenApi(routes: RestRoute[], info: { version: string; serverUrl?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (route.query) {
      const q = toJsonSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema: schema as never });
      }
    }
    const success = route.kind === 'operation' && typeof route.status === 'number' ? route.status : 200;
    const errorStatuses = new Set<number>([400, ...(route.auth.public ? [] : [401, 403]), 429, ...(route.errors ?? [])]);
    const responses: Record<string, unknown> = {
      [String(success)]: {
        description: 'Success',
        content: { [route.path.endsWith('.md') || route.path.endsWith('.txt') ? 'text/markdown' : 'application/json']: { schema: toJsonSchema(route.response, 'output') } },
      },
    };
    for (const status of [...errorStatuses].sort()) {
      responses[String(status)] = { description: describeStatus[status] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{([a-z_]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      security: route.auth.public ? [] : [{ bearerAuth: [] }],
      ...(params.length ? { parameters: params } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(route.body, 'input'), ...(route.example?.body ? { example: route.example.body } : {}) } } } }
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
      schemas: { ErrorEnvelope: errorEnvelope },
    },
  };
}
