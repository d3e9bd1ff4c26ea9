import type { IntentAction, SettlementAction } from './lifecycle-types.ts';
import { StripeCallError, toConnectAccountState, toPaymentIntentState, type ConnectAccountState, type PaymentIntentState, type StripeEventEnvelope } from './stripe.ts';

/**
 * What Stripe's view of a payment means for an intent: pure functions shared by reconcile
 * (a PaymentIntent read) and inbound webhooks (an event's object).
 *
 * The money model this assumes:
 * - `stripe_connect`: a destination charge with manual capture. Funded = the authorization is
 *   held (`requires_capture`); release = capture (`succeeded`, the transfer to the destination
 *   happens with it); refund before capture = cancel (`canceled`).
 * - `stripe_ach_debit`: ACH Direct Debit has no manual capture, so funded = the debit
 *   `succeeded` into the platform balance (after days of `processing`); release is a separate
 *   Transfer, which the PaymentIntent does not show; refund = a Refund (`charge.refunded`).
 * Which of the two applies is read from the PaymentIntent's own `capture_method`.
 */

/** A PaymentIntent's status reduced to what settlement cares about. */
export type PaymentOutcome =
  | 'succeeded'
  | 'authorized'
  | 'processing'
  | 'awaiting_customer'
  | 'failed'
  | 'canceled'
  | 'refunded'
  | 'unknown';

/**
 * | PaymentIntent status                               | outcome           |
 * |----------------------------------------------------|-------------------|
 * | succeeded, latest charge fully refunded            | refunded          |
 * | succeeded                                          | succeeded         |
 * | requires_capture                                   | authorized        |
 * | processing                                         | processing        |
 * | requires_payment_method after a failed attempt     | failed            |
 * | requires_payment_method (no attempt yet)           | awaiting_customer |
 * | requires_confirmation, requires_action             | awaiting_customer |
 * | canceled                                           | canceled          |
 * | anything else (a status added later)               | unknown           |
 */
export function paymentOutcome(pi: Pick<PaymentIntentState, 'status' | 'last_payment_error' | 'charge_refunded'>): PaymentOutcome {
  switch (pi.status) {
    case 'succeeded':
      return pi.charge_refunded === true ? 'refunded' : 'succeeded';
    case 'requires_capture':
      return 'authorized';
    case 'processing':
      return 'processing';
    case 'requires_payment_method':
      return pi.last_payment_error ? 'failed' : 'awaiting_customer';
    case 'requires_confirmation':
    case 'requires_action':
      return 'awaiting_customer';
    case 'canceled':
      return 'canceled';
    default:
      return 'unknown';
  }
}

/**
 * - `advance`: apply these state-machine actions in order (one transaction, one ledger event each).
 * - `unchanged`: nothing to do; Stripe agrees with the intent, or has not decided yet.
 * - `stale`: Stripe's object is older than the intent's state (webhooks arrive out of order);
 *   nothing to do, count it.
 * - `mismatch`: Stripe contradicts the intent (money the intent counts as held is gone, an amount
 *   differs…). Never applied automatically: record it for triage.
 */
export type StripePlan =
  | { kind: 'advance'; outcome: PaymentOutcome; actions: IntentAction[] }
  | { kind: 'unchanged'; outcome: PaymentOutcome }
  | { kind: 'stale'; outcome: PaymentOutcome }
  | { kind: 'mismatch'; outcome: PaymentOutcome; reason: MismatchReason };

export type MismatchReason =
  | 'amount_mismatch'
  | 'currency_mismatch'
  | 'livemode_mismatch'
  | 'refunded_before_funding'
  | 'funds_no_longer_held'
  | 'captured_before_release'
  | 'refunded_outside_settlement'
  | 'outcome_contradicts_settlement';

export interface IntentView {
  state: string;
  /** The settlement the intent asked for once `settlement_pending` (null before). */
  settlementAction: SettlementAction | null;
  amountCents: number;
  currency: string;
  /** True for live tenants: a test-mode object never moves a live intent, and the reverse. */
  livemode: boolean;
}

const advance = (outcome: PaymentOutcome, ...actions: IntentAction[]): StripePlan => ({ kind: 'advance', outcome, actions });
const unchanged = (outcome: PaymentOutcome): StripePlan => ({ kind: 'unchanged', outcome });
const stale = (outcome: PaymentOutcome): StripePlan => ({ kind: 'stale', outcome });
const mismatch = (outcome: PaymentOutcome, reason: MismatchReason): StripePlan => ({ kind: 'mismatch', outcome, reason });

