import './errors.ts';
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { environmentSchema } from '../../kernel/environment.ts';
import { dummyPasswordHash, hashPassword, hmacHex, newId, randomToken, safeEqual, sha256Hex, verifyPassword } from '../../crypto/hash.ts';
import { signToken } from '../../crypto/jwt.ts';
import type { Environment, Principal, RequestContext, ServiceContext } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { bucketHash } from '../../kernel/audit/redact.ts';
import { enforce, type LimitPolicy } from '../../kernel/limits/limiter.ts';
import { createOrganization, normalizeEmail } from './organizations.ts';
import { openSession, rotateSession, type AuthTokens } from './sessions.ts';
import { passwordLoginBlocked } from '../sso/enforcement.ts';

const CHALLENGE_TTL_SECONDS = 600;
const CHALLENGE_MAX_ATTEMPTS = 5;

/** Auth routes keep their own limits: per hashed email and per client address. */
export const authLimits = {
  loginStartPerEmail: { group: 'auth_login_start_email', limit: 10, windowSeconds: 900 },
  loginStartPerIp: { group: 'auth_login_start_ip', limit: 60, windowSeconds: 900 },
  verifyPerIp: { group: 'auth_challenge_verify_ip', limit: 60, windowSeconds: 900 },
  refreshPerIp: { group: 'auth_refresh_ip', limit: 120, windowSeconds: 60 },
} satisfies Record<string, LimitPolicy>;

export const loginStartInput = z.object({
  email: z.email().max(254).describe('The account email.'),
  password: z.string().min(1).max(1024).describe('The account password.'),
  organizationName: z.string().trim().min(1).max(100).optional().describe('Name for a new organization (sign-up only).'),
});

export const challengeVerifyInput = z.object({
  challengeId: z.string().min(1).max(64).describe('Id from the login start answer.'),
  code: z.string().regex(/^\d{8}$/, 'must be the 8-digit code from the email').describe('The 8-digit emailed code.'),
  environment: environmentSchema.optional().describe('Preferred environment (default sandbox).'),
});

export const refreshInput = z.object({ refreshToken: z.string().min(1).max(200).describe('The refresh token of the session (single use).') });

export const environmentSwitchInput = z
  .object({
    environment: environmentSchema.optional().describe('The environment to switch to.'),
    tenantId: z.string().min(1).max(64).optional().describe('Or the tenant to switch to.'),
  })
  .refine((v) => v.environment || v.tenantId, { message: 'environment or tenantId is required' });

export interface ChallengeStarted {
  challengeId: string;
  expiresAt: Date;
  delivery: 'email';
}

const codeHash = (ctx: ServiceContext, challengeId: string, code: string) =>
  hmacHex(ctx.runtime.keys.hmacSecret, `challenge:${challengeId}:${code}`);

type AuthCtx = ServiceContext & Pick<RequestContext, 'clientIp'>;

/**
 * Password sign-in, step 1. The answer is the same, and costs one scrypt either way, whether or
 * not the account exists or the password is right; only a real challenge sends an email.
 */
export async function startLogin(ctx: AuthCtx, input: z.infer<typeof loginStartInput>): Promise<ChallengeStarted> {
  const rt = ctx.runtime;
  const email = normalizeEmail(input.email);
  const emailHash = bucketHash(rt.keys.hmacSecret, `email:${email}`);
  await enforce(ctx, authLimits.loginStartPerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  await enforce(ctx, authLimits.loginStartPerEmail, emailHash);

  const now = rt.clock.now();
  const challengeId = newId('chl');
  const code = String(randomInt(0, 100_000_000)).padStart(8, '0');
  const user = await rt.db.user.findUnique({ where: { email } });

  let kind: 'login' | 'signup' = 'login';
  let userId: string | null = null;
  let signupPasswordHash: string | null = null;
  let deliver = false;
  if (user) {
    // SSO-only users have no password; a connection enforcing SSO turns password login off for
    // its domains (except its break-glass admin). Same answer and cost either way.
    const passwordAllowed = user.passwordHash !== null && !(await passwordLoginBlocked(rt.db, user));
    deliver = await verifyPassword(input.password, user.passwordHash ?? (await dummyPasswordHash()));
    deliver &&= passwordAllowed;
    if (deliver) userId = user.id;
  } else if (rt.config.ALLOW_SIGNUP) {
    kind = 'signup';
    signupPasswordHash = await hashPassword(input.password);
    deliver = true;
  } else {
    await verifyPassword(input.password, await dummyPasswordHash());
  }

  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000);
  await rt.db.authChallenge.create({
    data: {
      id: challengeId,
      kind,
      emailHash,
      userId,
      // An undeliverable challenge gets a code nobody knows, so verifying it always fails.
      codeHash: codeHash(ctx, challengeId, deliver ? code : randomToken(16)),
      signupPasswordHash,
      signupOrgName: kind === 'signup' ? (input.organizationName ?? null) : null,
      signupEmail: kind === 'signup' ? email : null,
      expiresAt,
      createdAt: now,
    },
  });
  // Challenges are short-lived; drop old ones (and any unconfirmed sign-up address) as we go.
  await rt.db.authChallenge.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - 86_400_000) } } });
  if (deliver) {
    const subject = kind === 'signup' ? 'Finish creating your Paybond account' : 'Your Paybond sign-in code';
    // Not awaited: waiting for SMTP only on this path would reveal that the account exists.
    rt.mailer
      .send({ to: email, subject, text: `Your code is ${code}. It expires in ${CHALLENGE_TTL_SECONDS / 60} minutes.` })
      .catch((error: unknown) => rt.log.error({ err: error, challengeId }, 'sending the challenge email failed'));
  }
  return { challengeId, expiresAt, delivery: 'email' };
}

