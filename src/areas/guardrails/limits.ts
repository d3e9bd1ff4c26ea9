import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/** Guardrail policy saves: 20 an hour by default (Paybond Gateway API reference, "Guardrails and audit trail"). */
export const guardrailRouteGroups = defineRouteGroups({
  guardrail_policy_mutation: { limit: 20, windowSeconds: 3600 },
});

type GuardrailRouteGroups = typeof guardrailRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends GuardrailRouteGroups {}
}
