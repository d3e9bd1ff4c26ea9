import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, testConfig, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { openPostgres } from '../../src/db/adapters.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway({ env: { MAX_BODY_BYTES: '4096' } });
  org = await createOrg(gw);
});
afterAll(() => gw.close());

describe('REST compat router', () => {
  it('answers an unknown path with a 404 envelope', async () => {
    expectError(await rest(gw, 'GET', '/v1/nothing/here'), 404, 'route_not_found');
    expectError(await rest(gw, 'POST', '/harbor/unknown', {}), 404, 'route_not_found');
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const res = await rest(gw, 'PUT', '/v1/admin/api-keys', {}, { token: org.admin.token.live });
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'POST']);
  });

  it('names REST fields in REST words: no GraphQL variable, argument or type syntax', async () => {
    const GRAPHQL_WORDING = /\$input|Variable "|\bfirst\b|\[String!\]|of required type|allowedTools/;
    const token = org.apiKey.sandbox;
    const missing = await rest(gw, 'POST', '/harbor/intents', { intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401' }, { token });
    expectError(missing, 400, 'invalid_request');
    expect(missing.body.error.details.issues).toContainEqual({ field: 'allowed_tools', message: 'is required' });
    expect(missing.body.error.message).not.toMatch(GRAPHQL_WORDING);
    const nested = await rest(gw, 'POST', '/harbor/intents', { policy_binding: { template_id: 'x', version_seq: 'one' } }, { token });
    expect(nested.body.error.details.issues.map((i: { field: string }) => i.field)).toContain('policy_binding.version_seq');
    const limit = await rest(gw, 'GET', '/harbor/operator/v1/intents?limit=1000', undefined, { token });
    expectError(limit, 400, 'invalid_request');
    expect(limit.body.error.details.issues).toEqual([{ field: 'limit', message: expect.stringContaining('200') }]);
    expect(limit.body.error.message).not.toMatch(GRAPHQL_WORDING);
    const state = await rest(gw, 'GET', '/harbor/operator/v1/intents?status=sideways', undefined, { token });
    expect(state.body.error.details.issues[0].field).toBe('status');
  });

  it('authorizes before it reads the body: a credential that can never call a route learns nothing about its inputs', async () => {
    // API keys cannot run an agent checkout or create API keys, whatever the body says.
    expectError(await rest(gw, 'POST', '/api/agent/checkout/create', { amount_cents: 'lots' }, { token: org.apiKey.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/v1/admin/api-keys', {}, { token: org.apiKey.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/v1/admin/api-keys', { name: 5 }), 401, 'unauthenticated');
  });

  it('answers malformed JSON and non-object JSON with 400, never 500', async () => {
    const login = '/v1/public/auth/login/start';
    for (const raw of ['{', 'null', '[1,2]', '"text"', '{"email":', '\u0000']) {
      expectError(await rest(gw, 'POST', login, undefined, { raw, headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    }
    expectError(await rest(gw, 'POST', login, { email: 5, password: ['x'] }), 400, 'invalid_request');
  });

  it('refuses text PostgreSQL cannot store (U+0000) with 400 before anything runs, REST and GraphQL alike', async () => {
    const token = org.admin.token.sandbox;
    const nul = 'bad\u0000name';
    expectError(await rest(gw, 'POST', '/v1/admin/api-keys', { name: nul }, { token }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/v1/public/auth/challenges/verify', { challenge_id: '\u0000', code: '12345678' }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/verify', { intent_id: nul, token: 't', operation: 'op', requested_spend_cents: 1 }, { token: org.apiKey.sandbox }), 400, 'invalid_request');
    expectError(await rest(gw, 'GET', '/harbor/operator/v1/intents/%00', undefined, { token }), 400, 'invalid_request');
    const create = 'mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) { apiKey { id } } }';
    for (const [query, variables] of [
      [create, { input: { name: nul } }],
      ['mutation { apiKeyCreate(input: { name: "bad\\u0000name" }) { apiKey { id } } }', {}],
    ] as const) {
      const result = await gql(gw, query, variables, { token });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result)).toBe('INVALID_REQUEST');
    }
    const keys = await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token });
    expect(JSON.stringify(keys.body)).not.toContain('bad');
  });

  it('answers a malformed pagination cursor with 400, not 500', async () => {
    const token = org.admin.token.sandbox;
    for (const after of ['%%%', 'bm9wZQ==']) {
      for (const field of ['intents', 'auditEvents', 'apiKeys']) {
        const result = await gql(gw, `query($after: String) { ${field}(first: 5, after: $after) { edges { cursor } } }`, { after }, { token });
        expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result)).toBe('INVALID_REQUEST');
        expect(result.errors?.[0]?.extensions?.http?.status).toBe(400);
      }
    }
  });

  it('answers a body of the wrong content type with 415', async () => {
    const res = await rest(gw, 'POST', '/v1/public/auth/login/start', undefined, {
      raw: 'email=a@b.test',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(res, 415, 'unsupported_media_type');
  });

  it('refuses an oversized body with 413', async () => {
    const res = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: 'a@b.test', password: 'x'.repeat(5000) });
    expectError(res, 413, 'payload_too_large');
  });

  it('echoes a sane x-request-id and replaces an unsafe one', async () => {
    const echoed = await rest(gw, 'GET', '/healthz', undefined, { headers: { 'x-request-id': 'client-trace-0001' } });
    expect(echoed.headers.get('x-request-id')).toBe('client-trace-0001');
    const replaced = await rest(gw, 'GET', '/healthz', undefined, { headers: { 'x-request-id': 'bad id with spaces <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
    const graphql = await gql(gw, '{ __typename }');
    expect(graphql.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('rejects an x-tenant-id that does not match the credential with 401 before any handler', async () => {
    const before = await gw.runtime.db.apiKey.count();
    const res = await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'x' }, { token: org.admin.token.live, headers: { 'x-tenant-id': org.tenants.sandbox } });
    expectError(res, 401, 'tenant_mismatch');
    expect(await gw.runtime.db.apiKey.count()).toBe(before);
    const ok = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: org.admin.token.live, headers: { 'x-tenant-id': org.tenants.live } });
    expect(ok.status).toBe(200);
    const viaGraphql = await gql(gw, '{ viewer { tenantId } }', {}, { token: org.apiKey.live, headers: { 'x-tenant-id': 'ten_other' } });
    expect(viaGraphql.status).toBe(401);
    expect(viaGraphql.errors?.[0]?.extensions?.code).toBe('TENANT_MISMATCH');
  });

  it('never takes the environment from a header or the tenant from a body', async () => {
    const res = await rest(gw, 'GET', '/v1/auth/principal', undefined, {
      token: org.apiKey.sandbox,
      headers: { 'x-paybond-environment': 'live', 'x-environment': 'live' },
    });
    expect(res.body).toMatchObject({ environment: 'sandbox', tenant_id: org.tenants.sandbox });
  });

  it('serves health and readiness', async () => {
    expect(await rest(gw, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await rest(gw, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready', checks: { database: 'ok' } } });
  });

  it('reports not ready when the database is unreachable', async () => {
    const handle = await openPostgres('postgres://paybond@127.0.0.1:9/unreachable', 1);
    const db = new PrismaClient({ adapter: handle.factory });
    const broken = await createTestGateway({ database: { db, handle, close: () => db.$disconnect() } });
    try {
      const res = await rest(broken, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', checks: { database: 'unreachable' } });
    } finally {
      await broken.close();
    }
  });

  it('blocks field suggestions outside development', async () => {
    const res = await gql(gw, '{ viewr { tenantId } }', {}, { token: org.apiKey.live });
    expect(res.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect(testConfig().NODE_ENV).toBe('test');
  });
});
