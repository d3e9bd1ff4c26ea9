import './errors.ts';
import { z } from 'zod';
import { newId, randomToken, sha256Hex } from '../../crypto/hash.ts';
import type { Environment, Principal, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { ApiKey } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import type { Tx } from '../../db.ts';

/**
 * Service-account API keys: `paybond_sk_<live|sandbox>_<key id>_<secret>`. The secret is shown
 * once and stored only as SHA-256 (it is 32 random bytes, so a slow hash adds nothing).
 */
export const API_KEY_PREFIX = 'paybond_sk_';
const MAX_EXPIRY_DAYS = 730;

const expiresAt = z.coerce.date().optional().describe(`Optional expiry, at most ${MAX_EXPIRY_DAYS} days ahead.`);

export const apiKeyCreateInput = z.object({
  name: z.string().trim().min(1).max(100).describe('A name to tell keys apart.'),
  expiresAt,
});

export const apiKeyRotateInput = z.object({ expiresAt: expiresAt.describe('Expiry of the replacement (default: the old key’s).') });

export interface ParsedApiKey {
  environment: string;
  keyId: string;
  secret: string;
}

/**
 * Split a presented key. Returns null when it is not of our format, including the
 * environment-less `paybond_sk_<key_id>_<secret>` form, which is never accepted.
 */
export function parseApiKey(value: string): ParsedApiKey | null {
  if (!value.startsWith(API_KEY_PREFIX)) return null;
  const rest = value.slice(API_KEY_PREFIX.length);
  const envEnd = rest.indexOf('_');
  const secretStart = rest.lastIndexOf('_');
  if (envEnd <= 0 || secretStart <= envEnd + 1) return null;
  const environment = rest.slice(0, envEnd);
  if (environment !== 'live' && environment !== 'sandbox') return null;
  const keyId = rest.slice(envEnd + 1, secretStart);
  const secret = rest.slice(secretStart + 1);
  if (!/^key_[A-Za-z0-9]{16}$/.test(keyId) || !/^[1-9A-HJ-NP-Za-km-z]{40,50}$/.test(secret)) return null;
  return { environment, keyId, secret };
}

export const apiKeyPrefix = (environment: Environment, keyId: string) => `${API_KEY_PREFIX}${environment}_${keyId}`;

export type ApiKeyStatus = 'active' | 'revoked' | 'expired';
export const apiKeyStatus = (key: Pick<ApiKey, 'revokedAt' | 'expiresAt'>, now: Date): ApiKeyStatus =>
  key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt <= now ? 'expired' : 'active';

export interface IssuedApiKey {
  apiKey: ApiKey;
  /** The full credential; returned once, never stored. */
  secret: string;
}

function checkExpiry(expiresAt: Date | undefined, now: Date) {
  if (!expiresAt) return;
  if (expiresAt <= now) throw new DomainError('invalid_request', 'expiresAt must be in the future', { field: ['expiresAt'] });
  if (expiresAt.getTime() - now.getTime() > MAX_EXPIRY_DAYS * 86_400_000) {
    throw new DomainError('invalid_request', `expiresAt must be within ${MAX_EXPIRY_DAYS} days`, { field: ['expiresAt'] });
  }
}

async function insertKey(
  tx: Tx,
  principal: Principal,
  data: { name: string; expiresAt: Date | null; rotatedFromId: string | null },
  now: Date,
): Promise<IssuedApiKey> {
  const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: principal.tenantId } });
  const keyId = newId('key');
  const secretPart = randomToken(32);
  const apiKey = await tx.apiKey.create({
    data: {
      id: keyId,
      tenantId: tenant.id,
      name: data.name,
      secretHash: sha256Hex(secretPart),
      hint: secretPart.slice(-4),
      createdByUserId: principal.userId ?? null,
      rotatedFromId: data.rotatedFromId,
      expiresAt: data.expiresAt,
      createdAt: now,
    },
  });
  // The environment in the prefix comes from the stored tenant row, never from the caller.
  return { apiKey, secret: `${apiKeyPrefix(tenant.environment, keyId)}_${secretPart}` };
}

export async function createApiKey(
  ctx: ServiceContext & { principal: Principal },
  input: z.infer<typeof apiKeyCreateInput>,
): Promise<IssuedApiKey> {
  const now = ctx.runtime.clock.now();
  checkExpiry(input.expiresAt, now);
  return ctx.runtime.db.$transaction(async (tx) => {
    const issued = await insertKey(tx, ctx.principal, { name: input.name, expiresAt: input.expiresAt ?? null, rotatedFromId: null }, now);
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'api_key.created',
      resource: 'api_key',
      resourceId: issued.apiKey.id,
      details: { name: input.name, expires_at: input.expiresAt?.toISOString() ?? null },
    });
    return issued;
  });
}

async function findOwnKey(tx: Tx, principal: Principal, id: string): Promise<ApiKey> {
  // Another tenant's key is indistinguishable from a missing one.
  const key = await tx.apiKey.findFirst({ where: { id, tenantId: principal.tenantId } });
  if (!key) throw notFound('API key');
  return key;
}

export async function revokeApiKey(ctx: ServiceContext & { principal: Principal }, id: string): Promise<ApiKey> {
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const key = await findOwnKey(tx, ctx.principal, id);
    if (key.revokedAt) return key;
    const revoked = await tx.apiKey.update({ where: { id: key.id }, data: { revokedAt: now } });
    await recordAudit(tx, ctx, { tenantId: key.tenantId, eventType: 'api_key.revoked', resource: 'api_key', resourceId: key.id });
    return revoked;
  });
}

/** Replace a key: the old secret stops working at once; the new one is shown once. */
export async function rotateApiKey(
  ctx: ServiceContext & { principal: Principal },
  id: string,
  input: z.infer<typeof apiKeyRotateInput>,
): Promise<IssuedApiKey & { replaced: ApiKey }> {
  const now = ctx.runtime.clock.now();
  checkExpiry(input.expiresAt, now);
  return ctx.runtime.db.$transaction(async (tx) => {
    const key = await findOwnKey(tx, ctx.principal, id);
    // Only one rotation of a key can win: the revoke is conditional on it still being active.
    const { count } = await tx.apiKey.updateMany({ where: { id: key.id, revokedAt: null }, data: { revokedAt: now } });
    if (count !== 1) throw new DomainError('conflict', 'This API key is already revoked and cannot be rotated');
    const expiresAt = input.expiresAt ?? (key.expiresAt && key.expiresAt > now ? key.expiresAt : null);
    const issued = await insertKey(tx, ctx.principal, { name: key.name, expiresAt, rotatedFromId: key.id }, now);
    await recordAudit(tx, ctx, {
      tenantId: key.tenantId,
      eventType: 'api_key.rotated',
      resource: 'api_key',
      resourceId: issued.apiKey.id,
      details: { rotated_from: key.id },
    });
    return { ...issued, replaced: { ...key, revokedAt: now } };
  });
}
