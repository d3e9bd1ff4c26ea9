import './errors.ts';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import { signToken } from '../../crypto/jwt.ts';
import type { Environment, Principal, ServiceContext } from '../../context.ts';
import type { SupportSession } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { SUPPORT_AGENT_ENTITLEMENT, SUPPORT_TOKEN_KIND, type SupportClaims } from './support-token.ts';

export const SUPPORT_PERMISSIONS = ['read', 'settlement.reconcile', 'webhooks.replay'] as const;
export const MAX_SUPPORT_SECONDS = 3600;

export const supportSessionCreateInput = z.object({
  reason: z.string().trim().min(20).max(1000).describe('Why support needs access (at least 20 characters); shown to the tenant’s admins.'),
  ticketRef: z.string().trim().min(1).max(100).optional().describe('Support ticket reference.'),
  durationSeconds: z.number().int().min(60).max(MAX_SUPPORT_SECONDS).default(1800).describe('Lifetime in seconds, at most 3600 (default 1800).'),
  permissions: z
    .array(z.enum(SUPPORT_PERMISSIONS))
    .min(1)
    .max(3)
    .default(['read'])
    .describe('read (always included), settlement.reconcile, webhooks.replay.'),
});

/**
 * Mutation root fields each write permission opens to a support session; every other mutation is
 * refused with 403 support_session_read_only. Webhook replays are the `webhook…Replay` /
 * `webhook…Redeliver` fields of the webhooks area.
 */
export function supportMayRun(permissions: readonly string[], field: string): boolean {
  if (permissions.includes('settlement.reconcile') && field === 'stripeReconcile') return true;
  if (permissions.includes('webhooks.replay') && /^webhook[A-Za-z]*(Replay|Redeliver)$/.test(field)) return true;
  return false;
}

export interface IssuedSupportSession {
  supportSession: SupportSession;
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  expiresAt: Date;
  environment: Environment;
}

type HumanCtx = ServiceContext & { principal: Principal };

/**
 * A support engineer (a member holding `support.agent` in this tenant, on their own session) opens
 * a time-boxed session: a non-refreshable access token (JWT kind `support`, `act.sub` = the staff
 * user) fixed to this tenant and environment.
 */
export async function createSupportSession(ctx: HumanCtx, input: z.infer<typeof supportSessionCreateInput>): Promise<IssuedSupportSession> {
  const { runtime: rt, principal } = ctx;
  if (principal.support) throw new DomainError('support_session_read_only', 'A support session cannot open another one');
  const membership = principal.userId
    ? await rt.db.membership.findUnique({ where: { userId_tenantId: { userId: principal.userId, tenantId: principal.tenantId } } })
    : null;
  if (principal.kind !== 'user' || !membership?.entitlements.includes(SUPPORT_AGENT_ENTITLEMENT)) {
    throw new DomainError('support_agent_required', 'Opening a support session needs the support.agent entitlement in this tenant');
  }
  const permissions = [...new Set(['read', ...input.permissions])].sort();
  const now = rt.clock.now();
  const id = newId('sup');
  const expiresAt = new Date(now.getTime() + input.durationSeconds * 1000);
  const claims: SupportClaims & { sub: string } = {
    sub: principal.tenantId,
    tid: principal.tenantId,
    org: principal.organizationId,
    env: principal.environment,
    ssid: id,
    scope: permissions.join(' '),
    act: { sub: principal.userId! },
  };
  const issued = await signToken(rt.keys, SUPPORT_TOKEN_KIND, { ...claims }, now, input.durationSeconds);
  const supportSession = await rt.db.$transaction(async (tx) => {
    const row = await tx.supportSession.create({
      data: { id, tenantId: principal.tenantId, staffUserId: principal.userId!, reason: input.reason, ticketRef: input.ticketRef ?? null, permissions, createdAt: now, expiresAt },
    });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: 'support_session.created',
      resource: 'support_session',
      resourceId: id,
      details: { permissions, duration_seconds: input.durationSeconds, expires_at: expiresAt.toISOString(), has_ticket_ref: Boolean(input.ticketRef) },
    });
    return row;
  });
  return { supportSession, accessToken: issued.token, tokenType: 'Bearer', expiresIn: input.durationSeconds, expiresAt, environment: principal.environment };
}

/** A tenant admin ends a support session; its token answers 401 from the next request on. */
export async function revokeSupportSession(ctx: HumanCtx, id: string): Promise<SupportSession> {
  const { runtime: rt, principal } = ctx;
  const row = await rt.db.supportSession.findUnique({ where: { id } });
  if (!row || row.tenantId !== principal.tenantId) throw new DomainError('not_found', 'No such support session');
  if (row.revokedAt) return row;
  return rt.db.$transaction(async (tx) => {
    const revoked = await tx.supportSession.update({ where: { id }, data: { revokedAt: rt.clock.now(), revokedBy: principal.subjectId } });
    await recordAudit(tx, ctx, { tenantId: principal.tenantId, eventType: 'support_session.revoked', resource: 'support_session', resourceId: id });
    return revoked;
  });
}

export const supportSessionStatus = (s: SupportSession, now: Date): 'active' | 'revoked' | 'expired' =>
  s.revokedAt ? 'revoked' : s.expiresAt <= now ? 'expired' : 'active';

/** One request made under a support session: counted on the row and audited (method, route, status). */
export async function recordSupportRequest(
  ctx: ServiceContext,
  principal: Principal,
  request: { method: string; route: string; status: number },
): Promise<void> {
  const rt = ctx.runtime;
  const support = principal.support!;
  await rt.db.$transaction(async (tx) => {
    await tx.supportSession.update({ where: { id: support.sessionId }, data: { requestCount: { increment: 1 }, lastUsedAt: rt.clock.now() } });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: 'support_session.request',
      resource: 'support_session',
      resourceId: support.sessionId,
      decision: request.status < 400 ? 'allowed' : 'denied',
      details: { method: request.method, route: request.route, status: request.status, support_session_id: support.sessionId },
    });
  });
}
