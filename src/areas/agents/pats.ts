import './errors.ts';
import { z } from 'zod';
import { newId, randomToken, sha256Hex } from '../../crypto/hash.ts';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { PersonalAccessToken } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { modeDisabled, requireAgentMode } from './mode.ts';

/**
 * Personal Access Tokens: the agent's bootstrap credential. `paybond_pat_<secret>`, shown once,
 * stored as SHA-256. A PAT reads host APIs and can be exchanged for a key-bound runtime JWT; it
 * never moves money itself.
 */
export const PAT_PREFIX = 'paybond_pat_';
export const PAT_SCOPE = 'agent:runtime';
const LAST_USED_RESOLUTION_MS = 60_000;

export const patCreateInput = z.object({
  name: z.string().trim().min(1).max(100).describe('A name to tell tokens apart.'),
  expiresInDays: z.number().int().min(0).max(365).optional().describe('1–365; omit or 0 for no expiry.'),
});

export interface IssuedPat {
  pat: PersonalAccessToken;
  token: string;
}

export async function createPat(ctx: ServiceContext & { principal: Principal }, input: z.infer<typeof patCreateInput>): Promise<IssuedPat> {
  const { principal, runtime: rt } = ctx;
  const now = rt.clock.now();
  return rt.db.$transaction(async (tx) => {
    await requireAgentMode(tx, principal.tenantId);
    const token = PAT_PREFIX + randomToken(32);
    const pat = await tx.personalAccessToken.create({
      data: {
        id: newId('pat'),
        tenantId: principal.tenantId,
        userId: principal.userId!,
        name: input.name,
        tokenHash: sha256Hex(token),
        hint: `${token.slice(0, 18)}...`,
        scope: PAT_SCOPE,
        createdAt: now,
        expiresAt: input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * 86_400_000) : null,
      },
    });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: 'pat.created',
      resource: 'personal_access_token',
      resourceId: pat.id,
      details: { name: input.name, expires_at: pat.expiresAt?.toISOString() ?? null },
    });
    return { pat, token };
  });
}

/** Revoking a PAT revokes every runtime session derived from it, in the same transaction. */
export async function revokePat(ctx: ServiceContext & { principal: Principal }, id: string): Promise<PersonalAccessToken> {
  const { principal, runtime: rt } = ctx;
  const now = rt.clock.now();
  return rt.db.$transaction(async (tx) => {
    const pat = await tx.personalAccessToken.findFirst({ where: { id, tenantId: principal.tenantId } });
    if (!pat) throw notFound('Personal access token');
    if (pat.revokedAt) return pat;
    const revoked = await tx.personalAccessToken.update({ where: { id }, data: { revokedAt: now } });
    const sessions = await tx.agentSession.updateMany({
      where: { patId: id, revokedAt: null },
      data: { revokedAt: now, revokedReason: 'pat_revoked' },
    });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: 'pat.revoked',
      resource: 'personal_access_token',
      resourceId: id,
      details: { sessions_revoked: sessions.count },
    });
    return revoked;
  });
}

const invalidPat = () => new DomainError('invalid_credentials', 'The personal access token is not valid');

/** Look up a presented PAT; used for Bearer auth and for the runtime exchange. */
export async function findActivePat(rt: Runtime, token: string) {
  const pat = await rt.db.personalAccessToken.findUnique({ where: { tokenHash: sha256Hex(token) }, include: { tenant: true } });
  if (!pat) throw invalidPat();
  const now = rt.clock.now();
  if (pat.revokedAt) throw new DomainError('credential_revoked', 'This personal access token has been revoked');
  if (pat.expiresAt && pat.expiresAt <= now) throw new DomainError('token_expired', 'This personal access token has expired');
  if (!pat.tenant.agentSecurityMode) throw modeDisabled();
  if (!pat.lastUsedAt || now.getTime() - pat.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await rt.db.personalAccessToken.update({ where: { id: pat.id }, data: { lastUsedAt: now } });
  }
  return pat;
}

/** `Authorization: Bearer paybond_pat_…` → a read-only principal for host APIs. */
export async function resolvePat(rt: Runtime, token: string): Promise<Principal> {
  const pat = await findActivePat(rt, token);
  return {
    kind: 'pat',
    subjectId: pat.id,
    patId: pat.id,
    userId: pat.userId,
    tenantId: pat.tenantId,
    organizationId: pat.tenant.organizationId,
    environment: pat.tenant.environment,
    roles: [],
    entitlements: [],
    scopes: [pat.scope, 'harbor:read'],
    authMethod: 'pat',
    expiresAt: pat.expiresAt ?? undefined,
  };
}
