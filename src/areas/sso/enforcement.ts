import type { Tx } from '../../db.ts';

/**
 * `enforceSso`: password sign-in is off for a user whose email domain an active connection of one
 * of their organizations lists in `allowedDomains`, unless they are that connection's designated
 * break-glass admin. The password flow calls this; it answers the same either way.
 */
export async function passwordLoginBlocked(db: Tx, user: { id: string; email: string }): Promise<boolean> {
  const domain = user.email.slice(user.email.lastIndexOf('@') + 1).toLowerCase();
  if (!domain) return false;
  const organizations = await db.membership.findMany({ where: { userId: user.id }, select: { tenant: { select: { organizationId: true } } } });
  const organizationIds = [...new Set(organizations.map((m) => m.tenant.organizationId))];
  if (!organizationIds.length) return false;
  const enforcing = await db.ssoConnection.findMany({
    where: { organizationId: { in: organizationIds }, status: 'active', enforceSso: true, allowedDomains: { has: domain } },
    select: { breakGlassUserId: true },
  });
  return enforcing.some((c) => c.breakGlassUserId !== user.id);
}
