import type { GraphQLSchema } from 'graphql';
import type { PrincipalKind } from '../src/context.ts';
import { toJsonSchema, type JsonSchema } from '../src/kernel/json-schema.ts';
import type { FieldPolicy } from '../src/kernel/policy.ts';
import { parseOperation, responseSchema, successStatuses } from './response.ts';
import { routePolicy } from './router.ts';
import type { RestRoute } from './route.ts';
import { snakeJsonSchema } from './schemas.ts';

/** What a route answers on success, as OpenAPI sees it: derived, never declared twice. */
export const routeResponse = (schema: GraphQLSchema, route: RestRoute) => (route.kind === 'handler' ? route.response : responseSchema(schema, route));

/** Whether an Idempotency-Key applies: POST routes that run a mutation (src/plugins/idempotency.ts). */
export const isIdempotent = (route: RestRoute) => route.kind === 'operation' && route.method === 'POST' && parseOperation(route).definition.operation === 'mutation';

/**
 * Every status a route can answer with, as documented: its success statuses, the statuses its
 * policy and input imply (400 invalid input, 401/403 credentials, 404 for an id in the path, 413 and
 * 415 for a body, 429 when limited, 503 when the gateway sheds load) and the business statuses the
 * route declares. The contract check (test/helpers/contract.ts) fails on any other status.
 */
export function documentedStatuses(schema: GraphQLSchema, route: RestRoute): { success: number[]; errors: number[] } {
  const policy = routePolicy(schema, route);
  const success = route.kind === 'operation' ? successStatuses(route) : (route.successStatuses ?? [200]);
  // 401 everywhere: even a public route refuses an Authorization header that is not a valid credential.
  const errors = new Set<number>([400, 401, 503, ...(route.errors ?? [])]);
  // A public mutation still refuses a support-session credential (403 support_session_read_only).
  if (policy.principals !== 'public' || isIdempotent(route)) errors.add(403);
  if (route.path.includes('{')) errors.add(404);
  if (route.body) [413, 415].forEach((s) => errors.add(s));
  if (route.kind === 'operation') errors.add(429);
  if (isIdempotent(route)) [409, 422].forEach((s) => errors.add(s));
  return { success, errors: [...errors].sort() };
}

const errorEnvelope = {
  type: 'object',
  description: 'Every error: a stable machine-readable code, a message for people, the request id.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'request_id'],
      properties: {
        code: { type: 'string', description: 'Stable machine-readable code, e.g. invalid_request, tenant_mismatch.' },
        message: { type: 'string', description: 'What went wrong, for people.' },
        request_id: { type: 'string', description: 'Same as the x-request-id response header.' },
        details: { type: 'object', description: 'Specifics, e.g. `issues: [{field, message}]` naming the REST fields at fault.' },
      },
    },
  },
};

const describeStatus: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the outcome follows later (poll again)',
  302: 'Found: continue at Location',
  303: 'See Other: continue at Location (GET)',
  400: 'Invalid request: `details.issues` names the REST fields',
  401: 'Missing, invalid, expired or revoked credential (or a required signature)',
  402: 'Payment required: answer the challenge in the response headers, then retry',
  403: 'Not allowed for this credential',
  404: 'Not found (another tenant’s object looks the same)',
  409: 'Conflict (state changed, already exists, or an Idempotency-Key still in flight)',
  410: 'Gone',
  413: 'Request body too large',
  415: 'Send JSON with content-type: application/json',
  422: 'Unprocessable (a business rule, or an Idempotency-Key reused with another body)',
  428: 'Precondition required',
  429: 'Rate limited: see Retry-After and RateLimit',
  503: 'Unavailable or overloaded: retry after Retry-After',
};

/** One security scheme per credential kind. */
const SCHEMES: Record<PrincipalKind, { name: string; description: string; bearerFormat: string }> = {
  user: { name: 'session', description: 'Session access JWT from the email sign-in (POST /v1/public/auth/challenges/verify).', bearerFormat: 'JWT' },
  api_key: { name: 'apiKey', description: 'Service-account API key `paybond_sk_<live|sandbox>_<key id>_<secret>`.', bearerFormat: 'paybond_sk' },
  harbor: { name: 'harborToken', description: 'Short-lived Harbor JWT from POST /v1/auth/harbor-access.', bearerFormat: 'JWT' },
  pat: { name: 'pat', description: 'Personal access token `paybond_pat_…` (an agent’s bootstrap credential).', bearerFormat: 'paybond_pat' },
  agent: {
    name: 'agentJwt',
    description: 'Agent runtime JWT bound to an Ed25519 key (POST /api/agent/auth/pat). High-risk routes also need X-Agent-Timestamp and X-Agent-Signature.',
    bearerFormat: 'JWT',
  },
};

