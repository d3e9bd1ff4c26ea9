import type { Principal } from '../context.ts';

export const TENANT_ADMIN_ROLE = 'tenant_admin';
export const TENANT_ADMIN_ENTITLEMENT = 'tenant.admin';

/**
 * Admin writes need the tenant_admin role or the tenant.admin entitlement on a human session, or a
 * service-account API key (only tenant admins create them; routes that are for humans only say so
 * with `principals: ['user']`). Agent JWTs, PATs and Harbor tokens are never tenant admins.
 */
export const isTenantAdmin = (p: Principal): boolean =>
  p.kind === 'api_key' || (p.kind === 'user' && (p.roles.includes(TENANT_ADMIN_ROLE) || p.entitlements.includes(TENANT_ADMIN_ENTITLEMENT)));
