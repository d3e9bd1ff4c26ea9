import './errors.ts';
import { randomInt } from 'node:crypto';
import { base58 } from '@scure/base';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import { decodePublicKey, decodeSignature, keyThumbprint, toBase58, verifyEd25519 } from '../../crypto/ed25519.ts';
import { signToken, verifyToken } from '../../crypto/jwt.ts';
import type { Environment, Principal, RequestContext, Runtime, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { AgentSession } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import type { Tx } from '../../db.ts';
import { bucketHash } from '../../kernel/audit/redact.ts';
import { enforce } from '../../kernel/limits/limiter.ts';
import { modeDisabled, requireAgentMode } from './mode.ts';
import { findActivePat, PAT_SCOPE } from './pats.ts';

/** Scope of a key-bound runtime session: it may sign high-risk requests. */
export const SETTLEMENT_SCOPE = 'agent:settlement';
const NONCE_TTL_SECONDS = 300;
const NONCE_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export const agentLimits = {
  exchangePerIp: { group: 'agent_auth_exchange_ip', limit: 60, windowSeconds: 60 },
  noncePerIp: { group: 'agent_auth_nonce_ip', limit: 60, windowSeconds: 60 },
};

export const patExchangeInput = z.object({
  token: z.string().trim().min(1).max(200).describe('The PAT.'),
  sessionPubkey: z.string().trim().max(100).optional().describe('Base58 Ed25519 public key the JWT will be bound to.'),
  label: z.string().trim().max(100).optional().describe('A label for the runtime session.'),
});

export const nonceInput = z.object({
  agentPubkey: z.string().trim().min(1).max(100).describe('The trusted agent key (hex, base64 or base58).'),
  tenantId: z.string().trim().max(64).optional().describe('Only needed when several tenants registered the same key.'),
});

export const nonceExchangeInput = z.object({
  agentPubkey: z.string().trim().min(1).max(100).describe('The trusted agent key.'),
  nonce: z.string().trim().min(1).max(64).describe('The nonce from the nonce request.'),
  signature: z.string().trim().min(1).max(200).describe('Ed25519 signature over the nonce bytes, base58 or base64.'),
});

export interface AgentToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: Date;
  sessionId: string;
  agentId: string;
  scope: string;
  requiresSignedRequests: boolean;
  keyThumbprint: string | null;
  tenantId: string;
  environment: Environment;
}

interface AgentClaims {
  tid: string;
  org: string;
  env: Environment;
  scope: string;
  cnf?: { jkt: string };
}

type AuthCtx = ServiceContext & Pick<RequestContext, 'clientIp'>;

async function mintSession(
  rt: Runtime,
  tx: Tx,
  data: {
    tenant: { id: string; organizationId: string; environment: Environment };
    publicKey: Uint8Array | null;
    patId?: string;
    trustedKeyId?: string;
    label?: string | null;
    authMethod: 'pat' | 'ed25519_nonce';
  },
): Promise<AgentToken> {
  const now = rt.clock.now();
  const ttl = rt.config.AGENT_TOKEN_TTL_SECONDS;
  const sessionId = newId('ags');
  const thumbprint = data.publicKey ? await keyThumbprint(data.publicKey) : null;
  const agentId = data.publicKey ? toBase58(data.publicKey) : `pat:${data.patId}`;
  const scope = data.publicKey ? SETTLEMENT_SCOPE : PAT_SCOPE;
  const claims: AgentClaims = {
    tid: data.tenant.id,
    org: data.tenant.organizationId,
    env: data.tenant.environment,
    scope,
    ...(thumbprint ? { cnf: { jkt: thumbprint } } : {}),
  };
  const issued = await signToken(rt.keys, 'agent', { sub: agentId, jti: sessionId, ...claims }, now, ttl);
  await tx.agentSession.create({
    data: {
      id: sessionId,
      tenantId: data.tenant.id,
      agentId,
      patId: data.patId ?? null,
      trustedKeyId: data.trustedKeyId ?? null,
      publicKey: data.publicKey ? toBase58(data.publicKey) : null,
      keyThumbprint: thumbprint,
      label: data.label ?? null,
      scope,
      authMethod: data.authMethod,
      createdAt: now,
      expiresAt: issued.expiresAt,
    },
  });
  return {
    accessToken: issued.token,
    tokenType: 'Bearer',
    expiresIn: ttl,
    expiresAt: issued.expiresAt,
    sessionId,
    agentId,
    scope,
    requiresSignedRequests: scope === SETTLEMENT_SCOPE,
    keyThumbprint: thumbprint,
    tenantId: data.tenant.id,
    environment: data.tenant.environment,
  };
}

