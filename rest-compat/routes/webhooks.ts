import type { RestRoute } from '../route.ts';

export const webhooksRoutes: RestRoute[] = [];
