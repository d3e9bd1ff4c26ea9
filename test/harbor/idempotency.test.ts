import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { createIntent, harborActor, harborWrite, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';
import { ManualClock } from '../../src/clock.ts';
import { sha256Hex } from '../../src/crypto/hash.ts';

let gw: TestGateway;
let actor: HarborActor;
const clock = new ManualClock(new Date());
beforeAll(async () => {
  gw = await createTestGateway({ clock });
  actor = await harborActor(gw, await createOrg(gw));
});
afterAll(() => gw.close());

describe('Idempotency-Key', () => {
  it('stores the first result and replays it with Idempotent-Replayed: true', async () => {
    const body = signedIntentBody(actor);
    const first = await harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'key-1' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'key-1' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: actor.tenantId, intentId: body.intent_id } })).toBe(1);
  });

  it('the same key with a different body is 422', async () => {
    await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { idempotencyKey: 'key-2' });
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { idempotencyKey: 'key-2' }), 422, 'idempotency_key_mismatch');
  });

  it('while the first request is in flight, the same key is 409 with Retry-After', async () => {
    const body = signedIntentBody(actor);
    const raw = JSON.stringify(body);
    await gw.runtime.db.idempotencyRecord.create({
      data: {
        id: 'idem_test_inflight',
        tenantId: actor.tenantId,
        credentialId: actor.org.apiKeyId.sandbox,
        route: 'POST /harbor/intents',
        keyHash: sha256Hex('key-3'),
        requestHash: sha256Hex(`POST\n/harbor/intents\n${sha256Hex(raw)}`),
        status: 'in_flight',
        expiresAt: new Date(clock.now().getTime() + 3600_000),
      },
    });
    const res = await harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'key-3' });
    expectError(res, 409, 'idempotency_in_flight');
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('stores nothing for a failed request, so a corrected retry runs', async () => {
    const bad = { ...signedIntentBody(actor), amount_cents: -1 };
    expectError(await harborWrite(gw, actor, '/harbor/intents', bad, { idempotencyKey: 'key-4' }), 400, 'invalid_request');
    const unsigned = { ...signedIntentBody(actor), principal_signature: signedIntentBody(actor).principal_signature };
    expectError(await harborWrite(gw, actor, '/harbor/intents', unsigned, { idempotencyKey: 'key-5' }), 401, 'principal_signature_invalid');
    expect(await gw.runtime.db.idempotencyRecord.count({ where: { tenantId: actor.tenantId, keyHash: { in: [sha256Hex('key-4'), sha256Hex('key-5')] } } })).toBe(0);
  });

  it('is scoped per credential and route, and expires after 24 hours', async () => {
    const body = signedIntentBody(actor);
    expect((await harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'key-6' })).status).toBe(201);
    // Another credential of the same tenant: its own scope, so the key runs (and the duplicate id is a conflict).
    expectError(await harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'key-6', token: actor.org.admin.token.sandbox }), 409, 'conflict');
    clock.advance(24 * 3600 + 1);
    try {
      const later = { issuedAtMs: clock.now().getTime() - 60_000 };
      expectError(await harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'key-6', proof: later }), 409, 'conflict');
    } finally {
      clock.advance(-(24 * 3600 + 1));
    }
  });

  it('does not freeze a provisional funding answer: polling with one key advances 402 → 200', async () => {
    const { intent_id } = await createIntent(gw, actor, { settlementRail: 'x402_usdc_base' });
    const path = `/harbor/intents/${intent_id}/fund`;
    expect((await harborWrite(gw, actor, path, {}, { idempotencyKey: 'fund-1' })).status).toBe(402);
    const paid = await harborWrite(gw, actor, path, {}, { idempotencyKey: 'fund-1', headers: { 'payment-signature': 'sig' } });
    expect(paid.status).toBe(200);
    const replay = await harborWrite(gw, actor, path, {}, { idempotencyKey: 'fund-1', headers: { 'payment-signature': 'sig' } });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ intent_id, funded: true, state: 'funded' });
    // The capability token is a bearer secret: shown once, never stored for replays.
    expect(paid.body.capability_token).toBeTruthy();
    expect(replay.body.capability_token).toBeUndefined();
  });

  it('rejects a malformed key', async () => {
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { idempotencyKey: 'x'.repeat(256) }), 400, 'invalid_request');
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { idempotencyKey: 'has space' }), 400, 'invalid_request');
  });

  it('applies to other writes too (API key creation)', async () => {
    const token = actor.org.admin.token.sandbox;
    const a = await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'once' }, { token, headers: { 'idempotency-key': 'apikey-1' } });
    const b = await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'once' }, { token, headers: { 'idempotency-key': 'apikey-1' } });
    expect(b.body.api_key_id).toBe(a.body.api_key_id);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(a.body.api_key).toMatch(/^paybond_sk_/);
    expect(b.body.api_key).toBeNull();
    const stored = await gw.runtime.db.idempotencyRecord.findMany({ where: { tenantId: actor.tenantId } });
    expect(JSON.stringify(stored)).not.toContain(a.body.api_key);
  });
});
