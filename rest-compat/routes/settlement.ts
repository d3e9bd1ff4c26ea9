import type { RestRoute } from '../route.ts';

export const settlementRoutes: RestRoute[] = [];
