import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { ManualClock } from '../../src/clock.ts';

let gw: TestGateway;
let org: TestOrg;
const clock = new ManualClock(new Date());
beforeAll(async () => {
  gw = await createTestGateway({ clock });
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const create = (token: string, body: unknown = { name: 'ci key' }) => rest(gw, 'POST', '/v1/admin/api-keys', body, { token });

describe('API keys', () => {
  it('creates a key whose secret is shown once and whose environment comes from the tenant', async () => {
    const res = await create(org.admin.token.live);
    expect(res.status).toBe(201);
    expect(res.body.api_key).toMatch(/^paybond_sk_live_key_[A-Za-z0-9]{16}_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    expect(res.body).toMatchObject({ name: 'ci key', environment: 'live', status: 'active', expires_at: null });
    expect(res.body.api_key.startsWith(res.body.prefix)).toBe(true);
    expect(res.body.api_key.endsWith(res.body.hint)).toBe(true);

    const stored = await gw.runtime.db.apiKey.findUniqueOrThrow({ where: { id: res.body.api_key_id } });
    expect(JSON.stringify(stored)).not.toContain(res.body.api_key.split('_').at(-1));

    const list = await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token: org.admin.token.live });
    expect(list.status).toBe(200);
    const listed = list.body.api_keys.find((k: { api_key_id: string }) => k.api_key_id === res.body.api_key_id);
    expect(listed).toBeDefined();
    expect(listed.api_key).toBeUndefined();
    expect(JSON.stringify(list.body)).not.toContain(res.body.api_key);

    const principal = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: res.body.api_key });
    expect(principal.body).toMatchObject({ tenant_id: org.tenants.live, environment: 'live' });
    const used = await gw.runtime.db.apiKey.findUniqueOrThrow({ where: { id: res.body.api_key_id } });
    expect(used.lastUsedAt).not.toBeNull();
  });

  it('paginates with a cursor', async () => {
    const own = await createOrg(gw);
    for (let i = 0; i < 3; i++) expect((await create(own.admin.token.sandbox, { name: `k${i}` })).status).toBe(201);
    const first = await rest(gw, 'GET', '/v1/admin/api-keys?limit=2', undefined, { token: own.admin.token.sandbox });
    expect(first.body.api_keys).toHaveLength(2);
    expect(first.body.next_cursor).toBeTruthy();
    const second = await rest(gw, 'GET', `/v1/admin/api-keys?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`, undefined, { token: own.admin.token.sandbox });
    // 3 created here + the factory's sandbox key
    expect(second.body.api_keys).toHaveLength(2);
    expect(second.body.next_cursor).toBeNull();
    const ids = [...first.body.api_keys, ...second.body.api_keys].map((k: { api_key_id: string }) => k.api_key_id);
    expect(new Set(ids).size).toBe(4);
    expectError(await rest(gw, 'GET', '/v1/admin/api-keys?limit=0', undefined, { token: own.admin.token.sandbox }), 400, 'invalid_request');
    expectError(await rest(gw, 'GET', '/v1/admin/api-keys?limit=500', undefined, { token: own.admin.token.sandbox }), 400, 'invalid_request');
  });

  it('revokes: the key stops working at once, and revoking again is idempotent', async () => {
    const key = (await create(org.admin.token.sandbox)).body;
    const del = await rest(gw, 'DELETE', `/v1/admin/api-keys/${key.api_key_id}`, undefined, { token: org.admin.token.sandbox });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ api_key_id: key.api_key_id, status: 'revoked' });
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: key.api_key }), 401, 'credential_revoked');
    const again = await rest(gw, 'DELETE', `/v1/admin/api-keys/${key.api_key_id}`, undefined, { token: org.admin.token.sandbox });
    expect(again.status).toBe(200);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { resourceId: key.api_key_id, eventType: 'api_key.revoked' } });
    expect(audit).toHaveLength(1);
  });

  it("rotates: the old secret stops working, the new one works, and a revoked key can't be rotated", async () => {
    const key = (await create(org.admin.token.sandbox, { name: 'rotating' })).body;
    const rotated = await rest(gw, 'POST', `/v1/admin/api-keys/${key.api_key_id}/rotate`, {}, { token: org.admin.token.sandbox });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ name: 'rotating', status: 'active', rotated_from_id: key.api_key_id });
    expect(rotated.body.replaced_api_key).toMatchObject({ api_key_id: key.api_key_id, status: 'revoked' });
    expect(rotated.body.api_key).not.toBe(key.api_key);
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: key.api_key }), 401, 'credential_revoked');
    expect((await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: rotated.body.api_key })).status).toBe(200);
    expectError(await rest(gw, 'POST', `/v1/admin/api-keys/${key.api_key_id}/rotate`, {}, { token: org.admin.token.sandbox }), 409, 'conflict');
  });

  it('honours expiry and rejects bad expiry input', async () => {
    const expiresAt = new Date(clock.now().getTime() + 3600_000).toISOString();
    const key = (await create(org.admin.token.sandbox, { name: 'short', expires_at: expiresAt })).body;
    expect(key.expires_at).toBe(expiresAt);
    expect((await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: key.api_key })).status).toBe(200);
    clock.advance(3601);
    try {
      expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: key.api_key }), 401, 'token_expired');
    } finally {
      clock.advance(-3601);
    }
    expectError(await create(org.admin.token.sandbox, { name: 'past', expires_at: '2000-01-01T00:00:00Z' }), 400, 'invalid_request');
    expectError(await create(org.admin.token.sandbox, { name: 'far', expires_at: '2099-01-01T00:00:00Z' }), 400, 'invalid_request');
    expectError(await create(org.admin.token.sandbox, { name: '' }), 400, 'invalid_request');
    expectError(await create(org.admin.token.sandbox, { name: 'x'.repeat(101) }), 400, 'invalid_request');
    expectError(await create(org.admin.token.sandbox, { expires_at: 'soon' }), 400, 'invalid_request');
  });

  it('rejects environment-less keys and a prefix that does not match the tenant', async () => {
    const [, , env, , keyId, secret] = org.apiKey.sandbox.split('_') as string[];
    expect(env).toBe('sandbox');
    const envLess = `paybond_sk_key_${keyId}_${secret}`;
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: envLess }), 401, 'invalid_credentials');
    const forgedLive = `paybond_sk_live_key_${keyId}_${secret}`;
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: forgedLive }), 401, 'invalid_credentials');
    const wrongSecret = `paybond_sk_sandbox_key_${keyId}_${'1'.repeat(44)}`;
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: wrongSecret }), 401, 'invalid_credentials');
  });

  it('read-only members can list but not manage keys; API keys cannot manage keys', async () => {
    const reader = await addMember(gw, org, 'read_only');
    expect((await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token: reader.token.sandbox })).status).toBe(200);
    expectError(await create(reader.token.sandbox), 403, 'forbidden');
    expectError(await rest(gw, 'DELETE', `/v1/admin/api-keys/${org.apiKeyId.sandbox}`, undefined, { token: reader.token.sandbox }), 403, 'forbidden');
    expectError(await create(org.apiKey.sandbox), 403, 'forbidden');
    // The entitlement alone is enough.
    const entitled = await addMember(gw, org, 'read_only', ['tenant.admin']);
    expect((await create(entitled.token.sandbox)).status).toBe(201);
  });

  it("answers 404 for another tenant's key, by REST and by GraphQL node id", async () => {
    const other = await createOrg(gw);
    expectError(await rest(gw, 'DELETE', `/v1/admin/api-keys/${other.apiKeyId.sandbox}`, undefined, { token: org.admin.token.sandbox }), 404, 'not_found');
    expectError(await rest(gw, 'POST', `/v1/admin/api-keys/${other.apiKeyId.sandbox}/rotate`, {}, { token: org.admin.token.sandbox }), 404, 'not_found');
    // The live key of the same org is another tenant too.
    expectError(await rest(gw, 'DELETE', `/v1/admin/api-keys/${org.apiKeyId.live}`, undefined, { token: org.admin.token.sandbox }), 404, 'not_found');
    const own = await gqlOk(gw, '{ apiKeys(first: 1) { edges { node { id } } } }', {}, { token: other.admin.token.sandbox });
    const nodeId = own.apiKeys.edges[0].node.id;
    const probe = await gqlOk(gw, 'query($id: ID!) { node(id: $id) { id } }', { id: nodeId }, { token: org.admin.token.sandbox });
    expect(probe.node).toBeNull();
    const mine = await gqlOk(gw, 'query($id: ID!) { node(id: $id) { id } }', { id: nodeId }, { token: other.admin.token.sandbox });
    expect(mine.node).toEqual({ id: nodeId });
  });

  it('has GraphQL twins that share the rules', async () => {
    const created = await gqlOk(
      gw,
      'mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) { apiKey { id apiKeyId environment } secret userErrors { code } } }',
      { input: { name: 'gql key' } },
      { token: org.admin.token.sandbox },
    );
    expect(created.apiKeyCreate.userErrors).toEqual([]);
    expect(created.apiKeyCreate.secret).toMatch(/^paybond_sk_sandbox_/);
    const revoked = await gqlOk(
      gw,
      'mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { status } userErrors { code } } }',
      { id: created.apiKeyCreate.apiKey.id },
      { token: org.admin.token.sandbox },
    );
    expect(revoked.apiKeyRevoke.apiKey.status).toBe('revoked');
    const missing = await gqlOk(gw, 'mutation { apiKeyRevoke(id: "key_nope") { apiKey { id } userErrors { code message } } }', {}, { token: org.admin.token.sandbox });
    expect(missing.apiKeyRevoke.userErrors[0].code).toBe('NOT_FOUND');
    const invalid = await gql(gw, 'mutation { apiKeyCreate(input: { name: "" }) { secret } }', {}, { token: org.admin.token.sandbox });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('INVALID_REQUEST');
    const forbidden = await gql(gw, 'mutation { apiKeyCreate(input: { name: "x" }) { secret } }', {}, { token: org.apiKey.sandbox });
    expect(forbidden.status).toBe(403);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
