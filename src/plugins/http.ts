import { BREAK, getOperationAST, GraphQLError, Kind, visit, type DocumentNode, type ExecutionResult } from 'graphql';
import { metrics, operationLabel } from '../kernel/metrics.ts';
import { DomainError } from '../kernel/errors.ts';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { errorResponse } from '../kernel/http/envelope.ts';
import { initRequestState, maybeRequestState } from '../kernel/http/request-state.ts';

export const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function readBody(request: Request, limit: number): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > limit) return null;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function clientIpOf(serverContext: unknown, request: Request, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  const req = (serverContext as { req?: { socket?: { remoteAddress?: string } } } | undefined)?.req;
  return req?.socket?.remoteAddress ?? 'local';
}

/** PostgreSQL text and jsonb cannot hold U+0000: such input is refused before anything runs. */
function hasNul(root: unknown): boolean {
  const pending = [root];
  while (pending.length) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

/** Errors and userErrors of a result, by code (metrics). */
function countErrors(result: ExecutionResult | undefined): void {
  if (!result || Symbol.asyncIterator in (result as object)) return;
  for (const error of result.errors ?? []) metrics.graphqlErrors.inc({ code: String((error.extensions as { code?: unknown } | undefined)?.code ?? 'UNKNOWN') });
  for (const payload of Object.values(result.data ?? {})) {
    const userErrors = (payload as { userErrors?: Array<{ code?: unknown }> } | null)?.userErrors;
    if (Array.isArray(userErrors)) for (const e of userErrors) metrics.graphqlErrors.inc({ code: String(e.code ?? 'UNKNOWN') });
  }
}

function documentHasNul(document: DocumentNode): boolean {
  // Only an escape sequence can put U+0000 in a GraphQL string; skip the walk without one.
  if (!document.loc?.source.body.includes('\\u')) return false;
  let found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (!node.value.includes('\u0000')) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/** Headers browsers may read from a cross-origin response (listed origins only). */
const EXPOSED_HEADERS = ['x-request-id', 'idempotent-replayed', 'retry-after', 'ratelimit', 'ratelimit-policy', 'location'];

/**
 * Yoga's CORS stage, by allow-list: a request whose Origin is in CORS_ORIGINS gets that origin back
 * with credentials; any other origin gets no CORS header at all (the browser then refuses to read
 * the response or to send the preflighted request). Empty list (the default): no cross-origin access.
 */
export function corsOptions(config: Pick<Config, 'CORS_ORIGINS'>) {
  const allowed = new Set(config.CORS_ORIGINS);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowed.has(origin)) return false as const;
    // Two entries make the CORS stage echo the origin with `Vary: Origin` (one entry omits Vary).
    return { origin: [origin, origin], credentials: true, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 };
  };
}

/** The CSP of every non-HTML response: nothing may load, nothing may frame it. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Security headers on every response: no MIME sniffing, no referrer, no framing (X-Frame-Options and
 * CSP frame-ancestors), a CSP (the playground page sets its own), HSTS when PUBLIC_BASE_URL is https,
 * and `Cache-Control: no-store` unless a route chose its own caching (only public documents do):
 * API responses carry tokens, keys and secrets, and none of them may sit in a cache.
 */
export function setSecurityHeaders(headers: Headers, config: Pick<Config, 'hsts'>): void {
  headers.set('x-content-type-options', 'nosniff');
  headers.set('referrer-policy', 'no-referrer');
  headers.set('x-frame-options', 'DENY');
  // The playground's page sets its own (src/plugins/playground.ts).
  if (!headers.has('content-security-policy')) headers.set('content-security-policy', API_CSP);
  if (config.hsts) headers.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
  if (!headers.has('cache-control')) headers.set('cache-control', 'no-store');
}

/**
 * First and last stage of every request: request id, client address, the raw body (read once,
 * with a size limit), JSON parsing for /graphql from those bytes, text PostgreSQL cannot store
 * refused before execution, and response headers + access log.
 * Hooks here never throw: failures answer with the JSON error envelope.
 */
