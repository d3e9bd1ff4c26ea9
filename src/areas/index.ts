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
import { AREA as settlement } from './settlement/graphql.ts';
import { AREA as sandbox } from './sandbox/graphql.ts';
import { AREA as protocol } from './protocol/graphql.ts';
import { AREA as agentRuns } from './agent-runs/graphql.ts';
import { AREA as compliance } from './compliance/graphql.ts';
import { AREA as disputes } from './disputes/graphql.ts';
import { AREA as webhooks } from './webhooks/graphql.ts';
import { AREA as signal } from './signal/graphql.ts';
import { AREA as sso } from './sso/graphql.ts';

export const AREAS = [identity, agents, harbor, guardrails, settlement, sandbox, protocol, agentRuns, compliance, disputes, webhooks, signal, sso] as const;
export type AreaName = (typeof AREAS)[number];
