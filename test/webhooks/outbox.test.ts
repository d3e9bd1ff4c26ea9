import { describe, expect, it } from 'vitest';
import { ledgerWebhookType } from '../../src/areas/webhooks/outbox.ts';
import { EVENT_CATALOG } from '../../src/areas/webhooks/catalog.ts';
import { LEDGER_TYPES } from '../../src/areas/settlement/lifecycle-types.ts';

const moved = (type: string, from: string, to: string, extra: Record<string, unknown> = {}) => ledgerWebhookType({ type, intentId: 'i-1', payload: { from, to, ...extra } });

describe('which webhook a Harbor ledger event becomes', () => {
  it.each([
    ['funding.pending', 'created', 'funding_pending', {}, 'intent.funding_pending'],
    ['funding.succeeded', 'created', 'funded', {}, 'intent.funded'],
    ['funding.failed', 'funding_pending', 'funding_failed', {}, 'intent.funding_failed'],
    ['evidence.submitted', 'funded', 'evidence_submitted', { predicate_passed: true }, 'intent.evidence_accepted'],
    ['evidence.submitted', 'funded', 'evidence_submitted', { predicate_passed: false }, 'intent.evidence_rejected'],
    ['settlement.requested', 'evidence_submitted', 'settlement_pending', {}, 'intent.settlement_pending'],
    ['settlement.released', 'settlement_pending', 'released', {}, 'intent.released'],
    ['settlement.settled', 'released', 'settled', {}, 'intent.settled'],
    ['settlement.refunded', 'settlement_pending', 'refunded', {}, 'intent.refunded'],
    ['settlement.failed', 'settlement_pending', 'settlement_failed', {}, 'intent.settlement_failed'],
    ['intent.voided', 'created', 'voided', {}, 'intent.voided'],
    ['dispute.opened', 'evidence_submitted', 'disputed', {}, 'dispute.opened'],
    ['dispute.resolved', 'disputed', 'resolved', {}, 'dispute.resolved'],
  ])('%s (%s → %s) is %s', (type, from, to, extra, expected) => {
    expect(moved(type, from, to, extra)).toEqual({ type: expected, from });
    expect(EVENT_CATALOG.has(expected as string)).toBe(true);
  });

  it('every state-machine action’s ledger type maps to a catalogued event', () => {
    expect(Object.values(LEDGER_TYPES).sort()).toEqual([
      'dispute.opened',
      'dispute.resolved',
      'evidence.submitted',
      'funding.failed',
      'funding.pending',
      'funding.succeeded',
      'intent.voided',
      'settlement.failed',
      'settlement.refunded',
      'settlement.released',
      'settlement.requested',
      'settlement.settled',
    ]);
  });

  it('intent.created has no previous state; events that move nothing are not webhooks', () => {
    expect(ledgerWebhookType({ type: 'intent.created', intentId: 'i-1', payload: {} })).toEqual({ type: 'intent.created', from: null });
    expect(ledgerWebhookType({ type: 'simulator.webhook_rehearsal', intentId: null, payload: { kind: 'webhook_rehearsal' } })).toBeNull();
    expect(ledgerWebhookType({ type: 'capability.spent', intentId: 'i-1', payload: { amount_cents: 5 } })).toBeNull();
    expect(ledgerWebhookType({ type: 'funding.pending', intentId: 'i-1', payload: { from: 'funded', to: 'funded' } })).toBeNull();
    expect(ledgerWebhookType({ type: 'x', intentId: 'i-1', payload: { from: 'created', to: 'exploded' } })).toBeNull();
  });
});
