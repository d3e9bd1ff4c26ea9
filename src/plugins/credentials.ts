import type { Plugin } from '@envelop/core';
import type { Principal, RequestContext, Runtime } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';
import { TENANT_HEADER } from '../kernel/http/headers.ts';
import { httpBinding } from '../kernel/http/binding.ts';
import { requestState } from '../kernel/http/request-state.ts';
import { authenticate } from '../areas/identity/authenticate.ts';
import { hasSignatureHeaders, verifySignedRequest } from '../areas/agents/signatures.ts';

/**
 * Credentials → principal, then the tenant-header rule, then the request signature (when
 * X-Agent-* headers are present; high-risk fields require one through their policy). The
 * tenant-header rule: an `x-tenant-id` that differs from the credential's tenant is refused with
 * 401 before anything runs. Tenant and environment come only from the credential. Resolved once
 * per request: the REST router calls this before it reads the body, GraphQL reuses the result.
 */
export async function resolveCaller(runtime: Runtime, request: Request): Promise<Principal | null> {
  const state = requestState(request);
  if (state.caller) return state.caller.principal;
  const principal = await authenticate(runtime, request.headers.get('authorization'));
  // A REST route that is not public says a credential is missing before anything else.
  if (!principal && state.policy && state.policy.principals !== 'public') {
    throw new DomainError('unauthenticated', 'Authentication required: send Authorization: Bearer <credential>');
  }
  const tenantHeader = request.headers.get(TENANT_HEADER);
  if (principal && tenantHeader !== null && tenantHeader !== principal.tenantId) {
    throw new DomainError('tenant_mismatch', 'x-tenant-id does not match the tenant of the credential');
  }
  if (hasSignatureHeaders(request.headers)) {
    if (!principal) throw new DomainError('key_not_bound', 'A signed request needs Authorization: Bearer <agent JWT bound to the signing key>');
    const url = new URL(request.url);
    await verifySignedRequest(runtime, principal, { method: request.method, path: url.pathname, headers: request.headers, rawBody: state.rawBody });
  }
  state.caller = { principal };
  return principal;
}

/** The GraphQL context: the caller, the typed HTTP binding and the request id. */
export function useCredentials(runtime: Runtime): Plugin<RequestContext> {
  return {
    async onContextBuilding({ context, extendContext }) {
      const request = (context as { request: Request }).request;
      const state = requestState(request);
      const principal = await resolveCaller(runtime, request);
      extendContext({ runtime, requestId: state.requestId, principal, clientIp: state.clientIp, http: httpBinding(request) });
    },
  };
}
