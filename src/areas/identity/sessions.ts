import './errors.ts';
import { newId, randomToken, sha256Hex } from '../../crypto/hash.ts';
import { signToken } from '../../crypto/jwt.ts';
import type { Environment, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { Tx } from '../../db.ts';

export interface AuthTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: Date;
  sessionId: string;
  tenantId: string;
  organizationId: string;
  environment: Environment;
}

export interface SessionClaims {
  sid: string;
  tid: string;
  org: string;
  env: Environment;
  roles: string[];
  ent: string[];
  /** Authentication methods (RFC 8176): `pwd` for the email challenge, `sso` through a connection. */
  amr?: string[];
  /** SSO connection id when `amr` is `sso`. */
  idp?: string;
}

export interface SessionOrigin {
  authMethod: 'password' | 'sso';
  ssoConnectionId?: string | null;
}

export const REFRESH_PREFIX = 'paybond_rt_';

async function membershipFor(tx: Tx, userId: string, tenantId: string) {
  const membership = await tx.membership.findUnique({
    where: { userId_tenantId: { userId, tenantId } },
    include: { tenant: true },
  });
  if (!membership) throw new DomainError('forbidden', 'No access to this tenant');
  return membership;
}

async function mint(rt: Runtime, tx: Tx, sessionId: string, userId: string, tenantId: string, now: Date, origin: SessionOrigin): Promise<AuthTokens> {
  const membership = await membershipFor(tx, userId, tenantId);
  const refreshToken = REFRESH_PREFIX + randomToken(32);
  await tx.refreshToken.create({
    data: {
      id: newId('rtk'),
      sessionId,
      tokenHash: sha256Hex(refreshToken),
      createdAt: now,
      expiresAt: new Date(now.getTime() + rt.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
    },
  });
  const claims: SessionClaims = {
    sid: sessionId,
    tid: tenantId,
    org: membership.tenant.organizationId,
    env: membership.tenant.environment,
    roles: [membership.role],
    ent: membership.entitlements,
    ...(origin.authMethod === 'sso' ? { amr: ['sso'], idp: origin.ssoConnectionId ?? undefined } : { amr: ['pwd'] }),
  };
  const ttl = rt.config.ACCESS_TOKEN_TTL_SECONDS;
  const access = await signToken(rt.keys, 'session', { sub: userId, ...claims }, now, ttl);
  return {
    accessToken: access.token,
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: ttl,
    expiresAt: access.expiresAt,
    sessionId,
    tenantId,
    organizationId: claims.org,
    environment: claims.env,
  };
}

/** Start a new session (refresh-token family) for `userId` in `tenantId`. */
export async function openSession(rt: Runtime, tx: Tx, userId: string, tenantId: string, origin: SessionOrigin = { authMethod: 'password' }): Promise<AuthTokens> {
  const now = rt.clock.now();
  const sessionId = newId('ses');
  await membershipFor(tx, userId, tenantId);
  await tx.session.create({
    data: {
      id: sessionId,
      userId,
      tenantId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + rt.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
      authMethod: origin.authMethod,
      ssoConnectionId: origin.ssoConnectionId ?? null,
    },
  });
  return mint(rt, tx, sessionId, userId, tenantId, now, origin);
}

/** Next token pair of an existing session (refresh rotation). */
export const rotateSession = (rt: Runtime, tx: Tx, session: { id: string; userId: string; tenantId: string; authMethod: string; ssoConnectionId: string | null }) =>
  mint(rt, tx, session.id, session.userId, session.tenantId, rt.clock.now(), {
    authMethod: session.authMethod === 'sso' ? 'sso' : 'password',
    ssoConnectionId: session.ssoConnectionId,
  });
