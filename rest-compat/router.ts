import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin as YogaPlugin, YogaServer } from 'graphql-yoga';
import { z } from 'zod';
import type { Runtime } from '../src/context.ts';
import { errorStatus, restCode } from '../src/errors.ts';
import { JSON_TYPE } from '../src/plugins/http.ts';
import { requestState, shareRequestState } from '../src/plugins/request-state.ts';
import { errorResponse, jsonResponse } from './envelope.ts';
import { toSnake, type OperationRoute, type RestInput, type RestRoute } from './route.ts';

interface CompiledRoute {
  route: RestRoute;
  pattern: RegExp;
  names: string[];
}

function compile(route: RestRoute): CompiledRoute {
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
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/**
 * Parse the JSON body of a REST call; a Response means "answer with this". Validation is not done
 * here: it runs in the GraphQL layer after authentication, so an anonymous caller learns nothing
 * about inputs. Only the documented body keys are kept (others, e.g. tenant hints, are ignored).
 */
function readInput(route: RestRoute, request: Request, url: URL, params: Record<string, string>, requestId: string): RestInput | Response {
  let body: Record<string, unknown> = {};
  const raw = requestState(request).rawBody;
  if (raw && raw.byteLength > 0) {
    if (!JSON_TYPE.test(request.headers.get('content-type') ?? '')) {
      return errorResponse('unsupported_media_type', 'Send JSON with content-type: application/json', requestId);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      return errorResponse('invalid_json', 'The request body is not valid JSON', requestId);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return errorResponse('invalid_json', 'The request body must be a JSON object', requestId);
    }
    body = parsed as Record<string, unknown>;
  }
  const known = route.body instanceof z.ZodObject ? new Set(Object.keys(route.body.shape)) : undefined;
  if (known) body = Object.fromEntries(Object.entries(body).filter(([k]) => known.has(k)));
  return { params, query: url.searchParams, body, headers: request.headers };
}

function decodeParams(names: string[], match: RegExpExecArray): Record<string, string> | null {
  try {
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
  } catch {
    return null;
  }
}

/** The first GraphQL error as a REST error response. */
function graphqlErrorResponse(error: GraphQLError, requestId: string, executed: boolean): Response {
  const ext = error.extensions as { code?: string; http?: { status?: number; headers?: Record<string, string> }; details?: unknown };
  // No code: a variable that GraphQL could not coerce (bad input) or, once executing, a bug.
  const code = ext.code ? restCode(ext.code) : executed ? 'internal_error' : 'invalid_request';
  const status = ext.http?.status ?? (errorStatus as Record<string, number>)[code] ?? 500;
  return errorResponse(code, restMessage(error.message), requestId, { status, details: restDetails(ext.details), headers: ext.http?.headers });
}

/** GraphQL names inputs `input.fieldName`; REST callers sent `field_name`. */
const restField = (field: string) => toSnake(field.replace(/^input\./, ''));
const restMessage = (message: string) => message.replace(/"input\.([\w.]+)"/g, (_, f: string) => `"${toSnake(f)}"`).replace(/\binput\.([\w.]+)/g, (_, f: string) => toSnake(f));

function restDetails(details: unknown): unknown {
  const issues = (details as { issues?: Array<{ field: string; message: string }> } | undefined)?.issues;
  if (!issues) return details;
  return { ...(details as object), issues: issues.map((i) => ({ ...i, field: restField(i.field) })) };
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

function rootFieldOf(route: OperationRoute): string {
  const match = /\{\s*(?:[A-Za-z_]\w*\s*:\s*)?([A-Za-z_]\w*)/.exec(route.operation);
  if (!match) throw new Error(`route ${route.method} ${route.path}: no root field in operation`);
  return match[1]!;
}

/**
 * The REST compat router: a Yoga plugin that answers every documented path. Operation routes run
 * their GraphQL document through Yoga's own parameter handling (same Envelop chain: credentials,
 * tenant check, signatures, rate limits, armor, masking) and shape the result; handler routes
 * answer directly. Anything else (outside /graphql) is a 404 or 405 envelope.
 */
export function useRestRouter(routes: RestRoute[], runtime: Runtime, graphqlPath = '/graphql'): YogaPlugin {
  const compiled = routes.map(compile);
  const roots = new Map(routes.filter((r): r is OperationRoute => r.kind === 'operation').map((r) => [r, rootFieldOf(r)]));
  let yoga: YogaServer<Record<string, unknown>, Record<string, unknown>>;

  async function run(route: OperationRoute, input: RestInput, request: Request, serverContext: Record<string, unknown>, requestId: string) {
    const field = roots.get(route)!;
    const result = (await yoga.getResultForParams(
      { params: { query: route.operation, variables: route.variables(input) }, request: asOperationRequest(route, request) },
      serverContext,
    )) as ExecutionResult<Record<string, Record<string, unknown> | null>>;
    const payload = result.data?.[field];
    if (!payload) {
      const error = result.errors?.[0];
      // A nullable lookup that found nothing (another tenant's object looks exactly the same).
      return error ? graphqlErrorResponse(error, requestId, result.data !== undefined) : errorResponse('not_found', 'Not found', requestId);
    }
    const userErrors = payload.userErrors as Array<{ code: string; message: string; field: string[] | null; details: Record<string, unknown> | null }> | undefined;
    if (userErrors?.length) {
      const first = userErrors[0]!;
      const details = { ...(first.details ?? {}), ...(first.field ? { field: restField(first.field.join('.')) } : {}) };
      return errorResponse(restCode(first.code), restMessage(first.message), requestId, { details: Object.keys(details).length ? details : undefined });
    }
    const rest = Array.isArray(payload) ? payload : Object.fromEntries(Object.entries(payload).filter(([k]) => k !== 'userErrors'));
    const body = route.result ? route.result(rest, input) : rest;
    const status = typeof route.status === 'function' ? route.status(rest) : (route.status ?? 200);
    return jsonResponse(body, status);
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
          state.routeAuth = entry.route.auth;
          state.routeTemplate = entry.route.path;
          const input = readInput(entry.route, request, url, params, state.requestId);
          if (input instanceof Response) return endResponse(input);
          const response =
            entry.route.kind === 'handler'
              ? await entry.route.handle(input, { runtime, requestId: state.requestId, request })
              : await run(entry.route, input, request, serverContext as Record<string, unknown>, state.requestId);
          return endResponse(response);
        }
        allowed = [...new Set(allowed)];
        if (allowed.length) {
          return endResponse(
            errorResponse('method_not_allowed', `${request.method} is not allowed here`, state.requestId, { headers: { allow: allowed.join(', ') } }),
          );
        }
        endResponse(errorResponse('route_not_found', `No route for ${request.method} ${url.pathname}`, state.requestId));
      } catch (error) {
        runtime.log.error({ err: error, request_id: state.requestId }, 'REST route failed');
        endResponse(errorResponse('internal_error', 'Internal server error', state.requestId));
      }
    },
  };
}
