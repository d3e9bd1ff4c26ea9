import type { RestRoute } from '../route.ts';

export const ssoRoutes: RestRoute[] = [];
