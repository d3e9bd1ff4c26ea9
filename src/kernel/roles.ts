import type { Principal } from '../context.ts';

export const TENANT_ADMIN_ROLE = 'tenant_admin';
export const TENANT_ADMIN_ENTITLEMENT = 'tenant.admin';

/** Admin writes need the tenant_admin role or the tenant.admin entitlement, on a human session. */
export const isTenantAdmin = (p: Principal): boolean =>
  p.kind === 'user' && (p.roles.includes(TENANT_ADMIN_ROLE) || p.entitlements.includes(TENANT_ADMIN_ENTITLEMENT));

/**
 * A service-account API key whose role is tenant_admin. It passes an `admin` policy only on fields
 * whose policy admits API keys at all (today: API-key management, as the SDK's `paybond keys` does).
 */
export const isKeyAdmin = (p: Principal): boolean => p.kind === 'api_key' && p.roles.includes(TENANT_ADMIN_ROLE);