/** PAT + the runtime's own ephemeral public key → a short-lived JWT bound to that key. */
export async function exchangePat(ctx: AuthCtx, input: z.infer<typeof patExchangeInput>): Promise<AgentToken> {
  const rt = ctx.runtime;
  await enforce(ctx, agentLimits.exchangePerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  let publicKey: Uint8Array | null = null;
  if (input.sessionPubkey) {
    publicKey = decodePublicKey(input.sessionPubkey, ['base58']);
    if (!publicKey) {
      throw new DomainError('invalid_request', 'session_pubkey must be a base58 Ed25519 public key of 32 bytes', { field: ['sessionPubkey'] });
    }
  }
  const pat = await findActivePat(rt, input.token);
  return rt.db.$transaction(async (tx) => {
    const token = await mintSession(rt, tx, { tenant: pat.tenant, publicKey, patId: pat.id, label: input.label, authMethod: 'pat' });
    await recordAudit(tx, { ...ctx, principal: null }, {
      tenantId: pat.tenantId,
      eventType: 'agent_session.created',
      resource: 'agent_session',
      resourceId: token.sessionId,
      actor: { type: 'pat', id: pat.id },
      details: { auth_method: 'pat', key_bound: Boolean(publicKey), key_thumbprint: token.keyThumbprint },
    });
    return token;
  });
}

async function trustedKeyFor(rt: Runtime, publicKeyHex: string, tenantHint?: string) {
  const keys = await rt.db.trustedAgentKey.findMany({
    where: { publicKeyHex, revokedAt: null, ...(tenantHint ? { tenantId: tenantHint } : {}) },
    include: { tenant: true },
  });
  if (keys.length > 1) {
    throw new DomainError('ambiguous_agent_key', 'This key is registered with several tenants; pass tenant_id to choose one');
  }
  return keys[0];
}

/** Step 1 of the nonce sign-in: a single-use, 5-minute challenge for a registered key. */
export async function issueNonce(ctx: AuthCtx, input: z.infer<typeof nonceInput>): Promise<{ nonce: string; expiresAt: Date; tenantId: string }> {
  const rt = ctx.runtime;
  await enforce(ctx, agentLimits.noncePerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  const raw = decodePublicKey(input.agentPubkey, ['base58', 'hex', 'base64']);
  if (!raw) throw new DomainError('invalid_request', 'agent_pubkey must be an Ed25519 public key of 32 bytes', { field: ['agentPubkey'] });
  const key = await trustedKeyFor(rt, Buffer.from(raw).toString('hex'), input.tenantId);
  // Same answer shape for unknown keys would hand out nonces nobody can use; say no instead.
  if (!key) throw new DomainError('invalid_credentials', 'This key is not a registered, active trusted agent key');
  if (!key.tenant.agentSecurityMode) throw modeDisabled();
  const now = rt.clock.now();
  const nonce = Array.from({ length: 32 }, () => NONCE_ALPHABET[randomInt(NONCE_ALPHABET.length)]).join('');
  const expiresAt = new Date(now.getTime() + NONCE_TTL_SECONDS * 1000);
  await rt.db.agentNonce.create({
    data: { id: newId('non'), nonce, tenantId: key.tenantId, trustedKeyId: key.id, createdAt: now, expiresAt },
  });
  await rt.db.agentNonce.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - 86_400_000) } } });
  return { nonce, expiresAt, tenantId: key.tenantId };
}

const nonceFailed = () => new DomainError('nonce_invalid', 'The nonce is unknown, expired or already used, or the signature does not verify');

