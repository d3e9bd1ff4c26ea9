import { newId } from '../../crypto/hash.ts';
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
    const tenantId = newId('ten');
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