const header = (description: string, schema: JsonSchema = { type: 'string' }) => ({ description, schema });
const HEADERS = {
  XRequestId: header('Request id (also `error.request_id`); echoes a well-formed incoming x-request-id.'),
  RateLimit: header('IETF RateLimit (draft-11): `"<group>";r=<remaining>;t=<seconds to reset>`, one item per limit that applied.'),
  RateLimitPolicy: header('IETF RateLimit-Policy (draft-11): `"<group>";q=<limit>;w=<window seconds>`.'),
  RetryAfter: header('Seconds to wait before retrying.', { type: 'integer' }),
  Location: header('Where the browser goes next (a redirect).'),
  IdempotentReplayed: header('`true` when this answer is the stored result of an earlier request with the same Idempotency-Key.'),
};

const PARAMETERS = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: '1–255 visible ASCII characters. The first completed result is stored for 24 hours and replayed with Idempotent-Replayed: true; the same key with another body is 422.',
    schema: { type: 'string', maxLength: 255 },
  },
  TenantId: {
    name: 'x-tenant-id',
    in: 'header',
    required: false,
    description: 'Optional; when sent it must equal the tenant of the credential (401 tenant_mismatch otherwise).',
    schema: { type: 'string' },
  },
  AgentTimestamp: { name: 'X-Agent-Timestamp', in: 'header', required: false, description: 'Unix seconds of the signature (300 s past, 60 s future accepted).', schema: { type: 'string' } },
  AgentSignature: {
    name: 'X-Agent-Signature',
    in: 'header',
    required: false,
    description: 'Base64 Ed25519 signature by the key bound to the agent JWT over `METHOD\\nPATH\\nTIMESTAMP\\nSHA256_HEX(body)` (see /agents/skill.md); each signature is accepted once.',
    schema: { type: 'string' },
  },
  RecognitionProof: {
    name: 'x-paybond-agent-recognition-proof',
    in: 'header',
    required: false,
    description: 'base64url(JSON(AgentRecognitionProofV1)) bound to this method, path and body; needed unless the request is a signed agent request.',
    schema: { type: 'string' },
  },
};
const ref = (kind: 'parameters' | 'headers' | 'schemas', name: string) => ({ $ref: `#/components/${kind}/${name}` });

function authText(policy: FieldPolicy, write = false): string {
  if (policy.principals === 'public') return 'No credential needed.';
  const kinds = policy.principals.map((k) => SCHEMES[k].name).join(', ');
  const extras = [
    policy.admin && 'a tenant admin',
    policy.entitlement && `the ${policy.entitlement} entitlement`,
    policy.scope === 'harbor:write' && 'a credential that may change Harbor data (not read-only members or PATs)',
    policy.signed && 'a signed agent request (X-Agent-Timestamp, X-Agent-Signature)',
    policy.recognition && 'an agent recognition proof, unless the request is a signed agent request',
    write && !policy.signed && !policy.recognition && policy.principals.includes('agent') && 'with an agent JWT, a signed agent request (X-Agent-Timestamp, X-Agent-Signature; no query string)',
  ].filter(Boolean);
  return `Credentials: ${kinds}${extras.length ? `; needs ${extras.join('; ')}` : ''}.${policy.rateLimit ? ` Rate limit group: ${policy.rateLimit}.` : ''}`;
}

const operationIdOf = (route: RestRoute) =>
  `${route.method.toLowerCase()}${route.path.replace(/\{([a-z_]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`;
