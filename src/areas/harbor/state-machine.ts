import './errors.ts';
import type { z } from 'zod';
import { DomainError } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';

/**
 * Intent lifecycle. Every transition the product allows is a row here; anything else is a 409
 * `invalid_state_transition` and nothing is written. An unknown provider outcome keeps an intent
 * in a `*_pending` state: it is never guessed.
 */
export const intentState = describedEnum('IntentState', 'Where an intent is in its lifecycle.', {
  created: 'Terms recorded; not funded yet.',
  funding_pending: 'The rail accepted funding and reports the outcome later (e.g. ACH debit).',
  funded: 'Money is held; a capability token authorises spend.',
  funding_failed: 'The rail refused or failed the funding.',
  evidence_submitted: 'Evidence was evaluated against the predicate.',
  settlement_pending: 'Settlement requested; the rail has not reported its outcome yet.',
  released: 'Released to the payee; awaiting the rail’s final confirmation.',
  settled: 'Paid out to the payee (final).',
  refunded: 'Returned to the principal (final).',
  settlement_failed: 'The rail failed the settlement; it may be requested again.',
  voided: 'Cancelled before funding completed (final).',
  disputed: 'A dispute is open.',
  resolved: 'The dispute was resolved (final).',
});
export const INTENT_STATES = intentState.options;
export type IntentState = z.infer<typeof intentState>;

export type IntentAction =
  | 'fund_started' // asynchronous rail accepted the funding request
  | 'fund_succeeded'
  | 'fund_failed'
  | 'evidence'
  | 'settlement_requested'
  | 'settlement_released'
  | 'settlement_finalized'
  | 'settlement_refunded'
  | 'settlement_failed'
  | 'void'
  | 'dispute_open'
  | 'dispute_resolve';

const table: Record<IntentAction, Partial<Record<IntentState, IntentState>>> = {
  fund_started: { created: 'funding_pending', funding_failed: 'funding_pending' },
  fund_succeeded: { created: 'funded', funding_pending: 'funded', funding_failed: 'funded' },
  fund_failed: { funding_pending: 'funding_failed' },
  // Repeat evidence (several tool calls of one run) is recorded; the latest evaluation counts.
  evidence: { funded: 'evidence_submitted', evidence_submitted: 'evidence_submitted' },
  settlement_requested: { evidence_submitted: 'settlement_pending', settlement_failed: 'settlement_pending' },
  settlement_released: { settlement_pending: 'released' },
  settlement_finalized: { released: 'settled' },
  settlement_refunded: { settlement_pending: 'refunded' },
  settlement_failed: { settlement_pending: 'settlement_failed' },
  void: { created: 'voided', funding_pending: 'voided', funding_failed: 'voided' },
  dispute_open: { funded: 'disputed', evidence_submitted: 'disputed', settlement_pending: 'disputed', released: 'disputed', settled: 'disputed' },
  dispute_resolve: { disputed: 'resolved' },
};

export function nextState(from: string, action: IntentAction): IntentState {
  const to = table[action][from as IntentState];
  if (!to) {
    throw new DomainError('invalid_state_transition', `Cannot ${action.replace(/_/g, ' ')} an intent in state ${from}`, {
      details: { state: from, action, allowed_from: Object.keys(table[action]) },
    });
  }
  return to;
}

export const canTransition = (from: string, action: IntentAction): boolean => Boolean(table[action][from as IntentState]);

/** States in which a capability token may authorise spend. */
export const SPENDABLE: ReadonlySet<string> = new Set(['funded', 'evidence_submitted']);
