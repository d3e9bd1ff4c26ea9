import { describe, expect, it } from 'vitest';
import { INTENT_STATES, type IntentAction, type SettlementAction } from '../../src/areas/settlement/lifecycle-types.ts';
import { verifyStripeWebhook, type PaymentIntentState } from '../../src/areas/settlement/stripe.ts';
import {
  classifyStripeEvent,
  paymentOutcome,
  planFromDispute,
  planFromPaymentIntent,
  type IntentView,
  type PaymentOutcome,
  type StripePlan,
} from '../../src/areas/settlement/stripe-outcomes.ts';
import { applyActions } from '../helpers/intent-state-machine.ts';
import { accountFixture, paymentIntentFixture, signStripeWebhook, stripeEvent } from '../helpers/stripe-stub.ts';

const OUTCOMES: PaymentOutcome[] = ['succeeded', 'authorized', 'processing', 'awaiting_customer', 'failed', 'canceled', 'refunded', 'unknown'];

function pi(outcome: PaymentOutcome, capture: 'manual' | 'automatic', over: Partial<PaymentIntentState> = {}): PaymentIntentState {
  const status: Record<PaymentOutcome, string> = {
    succeeded: 'succeeded',
    authorized: 'requires_capture',
    processing: 'processing',
    awaiting_customer: 'requires_action',
    failed: 'requires_payment_method',
    canceled: 'canceled',
    refunded: 'succeeded',
    unknown: 'requires_something_new',
  };
  return {
    payment_intent_id: 'pi_1Test',
    status: status[outcome],
    amount: 1000,
    amount_received: outcome === 'succeeded' || outcome === 'refunded' ? 1000 : 0,
    amount_capturable: outcome === 'authorized' ? 1000 : 0,
    currency: 'usd',
    capture_method: capture,
    livemode: false,
    last_payment_error: outcome === 'failed' ? 'card_declined' : null,
    cancellation_reason: null,
    latest_charge_id: outcome === 'refunded' ? 'ch_1' : null,
    charge_refunded: outcome === 'refunded' ? true : null,
    amount_refunded: outcome === 'refunded' ? 1000 : null,
    transfer_destination: null,
    metadata: {},
    ...over,
  };
}

const view = (state: string, settlementAction: SettlementAction | null = null): IntentView => ({ state, settlementAction, amountCents: 1000, currency: 'usd', livemode: false });

const adv = (...actions: IntentAction[]) => ({ kind: 'advance', actions });
const same = { kind: 'unchanged' };
const stale = { kind: 'stale' };
const mis = (reason: string) => ({ kind: 'mismatch', reason });

describe('PaymentIntent status → outcome', () => {
  it.each([
    [{ status: 'succeeded', last_payment_error: null, charge_refunded: null }, 'succeeded'],
    [{ status: 'succeeded', last_payment_error: null, charge_refunded: false }, 'succeeded'],
    [{ status: 'succeeded', last_payment_error: null, charge_refunded: true }, 'refunded'],
    [{ status: 'requires_capture', last_payment_error: null, charge_refunded: null }, 'authorized'],
    [{ status: 'processing', last_payment_error: null, charge_refunded: null }, 'processing'],
    [{ status: 'requires_payment_method', last_payment_error: 'card_declined', charge_refunded: null }, 'failed'],
    [{ status: 'requires_payment_method', last_payment_error: null, charge_refunded: null }, 'awaiting_customer'],
    [{ status: 'requires_confirmation', last_payment_error: null, charge_refunded: null }, 'awaiting_customer'],
    [{ status: 'requires_action', last_payment_error: null, charge_refunded: null }, 'awaiting_customer'],
    [{ status: 'canceled', last_payment_error: null, charge_refunded: null }, 'canceled'],
    [{ status: 'a_status_from_the_future', last_payment_error: null, charge_refunded: null }, 'unknown'],
  ])('%j → %s', (input, expected) => {
    expect(paymentOutcome(input)).toBe(expected);
  });
});

