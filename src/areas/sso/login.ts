import './errors.ts';
import { z } from 'zod';
import { newId, randomToken, safeEqual, sha256Hex } from '../../crypto/hash.ts';
import type { Environment, Runtime, ServiceContext } from '../../context.ts';
import type { SsoConnection } from '../../generated/prisma/client.ts';
import type { Tx } from '../../db.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { bucketHash } from '../../kernel/audit/redact.ts';
import { environmentSchema } from '../../kernel/environment.ts';
import { DomainError } from '../../kernel/errors.ts';
import { enforce, type LimitPolicy } from '../../kernel/limits/limiter.ts';
import { normalizeEmail } from '../identity/organizations.ts';
import { openSession, type AuthTokens } from '../identity/sessions.ts';
import { SsoError } from './errors.ts';
import { baseUrlOf, oidcConnectionOf, oidcCoreOf, samlProviderOf } from './connections.ts';
import { evaluateRoleMappings, storedRules, type Grant, type MappingClaims } from './roles.ts';

/** A login attempt lives 10 minutes; a handoff code 60 seconds. */
export const ATTEMPT_TTL_MS = 10 * 60_000;
export const HANDOFF_TTL_MS = 60_000;
/** The browser-binding cookie set by initiate and read by the callback. */
export const BINDING_COOKIE = '__Host-paybond-sso';

export const ssoLimits = {
  initiatePerIp: { group: 'auth_sso_initiate_ip', limit: 60, windowSeconds: 900 },
  callbackPerIp: { group: 'auth_sso_callback_ip', limit: 60, windowSeconds: 900 },
  exchangePerIp: { group: 'auth_sso_exchange_ip', limit: 60, windowSeconds: 900 },
} satisfies Record<string, LimitPolicy>;

export const ssoInitiateQuery = z
  .object({
    connection: z.string().min(1).max(64).optional().describe('The SSO connection id.'),
    organization: z.string().min(1).max(64).optional().describe('Or the organization id (its active connection).'),
    email: z.email().max(254).optional().describe('Or the user’s email (the active connection listing its domain).'),
    return_to: z.url().max(2048).describe('Where the browser returns after sign-in: must exactly match the connection’s allowlist.'),
    environment: environmentSchema.optional().describe('Preferred environment of the session (default sandbox).'),
  })
  .refine((q) => [q.connection, q.organization, q.email].filter(Boolean).length === 1, { message: 'give exactly one of connection, organization or email' });

export const ssoHandoffExchangeInput = z.object({
  code: z.string().min(16).max(128).describe('The single-use sso_code appended to return_to (valid 60 seconds).'),
});

type Ctx = ServiceContext & { clientIp: string };

const notFound = () => new DomainError('not_found', 'No active SSO connection matches');

/** An active connection by id, organization or email domain (anything else is a 404). */
async function findConnection(rt: Runtime, query: z.infer<typeof ssoInitiateQuery>): Promise<SsoConnection> {
  if (query.connection) {
    const conn = await rt.db.ssoConnection.findUnique({ where: { id: query.connection } });
    if (!conn || conn.status !== 'active') throw notFound();
    return conn;
  }
  const where = query.organization
    ? { organizationId: query.organization, status: 'active' }
    : { status: 'active', allowedDomains: { has: normalizeEmail(query.email!).split('@')[1] ?? '' } };
  const found = await rt.db.ssoConnection.findMany({ where, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: 2 });
  // An email domain claimed by two organizations' connections is ambiguous: refuse rather than guess.
  if (found.length !== 1 && !(query.organization && found.length > 0)) throw notFound();
  return found[0]!;
}

/** The tenant audit events of a connection go to (the organization's sandbox tenant, else any). */
async function auditTenantOf(db: Tx, organizationId: string, environment: string = 'sandbox'): Promise<string | null> {
  const tenants = await db.tenant.findMany({ where: { organizationId }, select: { id: true, environment: true } });
  return (tenants.find((t) => t.environment === environment) ?? tenants[0])?.id ?? null;
}

interface LoginAudit {
  connection: SsoConnection;
  decision: 'allowed' | 'denied';
  reason?: string;
  detail?: string;
  userId?: string;
  tenantId?: string;
  extra?: Record<string, unknown>;
}

