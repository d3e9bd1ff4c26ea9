import { DomainError } from '../errors.ts';
import type { ServiceContext } from '../../context.ts';
import type { KeyValueStore } from '../../stores.ts';

export interface LimitPolicy {
  /** Route group or limiter scope name, as shown in RateLimit-Policy. */
  group: string;
  limit: number;
  windowSeconds: number;
}

export interface LimitState {
  policy: LimitPolicy;
  remaining: number;
  resetSeconds: number;
  allowed: boolean;
}

/** IETF httpapi-ratelimit-headers draft-11 fields for one policy. */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Policy': `"${state.policy.group}";q=${state.policy.limit};w=${state.policy.windowSeconds}`,
    RateLimit: `"${state.policy.group}";r=${state.remaining};t=${state.resetSeconds}`,
  };
  if (!state.allowed) headers['Retry-After'] = String(state.resetSeconds);
  return headers;
}

/** Count one attempt (or `amount` units) against `policy` for `bucket` (already hashed by the caller). */
export async function consume(store: KeyValueStore, policy: LimitPolicy, bucket: string, amount = 1): Promise<LimitState> {
  const { count, resetSeconds } = await store.hit(`rl:${policy.group}:${bucket}`, policy.windowSeconds, amount);
  return { policy, remaining: Math.max(0, policy.limit - count), resetSeconds, allowed: count <= policy.limit };
}

export function rateLimitedError(state: LimitState): DomainError {
  return new DomainError('rate_limited', `Rate limit exceeded for ${state.policy.group}; retry after ${state.resetSeconds}s`, {
    headers: rateLimitHeaders(state),
    details: { group: state.policy.group, limit: state.policy.limit, window_seconds: state.policy.windowSeconds },
  });
}

/** Consume and throw 429 when over the limit; inside a request the RateLimit headers go on the answer. */
export async function enforce(ctx: ServiceContext, policy: LimitPolicy, bucket: string): Promise<LimitState> {
  const state = await consume(ctx.runtime.store, policy, bucket);
  if (ctx.http) for (const [name, value] of Object.entries(rateLimitHeaders(state))) if (name !== 'Retry-After') ctx.http.appendResponseHeader(name, value);
  if (!state.allowed) throw rateLimitedError(state);
  return state;
}
