import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { redact } from '../../src/kernel/audit/redact.ts';
import { sha256Hex } from '../../src/crypto/hash.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const list = (query = '', token = org.admin.token.sandbox) => rest(gw, 'GET', `/v1/admin/audit-events${query}`, undefined, { token });

describe('GET /v1/admin/audit-events', () => {
  it('lists the tenant’s events newest first and filters them', async () => {
    const created = await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'audited' }, { token: org.admin.token.sandbox, headers: { 'idempotency-key': 'audit-idem-1', 'x-request-id': 'trace-audit-0001' } });
    await rest(gw, 'DELETE', `/v1/admin/api-keys/${created.body.api_key_id}`, undefined, { token: org.admin.token.sandbox });
    const all = await list();
    expect(all.status).toBe(200);
    expect(all.body.events[0]).toMatchObject({ event_type: 'api_key.revoked', resource: 'api_key', resource_id: created.body.api_key_id, decision: 'allowed', actor_type: 'user' });
    const byType = await list('?event_type=api_key.created&limit=1');
    expect(byType.body.events).toHaveLength(1);
    expect(byType.body.events[0].event_type).toBe('api_key.created');
    const byRequest = await list('?request_id=trace-audit-0001');
    expect(byRequest.body.events.map((e: { event_type: string }) => e.event_type)).toEqual(['api_key.created']);
    const byKey = await list(`?idempotency_key_sha256_hex=${sha256Hex('audit-idem-1')}`);
    expect(byKey.body.events).toHaveLength(0); // only writes that carry the key record its hash
    const future = await list('?created_after=2100-01-01T00:00:00Z');
    expect(future.body.events).toEqual([]);
    expectError(await list('?idempotency_key_sha256_hex=xyz'), 400, 'invalid_request');
    expectError(await list('?created_after=yesterday'), 400, 'invalid_request');
  });

  it('shows only the caller’s tenant; read-only members may read; machines may not', async () => {
    const other = await createOrg(gw);
    const theirs = await list('', other.admin.token.sandbox);
    expect(theirs.body.events.every((e: { resource_id: string }) => !JSON.stringify(e).includes(org.tenants.sandbox))).toBe(true);
    const reader = await addMember(gw, org, 'read_only');
    expect((await list('', reader.token.sandbox)).status).toBe(200);
    expectError(await list('', org.apiKey.sandbox), 403, 'forbidden');
  });
});

describe('redaction', () => {
  it('hashes sensitive keys and masks sensitive values anywhere in details', () => {
    const key = new Uint8Array(32).fill(7);
    const out = JSON.stringify(
      redact(
        {
          email: 'a@b.test',
          note: 'reach me at someone@example.org from 10.1.2.3 or ::ffff:1:2',
          header: 'Bearer eyJhbGciOi.eyJzdWIiOi.sig',
          nested: { api_key: 'paybond_sk_live_key_x_y', list: ['paybond_pat_abc', 'did:web:example.com'] },
          token_sha256: 'keep-me',
          amount_cents: 5,
        },
        key,
      ),
    );
    expect(out).not.toMatch(/someone@example|a@b\.test|10\.1\.2\.3|eyJhbGci|paybond_sk_live|paybond_pat_abc|did:web/);
    expect(out).toContain('"amount_cents":5');
    expect(out).toContain('"token_sha256":"keep-me"');
    expect(out).toMatch(/"email":"h:[0-9a-f]{24}"/);
  });
});
