import type { RestRoute } from '../route.ts';

export const complianceRoutes: RestRoute[] = [];
