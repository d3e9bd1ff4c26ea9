import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { createIntent, fundedIntent, harborActor, harborWrite, signedEvidence, type HarborActor } from '../helpers/harbor.ts';
import { simulatorIdempotencyKey } from '../../src/areas/settlement/simulator.ts';

let gw: TestGateway;
let org: TestOrg;
let actor: HarborActor;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  actor = await harborActor(gw, org);
});
afterAll(() => gw.close());

const EVENTS = '/v1/sandbox/simulator/events';
const simulate = (body: Record<string, unknown>, token = org.apiKey.sandbox) => rest(gw, 'POST', EVENTS, body, { token });
const stateOf = async (intentId: string) =>
  (await gw.runtime.db.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId: org.tenants.sandbox, intentId } } })).state;
const ledgerTypes = async (intentId: string) =>
  (await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: org.tenants.sandbox, intentId }, orderBy: { seq: 'asc' } })).map((l) => l.type);

async function withEvidence(terms: Parameters<typeof createIntent>[2] = {}) {
  const { intentId } = await fundedIntent(gw, actor, terms);
  const ev = await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed' }));
  expect(ev.status).toBe(200);
  return intentId;
}

describe('sandbox simulator events', () => {
  it('moves an intent through the real state machine with simulated ledger and audit rows', async () => {
    const intentId = await withEvidence();
    const res = await simulate({ event_type: 'release', intent_id: intentId });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      event_type: 'release',
      intent_id: intentId,
      sequence: 1,
      tenant_id: org.tenants.sandbox,
      environment: 'sandbox',
      livemode: false,
      settlement_rail: 'stripe_connect',
      from_state: 'evidence_submitted',
      to_state: 'settled',
      steps: ['settlement_requested', 'settlement_released', 'settlement_finalized'],
      replayed: false,
      intent: { intent_id: intentId, state: 'settled', settlement_action: 'release' },
    });
    expect(res.body.idempotency_key).toBe(simulatorIdempotencyKey({ tenantId: org.tenants.sandbox, intentId, kind: 'release', sequence: 1 }));
    expect(res.body.node_id).toBeTruthy();
    expect(await ledgerTypes(intentId)).toEqual(['intent.created', 'funding.succeeded', 'evidence.submitted', 'settlement.requested', 'settlement.released', 'settlement.settled']);
    const audit = await gw.runtime.db.auditEvent.findFirstOrThrow({ where: { tenantId: org.tenants.sandbox, eventType: 'sandbox.simulator.release', resourceId: intentId } });
    expect(audit.details).toMatchObject({ simulated: true, livemode: false, environment: 'sandbox', idempotency_key: res.body.idempotency_key, from: 'evidence_submitted', to: 'settled' });
  });

  it('the same rehearsal twice writes once; the next sequence is a new event; other inputs under one key are refused', async () => {
    const intentId = await withEvidence();
    const first = await simulate({ event_type: 'dispute_opened', intent_id: intentId });
    expect(first.status).toBe(201);
    const ledgerAfterFirst = await ledgerTypes(intentId);
    const again = await simulate({ event_type: 'dispute_opened', intent_id: intentId });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ replayed: true, event_id: first.body.event_id, idempotency_key: first.body.idempotency_key, to_state: 'disputed' });
    expect(await ledgerTypes(intentId)).toEqual(ledgerAfterFirst);
    expect(await gw.runtime.db.simulatorEvent.count({ where: { tenantId: org.tenants.sandbox, intentId } })).toBe(1);
    expectError(await simulate({ event_type: 'dispute_resolved', intent_id: intentId }), 400, 'invalid_request');
    expect((await simulate({ event_type: 'dispute_resolved', intent_id: intentId, outcome: 'split' })).body).toMatchObject({ to_state: 'resolved', intent: { state: 'resolved' } });
    expectError(await simulate({ event_type: 'dispute_resolved', intent_id: intentId, outcome: 'refund' }), 422, 'idempotency_key_mismatch');
    expect((await simulate({ event_type: 'dispute_resolved', intent_id: intentId, outcome: 'split' })).status).toBe(200);
  });

  it('concurrent copies of one event: one write, the rest replay it', async () => {
    const intentId = await withEvidence();
    const results = await Promise.all(Array.from({ length: 6 }, () => simulate({ event_type: 'refund', intent_id: intentId })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.event_id)).size).toBe(1);
    expect((await ledgerTypes(intentId)).filter((t) => t === 'settlement.refunded')).toHaveLength(1);
  });

  it('ACH: funding is pending, then succeeds (or fails) on a later event', async () => {
    const created = await createIntent(gw, actor, { settlementRail: 'stripe_ach_debit' });
    const pending = await simulate({ event_type: 'funding_pending', intent_id: created.intent_id, settlement_rail: 'stripe_ach_debit' });
    expect(pending.body).toMatchObject({ from_state: 'created', to_state: 'funding_pending', steps: ['fund_started'], settlement_rail: 'stripe_ach_debit' });
    const succeeded = await simulate({ event_type: 'funding_succeeded', intent_id: created.intent_id, settlement_rail: 'stripe_ach_debit' });
    expect(succeeded.body).toMatchObject({ from_state: 'funding_pending', to_state: 'funded', steps: ['fund_succeeded'] });
    expect(await ledgerTypes(created.intent_id)).toEqual(['intent.created', 'funding.pending', 'funding.succeeded']);

    const failing = await createIntent(gw, actor, { settlementRail: 'stripe_ach_debit' });
    expect((await simulate({ event_type: 'funding_failed', intent_id: failing.intent_id })).body).toMatchObject({ to_state: 'funding_failed', steps: ['fund_started', 'fund_failed'] });
    // A retried debit: pending again (next sequence), then succeeded in one event from created-like states.
    expect((await simulate({ event_type: 'funding_succeeded', intent_id: failing.intent_id })).body).toMatchObject({ from_state: 'funding_failed', to_state: 'funded' });
    // A direct success on a created ACH intent still passes through pending.
    const direct = await createIntent(gw, actor, { settlementRail: 'stripe_ach_debit' });
    expect((await simulate({ event_type: 'funding_succeeded', intent_id: direct.intent_id })).body.steps).toEqual(['fund_started', 'fund_succeeded']);
    const voided = await createIntent(gw, actor, { settlementRail: 'stripe_ach_debit' });
    expect((await simulate({ event_type: 'void', intent_id: voided.intent_id })).body).toMatchObject({ to_state: 'voided', steps: ['void'] });
    expect(await ledgerTypes(voided.intent_id)).toEqual(['intent.created', 'intent.voided']);
  });

  it('an illegal transition is a 409 and nothing is written', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const before = await ledgerTypes(intentId);
    for (const event of ['release', 'void', 'dispute_resolved']) {
      expectError(await simulate({ event_type: event, intent_id: intentId, outcome: 'refund' }), 409, 'invalid_state_transition');
    }
    expect(await ledgerTypes(intentId)).toEqual(before);
    expect(await stateOf(intentId)).toBe('funded');
    expect(await gw.runtime.db.simulatorEvent.count({ where: { tenantId: org.tenants.sandbox, intentId } })).toBe(0);
  });

  it('refuses another rail than the intent’s, and a refund over a pending release', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    expectError(await simulate({ event_type: 'dispute_opened', intent_id: intentId, settlement_rail: 'stripe_ach_debit' }), 422, 'simulator_rail_mismatch');
    const pending = await withEvidence();
    const confirm = await harborWrite(gw, actor, `/harbor/intents/${pending}/settlement/confirm`, { simulator_outcome: 'unknown' });
    expect(confirm.body.state).toBe('settlement_pending');
    expectError(await simulate({ event_type: 'refund', intent_id: pending }), 409, 'simulator_settlement_conflict');
    expect((await simulate({ event_type: 'release', intent_id: pending })).body).toMatchObject({ steps: ['settlement_released', 'settlement_finalized'], to_state: 'settled' });
  });

  it('webhook rehearsal: one simulator ledger and audit row, nothing moves', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const res = await simulate({ event_type: 'webhook_rehearsal', intent_id: intentId });
    expect(res.body).toMatchObject({ steps: [], from_state: 'funded', to_state: 'funded' });
    expect((await ledgerTypes(intentId)).at(-1)).toBe('simulator.webhook_rehearsal');
    const free = await simulate({ event_type: 'webhook_rehearsal', sequence: 7 });
    expect(free.status).toBe(201);
    expect(free.body).toMatchObject({ intent_id: null, intent: null, steps: [] });
    expect(await gw.runtime.db.ledgerEvent.count({ where: { tenantId: org.tenants.sandbox, type: 'simulator.webhook_rehearsal', intentId: null } })).toBe(1);
    expectError(await simulate({ event_type: 'release' }), 400, 'invalid_request');
  });

  it('sandbox credentials only; live material refused; another tenant’s intent is not found', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    expectError(await simulate({ event_type: 'dispute_opened', intent_id: intentId }, org.apiKey.live), 403, 'sandbox_environment_required');
    expectError(await simulate({ event_type: 'dispute_opened', intent_id: intentId }, org.admin.token.live), 403, 'sandbox_environment_required');
    const reader = await addMember(gw, org, 'read_only');
    expectError(await simulate({ event_type: 'dispute_opened', intent_id: intentId }, reader.token.sandbox), 403, 'forbidden');
    const other = await createOrg(gw);
    expectError(await simulate({ event_type: 'dispute_opened', intent_id: intentId }, other.apiKey.sandbox), 404, 'not_found');
    for (const body of [
      { event_type: 'dispute_opened', intent_id: intentId, livemode: true },
      { event_type: 'dispute_opened', intent_id: intentId, environment: 'live' },
      { event_type: 'dispute_opened', intent_id: intentId, note: `whsec_${'a'.repeat(20)}` },
    ]) {
      expectError(await simulate(body), 422, 'live_provider_material');
    }
    expectError(await simulate({ event_type: 'teleport', intent_id: intentId }), 400, 'invalid_request');
    expect(await stateOf(intentId)).toBe('funded');
    // An admin session of the sandbox tenant may rehearse too.
    expect((await simulate({ event_type: 'dispute_opened', intent_id: intentId }, org.admin.token.sandbox)).status).toBe(201);
  });

  it('GraphQL twin', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const res = await gql(
      gw,
      `mutation($input: SandboxSimulatorEventInput!) { sandboxSimulatorEventCreate(input: $input) { event { eventType idempotencyKey steps livemode } intent { state } replayed userErrors { code } } }`,
      { input: { eventType: 'dispute_opened', intentId } },
      { token: org.apiKey.sandbox },
    );
    expect(res.data.sandboxSimulatorEventCreate).toMatchObject({ event: { eventType: 'dispute_opened', steps: ['dispute_open'], livemode: false }, intent: { state: 'disputed' }, replayed: false, userErrors: [] });
    const bad = await gql(gw, `mutation($input: SandboxSimulatorEventInput!) { sandboxSimulatorEventCreate(input: $input) { userErrors { code } } }`, { input: { eventType: 'void', intentId } }, { token: org.apiKey.sandbox });
    expect(bad.data.sandboxSimulatorEventCreate.userErrors).toEqual([{ code: 'INVALID_STATE_TRANSITION' }]);
  });
});
