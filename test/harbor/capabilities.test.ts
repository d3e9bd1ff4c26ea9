import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { createIntent, fundedIntent, harborActor, type HarborActor } from '../helpers/harbor.ts';

let gw: TestGateway;
let actor: HarborActor;
beforeAll(async () => {
  gw = await createTestGateway();
  actor = await harborActor(gw, await createOrg(gw));
});
afterAll(() => gw.close());

const verify = (body: Record<string, unknown>, token = actor.token) =>
  rest(gw, 'POST', '/verify', body, { token, headers: { 'x-tenant-id': actor.tenantId } });

describe('capability tokens and POST /verify', () => {
  it('allows spend within the ceiling, for allowed operations, and reserves it', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor, { amountCents: 1000 });
    const res = await verify({ intent_id: intentId, token: capabilityToken, operation: 'Vendor.Lookup', requested_spend_cents: 400 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant: actor.tenantId, intent_id: intentId, allow: true, code: null, remaining_cents: 600, spend_scope: { scope_type: 'intent', scope_key: intentId } });
    expect(res.body.decision_id).toMatch(/^dec_/);
    const over = await verify({ intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 601 });
    expect(over.body).toMatchObject({ allow: false, code: 'budget_exceeded', remaining_cents: 600 });
    const notAllowed = await verify({ intent_id: intentId, token: capabilityToken, operation: 'wire.transfer', requested_spend_cents: 1 });
    expect(notAllowed.body).toMatchObject({ allow: false, code: 'operation_not_allowed' });
  });

  it('denies a forged, foreign or unfunded capability', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor);
    expect((await verify({ intent_id: intentId, token: `${capabilityToken}x`, operation: 'vendor.lookup' })).body).toMatchObject({ allow: false, code: 'capability_invalid' });
    const other = await fundedIntent(gw, actor);
    expect((await verify({ intent_id: other.intentId, token: capabilityToken, operation: 'vendor.lookup' })).body).toMatchObject({ allow: false, code: 'capability_mismatch' });
    const stranger = await harborActor(gw, await createOrg(gw));
    const foreign = await rest(gw, 'POST', '/verify', { intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup' }, { token: stranger.token });
    expect(foreign.body).toMatchObject({ allow: false, code: 'capability_invalid', tenant: stranger.tenantId });
    const created = await createIntent(gw, actor);
    expect((await verify({ intent_id: created.intent_id, token: 'eyJhbGciOiJub25lIn0.e30.', operation: 'x' })).body.allow).toBe(false);
  });

  it('asks for approval above the intent’s approval threshold', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor, { budget: { max: 5000, approval_threshold_cents: 1000 } });
    expect((await verify({ intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 1500 })).body).toMatchObject({
      allow: false,
      code: 'approval_required',
    });
    expect((await verify({ intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 900 })).body.allow).toBe(true);
  });

  it('replays a decision for the same idempotency key without spending twice', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor, { amountCents: 1000 });
    const body = { intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 700, idempotency_key: 'tool-call-1' };
    const first = await verify(body);
    const again = await verify(body);
    expect(again.body.decision_id).toBe(first.body.decision_id);
    expect(again.body.remaining_cents).toBe(300);
  });

  it('completes decisions: released spend goes back to the budget, consumed stays', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor, { amountCents: 1000 });
    const a = await verify({ intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 600 });
    const released = await rest(gw, 'POST', `/v1/spend/decisions/${a.body.decision_id}/complete`, { outcome: 'released' }, { token: actor.token });
    expect(released.body).toMatchObject({ decision_id: a.body.decision_id, status: 'released' });
    expectError(await rest(gw, 'POST', `/v1/spend/decisions/${a.body.decision_id}/complete`, { outcome: 'consumed' }, { token: actor.token }), 409, 'conflict');
    const b = await verify({ intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 1000 });
    expect(b.body).toMatchObject({ allow: true, remaining_cents: 0 });
    expect((await rest(gw, 'POST', `/v1/spend/decisions/${b.body.decision_id}/complete`, { outcome: 'consumed' }, { token: actor.token })).body.status).toBe('consumed');
    expectError(await rest(gw, 'POST', '/v1/spend/decisions/dec_missing/complete', { outcome: 'consumed' }, { token: actor.token }), 404, 'not_found');
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: actor.tenantId, intentId }, orderBy: { seq: 'asc' } });
    expect(ledger.map((e) => e.type)).toEqual(['intent.created', 'funding.succeeded', 'spend.reserved', 'spend.released', 'spend.reserved', 'spend.consumed']);
  });

  it('50 parallel spends never exceed the ceiling', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor, { amountCents: 1000 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => verify({ intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 70 })),
    );
    const allowed = results.filter((r) => r.body.allow === true);
    expect(allowed).toHaveLength(14); // 14 × 70 = 980 ≤ 1000 < 15 × 70
    expect(results.filter((r) => r.body.code === 'budget_exceeded')).toHaveLength(36);
    const intent = await gw.runtime.db.harborIntent.findFirstOrThrow({ where: { tenantId: actor.tenantId, intentId } });
    expect(intent.spentCents).toBe(980);
  });
});
