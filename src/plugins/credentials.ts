import type { Plugin } from '@envelop/core';
import type { RequestContext, Runtime } from '../context.ts';
import { DomainError } from '../errors.ts';
import { authenticate } from '../domain/identity/authenticate.ts';
import { requestState } from './request-state.ts';
import { hasSignatureHeaders, verifySignedRequest } from '../domain/agents/signatures.ts';

/**
 * Credentials → principal, then the tenant-header rule, then the request signature (when
 * X-Agent-* headers are present; high-risk fields require one through the signedAgent scope).
 * The tenant-header rule: an `x-tenant-id` that differs from the
 * credential's tenant is refused with 401 before any resolver runs. Tenant and environment come
 * only from the credential.
 */
export function useCredentials(runtime: Runtime): Plugin<RequestContext> {
  return {
    async onContextBuilding({ context, extendContext }) {
      const request = (context as { request: Request }).request;
      const state = requestState(request);
      const principal = await authenticate(runtime, request.headers.get('authorization'));
      // A REST route that is not public needs a credential, whatever its body says.
      if (!principal && state.routeAuth && !state.routeAuth.public) {
        throw new DomainError('unauthenticated', 'Authentication required: send Authorization: Bearer <credential>');
      }
      const tenantHeader = request.headers.get('x-tenant-id');
      if (principal && tenantHeader !== null && tenantHeader !== principal.tenantId) {
        throw new DomainError('tenant_mismatch', 'x-tenant-id does not match the tenant of the credential');
      }
      if (hasSignatureHeaders(request.headers)) {
        if (!principal) throw new DomainError('key_not_bound', 'A signed request needs Authorization: Bearer <agent JWT bound to the signing key>');
        await verifySignedRequest(runtime, principal, {
          method: request.method,
          path: new URL(request.url).pathname,
          headers: request.headers,
          rawBody: state.rawBody,
        });
      }
      extendContext({ runtime, requestId: state.requestId, principal, clientIp: state.clientIp });
    },
  };
}
