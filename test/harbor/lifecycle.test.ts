import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { createIntent, fundedIntent, harborActor, harborWrite, signedEvidence, type HarborActor } from '../helpers/harbor.ts';
import { INTENT_STATES, canTransition, nextState, type IntentAction } from '../../src/areas/harbor/state-machine.ts';

let gw: TestGateway;
let actor: HarborActor;
beforeAll(async () => {
  gw = await createTestGateway();
  actor = await harborActor(gw, await createOrg(gw));
});
afterAll(() => gw.close());

const ledgerTypes = async (intentId: string) =>
  (await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: actor.tenantId, intentId }, orderBy: { seq: 'asc' } })).map((e) => e.type);

describe('funding', () => {
  it('funds at once on a card-like rail: 200 with every field the SDK requires and a capability token', async () => {
    const { intent_id } = await createIntent(gw, actor, { amountCents: 2500 });
    const res = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant: actor.tenantId, intent_id, state: 'funded', currency: 'usd', amount_cents: 2500, funded: true, settlement_rail: 'stripe_connect' });
    expect(res.body.capability_token).toMatch(/^eyJ/);
    expect(res.body.funding).toMatchObject({ settlement_rail: 'stripe_connect', status: 'authorization_succeeded' });
    expect(await ledgerTypes(intent_id)).toEqual(['intent.created', 'funding.succeeded']);
  });

  it('ACH debit: 202 pending first, 200 funded on the next poll', async () => {
    const { intent_id } = await createIntent(gw, actor, { settlementRail: 'stripe_ach_debit' });
    const pending = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {});
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ state: 'funding_pending', funded: false, settlement_rail: 'stripe_ach_debit' });
    expect(pending.body.capability_token).toBeUndefined();
    const funded = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {});
    expect(funded.status).toBe(200);
    expect(funded.body).toMatchObject({ state: 'funded', funded: true });
  });

  it('x402: 402 with a payment-required challenge, then 200 once the client pays', async () => {
    const { intent_id } = await createIntent(gw, actor, { settlementRail: 'x402_usdc_base', amountCents: 2000 });
    const challenge = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {});
    expect(challenge.status).toBe(402);
    expect(challenge.body).toMatchObject({ tenant: actor.tenantId, intent_id, state: 'created', funded: false, amount_cents: 2000, settlement_rail: 'x402_usdc_base' });
    expect(JSON.parse(challenge.headers.get('payment-required')!)).toMatchObject({ asset: 'usdc', amount: '20.00' });
    const paid = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {}, { headers: { 'payment-signature': 'signed-x402-payload' } });
    expect(paid.status).toBe(200);
    expect(paid.headers.get('payment-response')).toBeTruthy();
    expect(paid.body.capability_token).toBeTruthy();
  });

  it('MPP: 402 with WWW-Authenticate: Payment, then 200 with a Payment credential', async () => {
    const { intent_id } = await createIntent(gw, actor, { settlementRail: 'stripe_mpp' });
    const challenge = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {});
    expect(challenge.status).toBe(402);
    expect(challenge.headers.get('www-authenticate')).toMatch(/^Payment /);
    const paid = await harborWrite(gw, actor, `/harbor/intents/${intent_id}/fund`, {}, { headers: { 'x-paybond-payment-authorization': 'Payment cred-123' } });
    expect(paid.status).toBe(200);
  });

  it('refuses to fund twice: 409 invalid_state_transition, nothing written', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const before = await ledgerTypes(intentId);
    expectError(await harborWrite(gw, actor, `/harbor/intents/${intentId}/fund`, {}), 409, 'invalid_state_transition');
    expect(await ledgerTypes(intentId)).toEqual(before);
  });
});

