import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { createIntent, fundedIntent, harborActor, harborWrite, signedEvidence, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';

let gw: TestGateway;
let actor: HarborActor;
beforeAll(async () => {
  gw = await createTestGateway();
  actor = await harborActor(gw, await createOrg(gw));
  // 150 writes in a few seconds: above the default 120/minute harbor_intent_mutation limit.
  const raised = await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 10_000, window_seconds: 60 } } }, { token: actor.org.admin.token.sandbox });
  expect(raised.status).toBe(200);
});
afterAll(() => gw.close());

const statuses = (results: Array<{ status: number }>) =>
  results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

describe('concurrency', () => {
  it('50 parallel funds of one intent: exactly one succeeds, the rest are 409', async () => {
    const { intent_id } = await createIntent(gw, actor);
    const results = await Promise.all(Array.from({ length: 50 }, () => harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {})));
    expect(statuses(results)).toEqual({ 200: 1, 409: 49 });
    const funded = await gw.runtime.db.ledgerEvent.count({ where: { tenantId: actor.tenantId, intentId: intent_id, type: 'funding.succeeded' } });
    expect(funded).toBe(1);
  });

  it('50 parallel settlement confirmations: exactly one settles', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed' }));
    const results = await Promise.all(Array.from({ length: 50 }, () => harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {})));
    expect(statuses(results)).toEqual({ 200: 1, 409: 49 });
    const settled = await gw.runtime.db.ledgerEvent.count({ where: { tenantId: actor.tenantId, intentId, type: 'settlement.settled' } });
    expect(settled).toBe(1);
  });

  it('50 parallel creates with one Idempotency-Key: one intent, the rest replay it or wait', async () => {
    const body = signedIntentBody(actor);
    const results = await Promise.all(Array.from({ length: 50 }, () => harborWrite(gw, actor, '/harbor/intents', body, { idempotencyKey: 'create-once' })));
    const counts = statuses(results);
    expect((counts[201] ?? 0) + (counts[409] ?? 0)).toBe(50);
    expect(counts[201]).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('idempotency_in_flight');
    for (const r of results.filter((x) => x.status === 201)) expect(r.body.intent_id).toBe(body.intent_id);
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: actor.tenantId, intentId: body.intent_id } })).toBe(1);
  });
});
