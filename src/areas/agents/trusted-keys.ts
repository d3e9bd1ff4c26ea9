import './errors.ts';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import { decodePublicKey, decodeSignature, toHex, verifyEd25519 } from '../../crypto/ed25519.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { TrustedAgentKey } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { requireAgentMode } from './mode.ts';

/** Key ids as the recognition proofs carry them: lower case, `kid-1`, `agents/checkout:v2`. */
export const KEY_ID = /^[a-z0-9][a-z0-9._:/-]{0,127}$/;

export const trustedKeyInput = z.object({
  keyId: z
    .string()
    .trim()
    .transform((v) => v.toLowerCase())
    .pipe(z.string().regex(KEY_ID, 'must match ^[a-z0-9][a-z0-9._:/-]{0,127}$'))
    .describe('Your identifier for the key, e.g. kid-1 (lower case).'),
  publicKey: z.string().trim().min(32).max(100).describe('Ed25519 public key: hex, base64 or base58 of 32 bytes.'),
  label: z.string().trim().max(100).optional().describe('A label.'),
  registrationSignature: z
    .string()
    .trim()
    .max(200)
    .optional()
    .describe('Required. Proof of possession: base64 Ed25519 signature by this key over the registration challenge (trustedKeyChallenge: "paybond:trusted-agent-key:v1\\n<tenant_id>\\n<key_id>\\n<public key hex>").'),
});

/**
 * The registration challenge a key signs to prove its owner registers it, and for which tenant:
 * `paybond:trusted-agent-key:v1\n<tenant_id>\n<key_id>\n<public key, 64 lower-case hex>`. A
 * signature made for one tenant does not verify for another, so public key material alone (which
 * anyone may hold) never registers a key.
 */
export const trustedKeyChallenge = (tenantId: string, keyId: string, publicKeyHex: string) =>
  `paybond:trusted-agent-key:v1\n${tenantId}\n${keyId}\n${publicKeyHex.toLowerCase()}`;

export const trustedKeyStatus = (key: Pick<TrustedAgentKey, 'revokedAt'>) => (key.revokedAt ? 'revoked' : 'active');

/**
 * Register a key, or update the public key/label of an active one with the same key id.
 * A revoked key id stays revoked (register a new id instead), so a revocation cannot be undone
 * by a replayed registration.
 */
export async function registerTrustedKey(
  ctx: ServiceContext & { principal: Principal },
  input: z.infer<typeof trustedKeyInput>,
): Promise<{ key: TrustedAgentKey; created: boolean }> {
  const raw = decodePublicKey(input.publicKey);
  if (!raw) {
    throw new DomainError('invalid_request', 'publicKey must be a valid Ed25519 public key (hex, base64 or base58 of 32 bytes)', {
      field: ['publicKey'],
    });
  }
  const { principal, runtime: rt } = ctx;
  const now = rt.clock.now();
  return rt.db.$transaction(async (tx) => {
    await requireAgentMode(tx, principal.tenantId);
    const publicKeyHex = toHex(raw);
    const signature = input.registrationSignature ? decodeSignature(input.registrationSignature, ['base64']) : null;
    const message = Buffer.from(trustedKeyChallenge(principal.tenantId, input.keyId, publicKeyHex), 'utf8');
    if (!signature || !verifyEd25519(raw, message, signature)) {
      throw new DomainError('invalid_request', 'registration_signature must be the key’s base64 Ed25519 signature over the registration challenge for this tenant and key id', {
        field: ['registrationSignature'],
      });
    }
    // One key, one tenant: an active key of another tenant is never shared (its owner signs in there).
    const elsewhere = await tx.trustedAgentKey.findFirst({ where: { publicKeyHex, revokedAt: null, tenantId: { not: principal.tenantId } }, select: { id: true } });
    if (elsewhere) throw new DomainError('conflict', 'This public key is an active trusted agent key of another tenant; use a key per tenant');
    const existing = await tx.trustedAgentKey.findUnique({ where: { tenantId_keyId: { tenantId: principal.tenantId, keyId: input.keyId } } });
    if (existing?.revokedAt) throw new DomainError('conflict', `Key ${input.keyId} was revoked; register the new key under a new key id`);
    const key = existing
      ? await tx.trustedAgentKey.update({
          where: { id: existing.id },
          data: { publicKeyHex, label: input.label ?? existing.label, updatedAt: now },
        })
      : await tx.trustedAgentKey.create({
          data: {
            id: newId('tak'),
            tenantId: principal.tenantId,
            keyId: input.keyId,
            publicKeyHex,
            label: input.label ?? null,
            createdByUserId: principal.userId ?? null,
            createdAt: now,
            updatedAt: now,
          },
        });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: existing ? 'trusted_agent_key.updated' : 'trusted_agent_key.registered',
      resource: 'trusted_agent_key',
      resourceId: key.keyId,
      details: { public_key_changed: existing ? existing.publicKeyHex !== key.publicKeyHex : true },
    });
    return { key, created: !existing };
  });
}

/** Revoke a key: its sessions end at once. Revoking is allowed even with the mode off. */
export async function revokeTrustedKey(ctx: ServiceContext & { principal: Principal }, keyId: string): Promise<TrustedAgentKey> {
  const { principal, runtime: rt } = ctx;
  const now = rt.clock.now();
  return rt.db.$transaction(async (tx) => {
    const key = await tx.trustedAgentKey.findUnique({ where: { tenantId_keyId: { tenantId: principal.tenantId, keyId: keyId.toLowerCase() } } });
    if (!key) throw notFound('Trusted agent key');
    if (key.revokedAt) return key;
    const revoked = await tx.trustedAgentKey.update({ where: { id: key.id }, data: { revokedAt: now, updatedAt: now } });
    const sessions = await tx.agentSession.updateMany({
      where: { trustedKeyId: key.id, revokedAt: null },
      data: { revokedAt: now, revokedReason: 'trusted_key_revoked' },
    });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: 'trusted_agent_key.revoked',
      resource: 'trusted_agent_key',
      resourceId: key.keyId,
      details: { sessions_revoked: sessions.count },
    });
    return revoked;
  });
}
