import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { createIntent, harborActor, harborWrite, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';
import { keypair } from '../helpers/agent.ts';

let gw: TestGateway;
let org: TestOrg;
let actor: HarborActor;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  actor = await harborActor(gw, org);
});
afterAll(() => gw.close());

const counts = async (tenantId: string) => ({
  intents: await gw.runtime.db.harborIntent.count({ where: { tenantId } }),
  ledger: await gw.runtime.db.ledgerEvent.count({ where: { tenantId } }),
});

describe('POST /harbor/intents', () => {
  it('creates an intent from an SDK-style signed body, with a ledger event and an audit event', async () => {
    const body = signedIntentBody(actor, { amountCents: 4200 });
    const res = await harborWrite(gw, actor, '/harbor/intents', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      intent_id: body.intent_id,
      tenant: actor.tenantId,
      tenant_id: actor.tenantId,
      state: 'created',
      amount_cents: 4200,
      currency: 'usd',
      settlement_rail: 'stripe_connect',
      settlement_mode: 'simulated',
      allowed_tools: ['vendor.lookup', 'Vendor.Book'],
    });
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: actor.tenantId, intentId: body.intent_id } });
    expect(ledger.map((e) => e.type)).toEqual(['intent.created']);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: actor.tenantId, resourceId: body.intent_id } });
    expect(audit.map((a) => a.eventType)).toContain('harbor.intent.created');
    const read = await rest(gw, 'GET', `/harbor/operator/v1/intents/${body.intent_id}`, undefined, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(read.body).toMatchObject({ tenant_id: actor.tenantId, intent_id: body.intent_id, allowed_tools: ['vendor.lookup', 'Vendor.Book'] });
  });

  it('refuses a bad principal signature with 401 before writing anything', async () => {
    const before = await counts(actor.tenantId);
    const tampered = { ...signedIntentBody(actor), amount_cents: 999_999 };
    expectError(await harborWrite(gw, actor, '/harbor/intents', tampered), 401, 'principal_signature_invalid');
    const otherTenant = signedIntentBody(actor, { signForTenant: 'ten_somebodyelse' });
    expectError(await harborWrite(gw, actor, '/harbor/intents', otherTenant), 401, 'principal_signature_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...signedIntentBody(actor), principal_signature: 'bm90IGEgc2ln' }), 401, 'principal_signature_invalid');
    expect(await counts(actor.tenantId)).toEqual(before);
  });

  it('needs a valid recognition proof (or a signed agent request)', async () => {
    const before = await counts(actor.tenantId);
    const body = () => signedIntentBody(actor);
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: false }), 401, 'recognition_proof_required');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { purpose: 'harbor.intent.fund' } }), 401, 'recognition_proof_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { path: '/harbor/intents/x/fund' } }), 401, 'recognition_proof_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { bodyDigest: 'a'.repeat(64) } }), 401, 'recognition_proof_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { tenantId: 'ten_other' } }), 401, 'recognition_proof_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { issuedAtMs: Date.now() - 3600_000 } }), 401, 'recognition_proof_expired');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { lifetimeSeconds: 3600 } }), 401, 'recognition_proof_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { key: keypair() } }), 401, 'recognition_proof_invalid');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { proof: { keyId: 'kid-unknown' } }), 401, 'unregistered_key');
    expectError(await harborWrite(gw, actor, '/harbor/intents', body(), { headers: { 'x-paybond-agent-recognition-proof': 'not-json' }, proof: false }), 401, 'recognition_proof_invalid');
    expect(await counts(actor.tenantId)).toEqual(before);
  });

  it('accepts each proof once; a revoked key is 403', async () => {
    const body = signedIntentBody(actor);
    const raw = JSON.stringify(body);
    const { recognitionProof } = await import('../helpers/harbor.ts');
    const proof = recognitionProof(actor, 'POST', '/harbor/intents', raw);
    const send = () => rest(gw, 'POST', '/harbor/intents', undefined, {
      token: actor.token,
      raw,
      headers: { 'content-type': 'application/json', 'x-paybond-agent-recognition-proof': proof },
    });
    expect((await send()).status).toBe(201);
    expectError(await send(), 401, 'recognition_proof_replayed');

    const other = await harborActor(gw, await createOrg(gw));
    await rest(gw, 'POST', `/v1/admin/protocol/agent-keys/${other.keyId}/revoke`, undefined, { token: other.org.admin.token.sandbox });
    expectError(await harborWrite(gw, other, '/harbor/intents', signedIntentBody(other)), 403, 'revoked_key');
  });

  it('keeps a proof usable when the write it authorised failed', async () => {
    const existing = await createIntent(gw, actor);
    const dup = signedIntentBody(actor, { intentId: existing.intent_id });
    const raw = JSON.stringify(dup);
    const { recognitionProof } = await import('../helpers/harbor.ts');
    const proof = recognitionProof(actor, 'POST', '/harbor/intents', raw);
    const send = () => rest(gw, 'POST', '/harbor/intents', undefined, { token: actor.token, raw, headers: { 'content-type': 'application/json', 'x-paybond-agent-recognition-proof': proof } });
    expectError(await send(), 409, 'conflict');
    expectError(await send(), 409, 'conflict'); // not recognition_proof_replayed: the failed write consumed nothing
  });

  it('validates the body with clear errors', async () => {
    const good = signedIntentBody(actor);
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...good, intent_id: 'not-a-uuid' }), 400, 'invalid_request');
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...good, amount_cents: 10.5 }), 400, 'invalid_request');
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...good, amount_cents: -5 }), 400, 'invalid_request');
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...good, settlement_rail: 'wire' }), 400, 'invalid_request');
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...good, signing_version: 5 }), 400, 'invalid_request');
    expectError(await harborWrite(gw, actor, '/harbor/intents', { ...good, allowed_tools: [] }), 400, 'invalid_request');
    const badPredicate = signedIntentBody(actor, { predicate: { version: 1, root: { op: 'explode' } } });
    expectError(await harborWrite(gw, actor, '/harbor/intents', badPredicate), 422, 'predicate_error');
  });

  it('refuses live intents while no live settlement rail is configured', async () => {
    const live = await harborActor(gw, org, 'live');
    expectError(await harborWrite(gw, live, '/harbor/intents', signedIntentBody(live)), 422, 'settlement_rail_not_allowed');
  });

  it('only lets writers write: read-only sessions and PATs are 403', async () => {
    const reader = await addMember(gw, org, 'read_only');
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { token: reader.token.sandbox }), 403, 'forbidden');
  });
});

