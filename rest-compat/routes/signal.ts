import type { RestRoute } from '../route.ts';

export const signalRoutes: RestRoute[] = [];
