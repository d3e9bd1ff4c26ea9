import type { AreaName } from '../../src/areas/index.ts';
import type { RestRoute } from '../route.ts';
import { identityRoutes } from './identity.ts';
import { agentRoutes } from './agents.ts';
import { harborRoutes } from './harbor.ts';
import { harborPolicyRoutes } from './harbor-policies.ts';
import { guardrailRoutes } from './guardrails.ts';
import { settlementRoutes } from './settlement.ts';
import { sandboxRoutes } from './sandbox.ts';
import { protocolRoutes } from './protocol.ts';
import { agentRunsRoutes } from './agent-runs.ts';
import { complianceRoutes } from './compliance.ts';
import { disputesRoutes } from './disputes.ts';
import { webhooksRoutes } from './webhooks.ts';
import { signalRoutes } from './signal.ts';
import { ssoRoutes } from './sso.ts';
import { discoveryRoutes } from './discovery.ts';
import { systemRoutes } from './system.ts';

/** Every area's REST rows, keyed by the area registry (src/areas/index.ts): an area without rows does not compile. */
export const areaRoutes: Record<AreaName, RestRoute[]> = {
  identity: identityRoutes,
  agents: agentRoutes,
  harbor: [...harborRoutes, ...harborPolicyRoutes],
  guardrails: guardrailRoutes,
  settlement: settlementRoutes,
  sandbox: sandboxRoutes,
  protocol: protocolRoutes,
  'agent-runs': agentRunsRoutes,
  compliance: complianceRoutes,
  disputes: disputesRoutes,
  webhooks: webhooksRoutes,
  signal: signalRoutes,
  sso: ssoRoutes,
};

/** The route table: every REST path the gateway answers. OpenAPI, the agent docs and the security tests read it. */
export const routes: RestRoute[] = [];
routes.push(...systemRoutes(() => routes), ...discoveryRoutes(() => routes), ...Object.values(areaRoutes).flat());
