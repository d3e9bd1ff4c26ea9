import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/**
 * Compliance route groups (Paybond Gateway API reference, "Guardrails and audit trail": export
 * defaults stay route-specific and tenants may override them by these names). Creating an export
 * builds a bundle of the whole filtered history; downloading or re-verifying one (bundle or verifier
 * pack) reads all of it again, so both are counted per tenant.
 */
export const complianceRouteGroups = defineRouteGroups({
  compliance_export_create: { limit: 10, windowSeconds: 3600 },
  compliance_bundle_download: { limit: 30, windowSeconds: 3600 },
});

type ComplianceRouteGroups = typeof complianceRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends ComplianceRouteGroups {}
}