async function auditLogin(db: Tx, ctx: ServiceContext, entry: LoginAudit): Promise<void> {
  const tenantId = entry.tenantId ?? (await auditTenantOf(db, entry.connection.organizationId));
  if (!tenantId) return;
  await recordAudit(db, ctx, {
    tenantId,
    eventType: 'auth.sso_login',
    resource: 'sso_connection',
    resourceId: entry.connection.id,
    decision: entry.decision,
    actor: entry.userId ? { type: 'user', id: entry.userId } : { type: 'anonymous', id: null },
    details: {
      protocol: entry.connection.protocol,
      ...(entry.reason ? { reason: entry.reason } : {}),
      ...(entry.detail ? { detail: entry.detail } : {}),
      ...(entry.extra ?? {}),
    },
  });
}

export interface InitiateResult {
  redirectUrl: string;
  /** The browser-binding secret for the cookie (only its hash is stored). */
  bindingSecret: string;
  attemptId: string;
  expiresAt: Date;
}

/** Start a login: store the attempt (state, nonce, PKCE verifier or SAML request id) and the browser binding. */
export async function initiateLogin(ctx: Ctx, query: z.infer<typeof ssoInitiateQuery>, requestUrl: string): Promise<InitiateResult> {
  const rt = ctx.runtime;
  await enforce(ctx, ssoLimits.initiatePerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  const conn = await findConnection(rt, query);
  if (!conn.returnToAllowlist.includes(query.return_to)) {
    await auditLogin(rt.db, ctx, { connection: conn, decision: 'denied', reason: 'return_to_not_allowed' });
    throw new DomainError('sso_return_to_not_allowed', 'return_to is not on this connection’s allowlist', { field: ['return_to'] });
  }
  const base = baseUrlOf(rt, requestUrl);
  const attemptId = `ssa_${randomToken(24)}`;
  const bindingSecret = randomToken(32);
  const now = rt.clock.now();
  let redirectUrl: string;
  let nonce: string | null = null;
  let pkceVerifier: string | null = null;
  let samlRequestId: string | null = null;
  try {
    if (conn.protocol === 'oidc') {
      const start = await oidcCoreOf(rt).beginLogin(oidcConnectionOf(rt, conn, base), { state: attemptId, ...(query.email ? { loginHint: query.email } : {}) });
      redirectUrl = start.url.href;
      nonce = start.nonce;
      pkceVerifier = start.pkceVerifier;
    } else {
      const start = await samlProviderOf(rt, conn, base).createLoginRequest(attemptId);
      redirectUrl = start.url.href;
      samlRequestId = start.requestId;
    }
  } catch (error) {
    const reason = error instanceof SsoError ? error.code : 'unexpected';
    await auditLogin(rt.db, ctx, { connection: conn, decision: 'denied', reason, detail: error instanceof SsoError ? error.detail : undefined });
    if (!(error instanceof SsoError)) rt.log.error({ err: error, connection_id: conn.id }, 'SSO initiate failed');
    throw new DomainError('service_unavailable', 'The identity provider cannot be reached right now', { headers: { 'retry-after': '30' } });
  }
  const expiresAt = new Date(now.getTime() + ATTEMPT_TTL_MS);
  await rt.db.ssoLoginAttempt.create({
    data: {
      id: attemptId,
      connectionId: conn.id,
      nonce,
      pkceVerifier,
      samlRequestId,
      returnTo: query.return_to,
      environment: query.environment ?? 'sandbox',
      browserBindingHash: sha256Hex(bindingSecret),
      expiresAt,
      createdAt: now,
    },
  });
  return { redirectUrl, bindingSecret, attemptId, expiresAt };
}

/** The verified identity either protocol produced, in the words provisioning needs. */
interface VerifiedIdentity {
  issuer: string;
  subject: string;
  email?: string;
  /** OIDC: `email_verified === true`; SAML: the configured IdP is trusted for it. */
  emailVerified: boolean;
  claims: MappingClaims;
}

export type CallbackOutcome =
  | { kind: 'handoff'; redirectUrl: string }
  | { kind: 'tokens'; tokens: AuthTokens };

const loginFailed = (code: string) =>
  new DomainError('sso_login_failed', 'Single sign-on failed', { details: { reason: code } });
const notProvisioned = () =>
  new DomainError('sso_user_not_provisioned', 'This identity has no access here; ask an administrator to provision it');

class Refusal extends Error {
  constructor(
    readonly error: DomainError,
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(reason);
  }
}

/**
 * Consume the attempt (once, whatever happens next), check the browser binding and the
 * connection, then run `verify` and provision. Every outcome with a known attempt writes one
 * `auth.sso_login` audit event; nothing is created on a refusal.
 */
async function completeLogin(
  ctx: Ctx,
  attemptId: string | undefined,
  bindingSecret: string | undefined,
  protocol: 'oidc' | 'saml',
  wantsJson: boolean,
  verify: (conn: SsoConnection, attempt: { id: string; nonce: string | null; pkceVerifier: string | null; samlRequestId: string | null }, base: string) => Promise<VerifiedIdentity>,
  requestUrl: string,
): Promise<CallbackOutcome> {
  const rt = ctx.runtime;
  await enforce(ctx, ssoLimits.callbackPerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  if (!attemptId) throw loginFailed(protocol === 'oidc' ? 'state_missing' : 'relay_state_missing');
  const attempt = /^ssa_[1-9A-HJ-NP-Za-km-z]{20,64}$/.test(attemptId) ? await rt.db.ssoLoginAttempt.findUnique({ where: { id: attemptId } }) : null;
  if (!attempt) throw loginFailed(protocol === 'oidc' ? 'state_mismatch' : 'relay_state_mismatch');
  const conn = await rt.db.ssoConnection.findUnique({ where: { id: attempt.connectionId } });
  if (!conn) throw loginFailed('connection_missing');
  const now = rt.clock.now();

  try {
    // Single use, success or not: a second callback with the same state never gets further.
    const { count } = await rt.db.ssoLoginAttempt.updateMany({ where: { id: attempt.id, consumedAt: null }, data: { consumedAt: now } });
    if (count !== 1) throw new Refusal(loginFailed('attempt_reused'), 'attempt_reused');
    if (attempt.expiresAt <= now) throw new Refusal(loginFailed('attempt_expired'), 'attempt_expired');
    if (!bindingSecret || !safeEqual(sha256Hex(bindingSecret), attempt.browserBindingHash)) {
      throw new Refusal(loginFailed('browser_mismatch'), 'browser_mismatch');
    }
    if (conn.status !== 'active') throw new Refusal(loginFailed('connection_disabled'), 'connection_disabled');
    if (conn.protocol !== protocol) throw new Refusal(loginFailed('protocol_mismatch'), 'protocol_mismatch');
    let identity: VerifiedIdentity;
    try {
      identity = await verify(conn, attempt, baseUrlOf(rt, requestUrl));
    } catch (error) {
      if (error instanceof SsoError) throw new Refusal(loginFailed(error.code), error.code, error.detail);
      throw error;
    }

    return await rt.db.$transaction(async (tx) => {
      const provisioned = await provision(ctx, tx, conn, identity);
      const tenant = provisioned.tenants.find((t) => t.environment === attempt.environment) ?? provisioned.tenants[0]!;
      await auditLogin(tx, ctx, {
        connection: conn,
        decision: 'allowed',
        userId: provisioned.userId,
        tenantId: tenant.tenantId,
        extra: { created_user: provisioned.createdUser, linked_identity: provisioned.linked, demoted_tenants: provisioned.changedTenants.length },
      });
      if (wantsJson) return { kind: 'tokens', tokens: await openSession(rt, tx, provisioned.userId, tenant.tenantId, { authMethod: 'sso', ssoConnectionId: conn.id }) };
      const code = randomToken(32);
      await tx.ssoHandoff.create({
        data: {
          id: newId('sho'),
          codeHash: sha256Hex(code),
          userId: provisioned.userId,
          tenantId: tenant.tenantId,
          connectionId: conn.id,
          expiresAt: new Date(now.getTime() + HANDOFF_TTL_MS),
          createdAt: now,
        },
      });
      const target = new URL(attempt.returnTo);
      target.searchParams.set('sso_code', code);
      return { kind: 'handoff', redirectUrl: target.href };
    });
  } catch (error) {
    if (error instanceof Refusal) {
      await auditLogin(rt.db, ctx, { connection: conn, decision: 'denied', reason: error.reason, detail: error.detail });
      throw error.error;
    }
    throw error;
  }
}

const lists = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : typeof value === 'number' || typeof value === 'boolean' ? [String(value)] : Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];

function mappingClaims(raw: Record<string, unknown>, email: string | undefined, groups: string[]): MappingClaims {
  const claims: MappingClaims = Object.create(null);
  for (const [key, value] of Object.entries(raw)) claims[key] = lists(value);
  claims.groups = groups;
  if (email) {
    claims.email = [normalizeEmail(email)];
    claims.email_domain = [normalizeEmail(email).split('@')[1] ?? ''];
  }
  return claims;
}

/** OIDC callback (GET): the authorization response in the query. */
export function completeOidcLogin(ctx: Ctx, query: URLSearchParams, bindingSecret: string | undefined, wantsJson: boolean, requestUrl: string): Promise<CallbackOutcome> {
  return completeLogin(ctx, query.get('state') ?? undefined, bindingSecret, 'oidc', wantsJson, async (conn, attempt, base) => {
    const identity = await oidcCoreOf(ctx.runtime).completeLogin(oidcConnectionOf(ctx.runtime, conn, base), query, {
      state: attempt.id,
      nonce: attempt.nonce ?? '',
      pkceVerifier: attempt.pkceVerifier ?? '',
    });
    return {
      issuer: identity.issuer,
      subject: identity.subject,
      email: identity.email,
      emailVerified: identity.emailVerified,
      claims: mappingClaims({ ...(identity.userInfo ?? {}), ...identity.idTokenClaims }, identity.email, identity.groups),
    };
  }, requestUrl);
}

/** SAML callback (POST, form-encoded `SAMLResponse` and `RelayState`). */
export function completeSamlLogin(ctx: Ctx, form: URLSearchParams, bindingSecret: string | undefined, wantsJson: boolean, requestUrl: string): Promise<CallbackOutcome> {
  return completeLogin(ctx, form.get('RelayState') ?? undefined, bindingSecret, 'saml', wantsJson, async (conn, attempt, base) => {
    const identity = await samlProviderOf(ctx.runtime, conn, base).validatePostResponse({ SAMLResponse: form.get('SAMLResponse') ?? undefined }, { requestId: attempt.samlRequestId ?? '' });
    return {
      issuer: identity.issuer,
      subject: identity.nameId,
      email: identity.email,
      emailVerified: identity.email !== undefined,
      claims: mappingClaims(identity.attributes, identity.email, identity.groups),
    };
  }, requestUrl);
}

interface Provisioned {
  userId: string;
  createdUser: boolean;
  linked: boolean;
  tenants: Array<{ tenantId: string; environment: Environment }>;
  changedTenants: string[];
}

/**
 * The user behind a verified identity, and their memberships as the role mappings say now.
 *
 * `(connection, issuer, subject)` finds a linked user. Otherwise, only with JIT on, a verified
 * email in an allowed domain: an existing user is linked only if already a member of this
 * organization, else a new SSO-only user is created. Everything else is the same 403, so the
 * answer says nothing about accounts elsewhere. Memberships are then set to the mapping's result;
 * a changed or removed membership revokes the user's sessions in that tenant.
 */
async function provision(ctx: Ctx, tx: Tx, conn: SsoConnection, identity: VerifiedIdentity): Promise<Provisioned> {
  const rt = ctx.runtime;
  const now = rt.clock.now();
  const tenants = await tx.tenant.findMany({ where: { organizationId: conn.organizationId }, select: { id: true, environment: true } });
  const grants = evaluateRoleMappings(storedRules(conn.roleMappings), conn.defaultRole, identity.claims);
  const refuse = (reason: string): never => {
    throw new Refusal(notProvisioned(), reason);
  };
  if (!grants.live && !grants.sandbox) refuse('no_role_mapping_matched');

  let createdUser = false;
  let linked = false;
  const existing = await tx.userIdentity.findUnique({ where: { connectionId_issuer_subject: { connectionId: conn.id, issuer: identity.issuer, subject: identity.subject } } });
  let userId = existing?.userId;
  if (!userId) {
    if (!conn.jitEnabled) refuse('jit_disabled');
    if (!identity.email) refuse('email_missing');
    if (!identity.emailVerified) refuse('email_unverified');
    const email = normalizeEmail(identity.email!);
    const domain = email.split('@')[1] ?? '';
    if (!conn.allowedDomains.includes(domain)) refuse('domain_not_allowed');
    const user = await tx.user.findUnique({ where: { email } });
    if (user) {
      const member = await tx.membership.findFirst({ where: { userId: user.id, tenant: { organizationId: conn.organizationId } } });
      if (!member) refuse('email_belongs_to_another_organization');
      userId = user.id;
      linked = true;
    } else {
      userId = newId('usr');
      await tx.user.create({ data: { id: userId, email, passwordHash: null, createdAt: now } });
      createdUser = true;
    }
    await tx.userIdentity.create({ data: { id: newId('uid'), connectionId: conn.id, issuer: identity.issuer, subject: identity.subject, userId: userId!, createdAt: now } });
  }
  await tx.userIdentity.updateMany({ where: { connectionId: conn.id, issuer: identity.issuer, subject: identity.subject }, data: { lastLoginAt: now } });
  await tx.user.update({ where: { id: userId! }, data: { lastLoginAt: now } });

  const changedTenants: string[] = [];
  const granted: Provisioned['tenants'] = [];
  for (const tenant of tenants) {
    const grant: Grant | null = grants[tenant.environment];
    const membership = await tx.membership.findUnique({ where: { userId_tenantId: { userId: userId!, tenantId: tenant.id } } });
    const same = (m: { role: string; entitlements: string[] }, g: Grant) => m.role === g.role && [...m.entitlements].sort().join(',') === [...g.entitlements].sort().join(',');
    if (!grant) {
      if (membership) {
        await tx.membership.delete({ where: { id: membership.id } });
        changedTenants.push(tenant.id);
      }
      continue;
    }
    granted.push({ tenantId: tenant.id, environment: tenant.environment });
    if (!membership) {
      await tx.membership.create({ data: { id: newId('mem'), userId: userId!, tenantId: tenant.id, role: grant.role, entitlements: grant.entitlements, createdAt: now } });
    } else if (!same(membership, grant)) {
      await tx.membership.update({ where: { id: membership.id }, data: { role: grant.role, entitlements: grant.entitlements } });
      changedTenants.push(tenant.id);
    }
  }
  for (const tenantId of changedTenants) {
    await tx.session.updateMany({ where: { userId: userId!, tenantId, revokedAt: null }, data: { revokedAt: now, revokedReason: 'sso_role_changed' } });
    await recordAudit(tx, ctx, {
      tenantId,
      eventType: 'auth.sso_membership_changed',
      resource: 'user',
      resourceId: userId!,
      actor: { type: 'sso_connection', id: conn.id },
      details: { sessions_revoked: true },
    });
  }
  if (!granted.length) refuse('no_tenant_granted');
  return { userId: userId!, createdUser, linked, tenants: granted, changedTenants };
}

/** Exchange the handoff code from the redirect for session tokens (once, within 60 seconds). */
export async function exchangeHandoff(ctx: Ctx, input: z.infer<typeof ssoHandoffExchangeInput>): Promise<AuthTokens> {
  const rt = ctx.runtime;
  await enforce(ctx, ssoLimits.exchangePerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  const now = rt.clock.now();
  const invalid = () => new DomainError('sso_handoff_invalid', 'The SSO code is wrong, expired or already used');
  const handoff = await rt.db.ssoHandoff.findUnique({ where: { codeHash: sha256Hex(input.code) } });
  if (!handoff) throw invalid();
  return rt.db.$transaction(async (tx) => {
    const { count } = await tx.ssoHandoff.updateMany({ where: { id: handoff.id, consumedAt: null, expiresAt: { gt: now } }, data: { consumedAt: now } });
    if (count !== 1) throw invalid();
    const tokens = await openSession(rt, tx, handoff.userId, handoff.tenantId, { authMethod: 'sso', ssoConnectionId: handoff.connectionId });
    await recordAudit(tx, ctx, {
      tenantId: handoff.tenantId,
      eventType: 'auth.session_created',
      resource: 'session',
      resourceId: tokens.sessionId,
      actor: { type: 'user', id: handoff.userId },
      details: { method: 'sso', connection_id: handoff.connectionId },
    });
    return tokens;
  });
}

/** SP metadata of an active SAML connection (404 for anything else). */
export async function samlMetadata(rt: Runtime, connectionId: string, requestUrl: string): Promise<string> {
  const conn = await rt.db.ssoConnection.findUnique({ where: { id: connectionId } });
  if (!conn || conn.protocol !== 'saml' || conn.status === 'disabled') throw new DomainError('not_found', 'No such SAML connection');
  return samlProviderOf(rt, conn, baseUrlOf(rt, requestUrl)).metadata();
}
