import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/**
 * Settlement route groups. Configuration saves and destination links are rare admin actions (a
 * link also calls Stripe); a reconcile run reads up to RECONCILE_BATCH PaymentIntents from Stripe,
 * so it is limited per tenant to keep Stripe's own rate limit for the platform key out of reach.
 */
export const settlementRouteGroups = defineRouteGroups({
  settlement_config_mutation: { limit: 20, windowSeconds: 3600 },
  stripe_reconcile: { limit: 30, windowSeconds: 3600 },
});

type SettlementRouteGroups = typeof settlementRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends SettlementRouteGroups {}
}
