import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { agentSession, signedRest, type AgentSessionHandle } from '../helpers/agent.ts';
import { fundedIntent, harborActor, type HarborActor } from '../helpers/harbor.ts';
import { routes } from '../../rest-compat/routes/index.ts';
import { routePolicy } from '../../rest-compat/router.ts';
import { parseOperation } from '../../rest-compat/response.ts';
import { schema } from '../../src/graphql/schema.ts';
import type { FieldPolicy } from '../../src/kernel/policy.ts';

/** Findings 5, 7, 8 and 9 of issue 11: authorization before validation, admin-only policy lifecycle, unsigned agent writes, /verify oracle, unsigned query strings. */
let gw: TestGateway;
let org: TestOrg;
let agent: AgentSessionHandle;
let actor: HarborActor;

beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  agent = await agentSession(gw, org, 'live');
  actor = await harborActor(gw, org, 'sandbox');
});
afterAll(() => gw?.close());

const fillPath = (path: string) => path.replace(/\{[a-z_]+\}/g, 'x_missing_1');
const isWrite = (route: (typeof routes)[number]) =>
  route.kind === 'operation' ? parseOperation(route).definition.operation === 'mutation' : route.method !== 'GET';

describe('authorize before validating (finding 7)', () => {
  it('a credential kind a route never accepts gets 403 whatever the body', async () => {
    const bodies = [{}, { amount_cents: 'lots' }, { amount_cents: 1250, currency: 'usd', recipient: 'did:web:v.example' }];
    for (const body of bodies) {
      expectError(await rest(gw, 'POST', '/api/agent/checkout/create', body, { token: org.apiKey.live }), 403, 'forbidden');
      expectError(await rest(gw, 'POST', '/v1/admin/api-keys', body, { token: org.apiKey.live }), 403, 'forbidden');
    }
    // Nor does a malformed JSON body get read first.
    expectError(await rest(gw, 'POST', '/v1/admin/api-keys', undefined, { token: org.apiKey.live, raw: '{not json', headers: { 'content-type': 'application/json' } }), 403, 'forbidden');
  });

  it('every route answers a refused credential kind with 401/403 before looking at the body', async () => {
    let checked = 0;
    for (const route of routes) {
      const policy = routePolicy(schema, route);
      if (policy.principals === 'public' || (route.kind === 'handler' && route.ownCredential)) continue;
      if (policy.principals.includes('api_key') && !policy.signed) continue;
      const res = await rest(gw, route.method, fillPath(route.path), undefined, {
        token: org.apiKey.live,
        raw: '{"broken": ',
        headers: { 'content-type': 'application/json' },
      });
      expect([401, 403], `${route.method} ${route.path}: ${JSON.stringify(res.body)}`).toContain(res.status);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('agents never loosen their own guardrails (finding 5)', () => {
  const lifecycle = ['/harbor/policy/v1/drafts', '/harbor/policy/v1/publish', '/harbor/policy/v1/deprecate', '/harbor/policy/v1/retire', '/harbor/policy/v1/rollback'];

  it('policy lifecycle writes refuse an agent JWT, signed or not, and a Harbor token', async () => {
    const harbor = await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.apiKey.live });
    for (const path of lifecycle) {
      const unsigned = await rest(gw, 'POST', path, { template_id: 'api_response_v1', seq: 1 }, { token: agent.token });
      expect([401, 403], `${path} unsigned: ${JSON.stringify(unsigned.body)}`).toContain(unsigned.status);
      const signed = await signedRest(gw, agent, 'POST', path, { template_id: 'api_response_v1', seq: 1 });
      expectError(signed, 403, 'forbidden');
      expectError(await rest(gw, 'POST', path, { template_id: 'api_response_v1', seq: 1 }, { token: harbor.body.access_token }), 403, 'forbidden');
    }
  });

  it('a read-only member cannot, a tenant admin session and the tenant’s service-account key can', async () => {
    const reader = await addMember(gw, org, 'read_only');
    const body = { template_id: 'api_response_v1', parameters: { http_status_path: ['http_status'], expected_http_status: 200 } };
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/drafts', body, { token: reader.token.live }), 403, 'forbidden');
    expect((await rest(gw, 'POST', '/harbor/policy/v1/drafts', body, { token: org.admin.token.live })).status).toBe(201);
    expect((await rest(gw, 'POST', '/harbor/policy/v1/drafts', body, { token: org.apiKey.live })).status).toBe(201);
  });

  it('every route whose policy is admin-only refuses every non-admin credential (derived from the route table)', async () => {
    const reader = await addMember(gw, org, 'read_only');
    const harbor = await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.apiKey.live });
    const admins = routes.filter((r) => (routePolicy(schema, r) as FieldPolicy).admin);
    expect(admins.length).toBeGreaterThan(5);
    for (const route of admins) {
      for (const [name, token] of [['read-only', reader.token.live], ['agent', agent.token], ['harbor', harbor.body.access_token], ['pat', agent.pat]] as const) {
        const res = await rest(gw, route.method, fillPath(route.path), route.method === 'GET' ? undefined : {}, { token });
        expect([401, 403], `${route.method} ${route.path} as ${name}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
      }
    }
  });

  it('every state-changing route refuses an unsigned agent JWT with 401 (signature or recognition proof required)', async () => {
    let checked = 0;
    for (const route of routes) {
      if (!isWrite(route)) continue;
      const policy = routePolicy(schema, route);
      if (policy.principals === 'public' || !policy.principals.includes('agent')) continue;
      const res = await rest(gw, route.method, fillPath(route.path), {}, { token: agent.token });
      expect(res.status, `${route.method} ${route.path}: ${JSON.stringify(res.body)}`).toBe(401);
      expect(['signature_missing', 'recognition_proof_required'], `${route.method} ${route.path}`).toContain(res.body.error.code);
      checked++;
    }
    expect(checked).toBeGreaterThan(3);
    // The same over GraphQL.
    const res = await gql(gw, 'mutation { policyPublish(input: { templateId: "api_response_v1", seq: 1 }) { userErrors { code } } }', {}, { token: agent.token });
    expect(res.errors?.[0]?.extensions?.code).toMatch(/^(FORBIDDEN|SIGNATURE_MISSING)$/);
  });
});

describe('POST /verify is no oracle (finding 8)', () => {
  it('another tenant’s genuine token and a forged one get the same answer', async () => {
    const stranger = await harborActor(gw, await createOrg(gw), 'sandbox');
    const theirs = await fundedIntent(gw, stranger);
    const mine = await fundedIntent(gw, actor);
    const verify = (token: string) => rest(gw, 'POST', '/verify', { intent_id: mine.intentId, token, operation: 'vendor.lookup' }, { token: actor.token });
    const genuine = await verify(theirs.capabilityToken);
    const forged = await verify(`${theirs.capabilityToken.slice(0, -4)}AAAA`);
    const garbage = await verify('not-a-token');
    // Each decision has its own request and audit event; everything else must be identical.
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined, audit_id: undefined });
    expect(genuine.status).toBe(forged.status);
    expect(strip(genuine.body)).toEqual(strip(forged.body));
    expect(strip(genuine.body)).toEqual(strip(garbage.body));
    expect(genuine.body).toMatchObject({ allow: false, code: 'capability_invalid' });
  });
});

describe('a signed request binds its query string (finding 9)', () => {
  it('a query string the signature does not cover is refused with 401 signature_invalid', async () => {
    const res = await signedRest(gw, agent, 'POST', '/api/agent/checkout/create?amount_cents=999999', { amount_cents: 100, currency: 'usd', recipient: 'did:web:v.example' });
    expectError(res, 401, 'signature_invalid');
    const graphql = await signedRest(gw, agent, 'POST', '/graphql?operationName=x', { query: '{ __typename }' });
    expect(graphql.status).toBe(401);
    expect(graphql.body.errors[0].extensions.code).toBe('SIGNATURE_INVALID');
    // The same request without the query string is accepted.
    expect((await signedRest(gw, agent, 'POST', '/graphql', { query: '{ __typename }' })).status).toBe(200);
  });
});
