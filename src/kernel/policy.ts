import type { Principal, PrincipalKind } from '../context.ts';
import { DomainError } from './errors.ts';
import type { RouteGroup } from './limits/groups.ts';
import { isKeyAdmin, isTenantAdmin } from './roles.ts';

/**
 * Who may call a GraphQL root field (and so the REST routes that run it), declared once on the
 * field. Scope-auth enforces it for GraphQL; the REST router checks it before it reads the body;
 * OpenAPI, the agent docs and the route × credential matrix read it.
 */
export interface FieldPolicy {
  /** `'public'`: no credential needed; otherwise the credential kinds accepted. */
  principals: 'public' | readonly PrincipalKind[];
  /**
   * Tenant admins only: a human with tenant_admin / tenant.admin, or a service-account key whose role
   * is tenant_admin. Enforced by checkPolicy on both surfaces.
   */
  admin?: boolean;
  /** An entitlement the (human) credential must hold in its tenant, e.g. `support.agent`. */
  entitlement?: string;
  /** A scope the credential must carry (read-only members lack harbor:write). */
  scope?: 'harbor:read' | 'harbor:write';
  /** Sandbox credentials only (simulator, sandbox guardrails): a live credential is refused with 403. */
  sandboxOnly?: boolean;
  /** High-risk: an agent JWT bound to a key, and this request signed with that key. */
  signed?: boolean;
  /**
   * Recognition-gated write: the domain requires an agent recognition proof or a signed agent
   * request (enforced by the recognition gate; declared here for docs and generated tests).
   */
  recognition?: boolean;
  /** Route group counted before the field runs; `null` = explicitly not limited. Every mutation declares one. */
  rateLimit?: RouteGroup | null;
}

export const ALL_KINDS: readonly PrincipalKind[] = ['user', 'api_key', 'harbor', 'pat', 'agent'];

/** Common policies. */
export const PUBLIC: FieldPolicy = { principals: 'public' };
/** Any credential that may read Harbor data. */
export const READER: FieldPolicy = { principals: ALL_KINDS, scope: 'harbor:read' };
/** Harbor writers: admin sessions, API keys, Harbor tokens and key-bound agents (never PATs or read-only members). */
export const HARBOR_WRITER: FieldPolicy = { principals: ['user', 'api_key', 'harbor', 'agent'], scope: 'harbor:write', recognition: true };
/** A signed-in human. */
export const HUMAN: FieldPolicy = { principals: ['user'] };
/** A tenant admin on a human session. */
export const HUMAN_ADMIN: FieldPolicy = { principals: ['user'], admin: true };

/**
 * The one authorization rule: null when `principal` may call a field with `policy`, otherwise the
 * error to answer with (401 without a credential or without a required signature, else 403).
 */
export interface CallFacts {
  /** The call changes state (a mutation, or a REST route that is not a read). */
  write?: boolean;
  /** The request carries an agent recognition proof header (verified later by the domain). */
  recognitionProof?: boolean;
}

export function checkPolicy(principal: Principal | null, policy: FieldPolicy, facts: CallFacts = {}): DomainError | null {
  if (policy.principals === 'public') return null;
  if (!principal) return new DomainError('unauthenticated', 'Authentication required: send Authorization: Bearer <credential>');
  const unsignedAgent = principal.kind === 'pat' || (principal.kind === 'agent' && !principal.signed);
  if (policy.signed && unsignedAgent) {
    return new DomainError(
      'signature_missing',
      principal.kind === 'pat'
        ? 'This action needs a key-bound agent JWT and a signed request; a PAT cannot perform it'
        : 'This action needs X-Agent-Timestamp and X-Agent-Signature signed with the key bound to the agent JWT',
    );
  }
  if (!policy.principals.includes(principal.kind)) return new DomainError('forbidden', 'This operation is not available to this kind of credential');
  // Every agent write is proven: an agent runtime JWT alone (a bearer token that may leak) never
  // changes state; the request is signed with the bound key, or carries a recognition proof where
  // the route accepts one (the domain verifies that proof).
  if (facts.write && principal.kind === 'agent' && !principal.signed) {
    if (!policy.recognition) {
      return new DomainError('signature_missing', 'A write with an agent JWT needs X-Agent-Timestamp and X-Agent-Signature signed with the key bound to the JWT');
    }
    if (!facts.recognitionProof) {
      return new DomainError('recognition_proof_required', 'This write needs an agent recognition proof (x-paybond-agent-recognition-proof) or a signed agent request');
    }
  }
  if (policy.admin && !(isTenantAdmin(principal) || isKeyAdmin(principal))) return new DomainError('forbidden', 'This operation requires the tenant_admin role or the tenant.admin entitlement');
  if (policy.entitlement && !principal.entitlements.includes(policy.entitlement)) {
    return new DomainError('forbidden', `This operation requires the ${policy.entitlement} entitlement`);
  }
  if (policy.scope && !principal.scopes.includes(policy.scope)) {
    return new DomainError('forbidden', policy.scope === 'harbor:write' ? 'This credential cannot change Harbor data' : 'This credential cannot read Harbor data');
  }
  if (policy.sandboxOnly && principal.environment !== 'sandbox') {
    return new DomainError('sandbox_environment_required', 'This operation is for sandbox tenants only: use a sandbox credential (paybond_sk_sandbox_…)');
  }
  return null;
}
