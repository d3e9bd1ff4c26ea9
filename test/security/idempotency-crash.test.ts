import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';

/**
 * Finding 1 of issue 11, in process: a claim whose owner died is taken over after the lease, and the
 * stored response commits in the write's own transaction (so a committed write always has its
 * response, and a write whose response could not be stored did not happen). The same with a real
 * process killed with SIGKILL: test/security/adversarial.test.ts.
 */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ROUTE = '/harbor/policy/v1/drafts';
const LEASE_SECONDS = 5;

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway({ env: { IDEMPOTENCY_LEASE_SECONDS: String(LEASE_SECONDS) } });
  org = await createOrg(gw);
});
afterAll(() => gw?.close());

const draftBody = (templateId = 'api_response_v1') => ({ template_id: templateId, parameters: { http_status_path: ['http_status'], expected_http_status: 200 } });
const draft = (key: string, body = draftBody()) => rest(gw, 'POST', ROUTE, body, { token: org.apiKey.live, headers: { 'idempotency-key': key } });
const versions = async () => (await gw.runtime.db.policyVersion.findMany({ where: { tenantId: org.tenants.live } })).length;

/** The row a request leaves behind when its process dies after claiming its key. */
async function orphanClaim(key: string, ageSeconds: number) {
  const raw = JSON.stringify(draftBody());
  await gw.runtime.db.idempotencyRecord.create({
    data: {
      id: `idem_${randomUUID()}`,
      tenantId: org.tenants.live,
      credentialId: org.apiKeyId.live,
      route: `POST ${ROUTE}`,
      keyHash: sha(key),
      requestHash: sha(`POST\n${ROUTE}\n${sha(raw)}`),
      status: 'in_flight',
      createdAt: new Date(Date.now() - ageSeconds * 1000),
      expiresAt: new Date(Date.now() + 86400_000),
    },
  });
}

describe('crash-safe idempotency', () => {
  it('a claim younger than the lease answers 409 with Retry-After', async () => {
    const key = `young-${randomUUID()}`;
    await orphanClaim(key, 0);
    const res = await draft(key);
    expectError(res, 409, 'idempotency_in_flight');
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('a claim whose owner died is taken over after the lease: the write runs once, then replays', async () => {
    const before = await versions();
    const key = `orphan-${randomUUID()}`;
    await orphanClaim(key, LEASE_SECONDS + 1);
    const first = await draft(key);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await draft(key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await versions()).toBe(before + 1);
  });

  it('the response commits with the write: if it cannot be stored, the write did not happen and a retry runs it once', async () => {
    const before = await versions();
    await gw.runtime.db.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION test_refuse_completion() RETURNS trigger AS $$
      BEGIN IF NEW."status" = 'completed' THEN RAISE EXCEPTION 'response store down (test fault)'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await gw.runtime.db.$executeRawUnsafe(`CREATE TRIGGER test_refuse_completion BEFORE UPDATE ON "IdempotencyRecord" FOR EACH ROW EXECUTE FUNCTION test_refuse_completion()`);
    const key = `atomic-${randomUUID()}`;
    let failed;
    try {
      // Straight through app.fetch: a 500 is what this fault must produce, and no route documents one.
      failed = await gw.app.fetch(`http://gateway${ROUTE}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.apiKey.live}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(draftBody()),
      });
    } finally {
      await gw.runtime.db.$executeRawUnsafe('DROP TRIGGER test_refuse_completion ON "IdempotencyRecord"');
    }
    expect(failed.status).toBeGreaterThanOrEqual(500);
    // Nothing committed: no version, and the key is free at once (no wedge).
    expect(await versions()).toBe(before);
    const retry = await draft(key);
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(await versions()).toBe(before + 1);
    expect((await draft(key)).headers.get('idempotent-replayed')).toBe('true');
  });

  it('concurrent requests with one key run the write once', async () => {
    const before = await versions();
    const key = `race-${randomUUID()}`;
    const results = await Promise.all([draft(key), draft(key), draft(key), draft(key)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.every((s) => s === 201 || s === 409), JSON.stringify(statuses)).toBe(true);
    expect(statuses).toContain(201);
    expect(await versions()).toBe(before + 1);
  });

  it('a failed write releases its key and commits its own side effects only', async () => {
    const before = await versions();
    const key = `fail-${randomUUID()}`;
    const bad = await draft(key, draftBody('no_such_template'));
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(await gw.runtime.db.idempotencyRecord.count({ where: { keyHash: sha(key) } })).toBe(0);
    expect(await versions()).toBe(before);
  });
});