export function useHttp(config: Config, log: Logger, lifecycle: { readonly draining: boolean }): YogaPlugin {
  return {
    async onRequest({ request, serverContext, endResponse }) {
      const state = initRequestState(request, clientIpOf(serverContext, request, config.TRUST_PROXY));
      if (!BODY_METHODS.has(request.method)) return;
      try {
        const body = await readBody(request, config.MAX_BODY_BYTES);
        if (body === null) {
          endResponse(errorResponse('payload_too_large', `Request body exceeds ${config.MAX_BODY_BYTES} bytes`, state.requestId));
          return;
        }
        state.rawBody = body;
      } catch {
        endResponse(errorResponse('invalid_request', 'The request body could not be read', state.requestId));
      }
    },
    onRequestParse({ request, setRequestParser }) {
      if (request.method !== 'POST') return;
      setRequestParser(async () => {
        const state = maybeRequestState(request);
        const type = request.headers.get('content-type') ?? '';
        if (!JSON_TYPE.test(type)) {
          throw new GraphQLError('POST /graphql needs content-type: application/json', {
            extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } },
          });
        }
        try {
          const params = JSON.parse(Buffer.from(state?.rawBody ?? new Uint8Array()).toString('utf8')) as unknown;
          if (params && typeof params === 'object') return params as never;
        } catch {
          // fall through
        }
        throw new GraphQLError('The request body is not a JSON object', { extensions: { code: 'INVALID_JSON', http: { status: 400 } } });
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      const state = request && maybeRequestState(request);
      if (state) state.operation = operationLabel(args.operationName ?? getOperationAST(args.document, args.operationName)?.name?.value);
      if (hasNul(args.variableValues) || documentHasNul(args.document)) {
        setResultAndStopExecution({ errors: [new DomainError('invalid_request', 'Text may not contain the NUL character (U+0000)')] });
        return;
      }
      return { onExecuteDone: ({ result }) => countErrors(result as ExecutionResult) };
    },
    // Yoga strips `extensions.http` from error bodies (it uses it for the response status). Clients
    // of this API read the status from the error too, so put `http.status` back when serialising.
    onResultProcess({ result, setResult }) {
      if (!result || Array.isArray(result) || Symbol.asyncIterator in (result as object)) return;
      const errors = (result as ExecutionResult).errors;
      const statuses = errors?.map((e) => (e.extensions as { http?: { status?: number } } | undefined)?.http?.status);
      if (!statuses?.some(Boolean)) return;
      setResult({
        ...(result as ExecutionResult),
        stringify: (sanitized: ExecutionResult) =>
          JSON.stringify({
            ...sanitized,
            errors: sanitized.errors?.map((error, i) => {
              const json = (typeof (error as { toJSON?: unknown }).toJSON === 'function' ? error.toJSON() : error) as { extensions?: Record<string, unknown> };
              return statuses[i] ? { ...json, extensions: { ...json.extensions, http: { status: statuses[i] } } } : json;
            }),
          }),
      } as ExecutionResult);
    },
    onResponse({ request, response }) {
      setSecurityHeaders(response.headers, config);
      const state = maybeRequestState(request);
      if (!state) return;
      response.headers.set('x-request-id', state.requestId);
      // While draining, every connection closes after its response: no keep-alive socket is left
      // for a client to send on just as the listener goes away.
      if (lifecycle.draining) response.headers.set('connection', 'close');
      state.responseHeaders.forEach((value, key) => {
        if (!response.headers.has(key)) response.headers.set(key, value);
      });
      const url = new URL(request.url);
      const seconds = (performance.now() - state.startedAt) / 1000;
      const route = state.routeTemplate ?? (url.pathname === '/graphql' ? `graphql ${state.operation ?? 'anonymous'}` : 'unmatched');
      metrics.httpRequests.inc({ route, method: request.method, status: String(response.status) });
      metrics.httpDuration.observe({ route, method: request.method }, seconds);
      log.info(
        {
          request_id: state.requestId,
          method: request.method,
          path: url.pathname,
          route,
          ...(state.operation ? { operation: state.operation } : {}),
          ...(state.caller?.principal ? { tenant_id: state.caller.principal.tenantId } : {}),
          status: response.status,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    },
  };
}
