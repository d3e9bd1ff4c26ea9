/**
 * The intent lifecycle names this area plans with. They mirror the states and actions of the
 * Harbor intent state machine (harbor/state-machine.ts); this area only proposes
 * actions, and the state machine decides whether each one is legal. A parity test
 * (test/settlement/state-machine-parity.test.ts) fails when the two lists drift apart.
 */
export const INTENT_STATES = [
  'created',
  'funding_pending',
  'funded',
  'funding_failed',
  'evidence_submitted',
  'settlement_pending',
  'released',
  'settled',
  'refunded',
  'settlement_failed',
  'voided',
  'disputed',
  'resolved',
] as const;
export type IntentState = (typeof INTENT_STATES)[number];

export const INTENT_ACTIONS = [
  'fund_started',
  'fund_succeeded',
  'fund_failed',
  'evidence',
  'settlement_requested',
  'settlement_released',
  'settlement_finalized',
  'settlement_refunded',
  'settlement_failed',
  'void',
  'dispute_open',
  'dispute_resolve',
] as const;
export type IntentAction = (typeof INTENT_ACTIONS)[number];

/** What a settlement request asks for: pay the payee, or return the money to the principal. */
export type SettlementAction = 'release' | 'refund';

/** The ledger event type each action writes: the names the Harbor lifecycle uses, plus the simulator's own. */
export const LEDGER_TYPES: Record<IntentAction, string> = {
  fund_started: 'funding.pending',
  fund_succeeded: 'funding.succeeded',
  fund_failed: 'funding.failed',
  evidence: 'evidence.submitted',
  settlement_requested: 'settlement.requested',
  settlement_released: 'settlement.released',
  settlement_finalized: 'settlement.settled',
  settlement_refunded: 'settlement.refunded',
  settlement_failed: 'settlement.failed',
  void: 'intent.voided',
  dispute_open: 'dispute.opened',
  dispute_resolve: 'dispute.resolved',
};