describe('tenant isolation', () => {
  it("tenant B cannot read, fund, settle or dispute tenant A's intents (404, by REST and GraphQL)", async () => {
    const a = await createIntent(gw, actor);
    const b = await harborActor(gw, await createOrg(gw));
    const headers = { 'x-tenant-id': b.tenantId };
    expectError(await rest(gw, 'GET', `/harbor/operator/v1/intents/${a.intent_id}`, undefined, { token: b.token, headers }), 404, 'not_found');
    for (const suffix of ['/fund', '/evidence', '/settlement/confirm']) {
      const body = suffix === '/evidence' ? { payload: { status: 'completed' } } : {};
      expectError(await harborWrite(gw, b, `/harbor/intents/${a.intent_id}${suffix}`, body), 404, 'not_found');
    }
    expectError(await harborWrite(gw, b, `/harbor/operator/v1/intents/${a.intent_id}/dispute/open`, { reason: 'mine now' }), 404, 'not_found');
    const list = await rest(gw, 'GET', '/harbor/operator/v1/intents?limit=200', undefined, { token: b.token, headers });
    expect(list.body.intents.map((i: { intent_id: string }) => i.intent_id)).not.toContain(a.intent_id);
    const nodeId = (await rest(gw, 'GET', `/harbor/operator/v1/intents/${a.intent_id}`, undefined, { token: actor.token })).body.node_id;
    expect((await gqlOk(gw, 'query($id: ID!) { node(id: $id) { id } }', { id: nodeId }, { token: b.token })).node).toBeNull();
    expect((await gqlOk(gw, 'query($id: ID!) { node(id: $id) { id } }', { id: nodeId }, { token: actor.token })).node).toEqual({ id: nodeId });
    // The x-tenant-id of another tenant is refused outright.
    expectError(await rest(gw, 'GET', `/harbor/operator/v1/intents/${a.intent_id}`, undefined, { token: b.token, headers: { 'x-tenant-id': actor.tenantId } }), 401, 'tenant_mismatch');
  });
});

describe('GET /harbor/operator/v1/intents', () => {
  it('filters and pages with a cursor', async () => {
    const own = await harborActor(gw, await createOrg(gw));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createIntent(gw, own, { amountCents: 100 + i })).intent_id);
    const first = await rest(gw, 'GET', '/harbor/operator/v1/intents?limit=2', undefined, { token: own.token });
    expect(first.body.tenant_id).toBe(own.tenantId);
    expect(first.body.intents).toHaveLength(2);
    const second = await rest(gw, 'GET', `/harbor/operator/v1/intents?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`, undefined, { token: own.token });
    expect([...first.body.intents, ...second.body.intents].map((i: { intent_id: string }) => i.intent_id).sort()).toEqual([...ids].sort());
    const none = await rest(gw, 'GET', '/harbor/operator/v1/intents?status=funded', undefined, { token: own.token });
    expect(none.body).toEqual({ tenant_id: own.tenantId, intents: [], next_cursor: null });
    expectError(await rest(gw, 'GET', '/harbor/operator/v1/intents?status=bogus', undefined, { token: own.token }), 400, 'invalid_request');
    expectError(await rest(gw, 'GET', '/harbor/operator/v1/intents?limit=201', undefined, { token: own.token }), 400, 'invalid_request');
    const gql = await gqlOk(gw, '{ intents(first: 10, state: created) { tenantId edges { node { intentId state } } } }', {}, { token: own.token });
    expect(gql.intents.edges).toHaveLength(3);
    expect(randomUUID()).toBeTruthy();
  });
});
