import { randomBytes } from 'node:crypto';
import type { Principal } from '../../context.ts';
import type { FieldPolicy } from '../policy.ts';

/** Per-request state shared by the pipeline stages, keyed by the Request object (no globals). */
export interface RequestState {
  requestId: string;
  startedAt: number;
  /** The raw body, read exactly once before any parsing (signatures hash these bytes). */
  rawBody: Uint8Array | undefined;
  clientIp: string;
  /** Headers a stage or resolver wants on the response (rate limits, idempotency…). */
  responseHeaders: Headers;
  /** Set by the REST router: the matched route's path template and who may call it. */
  routeTemplate?: string;
  policy?: FieldPolicy;
  /** The caller, once resolved (the REST router resolves it before the body; GraphQL reuses it). */
  caller?: { principal: Principal | null };
  /** Set through the HTTP binding when an answer is provisional (202/402): Idempotency-Key must not store it. */
  provisional?: boolean;
  /** The GraphQL operation's name as a metrics/log label (src/kernel/metrics.ts operationLabel). */
  operation?: string;
  /** Cost of a caller-written document (src/plugins/cost.ts) and what is left of the tenant's budget. */
  queryCost?: number;
  costBudget?: { limit: number; remaining: number; reset_seconds: number };
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
  if (!state) throw new Error('request state missing: the HTTP stage must run first');
  return state;
}

export const maybeRequestState = (request: Request): RequestState | undefined => states.get(request);

/** Let an internal request (see the REST router) see the same state as the one it stands for. */
export function shareRequestState(from: Request, to: Request): void {
  states.set(to, requestState(from));
}
