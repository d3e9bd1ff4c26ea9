import type { ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import type { HarborIntent } from '../../generated/prisma/client.ts';
import { applySteps } from './apply.ts';
import type { IntentAction, SettlementAction } from './lifecycle-types.ts';
import type { PaymentIntentState } from './stripe.ts';
import { planFromPaymentIntent, type MismatchReason, type PaymentOutcome } from './stripe-outcomes.ts';

export const STRIPE_RAILS: ReadonlySet<string> = new Set(['stripe_connect', 'stripe_ach_debit']);

/** What Stripe's view of a PaymentIntent did to an intent. */
export type SyncResult =
  | { kind: 'advanced'; from: string; to: string; actions: IntentAction[]; outcome: PaymentOutcome }
  | { kind: 'unchanged' | 'stale'; state: string; outcome: PaymentOutcome }
  | { kind: 'mismatch'; state: string; outcome: PaymentOutcome; reason: MismatchReason | 'destination_mismatch' };

/**
 * Plan from a PaymentIntent (stripe-outcomes.ts) and apply the advance, in the caller's
 * transaction. A PaymentIntent that pays another Connect account than the tenant's linked
 * destination never moves the intent. Mismatches are returned, never applied.
 */
export async function syncPaymentIntent(
  ctx: ServiceContext,
  tx: Tx,
  intent: HarborIntent,
  pi: PaymentIntentState,
  source: Record<string, unknown>,
): Promise<SyncResult> {
  const destination = pi.transfer_destination ? await tx.stripeDestination.findUnique({ where: { tenantId: intent.tenantId } }) : null;
  if (destination && destination.accountId !== pi.transfer_destination) {
    return { kind: 'mismatch', state: intent.state, outcome: 'unknown', reason: 'destination_mismatch' };
  }
  const plan = planFromPaymentIntent(
    { state: intent.state, settlementAction: intent.settlementAction as SettlementAction | null, amountCents: intent.amountCents, currency: intent.currency, livemode: intent.settlementMode === 'live' },
    pi,
  );
  await tx.stripePaymentIntentLink.update({ where: { paymentIntentId: pi.payment_intent_id }, data: { lastStatus: pi.status, checkedAt: ctx.runtime.clock.now() } });
  if (plan.kind === 'mismatch') return { kind: 'mismatch', state: intent.state, outcome: plan.outcome, reason: plan.reason };
  if (plan.kind !== 'advance') return { kind: plan.kind, state: intent.state, outcome: plan.outcome };
  const moved = await applySteps(
    ctx,
    tx,
    intent,
    plan.actions.map((action) => ({ action })),
    { ...source, payment_intent_id: pi.payment_intent_id, payment_intent_status: pi.status, outcome: plan.outcome },
  );
  return { kind: 'advanced', from: intent.state, to: moved.state, actions: plan.actions, outcome: plan.outcome };
}
