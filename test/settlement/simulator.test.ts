import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { INTENT_STATES } from '../../src/areas/settlement/lifecycle-types.ts';
import { planSimulatorEvent, SIMULATOR_EVENT_KINDS, SimulatorError, simulatorIdempotencyKey, type SimulatorEventKind } from '../../src/areas/settlement/simulator.ts';
import { applyActions } from '../helpers/intent-state-machine.ts';

describe('simulator idempotency key', () => {
  const base = { tenantId: 'ten-a', intentId: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401', kind: 'funding_succeeded' as const, sequence: 1 };

  it('is sim_ + SHA-256 of the JCS form of the event identity (a fixed vector)', () => {
    const jcs = '{"intent_id":"7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401","kind":"funding_succeeded","sequence":1,"tenant_id":"ten-a","v":1}';
    expect(simulatorIdempotencyKey(base)).toBe(`sim_${createHash('sha256').update(jcs).digest('hex')}`);
  });

  it('is the same for the same rehearsal and different when any part differs', () => {
    const key = simulatorIdempotencyKey(base);
    expect(simulatorIdempotencyKey({ ...base })).toBe(key);
    const variants = [
      { ...base, tenantId: 'ten-b' },
      { ...base, intentId: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c402' },
      { ...base, intentId: null },
      { ...base, kind: 'funding_failed' as const },
      { ...base, sequence: 2 },
    ].map(simulatorIdempotencyKey);
    expect(new Set([key, ...variants]).size).toBe(6);
  });

  it('cannot be made to collide by moving a separator between fields', () => {
    expect(simulatorIdempotencyKey({ ...base, tenantId: 'a:b', intentId: 'c' })).not.toBe(simulatorIdempotencyKey({ ...base, tenantId: 'a', intentId: 'b:c' }));
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 60])('refuses the sequence %s', (sequence) => {
    expect(() => simulatorIdempotencyKey({ ...base, sequence })).toThrow(expect.objectContaining({ code: 'invalid_request', field: 'sequence' }));
  });

  it('refuses an empty tenant', () => {
    expect(() => simulatorIdempotencyKey({ ...base, tenantId: '' })).toThrow(SimulatorError);
  });
});

/** The state each event leaves an intent in, from every state where it is legal (all others: 409). */
const EXPECTED: Record<SimulatorEventKind, Record<string, string>> = {
  funding_pending: { created: 'funding_pending', funding_failed: 'funding_pending' },
  funding_succeeded: { created: 'funded', funding_pending: 'funded', funding_failed: 'funded' },
  funding_failed: { created: 'funding_failed', funding_pending: 'funding_failed' },
  release: { evidence_submitted: 'settled', settlement_pending: 'settled', settlement_failed: 'settled' },
  refund: { evidence_submitted: 'refunded', settlement_pending: 'refunded', settlement_failed: 'refunded' },
  void: { created: 'voided', funding_pending: 'voided', funding_failed: 'voided' },
  dispute_opened: { funded: 'disputed', evidence_submitted: 'disputed', settlement_pending: 'disputed', released: 'disputed', settled: 'disputed' },
  dispute_resolved: { disputed: 'resolved' },
  webhook_rehearsal: Object.fromEntries(INTENT_STATES.map((s) => [s, s])),
};

describe('simulator events through the real state machine', () => {
  for (const rail of ['stripe_connect', 'stripe_ach_debit', 'x402_usdc_base']) {
    for (const kind of SIMULATOR_EVENT_KINDS) {
      it(`${kind} on a ${rail} intent: legal exactly from ${Object.keys(EXPECTED[kind]).length} states`, () => {
        for (const state of INTENT_STATES) {
          const plan = planSimulatorEvent(kind, { state, settlementRail: rail, settlementAction: null }, { disputeOutcome: 'refund' });
          const result = applyActions(state, plan.steps.map((s) => s.action));
          const expected = EXPECTED[kind][state];
          if (expected) expect(result, `${kind} from ${state}`).toEqual({ ok: true, state: expected });
          else expect(result.ok, `${kind} from ${state} must be refused`).toBe(false);
        }
      });
    }
  }

  it('ACH funding never skips its pending step; card funding goes straight to funded', () => {
    const ach = planSimulatorEvent('funding_succeeded', { state: 'created', settlementRail: 'stripe_ach_debit', settlementAction: null });
    expect(ach.steps).toEqual([
      { action: 'fund_started', ledgerType: 'funding.pending' },
      { action: 'fund_succeeded', ledgerType: 'funding.succeeded' },
    ]);
    const achLater = planSimulatorEvent('funding_succeeded', { state: 'funding_pending', settlementRail: 'stripe_ach_debit', settlementAction: null });
    expect(achLater.steps.map((s) => s.action)).toEqual(['fund_succeeded']);
    const card = planSimulatorEvent('funding_succeeded', { state: 'created', settlementRail: 'stripe_connect', settlementAction: null });
    expect(card.steps.map((s) => s.action)).toEqual(['fund_succeeded']);
  });

  it('a failed first funding attempt records the attempt, then its failure', () => {
    expect(planSimulatorEvent('funding_failed', { state: 'created', settlementRail: 'stripe_connect', settlementAction: null }).steps).toEqual([
      { action: 'fund_started', ledgerType: 'funding.pending' },
      { action: 'fund_failed', ledgerType: 'funding.failed' },
    ]);
  });

  it('release and refund say what the settlement is, and respect one already pending', () => {
    expect(planSimulatorEvent('release', { state: 'evidence_submitted', settlementRail: 'stripe_connect', settlementAction: null }).steps).toEqual([
      { action: 'settlement_requested', ledgerType: 'settlement.requested', settlementAction: 'release' },
      { action: 'settlement_released', ledgerType: 'settlement.released' },
      { action: 'settlement_finalized', ledgerType: 'settlement.settled' },
    ]);
    expect(planSimulatorEvent('refund', { state: 'settlement_pending', settlementRail: 'stripe_connect', settlementAction: 'refund' }).steps).toEqual([
      { action: 'settlement_refunded', ledgerType: 'settlement.refunded' },
    ]);
    expect(() => planSimulatorEvent('refund', { state: 'settlement_pending', settlementRail: 'stripe_connect', settlementAction: 'release' })).toThrow(
      expect.objectContaining({ code: 'simulator_settlement_conflict' }),
    );
    expect(() => planSimulatorEvent('release', { state: 'settlement_pending', settlementRail: 'stripe_connect', settlementAction: 'refund' })).toThrow(
      expect.objectContaining({ code: 'simulator_settlement_conflict' }),
    );
  });

  it('dispute resolution needs an outcome and carries it', () => {
    const view = { state: 'disputed', settlementRail: 'stripe_connect', settlementAction: null };
    expect(() => planSimulatorEvent('dispute_resolved', view)).toThrow(expect.objectContaining({ code: 'invalid_request', field: 'outcome' }));
    expect(planSimulatorEvent('dispute_resolved', view, { disputeOutcome: 'split' }).steps).toEqual([
      { action: 'dispute_resolve', ledgerType: 'dispute.resolved', disputeOutcome: 'split' },
    ]);
  });

  it('a webhook rehearsal moves nothing', () => {
    expect(planSimulatorEvent('webhook_rehearsal', { state: 'funded', settlementRail: 'stripe_connect', settlementAction: null })).toEqual({
      kind: 'webhook_rehearsal',
      steps: [],
      rehearsalOnly: true,
    });
  });

  it('a settlement_rail in the event must be the intent’s rail', () => {
    const view = { state: 'created', settlementRail: 'stripe_connect', settlementAction: null };
    expect(() => planSimulatorEvent('funding_pending', view, { settlementRail: 'stripe_ach_debit' })).toThrow(expect.objectContaining({ code: 'simulator_rail_mismatch' }));
    expect(planSimulatorEvent('funding_pending', view, { settlementRail: 'stripe_connect' }).steps).toHaveLength(1);
  });
});