describe('PaymentIntent → intent plan', () => {
  // [intent state, settlement action, capture method, outcome, expected plan]
  const TABLE: Array<[string, SettlementAction | null, 'manual' | 'automatic', PaymentOutcome, object]> = [
    // Funding: any capture method.
    ['created', null, 'manual', 'authorized', adv('fund_succeeded')],
    ['created', null, 'automatic', 'succeeded', adv('fund_succeeded')],
    ['created', null, 'automatic', 'processing', adv('fund_started')],
    ['created', null, 'manual', 'awaiting_customer', adv('fund_started')],
    ['created', null, 'automatic', 'failed', adv('fund_started', 'fund_failed')],
    ['created', null, 'manual', 'canceled', adv('fund_started', 'fund_failed')],
    ['created', null, 'automatic', 'refunded', mis('refunded_before_funding')],
    ['created', null, 'automatic', 'unknown', same],
    ['funding_pending', null, 'automatic', 'succeeded', adv('fund_succeeded')],
    ['funding_pending', null, 'manual', 'authorized', adv('fund_succeeded')],
    ['funding_pending', null, 'automatic', 'processing', same],
    ['funding_pending', null, 'automatic', 'awaiting_customer', same],
    ['funding_pending', null, 'automatic', 'failed', adv('fund_failed')],
    ['funding_pending', null, 'automatic', 'canceled', adv('fund_failed')],
    ['funding_pending', null, 'automatic', 'refunded', mis('refunded_before_funding')],
    ['funding_failed', null, 'automatic', 'succeeded', adv('fund_succeeded')],
    ['funding_failed', null, 'automatic', 'processing', adv('fund_started')],
    ['funding_failed', null, 'automatic', 'failed', same],
    ['funding_failed', null, 'automatic', 'canceled', same],
    // Held funds.
    ['funded', null, 'manual', 'authorized', same],
    ['funded', null, 'automatic', 'succeeded', same],
    ['funded', null, 'manual', 'succeeded', mis('captured_before_release')],
    ['funded', null, 'automatic', 'refunded', mis('refunded_outside_settlement')],
    ['funded', null, 'automatic', 'processing', stale],
    ['funded', null, 'manual', 'awaiting_customer', stale],
    ['funded', null, 'manual', 'canceled', mis('funds_no_longer_held')],
    ['funded', null, 'automatic', 'failed', mis('funds_no_longer_held')],
    ['evidence_submitted', null, 'manual', 'authorized', same],
    ['evidence_submitted', null, 'manual', 'canceled', mis('funds_no_longer_held')],
    ['evidence_submitted', null, 'automatic', 'unknown', same],
    // Release with manual capture: capture is the release.
    ['settlement_pending', 'release', 'manual', 'succeeded', adv('settlement_released')],
    ['settlement_pending', 'release', 'manual', 'authorized', same],
    ['settlement_pending', 'release', 'manual', 'canceled', adv('settlement_failed')],
    ['settlement_pending', 'release', 'manual', 'failed', adv('settlement_failed')],
    ['settlement_pending', 'release', 'manual', 'refunded', mis('outcome_contradicts_settlement')],
    ['settlement_pending', 'release', 'manual', 'processing', stale],
    ['settlement_pending', 'release', 'manual', 'unknown', same],
    // Release with automatic capture: the transfer confirms it, not the PaymentIntent.
    ['settlement_pending', 'release', 'automatic', 'succeeded', same],
    ['settlement_pending', 'release', 'automatic', 'refunded', mis('outcome_contradicts_settlement')],
    ['settlement_pending', 'release', 'automatic', 'canceled', mis('funds_no_longer_held')],
    ['settlement_pending', 'release', 'automatic', 'processing', stale],
    // Refund: cancel before capture, or a refund after it.
    ['settlement_pending', 'refund', 'manual', 'canceled', adv('settlement_refunded')],
    ['settlement_pending', 'refund', 'automatic', 'refunded', adv('settlement_refunded')],
    ['settlement_pending', 'refund', 'manual', 'authorized', same],
    ['settlement_pending', 'refund', 'automatic', 'succeeded', same],
    ['settlement_pending', 'refund', 'automatic', 'failed', mis('funds_no_longer_held')],
    ['settlement_pending', 'refund', 'automatic', 'awaiting_customer', stale],
    ['settlement_pending', null, 'automatic', 'succeeded', same],
    // After release and terminal states.
    ['released', null, 'manual', 'succeeded', same],
    ['released', null, 'automatic', 'refunded', mis('refunded_outside_settlement')],
    ['released', null, 'manual', 'authorized', stale],
    ['settled', null, 'automatic', 'refunded', same],
    ['refunded', null, 'manual', 'canceled', same],
    ['voided', null, 'automatic', 'succeeded', same],
    ['disputed', null, 'automatic', 'refunded', same],
    ['resolved', null, 'automatic', 'succeeded', same],
    ['settlement_failed', null, 'manual', 'succeeded', same],
  ];

  it.each(TABLE)('%s (action %s, %s capture) + %s', (state, action, capture, outcome, expected) => {
    expect(planFromPaymentIntent(view(state, action), pi(outcome, capture))).toMatchObject({ ...expected, outcome });
  });

  it('every advance, for every combination, is a run of legal state-machine steps', () => {
    let advances = 0;
    for (const state of INTENT_STATES) {
      for (const action of [null, 'release', 'refund'] as const) {
        for (const capture of ['manual', 'automatic'] as const) {
          for (const outcome of OUTCOMES) {
            const plan: StripePlan = planFromPaymentIntent(view(state, state === 'settlement_pending' ? action : null), pi(outcome, capture));
            if (plan.kind !== 'advance') continue;
            advances++;
            expect(applyActions(state, plan.actions), `${state} ${action} ${capture} ${outcome}`).toMatchObject({ ok: true });
          }
        }
      }
    }
    expect(advances).toBeGreaterThan(20);
  });

  it('never moves an intent on a PaymentIntent for other money, before looking at the status', () => {
    const intent = view('funding_pending');
    expect(planFromPaymentIntent(intent, pi('succeeded', 'automatic', { amount: 999 }))).toMatchObject(mis('amount_mismatch'));
    expect(planFromPaymentIntent(intent, pi('succeeded', 'automatic', { currency: 'eur' }))).toMatchObject(mis('currency_mismatch'));
    expect(planFromPaymentIntent(intent, pi('succeeded', 'automatic', { livemode: true }))).toMatchObject(mis('livemode_mismatch'));
    expect(planFromPaymentIntent({ ...intent, livemode: true }, pi('succeeded', 'automatic'))).toMatchObject(mis('livemode_mismatch'));
    expect(planFromPaymentIntent({ ...intent, currency: 'USD' }, pi('succeeded', 'automatic'))).toMatchObject(adv('fund_succeeded'));
  });
});

