import { newId } from '../../crypto/hash.ts';
import { randomBytes } from 'node:crypto';
import { base32 } from '@scure/base';
import { TENANT_ID } from '../protocol/wire.ts';
import type { Tx } from '../../db.ts';
import type { Environment } from '../../context.ts';

export const ENVIRONMENTS: Environment[] = ['live', 'sandbox'];
export const ADMIN_ENTITLEMENTS = ['tenant.admin'];

export interface CreatedOrganization {
  organizationId: string;
  tenants: Record<Environment, string>;
  userId: string;
}

/**
 * An organization always comes with one live and one sandbox tenant; `admin` becomes
 * tenant_admin of both. Runs inside the caller's transaction.
 */
export async function createOrganization(
  tx: Tx,
  input: { name: string; admin: { email: string; passwordHash: string; displayName?: string | null } },
  now: Date,
): Promise<CreatedOrganization> {
  const organizationId = newId('org');
  await tx.organization.create({ data: { id: organizationId, name: input.name, createdAt: now } });
  const existing = await tx.user.findUnique({ where: { email: input.admin.email } });
  const userId = existing?.id ?? newId('usr');
  if (!existing) {
    await tx.user.create({
      data: { id: userId, email: input.admin.email, passwordHash: input.admin.passwordHash, displayName: input.admin.displayName ?? null, createdAt: now },
    });
  }
  const tenants = {} as Record<Environment, string>;
  for (const environment of ENVIRONMENTS) {
    const tenantId = newTenantId();
    tenants[environment] = tenantId;
    await tx.tenant.create({
      data: { id: tenantId, organizationId, environment, name: `${input.name} (${environment})`, createdAt: now },
    });
    await tx.membership.create({
      data: { id: newId('mem'), userId, tenantId, role: 'tenant_admin', entitlements: ADMIN_ENTITLEMENTS, createdAt: now },
    });
  }
  return { organizationId, tenants, userId };
}

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/**
 * A new tenant id: `ten_` and 24 lower-case base32 characters (120 random bits). Tenant ids are
 * copied into signed protocol artifacts, whose format (the Paybond Kit SDK's validators) accepts
 * only `^[a-z0-9][a-z0-9._-]*$`; ids made before this rule keep their form (docs/protocol.md).
 */
export function newTenantId(): string {
  const id = `ten_${base32.encode(randomBytes(15)).toLowerCase()}`;
  if (!TENANT_ID.test(id)) throw new Error('tenant id outside the protocol charset');
  return id;
}
