import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/**
 * Dispute case route groups. Case writes (create, link, assign, notes, evidence, resolve) are
 * human-paced; the arbitration package (Paybond Gateway API reference: "Rate-limited signed
 * arbitration package", overridable as dispute_arbitration_export) signs a checkpoint of the
 * tenant's ledger and builds its Merkle tree, so it is counted separately and lower.
 */
export const disputeRouteGroups = defineRouteGroups({
  dispute_case_mutation: { limit: 600, windowSeconds: 3600 },
  dispute_arbitration_export: { limit: 10, windowSeconds: 3600 },
});

type DisputeRouteGroups = typeof disputeRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends DisputeRouteGroups {}
}
