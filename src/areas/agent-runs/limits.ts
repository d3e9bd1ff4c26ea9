import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/** Trace reporting is chatty (one POST per middleware event): its own group, per tenant. */
export const agentRunRouteGroups = defineRouteGroups({
  agent_run_trace: { limit: 600, windowSeconds: 60 },
});

type AgentRunRouteGroups = typeof agentRunRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends AgentRunRouteGroups {}
}
