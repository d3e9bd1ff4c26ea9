import type { RestRoute } from '../route.ts';

export const protocolRoutes: RestRoute[] = [];