describe('Stripe event classification', () => {
  const SECRET = 'whsec_classify';
  function verified(type: string, object: Record<string, unknown>, options: { livemode?: boolean; account?: string } = {}) {
    const body = JSON.stringify(stripeEvent(type, object, options));
    const result = verifyStripeWebhook(body, signStripeWebhook(body, SECRET), SECRET, { now: new Date() });
    if (!result.ok) throw new Error(result.code);
    return result.event;
  }

  it.each(['payment_intent.succeeded', 'payment_intent.processing', 'payment_intent.payment_failed', 'payment_intent.canceled', 'payment_intent.amount_capturable_updated'])(
    '%s carries the PaymentIntent snapshot',
    (type) => {
      const object = paymentIntentFixture({ id: 'pi_1Evt', status: 'processing', metadata: { paybond_intent_id: 'x' } });
      expect(classifyStripeEvent(verified(type, object))).toMatchObject({ kind: 'payment_intent', payment_intent: { payment_intent_id: 'pi_1Evt', status: 'processing', metadata: { paybond_intent_id: 'x' } } });
    },
  );

  it('a payment_intent event whose object is not a PaymentIntent is ignored as invalid', () => {
    expect(classifyStripeEvent(verified('payment_intent.succeeded', { id: 'ch_1', object: 'charge' }))).toEqual({ kind: 'ignored', reason: 'object_invalid' });
  });

  it('charge.refunded names the charge, its PaymentIntent and whether the refund is full', () => {
    expect(classifyStripeEvent(verified('charge.refunded', { id: 'py_1Ach', object: 'charge', payment_intent: 'pi_1R', refunded: true, amount_refunded: 1000 }))).toEqual({
      kind: 'charge_refunded',
      charge_id: 'py_1Ach',
      payment_intent_id: 'pi_1R',
      refunded: true,
      amount_refunded: 1000,
    });
    expect(classifyStripeEvent(verified('charge.refunded', { id: 'ch_1P', payment_intent: { id: 'pi_1X' }, refunded: false, amount_refunded: 10 }))).toMatchObject({ payment_intent_id: 'pi_1X', refunded: false });
    expect(classifyStripeEvent(verified('charge.refunded', { id: 'cus_1' }))).toEqual({ kind: 'ignored', reason: 'object_invalid' });
  });

  it.each([
    ['charge.dispute.created', 'needs_response', 'opened', null],
    ['charge.dispute.updated', 'under_review', 'updated', null],
    ['charge.dispute.closed', 'won', 'closed', 'release'],
    ['charge.dispute.closed', 'warning_closed', 'closed', 'release'],
    ['charge.dispute.closed', 'lost', 'closed', 'refund'],
    ['charge.dispute.closed', 'something_new', 'closed', null],
  ])('%s with status %s is a dispute %s with outcome %s', (type, status, phase, outcome) => {
    expect(classifyStripeEvent(verified(type, { id: 'dp_1', object: 'dispute', charge: 'ch_1', payment_intent: 'pi_1', status }))).toEqual({
      kind: 'dispute',
      phase,
      dispute_id: 'dp_1',
      charge_id: 'ch_1',
      payment_intent_id: 'pi_1',
      status,
      outcome,
    });
  });

  it('account.updated carries the normalised destination state; its mode follows the key when the object has none', () => {
    const account = accountFixture({ id: 'acct_1Upd', achDebit: 'pending' });
    expect(classifyStripeEvent(verified('account.updated', account, { account: 'acct_1Upd' }), true)).toMatchObject({
      kind: 'account',
      account: { account_id: 'acct_1Upd', ach_debit_capability: 'pending', livemode: true },
    });
  });

  it('capability.updated names the account, capability and status', () => {
    expect(classifyStripeEvent(verified('capability.updated', { id: 'us_bank_account_ach_payments', object: 'capability', account: 'acct_1C', status: 'active' }))).toEqual({
      kind: 'capability',
      account_id: 'acct_1C',
      capability: 'us_bank_account_ach_payments',
      status: 'active',
    });
    expect(classifyStripeEvent(verified('capability.updated', { object: 'capability' }))).toEqual({ kind: 'ignored', reason: 'object_invalid' });
  });

  it('other event types are ignored, not failed', () => {
    expect(classifyStripeEvent(verified('customer.created', { id: 'cus_1' }))).toEqual({ kind: 'ignored', reason: 'event_type_not_handled' });
  });
});

