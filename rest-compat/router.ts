import type { ExecutionResult, GraphQLError, GraphQLSchema } from 'graphql';
import type { Plugin as YogaPlugin, YogaServer } from 'graphql-yoga';
import type { Runtime } from '../src/context.ts';
import { DomainError, restCode, statusOf } from '../src/kernel/errors.ts';
import { errorResponse, jsonResponse } from '../src/kernel/http/envelope.ts';
import { requestState, shareRequestState } from '../src/kernel/http/request-state.ts';
import { checkPolicy, type FieldPolicy } from '../src/kernel/policy.ts';
import { JSON_TYPE } from '../src/plugins/http.ts';
import { resolveCaller } from '../src/plugins/credentials.ts';
import { RECOGNITION_HEADER } from '../src/kernel/http/headers.ts';
import { parseOperation, shapeBody, successStatus } from './response.ts';
import { toSnake, type OperationRoute, type RestInput, type RestRoute } from './route.ts';
import { camelize, jsonSchemaOf, restIssues, restMessage } from './schemas.ts';

interface CompiledRoute {
  route: RestRoute;
  pattern: RegExp;
  names: string[];
  policy: FieldPolicy;
  /** Operation routes: the root field the operation runs. */
  rootField?: string;
  /** The route changes state (a mutation; a handler route that is not GET). */
  write: boolean;
}

/** The policy of the root field an operation route runs: declared once, on the field. */
export function routePolicy(schema: GraphQLSchema, route: RestRoute): FieldPolicy {
  if (route.kind === 'handler') return route.auth;
  const { definition, rootField } = parseOperation(route);
  const root = definition.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  const policy = root?.getFields()[rootField]?.extensions.policy as FieldPolicy | undefined;
  if (!policy) throw new Error(`route ${route.method} ${route.path}: root field ${rootField} declares no policy`);
  return policy;
}

