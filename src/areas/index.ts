/**
 * The area registry: one line per feature area. The GraphQL schema (src/graphql/schema.ts) is
 * built from the areas imported here; the REST router, OpenAPI, the agent docs and the route ×
 * credential matrix read each area's rows through `areaRoutes` in rest-compat/routes/index.ts,
 * which is typed by AreaName, so an area without rows does not compile. A folder under src/areas
 * that is not listed here fails test/architecture.test.ts.
 */
import { AREA as identity } from './identity/graphql.ts';
import { AREA as agents } from './agents/graphql.ts';
import { AREA as harbor } from './harbor/graphql.ts';
import { AREA as guardrails } from './guardrails/graphql.ts';

export const AREAS = [identity, agents, harbor, guardrails] as const;
export type AreaName = (typeof AREAS)[number];