const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** OpenAPI 3.1 for the REST surface, generated from the route table and the GraphQL schema. */
export function buildOpenApi(schema: GraphQLSchema, routes: RestRoute[], info: { version: string; serverUrl?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = { ErrorEnvelope: errorEnvelope };
  /** Named definitions (`.meta({ id })`: enums such as IntentState) become shared component schemas. */
  const componentize = (json: JsonSchema): JsonSchema => {
    const walk = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(walk);
      if (!node || typeof node !== 'object') return node;
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        if (key === '$defs') for (const [name, def] of Object.entries(value as Record<string, unknown>)) schemas[name] = walk(def);
        else if (key === '$ref' && typeof value === 'string') out[key] = value.replace('#/$defs/', '#/components/schemas/');
        else if (key === 'anyOf' && Array.isArray(value) && value.some((v) => v && typeof v === 'object' && !Object.keys(v).length)) out.description ??= 'Any JSON value.';
        else out[key] = walk(value);
      }
      return out;
    };
    return walk(json) as JsonSchema;
  };
  const tags = new Set<string>();
  for (const route of routes) {
    const policy = routePolicy(schema, route);
    const isPublic = policy.principals === 'public';
    const operationId = operationIdOf(route);
    tags.add(route.tag);
    const parameters: unknown[] = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, description: `The ${m[1]!.replace(/_/g, ' ')}.`, schema: { type: 'string' } }));
    if (route.query) {
      const q = componentize(toJsonSchema(route.query, 'input')) as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, property] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, description: (property.description as string | undefined) ?? `Filter or page by ${name.replace(/_/g, ' ')}.`, schema: property });
      }
    }
    if (!isPublic) parameters.push(ref('parameters', 'TenantId'));
    if (isIdempotent(route)) parameters.push(ref('parameters', 'IdempotencyKey'));
    if (!isPublic && policy.principals.includes('agent')) parameters.push(ref('parameters', 'AgentTimestamp'), ref('parameters', 'AgentSignature'));
    if (policy.recognition) parameters.push(ref('parameters', 'RecognitionProof'));

    const responseName = `${pascal(operationId)}Response`;
    schemas[responseName] = componentize(toJsonSchema(routeResponse(schema, route), 'output'));
    const contentType = route.kind === 'handler' ? (route.contentType ?? 'application/json') : 'application/json';
    const { success, errors } = documentedStatuses(schema, route);
    const successHeaders = {
      'x-request-id': ref('headers', 'XRequestId'),
      RateLimit: ref('headers', 'RateLimit'),
      'RateLimit-Policy': ref('headers', 'RateLimitPolicy'),
      ...(isIdempotent(route) ? { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') } : {}),
    };
    const responses: Record<string, unknown> = Object.fromEntries(
      success.map((status) => [
        String(status),
        status >= 300 && status < 400
          ? { description: describeStatus[status] ?? 'Redirect', headers: { ...successHeaders, Location: ref('headers', 'Location') } }
          : { description: describeStatus[status] ?? 'Success', headers: successHeaders, content: { [contentType]: { schema: ref('schemas', responseName) } } },
      ]),
    );
    for (const status of errors) {
      const headers: Record<string, unknown> = { 'x-request-id': ref('headers', 'XRequestId') };
      if (status === 429) Object.assign(headers, { 'Retry-After': ref('headers', 'RetryAfter'), RateLimit: ref('headers', 'RateLimit'), 'RateLimit-Policy': ref('headers', 'RateLimitPolicy') });
      if (status === 503 || status === 409) headers['Retry-After'] = ref('headers', 'RetryAfter');
      // A status that is also a success status (a throttled review event answers 429 with its own
      // body) documents both bodies.
      const schemaOf = success.includes(status) ? { oneOf: [ref('schemas', responseName), ref('schemas', 'ErrorEnvelope')] } : ref('schemas', 'ErrorEnvelope');
      responses[String(status)] = { description: describeStatus[status] ?? 'Error', headers: success.includes(status) ? { ...successHeaders, ...headers } : headers, content: { 'application/json': { schema: schemaOf } } };
    }
    let requestBody: unknown;
    if (route.upload) requestBody = { required: true, content: { [route.upload]: { schema: { type: 'string', description: 'The file, as uploaded.' } } } };
    if (route.body) {
      const requestName = `${pascal(operationId)}Request`;
      schemas[requestName] = componentize(snakeJsonSchema(toJsonSchema(route.body, 'input')));
      requestBody = { required: true, content: { 'application/json': { schema: ref('schemas', requestName), ...(route.example?.body ? { example: route.example.body } : {}) } } };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId,
      summary: route.summary,
      description: `${route.summary} ${authText(policy, route.kind === 'operation' ? /^\s*mutation\b/.test(route.operation) : route.method !== 'GET')}`,
      tags: [route.tag],
      security: policy.principals === 'public' ? [] : policy.principals.map((k) => ({ [SCHEMES[k].name]: [] })),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Paybond Gateway API',
      version: info.version,
      description:
        'REST surface of the Paybond Gateway. Every route runs the same pipeline as POST /graphql: the same authorization, rate limits, idempotency and errors (`{"error":{"code","message","request_id","details"?}}`).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: info.serverUrl ?? '/', description: info.serverUrl ? 'This gateway' : 'The gateway serving this document (set PUBLIC_BASE_URL to name it)' }],
    tags: [...tags].sort().map((name) => ({ name, description: `Routes of “${name}”.` })),
    paths,
    components: {
      securitySchemes: Object.fromEntries(Object.values(SCHEMES).map((s) => [s.name, { type: 'http', scheme: 'bearer', bearerFormat: s.bearerFormat, description: s.description }])),
      parameters: PARAMETERS,
      headers: HEADERS,
      schemas,
    },
  };
}
