import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/**
 * Signal writes. Appeals and replays also have their own per-operator throttle (3 a day, answered
 * as a 429 review-event body); these groups only bound the request rate per tenant.
 */
export const signalRouteGroups = defineRouteGroups({
  signal_review_event: { limit: 120, windowSeconds: 60 },
  signal_release_gate_mutation: { limit: 30, windowSeconds: 3600 },
});

type SignalRouteGroups = typeof signalRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends SignalRouteGroups {}
}
