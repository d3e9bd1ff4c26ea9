import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/**
 * SSO and support-session route groups. Opening a support session (Paybond Gateway API reference:
 * overridable as auth_support_session) is rare and audited, so the default is low.
 */
export const ssoRouteGroups = defineRouteGroups({
  auth_support_session: { limit: 10, windowSeconds: 3600 },
});

type SsoRouteGroups = typeof ssoRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends SsoRouteGroups {}
}