describe('dispute events → intent plan', () => {
  const dispute = (phase: 'opened' | 'updated' | 'closed', outcome: 'release' | 'refund' | null = null) =>
    ({ kind: 'dispute', phase, dispute_id: 'dp_1', charge_id: 'ch_1', payment_intent_id: 'pi_1', status: 'x', outcome }) as const;

  it.each(['funded', 'evidence_submitted', 'settlement_pending', 'released', 'settled'])('a dispute opened on a %s intent opens it (legally)', (state) => {
    const plan = planFromDispute(state, dispute('opened'));
    expect(plan).toEqual({ kind: 'advance', actions: ['dispute_open'], outcome: null });
    expect(applyActions(state, ['dispute_open'])).toMatchObject({ ok: true, state: 'disputed' });
  });

  it('a repeated open or an update changes nothing', () => {
    expect(planFromDispute('disputed', dispute('opened'))).toEqual({ kind: 'unchanged' });
    expect(planFromDispute('funded', dispute('updated'))).toEqual({ kind: 'unchanged' });
  });

  it('a close resolves a disputed intent with where the money went', () => {
    expect(planFromDispute('disputed', dispute('closed', 'refund'))).toEqual({ kind: 'advance', actions: ['dispute_resolve'], outcome: 'refund' });
    expect(applyActions('disputed', ['dispute_resolve'])).toMatchObject({ ok: true, state: 'resolved' });
  });

  it('a close with no known outcome, or for an intent never disputed, is a mismatch; a repeated close is not', () => {
    expect(planFromDispute('disputed', dispute('closed', null))).toEqual({ kind: 'mismatch', reason: 'dispute_outcome_unknown' });
    expect(planFromDispute('released', dispute('closed', 'release'))).toEqual({ kind: 'mismatch', reason: 'dispute_closed_without_open' });
    expect(planFromDispute('resolved', dispute('closed', 'release'))).toEqual({ kind: 'unchanged' });
  });
});
