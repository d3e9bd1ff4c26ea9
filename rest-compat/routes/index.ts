import type { RestRoute } from '../route.ts';
import { identityRoutes } from './identity.ts';
import { agentRoutes } from './agents.ts';
import { discoveryRoutes } from './discovery.ts';
import { harborRoutes } from './harbor.ts';
import { governanceRoutes } from './governance.ts';
import { systemRoutes } from './system.ts';

/** The route table: every REST path the gateway answers. OpenAPI and security tests read it. */
export const routes: RestRoute[] = [];
routes.push(...systemRoutes(() => routes), ...discoveryRoutes(() => routes), ...identityRoutes, ...agentRoutes, ...harborRoutes, ...governanceRoutes);