/**
 * What a PaymentIntent's current state means for an intent. Every (state, outcome, settlement
 * action, capture method) combination is spelled out in test/settlement/stripe-outcomes.test.ts.
 * Amount, currency and mode are compared first: a PaymentIntent that is not for this intent's
 * money never moves it.
 */
export function planFromPaymentIntent(intent: IntentView, pi: PaymentIntentState): StripePlan {
  const outcome = paymentOutcome(pi);
  if (pi.livemode !== intent.livemode) return mismatch(outcome, 'livemode_mismatch');
  if (pi.currency.toLowerCase() !== intent.currency.toLowerCase()) return mismatch(outcome, 'currency_mismatch');
  if (pi.amount !== intent.amountCents) return mismatch(outcome, 'amount_mismatch');
  if (outcome === 'unknown') return unchanged(outcome);
  const manual = pi.capture_method === 'manual';
  const held = outcome === 'authorized' || (outcome === 'succeeded' && !manual);

  switch (intent.state) {
    case 'created':
      if (outcome === 'succeeded' || outcome === 'authorized') return advance(outcome, 'fund_succeeded');
      if (outcome === 'processing' || outcome === 'awaiting_customer') return advance(outcome, 'fund_started');
      // The state machine fails funding only from funding_pending: record the attempt, then its failure.
      if (outcome === 'failed' || outcome === 'canceled') return advance(outcome, 'fund_started', 'fund_failed');
      return mismatch(outcome, 'refunded_before_funding');
    case 'funding_pending':
      if (outcome === 'succeeded' || outcome === 'authorized') return advance(outcome, 'fund_succeeded');
      if (outcome === 'processing' || outcome === 'awaiting_customer') return unchanged(outcome);
      if (outcome === 'failed' || outcome === 'canceled') return advance(outcome, 'fund_failed');
      return mismatch(outcome, 'refunded_before_funding');
    case 'funding_failed':
      // A retried payment method can still succeed on the same PaymentIntent.
      if (outcome === 'succeeded' || outcome === 'authorized') return advance(outcome, 'fund_succeeded');
      if (outcome === 'processing' || outcome === 'awaiting_customer') return advance(outcome, 'fund_started');
      if (outcome === 'failed' || outcome === 'canceled') return unchanged(outcome);
      return mismatch(outcome, 'refunded_before_funding');
    case 'funded':
    case 'evidence_submitted':
      if (held) return unchanged(outcome);
      if (outcome === 'succeeded') return mismatch(outcome, 'captured_before_release');
      if (outcome === 'refunded') return mismatch(outcome, 'refunded_outside_settlement');
      if (outcome === 'processing' || outcome === 'awaiting_customer') return stale(outcome);
      return mismatch(outcome, 'funds_no_longer_held');
    case 'settlement_pending':
      if (intent.settlementAction === 'release') {
        if (manual) {
          if (outcome === 'succeeded') return advance(outcome, 'settlement_released');
          if (outcome === 'authorized') return unchanged(outcome);
          if (outcome === 'canceled' || outcome === 'failed') return advance(outcome, 'settlement_failed');
          if (outcome === 'refunded') return mismatch(outcome, 'outcome_contradicts_settlement');
          return stale(outcome);
        }
        // Automatic capture: the release is a Transfer, confirmed by its own result, not here.
        if (outcome === 'succeeded') return unchanged(outcome);
        if (outcome === 'processing' || outcome === 'awaiting_customer') return stale(outcome);
        return mismatch(outcome, outcome === 'refunded' ? 'outcome_contradicts_settlement' : 'funds_no_longer_held');
      }
      if (intent.settlementAction === 'refund') {
        if (outcome === 'refunded' || outcome === 'canceled') return advance(outcome, 'settlement_refunded');
        if (outcome === 'succeeded' || outcome === 'authorized') return unchanged(outcome);
        if (outcome === 'processing' || outcome === 'awaiting_customer') return stale(outcome);
        return mismatch(outcome, 'funds_no_longer_held');
      }
      return unchanged(outcome);
    case 'released':
      if (outcome === 'refunded') return mismatch(outcome, 'refunded_outside_settlement');
      if (outcome === 'succeeded') return unchanged(outcome);
      return stale(outcome);
    default:
      // settled, refunded, voided, settlement_failed, disputed, resolved: owned by other flows.
      return unchanged(outcome);
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook events

export type StripeDisputeOutcome = 'release' | 'refund';

export type StripeEventEffect =
  | { kind: 'payment_intent'; payment_intent: PaymentIntentState }
  | { kind: 'charge_refunded'; charge_id: string; payment_intent_id: string | null; refunded: boolean; amount_refunded: number }
  | {
      kind: 'dispute';
      phase: 'opened' | 'updated' | 'closed';
      dispute_id: string;
      charge_id: string | null;
      payment_intent_id: string | null;
      status: string;
      /** For a closed dispute: where the money ended up (`won` → payee keeps it, `lost` → returned). */
      outcome: StripeDisputeOutcome | null;
    }
  | { kind: 'account'; account: ConnectAccountState }
  | { kind: 'capability'; account_id: string; capability: string; status: string }
  | { kind: 'ignored'; reason: 'event_type_not_handled' | 'object_invalid' };

const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const idOf = (v: unknown): string | null => str(v) ?? str(obj(v)?.id);

/** Dispute statuses that end a dispute with the money staying with the merchant side. */
const DISPUTE_RELEASE = new Set(['won', 'warning_closed', 'prevented']);

/**
 * Read a verified event into the effect it can have. Stripe may deliver events late, twice or
 * out of order, so a `payment_intent` effect is best used as a trigger to re-read the
 * PaymentIntent (when a key is configured) and plan from that; planning from the event's own
 * snapshot is safe too, because older snapshots come out `stale`.
 */
export function classifyStripeEvent(event: StripeEventEnvelope, keyLivemode = event.livemode): StripeEventEffect {
  const o = obj(event.object);
  try {
    if (event.type.startsWith('payment_intent.')) return { kind: 'payment_intent', payment_intent: toPaymentIntentState(o) };
    if (event.type === 'charge.refunded' || event.type === 'charge.refund.updated') {
      const chargeId = str(o?.id);
      // ch_ for card charges, py_ for ACH and other payment-method charges.
      if (!o || !chargeId || !/^(ch|py)_/.test(chargeId)) return { kind: 'ignored', reason: 'object_invalid' };
      return {
        kind: 'charge_refunded',
        charge_id: chargeId,
        payment_intent_id: idOf(o.payment_intent),
        refunded: o.refunded === true,
        amount_refunded: typeof o.amount_refunded === 'number' ? o.amount_refunded : 0,
      };
    }
    if (event.type.startsWith('charge.dispute.')) {
      const disputeId = str(o?.id);
      // dp_ for disputes, du_ for ACH disputes.
      if (!o || !disputeId || !/^(dp|du)_/.test(disputeId)) return { kind: 'ignored', reason: 'object_invalid' };
      const phase = event.type === 'charge.dispute.created' ? 'opened' : event.type === 'charge.dispute.closed' ? 'closed' : 'updated';
      const status = str(o.status) ?? 'unknown';
      return {
        kind: 'dispute',
        phase,
        dispute_id: disputeId,
        charge_id: idOf(o.charge),
        payment_intent_id: idOf(o.payment_intent),
        status,
        outcome: phase !== 'closed' ? null : DISPUTE_RELEASE.has(status) ? 'release' : status === 'lost' ? 'refund' : null,
      };
    }
    if (event.type === 'account.updated') return { kind: 'account', account: toConnectAccountState(o, keyLivemode) };
    if (event.type === 'capability.updated') {
      const account = idOf(o?.account);
      const capability = str(o?.id);
      if (!account || !capability) return { kind: 'ignored', reason: 'object_invalid' };
      return { kind: 'capability', account_id: account, capability, status: str(o?.status) ?? 'unknown' };
    }
  } catch (error) {
    if (error instanceof StripeCallError) return { kind: 'ignored', reason: 'object_invalid' };
    throw error;
  }
  return { kind: 'ignored', reason: 'event_type_not_handled' };
}

/** What a dispute event means for an intent. */
export function planFromDispute(state: string, effect: Extract<StripeEventEffect, { kind: 'dispute' }>):
  | { kind: 'advance'; actions: IntentAction[]; outcome: StripeDisputeOutcome | null }
  | { kind: 'unchanged' }
  | { kind: 'mismatch'; reason: 'dispute_closed_without_open' | 'dispute_outcome_unknown' } {
  if (effect.phase === 'updated') return { kind: 'unchanged' };
  if (effect.phase === 'opened') return state === 'disputed' ? { kind: 'unchanged' } : { kind: 'advance', actions: ['dispute_open'], outcome: null };
  if (state !== 'disputed') return state === 'resolved' ? { kind: 'unchanged' } : { kind: 'mismatch', reason: 'dispute_closed_without_open' };
  if (!effect.outcome) return { kind: 'mismatch', reason: 'dispute_outcome_unknown' };
  return { kind: 'advance', actions: ['dispute_resolve'], outcome: effect.outcome };
}
