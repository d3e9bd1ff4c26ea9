import type { RestRoute } from '../route.ts';

export const agentRunsRoutes: RestRoute[] = [];
