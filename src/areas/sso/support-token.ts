import { verifyToken } from '../../crypto/jwt.ts';
import type { Environment, Principal, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';

/** JWT kind (`typ: paybond-support+jwt`) of a support session's access token. */
export const SUPPORT_TOKEN_KIND = 'support';

/** Entitlement a tenant admin grants to the members who may open support sessions. */
export const SUPPORT_AGENT_ENTITLEMENT = 'support.agent';

export interface SupportClaims {
  tid: string;
  org: string;
  env: Environment;
  /** Support session id. */
  ssid: string;
  /** Space-separated permissions: `read`, `settlement.reconcile`, `webhooks.replay`. */
  scope: string;
  /** RFC 8693 actor: the staff user acting in the tenant. */
  act: { sub: string };
}

/** Write permissions that need the admin role for the fields they open. */
export const WRITE_PERMISSIONS = ['settlement.reconcile', 'webhooks.replay'] as const;

/**
 * A support token → principal. The support session row decides: revoked → 401
 * credential_revoked, past its end → 401 token_expired; the staff user must still hold
 * `support.agent` in the tenant. The principal is a human (`user`) whose writes the support gate
 * (src/plugins/support-sessions.ts) limits to its permissions.
 */
export async function resolveSupportToken(rt: Runtime, token: string): Promise<Principal> {
  const now = rt.clock.now();
  const claims = await verifyToken<SupportClaims>(rt.keys, SUPPORT_TOKEN_KIND, token, now);
  const session = await rt.db.supportSession.findUnique({ where: { id: claims.ssid } });
  if (!session || session.tenantId !== claims.tid || session.staffUserId !== claims.act?.sub) {
    throw new DomainError('invalid_credentials', 'The credential is not valid');
  }
  if (session.revokedAt) throw new DomainError('credential_revoked', 'This support session has been revoked');
  if (session.expiresAt <= now) throw new DomainError('token_expired', 'This support session has ended');
  const membership = await rt.db.membership.findUnique({ where: { userId_tenantId: { userId: session.staffUserId, tenantId: session.tenantId } } });
  if (!membership?.entitlements.includes(SUPPORT_AGENT_ENTITLEMENT)) throw new DomainError('credential_revoked', 'The support entitlement was withdrawn');
  const writes = session.permissions.some((p) => (WRITE_PERMISSIONS as readonly string[]).includes(p));
  return {
    kind: 'user',
    subjectId: session.staffUserId,
    userId: session.staffUserId,
    tenantId: claims.tid,
    organizationId: claims.org,
    environment: claims.env,
    // The admin role only opens the write fields its permissions name; the gate refuses the rest.
    roles: writes ? ['tenant_admin'] : ['read_only'],
    entitlements: [],
    scopes: ['harbor:read'],
    authMethod: 'support_session',
    expiresAt: session.expiresAt,
    support: { sessionId: session.id, permissions: session.permissions },
  };
}