const challengeFailed = () => new DomainError('challenge_failed', 'The code is wrong, expired or already used');

/** Password sign-in / sign-up, step 2: a correct code opens a session. */
export async function verifyChallenge(ctx: AuthCtx, input: z.infer<typeof challengeVerifyInput>): Promise<AuthTokens> {
  const rt = ctx.runtime;
  await enforce(ctx, authLimits.verifyPerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  const now = rt.clock.now();
  const challenge = await rt.db.authChallenge.findUnique({ where: { id: input.challengeId } });
  if (!challenge || challenge.consumedAt || challenge.expiresAt <= now || challenge.attempts >= CHALLENGE_MAX_ATTEMPTS) {
    throw challengeFailed();
  }
  if (!safeEqual(codeHash(ctx, challenge.id, input.code), challenge.codeHash)) {
    await rt.db.authChallenge.update({ where: { id: challenge.id }, data: { attempts: { increment: 1 } } });
    throw challengeFailed();
  }
  return rt.db.$transaction(async (tx) => {
    // Consume exactly once even if two verifications race.
    const { count } = await tx.authChallenge.updateMany({
      where: { id: challenge.id, consumedAt: null },
      data: { consumedAt: now, signupEmail: null, signupPasswordHash: null },
    });
    if (count !== 1) throw challengeFailed();

    let userId = challenge.userId;
    if (challenge.kind === 'signup') {
      const email = challenge.signupEmail;
      if (!email || !challenge.signupPasswordHash) throw challengeFailed();
      if (await tx.user.findUnique({ where: { email } })) throw challengeFailed();
      const created = await createOrganization(
        tx,
        {
          name: challenge.signupOrgName ?? `${email.split('@')[1] ?? 'My'} organization`,
          admin: { email, passwordHash: challenge.signupPasswordHash },
        },
        now,
      );
      userId = created.userId;
    }
    if (!userId) throw challengeFailed();
    const memberships = await tx.membership.findMany({ where: { userId }, include: { tenant: true }, orderBy: { createdAt: 'asc' } });
    const preferred: Environment = input.environment ?? 'sandbox';
    const membership = memberships.find((m) => m.tenant.environment === preferred) ?? memberships[0];
    if (!membership) throw new DomainError('forbidden', 'This account has no tenant access');
    await tx.user.update({ where: { id: userId }, data: { lastLoginAt: now } });
    const tokens = await openSession(rt, tx, userId, membership.tenantId);
    await recordAudit(tx, ctx, {
      tenantId: membership.tenantId,
      eventType: challenge.kind === 'signup' ? 'auth.signup_completed' : 'auth.session_created',
      resource: 'session',
      resourceId: tokens.sessionId,
      actor: { type: 'user', id: userId },
    });
    return tokens;
  });
}

/** Rotate a refresh token. Presenting an already-used one revokes the whole session family. */
export async function refreshSession(ctx: AuthCtx, input: z.infer<typeof refreshInput>): Promise<AuthTokens> {
  const rt = ctx.runtime;
  await enforce(ctx, authLimits.refreshPerIp, bucketHash(rt.keys.hmacSecret, `ip:${ctx.clientIp}`));
  const now = rt.clock.now();
  const record = await rt.db.refreshToken.findUnique({
    where: { tokenHash: sha256Hex(input.refreshToken) },
    include: { session: true },
  });
  if (!record) throw new DomainError('invalid_credentials', 'The refresh token is not valid');
  const { session } = record;
  if (session.revokedAt) throw new DomainError('credential_revoked', 'The session has ended');

  const outcome = await rt.db.$transaction(async (tx) => {
    const { count } = await tx.refreshToken.updateMany({ where: { id: record.id, usedAt: null }, data: { usedAt: now } });
    if (count !== 1) {
      await tx.session.update({ where: { id: session.id }, data: { revokedAt: now, revokedReason: 'refresh_token_reused' } });
      await recordAudit(tx, ctx, {
        tenantId: session.tenantId,
        eventType: 'auth.refresh_token_reused',
        resource: 'session',
        resourceId: session.id,
        decision: 'denied',
        actor: { type: 'user', id: session.userId },
      });
      return 'reused' as const;
    }
    if (record.expiresAt <= now || session.expiresAt <= now) return 'expired' as const;
    return rotateSession(rt, tx, session);
  });
  if (outcome === 'reused') {
    throw new DomainError('refresh_token_reused', 'This refresh token was already used; the session has been revoked');
  }
  if (outcome === 'expired') throw new DomainError('token_expired', 'The refresh token has expired');
  return outcome;
}

export async function logout(ctx: ServiceContext & { principal: Principal }): Promise<void> {
  const { runtime: rt, principal } = ctx;
  await rt.db.$transaction(async (tx) => {
    await tx.session.updateMany({
      where: { id: principal.sessionId!, revokedAt: null },
      data: { revokedAt: rt.clock.now(), revokedReason: 'logout' },
    });
    await recordAudit(tx, ctx, { tenantId: principal.tenantId, eventType: 'auth.logout', resource: 'session', resourceId: principal.sessionId });
  });
}

export interface EnvironmentGrant {
  tenantId: string;
  organizationId: string;
  environment: Environment;
  roles: string[];
  entitlements: string[];
  current: boolean;
}

/** The user's live/sandbox tenants in the active organization. */
export async function listEnvironments(ctx: ServiceContext & { principal: Principal }): Promise<EnvironmentGrant[]> {
  const { principal } = ctx;
  const memberships = await ctx.runtime.db.membership.findMany({
    where: { userId: principal.userId!, tenant: { organizationId: principal.organizationId } },
    include: { tenant: true },
    orderBy: { tenant: { environment: 'asc' } },
  });
  return memberships.map((m) => ({
    tenantId: m.tenantId,
    organizationId: m.tenant.organizationId,
    environment: m.tenant.environment,
    roles: [m.role],
    entitlements: m.entitlements,
    current: m.tenantId === principal.tenantId,
  }));
}

export async function switchEnvironment(
  ctx: ServiceContext & { principal: Principal },
  input: z.infer<typeof environmentSwitchInput>,
): Promise<AuthTokens> {
  const grants = await listEnvironments(ctx);
  const target = grants.find((g) => (input.tenantId ? g.tenantId === input.tenantId : g.environment === input.environment));
  if (!target || (input.environment && target.environment !== input.environment)) {
    throw new DomainError('forbidden', 'You have no access to that environment in this organization');
  }
  return ctx.runtime.db.$transaction(async (tx) => {
    const tokens = await openSession(ctx.runtime, tx, ctx.principal.userId!, target.tenantId);
    await recordAudit(tx, ctx, {
      tenantId: target.tenantId,
      eventType: 'auth.environment_switched',
      resource: 'session',
      resourceId: tokens.sessionId,
      details: { from_tenant_id: ctx.principal.tenantId },
    });
    return tokens;
  });
}

export interface HarborAccess {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: Date;
  tenantId: string;
  environment: Environment;
  scope: string;
}

export const HARBOR_SCOPE = 'harbor:read harbor:write';

/** Exchange a machine credential (API key) for a short-lived Harbor JWT. */
export async function issueHarborAccess(ctx: ServiceContext & { principal: Principal }): Promise<HarborAccess> {
  const { runtime: rt, principal } = ctx;
  const ttl = rt.config.HARBOR_TOKEN_TTL_SECONDS;
  const issued = await signToken(
    rt.keys,
    'harbor',
    { sub: principal.apiKeyId!, tid: principal.tenantId, org: principal.organizationId, env: principal.environment, scope: HARBOR_SCOPE },
    rt.clock.now(),
    ttl,
  );
  await recordAudit(rt.db, ctx, {
    tenantId: principal.tenantId,
    eventType: 'auth.harbor_token_issued',
    resource: 'api_key',
    resourceId: principal.apiKeyId,
    details: { expires_at: issued.expiresAt.toISOString(), jti_sha256: sha256Hex(issued.jti) },
  });
  return {
    accessToken: issued.token,
    tokenType: 'Bearer',
    expiresIn: ttl,
    expiresAt: issued.expiresAt,
    tenantId: principal.tenantId,
    environment: principal.environment,
    scope: HARBOR_SCOPE,
  };
}
