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

/** Service-account roles a key can hold, by authority (tenant_admin may also manage keys). */
export const SERVICE_ACCOUNT_ROLES = ['operator', 'tenant_admin'] as const;
const ROLE_RANK: Record<string, number> = { operator: 1, tenant_admin: 2 };
export const MCP_SCOPE = /^mcp\.[a-z][a-z0-9_]{0,63}:(read|write)$/;

export const apiKeyCreateInput = z
  .object({
    name: z.string().trim().min(1).max(100).optional().describe('A name to tell keys apart (default: label, then service_account_name).'),
    expiresAt,
    serviceAccountName: z.string().trim().min(1).max(100).optional().describe('Service account the key belongs to (the SDK’s `paybond keys create --name`).'),
    serviceAccountRole: z.enum(SERVICE_ACCOUNT_ROLES).default('operator').describe('operator (Harbor read/write) or tenant_admin (also manages API keys).'),
    label: z.string().trim().max(100).default('').describe('Free label.'),
    keyKind: z.enum(['standard', 'restricted']).default('standard').describe('standard, or restricted to mcp_scopes.'),
    mcpScopes: z.array(z.string().trim().regex(MCP_SCOPE, 'must be mcp.<area>:read|write')).max(32).default([]).describe('MCP scope grants of a restricted key (e.g. mcp.spend:write).'),
  })
  .superRefine((v, ctx) => {
    if (!v.name && !v.label && !v.serviceAccountName) ctx.addIssue({ code: 'custom', path: ['name'], message: 'name, label or service_account_name is required' });
    if (v.keyKind === 'restricted' && v.mcpScopes.length === 0) ctx.addIssue({ code: 'custom', path: ['mcpScopes'], message: 'a restricted key needs at least one MCP scope' });
    if (v.keyKind === 'standard' && v.mcpScopes.length > 0) ctx.addIssue({ code: 'custom', path: ['mcpScopes'], message: 'MCP scopes need key_kind restricted' });
  });

interface Authority {
  role: string;
  kind: string;
  scopes: string[];
}

/** Does authority `a` cover `b`? Role rank, then restricted ⊂ standard, then scope subset. */
function covers(a: Authority, b: Authority): boolean {
  if ((ROLE_RANK[b.role] ?? 99) > (ROLE_RANK[a.role] ?? 0)) return false;
  if (a.kind === 'standard') return true;
  return b.kind === 'restricted' && b.scopes.every((s) => a.scopes.includes(s));
}

/**
 * A key acting on keys: it must hold the tenant_admin role (the policy checks that too) and may
 * never mint or manage a key with more authority than its own. Sessions of tenant admins may.
 */
async function requireAuthorityOver(tx: Tx, principal: Principal, target: Authority): Promise<void> {
  if (principal.kind !== 'api_key') return;
  const own = await tx.apiKey.findUnique({ where: { id: principal.apiKeyId! } });
  if (!own || own.serviceAccountRole !== 'tenant_admin') throw new DomainError('forbidden', 'Only a tenant_admin service-account key may manage API keys');
  if (!covers({ role: own.serviceAccountRole, kind: own.keyKind, scopes: own.mcpScopes }, target)) {
    throw new DomainError('forbidden', 'A key cannot create or manage a key with more authority than its own');
  }
}

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
  data: { name: string; expiresAt: Date | null; rotatedFromId: string | null; serviceAccountName: string | null; serviceAccountRole: string; label: string; keyKind: string; mcpScopes: string[] },
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
      serviceAccountName: data.serviceAccountName,
      serviceAccountRole: data.serviceAccountRole,
      label: data.label,
      keyKind: data.keyKind,
      mcpScopes: [...new Set(data.mcpScopes)].sort(),
      expiresAt: data.expiresAt,
      createdAt: now,
    },
  });
  // The environment in the prefix comes from the stored tenant row, never from the caller.
  return { apiKey, secret: `${apiKeyPrefix(tenant.environment, keyId)}_${secretPart}` };
}

export async function createApiKey(
  ctx: ServiceContext & { principal: Principal },
  raw: z.input<typeof apiKeyCreateInput>,
): Promise<IssuedApiKey> {
  const now = ctx.runtime.clock.now();
  // Scripts pass the short form ({name}); the defaults fill the service-account fields.
  const input = apiKeyCreateInput.parse(raw);
  checkExpiry(input.expiresAt, now);
  const name = input.name ?? (input.label || input.serviceAccountName!);
  return ctx.runtime.db.$transaction(async (tx) => {
    await requireAuthorityOver(tx, ctx.principal, { role: input.serviceAccountRole, kind: input.keyKind, scopes: input.mcpScopes });
    const issued = await insertKey(
      tx,
      ctx.principal,
      {
        name,
        expiresAt: input.expiresAt ?? null,
        rotatedFromId: null,
        serviceAccountName: input.serviceAccountName ?? null,
        serviceAccountRole: input.serviceAccountRole,
        label: input.label,
        keyKind: input.keyKind,
        mcpScopes: input.mcpScopes,
      },
      now,
    );
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'api_key.created',
      resource: 'api_key',
      resourceId: issued.apiKey.id,
      details: { name, expires_at: input.expiresAt?.toISOString() ?? null, service_account_role: input.serviceAccountRole, key_kind: input.keyKind, mcp_scopes: input.mcpScopes },
    });
    return issued;
  });
}

const authorityOf = (key: ApiKey): Authority => ({ role: key.serviceAccountRole, kind: key.keyKind, scopes: key.mcpScopes });

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
    await requireAuthorityOver(tx, ctx.principal, authorityOf(key));
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
    await requireAuthorityOver(tx, ctx.principal, authorityOf(key));
    // Only one rotation of a key can win: the revoke is conditional on it still being active.
    const { count } = await tx.apiKey.updateMany({ where: { id: key.id, revokedAt: null }, data: { revokedAt: now } });
    if (count !== 1) throw new DomainError('conflict', 'This API key is already revoked and cannot be rotated');
    const expiresAt = input.expiresAt ?? (key.expiresAt && key.expiresAt > now ? key.expiresAt : null);
    const issued = await insertKey(
      tx,
      ctx.principal,
      {
        name: key.name,
        expiresAt,
        rotatedFromId: key.id,
        serviceAccountName: key.serviceAccountName,
        serviceAccountRole: key.serviceAccountRole,
        label: key.label,
        keyKind: key.keyKind,
        mcpScopes: key.mcpScopes,
      },
      now,
    );
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
