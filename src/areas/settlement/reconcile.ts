import './errors.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { PaymentIntentState } from './stripe.ts';
import { StripeCallError } from './stripe.ts';
import { stripeClient, stripeFailure } from './stripe-runtime.ts';
import { syncPaymentIntent } from './stripe-sync.ts';

type Ctx = ServiceContext & { principal: Principal };

/** PaymentIntents read per run (oldest-checked first); the rest wait for the next run. */
export const RECONCILE_BATCH = 50;
/** Stripe reads in flight at once. */
const PARALLEL_READS = 5;
/** Where Stripe can still move an intent: funding outcomes and settlement outcomes. */
const OPEN_STATES = ['created', 'funding_pending', 'funded', 'evidence_submitted', 'settlement_pending'];

export interface ReconcileChange {
  intentId: string;
  paymentIntentId: string;
  from: string;
  to: string;
  actions: string[];
  outcome: string;
}

export interface ReconcileResult {
  checked: number;
  changed: ReconcileChange[];
  unchanged: number;
  mismatches: Array<{ intentId: string; paymentIntentId: string; state: string; reason: string; outcome: string }>;
  errors: Array<{ intentId: string; paymentIntentId: string; code: string }>;
  /** Open Stripe intents not checked in this run (call again). */
  remaining: number;
}

/**
 * Refresh the tenant's open intents on Stripe rails from their PaymentIntents and advance what
 * Stripe decided, each intent in its own transaction with its ledger and audit events. Plans
 * depend only on the intent's state and Stripe's, so running it again changes nothing more.
 * Mismatches (Stripe contradicts the intent) are reported, never applied.
 */
export async function reconcile(ctx: Ctx): Promise<ReconcileResult> {
  const { tenantId, environment } = ctx.principal;
  const result: ReconcileResult = { checked: 0, changed: [], unchanged: 0, mismatches: [], errors: [], remaining: 0 };
  // Sandbox intents settle through the simulator: Stripe has nothing of theirs.
  if (environment === 'sandbox') return result;
  const client = stripeClient(ctx.runtime);
  const db = ctx.runtime.db;
  const batch = await db.$queryRaw<Array<{ paymentIntentId: string; intentId: string; total: number }>>`
    SELECT l."paymentIntentId", l."intentId", count(*) OVER ()::int AS total FROM "StripePaymentIntentLink" l
    JOIN "HarborIntent" i ON i."tenantId" = l."tenantId" AND i."intentId" = l."intentId"
    WHERE l."tenantId" = ${tenantId} AND i."state" = ANY(${OPEN_STATES})
    ORDER BY l."checkedAt" ASC, l."paymentIntentId" ASC
    LIMIT ${RECONCILE_BATCH}`;
  result.remaining = (batch[0]?.total ?? 0) - batch.length;

  const reads: Array<PaymentIntentState | StripeCallError> = [];
  for (let i = 0; i < batch.length; i += PARALLEL_READS) {
    const chunk = await Promise.all(
      batch.slice(i, i + PARALLEL_READS).map((link) =>
        client.retrievePaymentIntent(link.paymentIntentId).catch((error: unknown) => {
          if (error instanceof StripeCallError) return error;
          throw error;
        }),
      ),
    );
    // A refused key fails every read the same way: say so once instead of per intent.
    const refused = chunk.find((r) => r instanceof StripeCallError && r.code === 'stripe_authentication_failed');
    if (refused) throw stripeFailure(refused);
    reads.push(...chunk);
  }

  for (const [i, link] of batch.entries()) {
    const pi = reads[i]!;
    const ids = { intentId: link.intentId, paymentIntentId: link.paymentIntentId };
    result.checked++;
    if (pi instanceof StripeCallError) {
      result.errors.push({ ...ids, code: pi.code });
      continue;
    }
    try {
      const synced = await db.$transaction(async (tx) => {
        const intent = await tx.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId, intentId: link.intentId } } });
        return syncPaymentIntent(ctx, tx, intent, pi, { source: 'stripe_reconcile' });
      });
      if (synced.kind === 'advanced') result.changed.push({ ...ids, from: synced.from, to: synced.to, actions: synced.actions, outcome: synced.outcome });
      else if (synced.kind === 'mismatch') result.mismatches.push({ ...ids, state: synced.state, reason: synced.reason, outcome: synced.outcome });
      else result.unchanged++;
    } catch (error) {
      // Moved concurrently (a webhook got there first): the next run sees the new state.
      if (error instanceof DomainError) result.errors.push({ ...ids, code: error.code });
      else throw error;
    }
  }

  await recordAudit(db, ctx, {
    tenantId,
    eventType: 'stripe.reconcile',
    resource: 'stripe_settlement',
    details: { checked: result.checked, changed: result.changed.length, unchanged: result.unchanged, mismatches: result.mismatches.length, errors: result.errors.length, remaining: result.remaining },
  });
  return result;
}
