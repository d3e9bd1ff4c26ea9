/**
 * Route groups and their default limits (the seed's "Guardrails and audit trail"). Tenants override
 * any of these through the guardrail policy's rate_limit_profile.
 */
export const ROUTE_GROUP_DEFAULTS = {
  guardrail_policy_mutation: { limit: 20, windowSeconds: 3600 },
  policy_lifecycle_mutation: { limit: 30, windowSeconds: 60 },
  policy_sandbox_preview_test: { limit: 120, windowSeconds: 60 },
  harbor_intent_mutation: { limit: 120, windowSeconds: 60 },
  // Route-specific limiter scopes, overridable by the same key.
  auth_support_session: { limit: 10, windowSeconds: 3600 },
  compliance_export_create: { limit: 10, windowSeconds: 3600 },
  compliance_bundle_download: { limit: 30, windowSeconds: 3600 },
  dispute_arbitration_export: { limit: 10, windowSeconds: 3600 },
  admin_webhook_endpoint_mutation: { limit: 30, windowSeconds: 3600 },
  admin_webhook_endpoint_test: { limit: 30, windowSeconds: 3600 },
} as const;

export type RouteGroup = keyof typeof ROUTE_GROUP_DEFAULTS;
export const ROUTE_GROUPS = Object.keys(ROUTE_GROUP_DEFAULTS) as RouteGroup[];

export const OVERRIDE_BOUNDS = { limit: 1_000_000, windowSeconds: 86_400 };