function compile(schema: GraphQLSchema, route: RestRoute): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[a-z_]+\})/)
    .map((part) => {
      const name = /^\{([a-z_]+)\}$/.exec(part)?.[1];
      if (name) {
        names.push(name);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return {
    route,
    pattern: new RegExp(`^${source}/?$`),
    names,
    policy: routePolicy(schema, route),
    rootField: route.kind === 'operation' ? parseOperation(route).rootField : undefined,
    write: route.kind === 'operation' ? parseOperation(route).definition.operation === 'mutation' : route.method !== 'GET',
  };
}

const invalid = (issues: ReturnType<typeof restIssues>) => new DomainError('invalid_request', restMessage(issues), { details: { issues } });

/**
 * Read the query and the JSON body of a REST call, in REST words: the body's snake_case keys
 * are mapped onto the route's camelCase input, and every problem names the REST field
 * (`allowed_tools`, `limit`). Runs after authorization, so a caller who may not call the route
 * learns nothing about its inputs. Keys the route does not document (tenant hints) are dropped.
 */
function readInput(route: RestRoute, request: Request, url: URL, params: Record<string, string>): RestInput {
  // PostgreSQL cannot store or compare U+0000: refuse it in the path and query as in bodies (src/plugins/http.ts).
  if ([...Object.values(params), ...url.searchParams.values()].some((v) => v.includes('\u0000'))) {
    throw new DomainError('invalid_request', 'The path or query string contains U+0000');
  }
  const raw = requestState(request).rawBody;
  let parsed: unknown = {};
  let upload: string | undefined;
  if (route.upload) upload = raw ? Buffer.from(raw).toString('utf8') : '';
  else if (raw && raw.byteLength > 0) {
    if (!JSON_TYPE.test(request.headers.get('content-type') ?? '')) throw new DomainError('unsupported_media_type', 'Send JSON with content-type: application/json');
    try {
      parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      throw new DomainError('invalid_json', 'The request body is not valid JSON');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DomainError('invalid_json', 'The request body must be a JSON object');
  }
  let body: Record<string, unknown> = {};
  if (route.body) {
    body = camelize(parsed, jsonSchemaOf(route.body)) as Record<string, unknown>;
    const checked = route.body.safeParse(body);
    if (!checked.success) throw invalid(restIssues(checked.error));
  }
  let query: Record<string, unknown> = {};
  if (route.query) {
    const checked = route.query.safeParse(Object.fromEntries(url.searchParams));
    if (!checked.success) throw invalid(restIssues(checked.error));
    query = checked.data;
  }
  return { params, query, body, ...(upload === undefined ? {} : { upload }), headers: request.headers };
}

function decodeParams(names: string[], match: RegExpExecArray): Record<string, string> | null {
  try {
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
  } catch {
    return null;
  }
}

const domainErrorResponse = (error: DomainError, requestId: string) =>
  errorResponse(error.code, error.message, requestId, { status: error.status, details: error.details, headers: error.headers });

/** The first GraphQL error as a REST error response. */
function graphqlErrorResponse(error: GraphQLError, requestId: string, executed: boolean): Response {
  const ext = error.extensions as { code?: string; http?: { status?: number; headers?: Record<string, string> }; details?: unknown };
  // No code: once executing, a bug; before, a request the pipeline refused.
  const code = ext.code ? restCode(ext.code) : executed ? 'internal_error' : 'invalid_request';
  const status = ext.http?.status ?? statusOf(code);
  return errorResponse(code, error.message, requestId, { status, details: ext.details, headers: ext.http?.headers });
}

/**
 * Yoga refuses mutations over GET (a CSRF guard for /graphql). A documented GET route that creates
 * something (the agent nonce) runs its mutation as an internal POST sharing the request's state.
 */
function asOperationRequest(route: OperationRoute, request: Request): Request {
  if (request.method !== 'GET' || !/^\s*mutation\b/.test(route.operation)) return request;
  const internal = new Request(request.url, { method: 'POST', headers: request.headers });
  shareRequestState(request, internal);
  return internal;
}

type UserErrors = Array<{ code: string; message: string; field: string[] | null; details: Record<string, unknown> | null }>;

/**
 * The REST compat router: a Yoga plugin that answers every documented path. For each route it
 * authorizes the caller against the route's policy (the policy of the GraphQL field it runs)
 * before it reads the body, validates the input in REST words, then runs the GraphQL document
 * through Yoga's own pipeline (rate limits, idempotency, execution, masking) and shapes the
 * result; handler routes answer directly. Anything else (outside /graphql) is a 404 or 405.
 */
export function useRestRouter(routes: RestRoute[], runtime: Runtime, schema: GraphQLSchema, graphqlPath = '/graphql'): YogaPlugin {
  const compiled = routes.map((route) => compile(schema, route));
  let yoga: YogaServer<Record<string, unknown>, Record<string, unknown>>;

  async function run(entry: CompiledRoute, input: RestInput, request: Request, serverContext: Record<string, unknown>, requestId: string) {
    const route = entry.route as OperationRoute;
    const result = (await yoga.getResultForParams(
      { params: { query: route.operation, variables: route.variables(input) }, request: asOperationRequest(route, request) },
      serverContext,
    )) as ExecutionResult<Record<string, Record<string, unknown> | null>>;
    const payload = result.data?.[entry.rootField!];
    if (!payload) {
      const error = result.errors?.[0];
      // A nullable lookup that found nothing (another tenant's object looks exactly the same).
      return error ? graphqlErrorResponse(error, requestId, result.data !== undefined) : errorResponse('not_found', 'Not found', requestId);
    }
    const userErrors = payload.userErrors as UserErrors | undefined;
    if (userErrors?.length) {
      const first = userErrors[0]!;
      const details = { ...(first.details ?? {}), ...(first.field ? { field: first.field.map(toSnake).join('.') } : {}) };
      return errorResponse(restCode(first.code), first.message, requestId, { details: Object.keys(details).length ? details : undefined });
    }
    const rest = Array.isArray(payload) ? payload : Object.fromEntries(Object.entries(payload).filter(([k]) => k !== 'userErrors'));
    return jsonResponse(shapeBody(rest, route.shape), successStatus(route, payload));
  }

  return {
    onYogaInit({ yoga: instance }) {
      yoga = instance as never;
    },
    async onRequest({ request, url, endResponse, serverContext }) {
      if (url.pathname === graphqlPath) return;
      const state = requestState(request);
      try {
        let allowed: string[] = [];
        for (const entry of compiled) {
          const match = entry.pattern.exec(url.pathname);
          if (!match) continue;
          if (entry.route.method !== request.method && !(entry.route.method === 'GET' && request.method === 'HEAD')) {
            allowed.push(entry.route.method);
            continue;
          }
          const params = decodeParams(entry.names, match);
          if (!params) return endResponse(errorResponse('invalid_request', 'Malformed percent-encoding in the path', state.requestId));
          state.routeTemplate = entry.route.path;
          state.policy = entry.policy;
          const principal = entry.route.kind === 'handler' && entry.route.ownCredential ? null : await resolveCaller(runtime, request);
          const denied = checkPolicy(principal, entry.policy, { write: entry.write, recognitionProof: request.headers.has(RECOGNITION_HEADER) });
          if (denied) return endResponse(domainErrorResponse(denied, state.requestId));
          const input = readInput(entry.route, request, url, params);
          const response =
            entry.route.kind === 'handler'
              ? await entry.route.handle(input, { runtime, requestId: state.requestId, principal, request })
              : await run(entry, input, request, serverContext as Record<string, unknown>, state.requestId);
          return endResponse(response);
        }
        allowed = [...new Set(allowed)];
        if (allowed.length) {
          return endResponse(errorResponse('method_not_allowed', `${request.method} is not allowed here`, state.requestId, { headers: { allow: allowed.join(', ') } }));
        }
        endResponse(errorResponse('route_not_found', `No route for ${request.method} ${url.pathname}`, state.requestId));
      } catch (error) {
        if (error instanceof DomainError) return endResponse(domainErrorResponse(error, state.requestId));
        runtime.log.error({ err: error, request_id: state.requestId }, 'REST route failed');
        endResponse(errorResponse('internal_error', 'Internal server error', state.requestId));
      }
    },
  };
}
