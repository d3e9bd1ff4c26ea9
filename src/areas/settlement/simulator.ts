import { canonicalJson } from '../../crypto/canonical-json.ts';
import { sha256Hex } from '../../crypto/hash.ts';
import { LEDGER_TYPES, type IntentAction, type SettlementAction } from './lifecycle-types.ts';

/**
 * The sandbox simulator's pure parts: event kinds, the deterministic idempotency key, and the
 * plan of state-machine steps each event means for an intent. The plan never decides legality:
 * each step goes through the intent state machine, and an illegal one is a 409 with nothing
 * written (the steps of one event share a transaction).
 */
export const SIMULATOR_EVENT_KINDS = [
  'funding_pending',
  'funding_succeeded',
  'funding_failed',
  'release',
  'refund',
  'void',
  'dispute_opened',
  'dispute_resolved',
  'webhook_rehearsal',
] as const;
export type SimulatorEventKind = (typeof SIMULATOR_EVENT_KINDS)[number];

export type DisputeOutcome = 'release' | 'refund' | 'split';

export class SimulatorError extends Error {
  readonly code: 'invalid_request' | 'simulator_rail_mismatch' | 'simulator_settlement_conflict';
  readonly field: string | null;
  constructor(code: SimulatorError['code'], message: string, field: string | null = null) {
    super(message);
    this.name = 'SimulatorError';
    this.code = code;
    this.field = field;
  }
}

/**
 * `sim_` + SHA-256 of the JCS form of `{v, tenant_id, intent_id, kind, sequence}`: the same
 * rehearsal sent twice has the same key, so it is written once; a deliberate repeat (fund, fail,
 * fund again) uses the next sequence number. JCS (RFC 8785) rather than joined strings, so no
 * choice of ids can make two different events collide by shifting a separator.
 */
export function simulatorIdempotencyKey(input: { tenantId: string; intentId: string | null; kind: SimulatorEventKind; sequence: number }): string {
  if (!Number.isSafeInteger(input.sequence) || input.sequence < 1) throw new SimulatorError('invalid_request', 'sequence must be a positive integer', 'sequence');
  if (!input.tenantId) throw new SimulatorError('invalid_request', 'tenant is required', 'tenantId');
  return `sim_${sha256Hex(canonicalJson({ v: 1, tenant_id: input.tenantId, intent_id: input.intentId, kind: input.kind, sequence: input.sequence }))}`;
}

/** One state-machine step and the ledger event type it writes. */
export interface SimulatorStep {
  action: IntentAction;
  ledgerType: string;
  /** Set on `settlement_requested`: what the settlement does. */
  settlementAction?: SettlementAction;
  /** Set on `dispute_resolve`. */
  disputeOutcome?: DisputeOutcome;
}

export interface SimulatorPlan {
  kind: SimulatorEventKind;
  steps: SimulatorStep[];
  /** A rehearsal moves nothing; it records one `simulator.webhook_rehearsal` ledger/audit row. */
  rehearsalOnly: boolean;
}

export interface SimulatorIntentView {
  state: string;
  settlementRail: string;
  settlementAction: SettlementAction | null;
}

const step = (action: IntentAction, extra: Partial<SimulatorStep> = {}): SimulatorStep => ({ action, ledgerType: LEDGER_TYPES[action], ...extra });

/** Rails whose funding is asynchronous for real: the simulator never skips their pending step. */
const DELAYED_FUNDING_RAILS = new Set(['stripe_ach_debit']);

/**
 * The steps an event means for an intent in its current state.
 *
 * | event             | steps (from the state named; any other state → the state machine's 409) |
 * |-------------------|---------------------------------------------------------------------------|
 * | funding_pending   | fund_started                                                              |
 * | funding_succeeded | fund_succeeded; on a `created` ACH intent fund_started first              |
 * | funding_failed    | fund_failed; on a `created` intent fund_started first                     |
 * | release           | settlement_requested(release) unless already settlement_pending,          |
 * |                   | then settlement_released, settlement_finalized                            |
 * | refund            | settlement_requested(refund) unless already settlement_pending,           |
 * |                   | then settlement_refunded                                                  |
 * | void              | void                                                                      |
 * | dispute_opened    | dispute_open                                                              |
 * | dispute_resolved  | dispute_resolve(outcome)                                                  |
 * | webhook_rehearsal | none (one rehearsal row)                                                  |
 *
 * Release finalises at once, as the sandbox's settlement confirmation does: the simulator has no
 * later finality report to wait for.
 */
export function planSimulatorEvent(
  kind: SimulatorEventKind,
  intent: SimulatorIntentView,
  input: { settlementRail?: string | null; disputeOutcome?: DisputeOutcome | null } = {},
): SimulatorPlan {
  if (input.settlementRail && input.settlementRail !== intent.settlementRail) {
    throw new SimulatorError('simulator_rail_mismatch', `settlement_rail ${input.settlementRail} is not this intent's rail (${intent.settlementRail})`, 'settlementRail');
  }
  const plan = (steps: SimulatorStep[]): SimulatorPlan => ({ kind, steps, rehearsalOnly: false });
  const settle = (action: SettlementAction, then: SimulatorStep[]): SimulatorPlan => {
    if (intent.state !== 'settlement_pending') return plan([step('settlement_requested', { settlementAction: action }), ...then]);
    if (intent.settlementAction && intent.settlementAction !== action) {
      throw new SimulatorError('simulator_settlement_conflict', `This intent's pending settlement is a ${intent.settlementAction}, not a ${action}`);
    }
    return plan(then);
  };
  switch (kind) {
    case 'funding_pending':
      return plan([step('fund_started')]);
    case 'funding_succeeded':
      return plan(
        intent.state === 'created' && DELAYED_FUNDING_RAILS.has(intent.settlementRail) ? [step('fund_started'), step('fund_succeeded')] : [step('fund_succeeded')],
      );
    case 'funding_failed':
      return plan(intent.state === 'created' ? [step('fund_started'), step('fund_failed')] : [step('fund_failed')]);
    case 'release':
      return settle('release', [step('settlement_released'), step('settlement_finalized')]);
    case 'refund':
      return settle('refund', [step('settlement_refunded')]);
    case 'void':
      return plan([step('void')]);
    case 'dispute_opened':
      return plan([step('dispute_open')]);
    case 'dispute_resolved':
      if (!input.disputeOutcome) throw new SimulatorError('invalid_request', 'dispute_resolved needs an outcome (release, refund or split)', 'outcome');
      return plan([step('dispute_resolve', { disputeOutcome: input.disputeOutcome })]);
    case 'webhook_rehearsal':
      return { kind, steps: [], rehearsalOnly: true };
  }
}