/** Step 2: the key's signature over the nonce → a JWT bound to that key. The nonce is consumed once. */
export async function exchangeNonce(ctx: AuthCtx, input: z.infer<typeof nonceExchangeInput>): Promise<AgentToken> {
  const rt = ctx.runtime;
  await enforce(ctx, agentLimits.exchangePerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  const raw = decodePublicKey(input.agentPubkey, ['base58', 'hex', 'base64']);
  const signature = decodeSignature(input.signature, ['base58', 'base64']);
  if (!raw || !signature) throw nonceFailed();
  const now = rt.clock.now();
  const record = await rt.db.agentNonce.findUnique({ where: { nonce: input.nonce }, include: { trustedKey: { include: { tenant: true } } } });
  if (!record || record.usedAt || record.expiresAt <= now) throw nonceFailed();
  const key = record.trustedKey;
  if (key.revokedAt || key.publicKeyHex !== Buffer.from(raw).toString('hex')) throw nonceFailed();
  if (!verifyEd25519(raw, Buffer.from(input.nonce, 'utf8'), signature)) throw nonceFailed();
  return rt.db.$transaction(async (tx) => {
    await requireAgentMode(tx, key.tenantId);
    const { count } = await tx.agentNonce.updateMany({ where: { id: record.id, usedAt: null }, data: { usedAt: now } });
    if (count !== 1) throw nonceFailed();
    const token = await mintSession(rt, tx, { tenant: key.tenant, publicKey: raw, trustedKeyId: key.id, authMethod: 'ed25519_nonce' });
    await recordAudit(tx, { ...ctx, principal: null }, {
      tenantId: key.tenantId,
      eventType: 'agent_session.created',
      resource: 'agent_session',
      resourceId: token.sessionId,
      actor: { type: 'trusted_agent_key', id: key.keyId },
      details: { auth_method: 'ed25519_nonce', key_thumbprint: token.keyThumbprint },
    });
    return token;
  });
}

const LAST_SEEN_RESOLUTION_MS = 60_000;

/** Agent JWT → principal. The session row is checked on every request, so revocation is immediate. */
export async function resolveAgentToken(rt: Runtime, token: string): Promise<Principal> {
  const claims = await verifyToken<AgentClaims>(rt.keys, 'agent', token, rt.clock.now());
  // Through the node's cache: revoking the session, its PAT or trusted key, or turning agent mode
  // off invalidates it on every node at once (src/kernel/cache.ts).
  const session = await rt.cache.get(
    `agent_session:${claims.jti}`,
    () =>
      rt.db.agentSession.findUnique({
        where: { id: claims.jti },
        include: { tenant: true, pat: { select: { revokedAt: true, expiresAt: true } }, trustedKey: { select: { revokedAt: true } } },
      }),
    (s) => s?.tenantId ?? null,
  );
  const now = rt.clock.now();
  if (!session || session.tenantId !== claims.tid || session.agentId !== claims.sub) {
    throw new DomainError('invalid_credentials', 'The agent token is not valid');
  }
  if (session.revokedAt || session.pat?.revokedAt || session.trustedKey?.revokedAt) {
    throw new DomainError('credential_revoked', 'This agent session has been revoked');
  }
  if (session.expiresAt <= now || (session.pat?.expiresAt && session.pat.expiresAt <= now)) {
    throw new DomainError('token_expired', 'This agent session has expired');
  }
  if (!session.tenant.agentSecurityMode) throw modeDisabled();
  if (!session.lastSeenAt || now.getTime() - session.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    await rt.db.agentSession.update({ where: { id: session.id }, data: { lastSeenAt: now } });
    session.lastSeenAt = now;
  }
  const bound = session.publicKey !== null;
  return {
    kind: 'agent',
    subjectId: session.id,
    agentSessionId: session.id,
    patId: session.patId ?? undefined,
    tenantId: session.tenantId,
    organizationId: session.tenant.organizationId,
    environment: session.tenant.environment,
    roles: [],
    entitlements: [],
    scopes: bound ? [session.scope, 'harbor:read', 'harbor:write'] : [session.scope, 'harbor:read'],
    authMethod: session.authMethod,
    agentKey: bound ? base58.decode(session.publicKey!) : undefined,
    expiresAt: session.expiresAt,
  };
}

export interface AgentIdentity {
  agentId: string;
  sessionId: string | null;
  scope: string;
  issuedAt: Date;
  expiresAt: Date | null;
  authMethod: string;
  keyThumbprint: string | null;
  requiresSignedRequests: boolean;
  tenantId: string;
  environment: Environment;
}

/** What `GET /api/agent/auth/me` reports for a PAT or an agent JWT. */
export async function describeAgent(ctx: ServiceContext & { principal: Principal }): Promise<AgentIdentity> {
  const { principal, runtime: rt } = ctx;
  if (principal.kind === 'pat') {
    const pat = await rt.db.personalAccessToken.findUniqueOrThrow({ where: { id: principal.patId! } });
    return {
      agentId: `pat:${pat.id}`,
      sessionId: null,
      scope: pat.scope,
      issuedAt: pat.createdAt,
      expiresAt: pat.expiresAt,
      authMethod: 'pat',
      keyThumbprint: null,
      requiresSignedRequests: false,
      tenantId: principal.tenantId,
      environment: principal.environment,
    };
  }
  const session = await rt.db.agentSession.findUniqueOrThrow({ where: { id: principal.agentSessionId! } });
  return {
    agentId: session.agentId,
    sessionId: session.id,
    scope: session.scope,
    issuedAt: session.createdAt,
    expiresAt: session.expiresAt,
    authMethod: session.authMethod === 'pat' ? (session.publicKey ? 'pat_ed25519_session' : 'pat') : 'ed25519_session',
    keyThumbprint: session.keyThumbprint,
    requiresSignedRequests: session.scope === SETTLEMENT_SCOPE,
    tenantId: principal.tenantId,
    environment: principal.environment,
  };
}

/** A tenant admin ends one runtime session. */
export async function revokeAgentSession(ctx: ServiceContext & { principal: Principal }, id: string): Promise<AgentSession> {
  const { principal, runtime: rt } = ctx;
  return rt.db.$transaction(async (tx) => {
    const session = await tx.agentSession.findFirst({ where: { id, tenantId: principal.tenantId } });
    if (!session) throw notFound('Agent session');
    if (session.revokedAt) return session;
    const revoked = await tx.agentSession.update({ where: { id }, data: { revokedAt: rt.clock.now(), revokedReason: 'revoked_by_admin' } });
    await recordAudit(tx, ctx, { tenantId: principal.tenantId, eventType: 'agent_session.revoked', resource: 'agent_session', resourceId: id });
    return revoked;
  });
}
