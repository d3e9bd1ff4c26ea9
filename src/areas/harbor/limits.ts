import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/** Harbor's route groups and their defaults (Paybond Gateway API reference, "Guardrails and audit trail"). */
export const harborRouteGroups = defineRouteGroups({
  harbor_intent_mutation: { limit: 120, windowSeconds: 60 },
  policy_lifecycle_mutation: { limit: 30, windowSeconds: 60 },
  policy_sandbox_preview_test: { limit: 120, windowSeconds: 60 },
});

type HarborRouteGroups = typeof harborRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends HarborRouteGroups {}
}
