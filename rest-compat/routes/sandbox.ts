import type { RestRoute } from '../route.ts';

export const sandboxRoutes: RestRoute[] = [];
