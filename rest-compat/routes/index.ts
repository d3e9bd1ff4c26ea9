import type { AreaName } from '../../src/areas/index.ts';
import type { RestRoute } from '../route.ts';
import { identityRoutes } from './identity.ts';
import { agentRoutes } from './agents.ts';
import { harborRoutes } from './harbor.ts';
import { harborPolicyRoutes } from './harbor-policies.ts';
import { guardrailRoutes } from './guardrails.ts';
import { discoveryRoutes } from './discovery.ts';
import { systemRoutes } from './system.ts';

/** Every area's REST rows, keyed by the area registry (src/areas/index.ts): an area without rows does not compile. */
export const areaRoutes: Record<AreaName, RestRoute[]> = {
  identity: identityRoutes,
  agents: agentRoutes,
  harbor: [...harborRoutes, ...harborPolicyRoutes],
  guardrails: guardrailRoutes,
};

/** The route table: every REST path the gateway answers. OpenAPI, the agent docs and the security tests read it. */
export const routes: RestRoute[] = [];
routes.push(...systemRoutes(() => routes), ...discoveryRoutes(() => routes), ...Object.values(areaRoutes).flat());
