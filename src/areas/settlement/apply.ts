import type { ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import type { HarborIntent } from '../../generated/prisma/client.ts';
import { step } from '../harbor/lifecycle.ts';
import { LEDGER_TYPES, type IntentAction, type SettlementAction } from './lifecycle-types.ts';

export interface PlannedStep {
  action: IntentAction;
  /** settlement_requested: what the settlement does. */
  settlementAction?: SettlementAction;
  /** dispute_resolve: where the money goes. */
  disputeOutcome?: 'release' | 'refund' | 'split';
}

/** Actions whose ledger event records the intent's amount moving (or being requested to move). */
const MONEY: ReadonlySet<IntentAction> = new Set(['fund_started', 'fund_succeeded', 'settlement_requested', 'settlement_released', 'settlement_finalized', 'settlement_refunded', 'dispute_resolve']);

function stepData(intent: HarborIntent, s: PlannedStep): Record<string, unknown> {
  switch (s.action) {
    case 'fund_started':
    case 'fund_succeeded':
      return { fundingAttempts: intent.fundingAttempts + 1 };
    case 'settlement_requested':
      return { settlementAction: s.settlementAction };
    case 'dispute_open':
      return { disputedFromState: intent.state };
    case 'dispute_resolve':
      return { disputeOutcome: s.disputeOutcome };
    default:
      return {};
  }
}

/**
 * Move an intent through the Harbor state machine, one step after the other in the caller's
 * transaction, each with its ledger and audit event (Harbor's own step). `payload` says where the
 * change came from (simulator event, Stripe event, reconcile) and goes into every ledger event.
 * An illegal step throws 409 invalid_state_transition and the caller's transaction writes nothing.
 */
export async function applySteps(ctx: ServiceContext, tx: Tx, intent: HarborIntent, steps: PlannedStep[], payload: Record<string, unknown>): Promise<HarborIntent> {
  let current = intent;
  for (const s of steps) {
    const extra = { ...(s.settlementAction ? { action: s.settlementAction } : {}), ...(s.disputeOutcome ? { outcome: s.disputeOutcome } : {}) };
    current = await step(
      ctx,
      tx,
      current,
      s.action,
      { type: LEDGER_TYPES[s.action], amountCents: MONEY.has(s.action) ? current.amountCents : null, payload: { ...payload, ...extra } },
      stepData(current, s),
    );
  }
  return current;
}
