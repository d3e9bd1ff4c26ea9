import type { Plugin } from '@envelop/core';
import { getOperationAST, Kind } from 'graphql';
import { checkPolicy, type FieldPolicy } from '../kernel/policy.ts';
import { RECOGNITION_HEADER } from '../kernel/http/headers.ts';
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
    // The signed string covers the path only (METHOD\nPATH\nTIMESTAMP\nSHA256_HEX(body)): a query
    // string would ride along unsigned, so a signed write may not carry one (signed reads keep the
    // documented behaviour: their query string selects what is read and changes nothing).
    if (url.search && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new DomainError('signature_invalid', 'A signed write may not carry a query string: the signature does not cover it');
    }
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
    // Writes by an agent JWT are proven (checkPolicy's write rule); the REST router applies the same
    // rule before it reads the body, this applies it to every mutation document.
    onExecute({ args, setResultAndStopExecution }) {
      const principal = args.contextValue.principal;
      if (principal?.kind !== 'agent' || principal.signed) return;
      const operation = getOperationAST(args.document, args.operationName);
      const fields = args.schema.getMutationType()?.getFields();
      if (operation?.operation !== 'mutation' || !fields) return;
      const recognitionProof = args.contextValue.request.headers.has(RECOGNITION_HEADER);
      for (const selection of operation.selectionSet.selections) {
        if (selection.kind !== Kind.FIELD) continue;
        const policy = fields[selection.name.value]?.extensions.policy as FieldPolicy | undefined;
        const denied = policy && checkPolicy(principal, policy, { write: true, recognitionProof });
        if (denied) {
          setResultAndStopExecution({ errors: [denied] });
          return;
        }
      }
    },
  };
}
