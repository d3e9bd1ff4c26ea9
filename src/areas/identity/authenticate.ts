import './errors.ts';
import { safeEqual, sha256Hex } from '../../crypto/hash.ts';
import { peekTokenKind, verifyToken } from '../../crypto/jwt.ts';
import type { Environment, Principal, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { API_KEY_PREFIX, parseApiKey } from './api-keys.ts';
import type { SessionClaims } from './sessions.ts';
import { HARBOR_SCOPE } from './auth.ts';
import { PAT_PREFIX, resolvePat } from '../agents/pats.ts';
import { resolveAgentToken } from '../agents/sessions.ts';
import { SUPPORT_TOKEN_KIND, resolveSupportToken } from '../sso/support-token.ts';

const invalid = (message = 'The credential is not valid') => new DomainError('invalid_credentials', message);

/** Refresh `lastUsedAt` at most once a minute per key, so reads do not turn into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

async function resolveApiKey(rt: Runtime, value: string): Promise<Principal> {
  const parsed = parseApiKey(value);
  if (!parsed) {
    throw invalid('API keys have the form paybond_sk_<live|sandbox>_<key_id>_<secret>; environment-less keys are not accepted');
  }
  // Through the node's cache: a revoked or changed key is invalidated on every node at once (src/kernel/cache.ts).
  const key = await rt.cache.get(`api_key:${parsed.keyId}`, () => rt.db.apiKey.findUnique({ where: { id: parsed.keyId }, include: { tenant: true } }), (k) => k?.tenantId ?? null);
  // Hash comparison runs even for unknown ids, so timing does not tell which ids exist.
  const matches = safeEqual(sha256Hex(parsed.secret), key?.secretHash ?? sha256Hex('absent'));
  if (!key || !matches) throw invalid();
  if (key.tenant.environment !== parsed.environment) {
    throw invalid('The key prefix does not match the environment of its tenant');
  }
  const now = rt.clock.now();
  if (key.revokedAt) throw new DomainError('credential_revoked', 'This API key has been revoked');
  if (key.expiresAt && key.expiresAt <= now) throw new DomainError('token_expired', 'This API key has expired');
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await rt.db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
    key.lastUsedAt = now;
  }
  return {
    kind: 'api_key',
    subjectId: key.id,
    apiKeyId: key.id,
    tenantId: key.tenantId,
    organizationId: key.tenant.organizationId,
    environment: key.tenant.environment,
    roles: ['service_account', key.serviceAccountRole],
    entitlements: [],
    scopes: HARBOR_SCOPE.split(' '),
    authMethod: 'api_key',
    expiresAt: key.expiresAt ?? undefined,
  };
}

async function resolveSessionToken(rt: Runtime, token: string): Promise<Principal> {
  const claims = await verifyToken<SessionClaims>(rt.keys, 'session', token, rt.clock.now());
  // Logout and refresh-token reuse end a session at once, not when its access token expires.
  const session = await rt.cache.get(
    `session:${claims.sid}`,
    () => rt.db.session.findUnique({ where: { id: claims.sid }, select: { revokedAt: true, tenantId: true, userId: true } }),
    (s) => s?.tenantId ?? null,
  );
  if (!session || session.revokedAt) throw new DomainError('credential_revoked', 'The session has ended');
  if (session.tenantId !== claims.tid || session.userId !== claims.sub) throw invalid();
  return {
    kind: 'user',
    subjectId: claims.sub,
    userId: claims.sub,
    sessionId: claims.sid,
    tenantId: claims.tid,
    organizationId: claims.org,
    environment: claims.env,
    roles: claims.roles,
    entitlements: claims.ent,
    // Read-only members read Harbor; only admins change it.
    scopes: claims.roles.includes('tenant_admin') || claims.ent.includes('tenant.admin') ? ['harbor:read', 'harbor:write'] : ['harbor:read'],
    authMethod: 'session',
    expiresAt: new Date(claims.exp * 1000),
    ...(claims.amr ? { amr: claims.amr } : {}),
    ...(claims.idp ? { idp: claims.idp } : {}),
  };
}

async function resolveHarborToken(rt: Runtime, token: string): Promise<Principal> {
  const claims = await verifyToken<{ tid: string; org: string; env: Environment; scope: string }>(rt.keys, 'harbor', token, rt.clock.now());
  // A revoked API key takes its Harbor tokens with it.
  const key = await rt.cache.get(`api_key_state:${claims.sub}`, () => rt.db.apiKey.findUnique({ where: { id: claims.sub }, select: { revokedAt: true, tenantId: true } }), (k) => k?.tenantId ?? null);
  if (!key || key.revokedAt) throw new DomainError('credential_revoked', 'The API key behind this token has been revoked');
  return {
    kind: 'harbor',
    subjectId: claims.sub,
    apiKeyId: claims.sub,
    tenantId: claims.tid,
    organizationId: claims.org,
    environment: claims.env,
    roles: ['service_account'],
    entitlements: [],
    scopes: claims.scope.split(' '),
    authMethod: 'harbor_token',
    expiresAt: new Date(claims.exp * 1000),
  };
}

/**
 * Turn an Authorization header into a principal. No header → null (anonymous); anything
 * malformed, unknown, expired or revoked → a 401 DomainError with a precise code.
 */
export async function authenticate(rt: Runtime, authorization: string | null): Promise<Principal | null> {
  if (authorization === null || authorization.trim() === '') return null;
  const match = /^Bearer[ ]+([\x21-\x7e]{1,4096})$/i.exec(authorization.trim());
  if (!match) throw invalid('Authorization must be "Bearer <credential>"');
  const token = match[1]!;
  if (token.startsWith(API_KEY_PREFIX)) return resolveApiKey(rt, token);
  if (token.startsWith(PAT_PREFIX)) return resolvePat(rt, token);
  switch (peekTokenKind(token)) {
    case 'session':
      return resolveSessionToken(rt, token);
    case 'harbor':
      return resolveHarborToken(rt, token);
    case 'agent':
      return resolveAgentToken(rt, token);
    case SUPPORT_TOKEN_KIND:
      return resolveSupportToken(rt, token);
    default:
      throw invalid();
  }
}
