import { randomBytes } from 'node:crypto';
import type { RouteAuth } from '../../rest-compat/route.ts';

/** Per-request state shared by the plugins, keyed by the Request object (no globals). */
export interface RequestState {
  requestId: string;
  startedAt: number;
  /** The raw body, read exactly once before any parsing (signatures hash these bytes). */
  rawBody: Uint8Array | undefined;
  clientIp: string;
  /** Headers a plugin or resolver wants on the response (rate limits, idempotency…). */
  responseHeaders: Headers;
  /** Set by the REST router: who may call the matched route, and its path template. */
  routeAuth?: RouteAuth;
  routeTemplate?: string;
  /** Set by a service whose answer is provisional (202/402): an Idempotency-Key must not store it. */
  notFinal?: boolean;
}

const states = new WeakMap<Request, RequestState>();

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function initRequestState(request: Request, clientIp: string): RequestState {
  const incoming = request.headers.get('x-request-id');
  const state: RequestState = {
    requestId: incoming && SANE_REQUEST_ID.test(incoming) ? incoming : `req_${randomBytes(12).toString('base64url')}`,
    startedAt: performance.now(),
    rawBody: undefined,
    clientIp,
    responseHeaders: new Headers(),
  };
  states.set(request, state);
  return state;
}

export function requestState(request: Request): RequestState {
  const state = states.get(request);
  if (!state) throw new Error('request state missing: the request-state plugin must run first');
  return state;
}

export const maybeRequestState = (request: Request): RequestState | undefined => states.get(request);

/** Let an internal request (see the REST router) see the same state as the one it stands for. */
export function shareRequestState(from: Request, to: Request): void {
  states.set(to, requestState(from));
}