describe('evidence and settlement', () => {
  it('evaluates the predicate on payee-signed evidence, then releases and settles', async () => {
    const { intentId } = await fundedIntent(gw, actor, { amountCents: 3000 });
    const evidence = await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed', cost_cents: 1800 }));
    expect(evidence.status, JSON.stringify(evidence.body)).toBe(200);
    expect(evidence.body).toMatchObject({ tenant: actor.tenantId, intent_id: intentId, state: 'evidence_submitted', predicate_passed: true, schema_validation: { canonical_schema_ok: true } });
    expect(evidence.body.payload_digest).toMatch(/^[0-9a-f]{64}$/);
    const settle = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {});
    expect(settle.status).toBe(200);
    expect(settle.body).toMatchObject({ state: 'settled', settlement_action: 'release' });
    expect(await ledgerTypes(intentId)).toEqual([
      'intent.created',
      'funding.succeeded',
      'evidence.submitted',
      'settlement.requested',
      'settlement.released',
      'settlement.settled',
    ]);
  });

  it('refunds when the predicate fails (or the evidence does not match its schema)', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const evidence = await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'failed' }));
    expect(evidence.body.predicate_passed).toBe(false);
    const settle = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {});
    expect(settle.body).toMatchObject({ state: 'refunded', settlement_action: 'refund' });

    const second = await fundedIntent(gw, actor);
    const schemaMiss = await harborWrite(gw, actor, `/harbor/intents/${second.intentId}/evidence`, signedEvidence(actor, second.intentId, { status: 7 }));
    expect(schemaMiss.body).toMatchObject({ predicate_passed: false, schema_validation: { canonical_schema_ok: false } });
  });

  it('refuses evidence not signed by the payee', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const body = signedEvidence(actor, intentId, { status: 'completed' });
    expectError(await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, { ...body, payload: { status: 'completed', extra: 1 } }), 401, 'evidence_signature_invalid');
    expectError(await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, { payload: { status: 'completed' } }), 401, 'evidence_signature_invalid');
  });

  it('an unknown rail outcome stays settlement_pending until the rail says more', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed' }));
    const unknown = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, { simulator_outcome: 'unknown' });
    expect(unknown.body.state).toBe('settlement_pending');
    const failed = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, { simulator_outcome: 'failed' });
    expect(failed.body.state).toBe('settlement_failed');
    const retried = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {});
    expect(retried.body.state).toBe('settled');
  });

  it('opens and resolves disputes', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const opened = await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/open`, { reason: 'vendor never delivered' });
    expect(opened.body.state).toBe('disputed');
    expectError(await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/resolve`, { outcome: 'maybe', rationale: 'x' }), 400, 'invalid_request');
    const resolved = await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/resolve`, { outcome: 'refund', rationale: 'no delivery evidence' });
    expect(resolved.body).toMatchObject({ state: 'resolved', dispute_outcome: 'refund' });
    expectError(await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/open`, { reason: 'again' }), 409, 'invalid_state_transition');
  });
});

describe('the state machine', () => {
  const actions: IntentAction[] = ['fund_started', 'fund_succeeded', 'fund_failed', 'evidence', 'settlement_requested', 'settlement_released', 'settlement_finalized', 'settlement_refunded', 'settlement_failed', 'void', 'dispute_open', 'dispute_resolve'];

  it('rejects every transition not in the table with 409 invalid_state_transition', () => {
    let allowed = 0;
    for (const state of INTENT_STATES) {
      for (const action of actions) {
        if (canTransition(state, action)) {
          allowed++;
          expect(INTENT_STATES).toContain(nextState(state, action));
        } else {
          expect(() => nextState(state, action)).toThrowError(expect.objectContaining({ code: 'invalid_state_transition' }));
        }
      }
    }
    expect(allowed).toBeGreaterThan(10);
    for (const terminal of ['settled', 'refunded', 'voided', 'resolved']) {
      expect(actions.filter((a) => canTransition(terminal, a) && a !== 'dispute_open')).toEqual([]);
    }
  });

  it('rejects illegal transitions over HTTP without writing anything', async () => {
    const created = await createIntent(gw, actor);
    const before = await ledgerTypes(created.intent_id);
    expectError(await harborWrite(gw, actor, `/harbor/intents/${created.intent_id}/evidence`, { payload: { status: 'completed' } }), 409, 'invalid_state_transition');
    expectError(await harborWrite(gw, actor, `/harbor/intents/${created.intent_id}/settlement/confirm`, {}), 409, 'invalid_state_transition');
    expectError(await harborWrite(gw, actor, `/harbor/operator/v1/intents/${created.intent_id}/dispute/resolve`, { outcome: 'refund', rationale: 'nothing to resolve' }), 409, 'invalid_state_transition');
    expect(await ledgerTypes(created.intent_id)).toEqual(before);
  });
});

describe('GraphQL twins', () => {
  it('run the same services, bound to POST /graphql', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const query = 'query($id: String!) { intent(intentId: $id) { state amountCents remainingCents } }';
    expect((await gqlOk(gw, query, { id: intentId }, { token: actor.token })).intent).toMatchObject({ state: 'funded' });
    const body = JSON.stringify({
      query: 'mutation($id: String!, $input: IntentDisputeOpenInput!) { intentDisputeOpen(intentId: $id, input: $input) { intent { state } userErrors { code } } }',
      variables: { id: intentId, input: { reason: 'graphql dispute' } },
    });
    const { recognitionProof } = await import('../helpers/harbor.ts');
    const proof = recognitionProof(actor, 'POST', '/graphql', body, { purpose: 'harbor.intent.dispute.open' });
    const res = await rest(gw, 'POST', '/graphql', undefined, { token: actor.token, raw: body, headers: { 'content-type': 'application/json', 'x-paybond-agent-recognition-proof': proof } });
    expect(res.body.data.intentDisputeOpen).toEqual({ intent: { state: 'disputed' }, userErrors: [] });
    const unproved = await rest(gw, 'POST', '/graphql', undefined, { token: actor.token, raw: body, headers: { 'content-type': 'application/json' } });
    expect(unproved.body.data.intentDisputeOpen.userErrors[0].code).toBe('RECOGNITION_PROOF_REQUIRED');
  });
});
