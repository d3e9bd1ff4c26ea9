import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

describe('GraphQL cost and limits, visible to clients', () => {
  it('reports each document’s cost and the tenant’s remaining budget in extensions.cost', async () => {
    const first = await rest(gw, 'POST', '/graphql', { query: '{ viewer { tenantId } intents(first: 10) { edges { node { intentId } } } }' }, { token: org.apiKey.sandbox });
    const cost = first.body.extensions.cost;
    expect(cost).toMatchObject({ limit: 5000, budget: { limit: 100_000 } });
    expect(cost.requested).toBeGreaterThan(10);
    expect(cost.budget.remaining).toBe(100_000 - Math.ceil(cost.requested));
    expect(first.headers.get('ratelimit')).toMatch(/"graphql_query_cost";r=\d+;t=\d+/);
    const second = await rest(gw, 'POST', '/graphql', { query: '{ viewer { tenantId } }' }, { token: org.apiKey.sandbox });
    expect(second.body.extensions.cost.budget.remaining).toBeLessThan(cost.budget.remaining);
  });

  it('refuses a document over the cost limit with a message that says so (not a syntax error)', async () => {
    const pages = Array.from({ length: 6 }, (_, i) => `p${i}: intents(first: 100) { edges { node { intentId payeeDid amountCents currency state } } }`).join(' ');
    const res = await gql(gw, `{ ${pages} }`, {}, { token: org.apiKey.sandbox, headers: { accept: 'application/graphql-response+json' } });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX', cost: { limit: 5000 } } });
    expect(res.errors?.[0]?.message).toMatch(/^Query cost \d+(\.\d+)? exceeds the limit of 5000/);
    expect(res.errors?.[0]?.message).not.toMatch(/Syntax Error/);
  });

  it('answers 429 with RateLimit headers once the cost budget of the window is spent', async () => {
    const tenant = await createOrg(gw);
    const saved = await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'observe', rate_limit_profile: { graphql_query_cost: { limit: 30, window_seconds: 3600 } } }, { token: tenant.admin.token.sandbox });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const query = '{ viewer { tenantId organizationId environment roles } }';
    const ok = await gql(gw, query, {}, { token: tenant.apiKey.sandbox });
    expect(ok.errors).toBeUndefined();
    let refused;
    for (let i = 0; i < 10 && !refused; i++) {
      const res = await gql(gw, query, {}, { token: tenant.apiKey.sandbox });
      if (res.errors) refused = res;
    }
    expect(refused?.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused?.headers.get('ratelimit-policy')).toMatch(/"graphql_query_cost";q=30;w=3600/);
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('puts RateLimit headers on the public sign-in routes too', async () => {
    const res = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: 'someone@example.test', password: 'whatever it is' });
    expect(res.status).toBe(202);
    expect(res.headers.get('ratelimit-policy')).toMatch(/"auth_login_start_ip";q=60;w=900/);
    expect(res.headers.get('ratelimit-policy')).toMatch(/"auth_login_start_email";q=10;w=900/);
  });
});
