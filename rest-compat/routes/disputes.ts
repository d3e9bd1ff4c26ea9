import type { RestRoute } from '../route.ts';

export const disputesRoutes: RestRoute[] = [];
