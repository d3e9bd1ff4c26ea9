import type { ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { appendLedgerEvent } from '../harbor/ledger.ts';
import { FRAUD_V1_PARAMS } from './model/fraud.ts';
import { gateMode } from './store.ts';
import { loadOperatorView } from './review.ts';
import './errors.ts';

/**
 * Only VELOCITY_SPIKE and DISPUTE_CLUSTER can be critical, and both look back at most 7 days and
 * an hour (plus the tolerated clock skew): a release decision needs no older events.
 */
const p = FRAUD_V1_PARAMS;
export const HOLD_LOOKBACK_MS = (Math.max(p.velocity.window_seconds + p.velocity.trailing_seconds, p.dispute_cluster.window_seconds) + p.skew_seconds) * 1000;

/**
 * The release gate, called by Harbor's settlement confirmation inside its transaction, before a
 * release reaches the rail. Under critical_hold, a critical signal of a reliable family (not
 * cleared by a false_positive label) holds the release: `settlement.held` is appended to the
 * ledger with its audit event, and the refusal to raise once that transaction has committed is
 * returned (the intent stays settlement_pending; a later confirmation decides again). Refunds are
 * never held; under review_only this is one primary-key read.
 */
export async function releaseHold(
  tx: Tx,
  ctx: ServiceContext,
  intent: { tenantId: string; intentId: string; payeeDid: string; amountCents: number; currency: string },
  action: string,
): Promise<DomainError | null> {
  if (action !== 'release' || (await gateMode(tx, intent.tenantId)) !== 'critical_hold') return null;
  const nowMs = ctx.runtime.clock.now().getTime();
  const { gate } = await loadOperatorView(tx, intent.tenantId, intent.payeeDid, nowMs, { mode: 'critical_hold', action, lookbackMs: HOLD_LOOKBACK_MS, baseline: false });
  if (!gate.hold_required) return null;
  const held = { action, blocking_signal_codes: gate.blocking_signal_codes, blocking_evidence_refs: gate.blocking_evidence_refs };
  await appendLedgerEvent(tx, ctx, { tenantId: intent.tenantId, intentId: intent.intentId, type: 'settlement.held', amountCents: intent.amountCents, currency: intent.currency, payload: held });
  await recordAudit(tx, ctx, {
    tenantId: intent.tenantId,
    eventType: 'signal.release.held',
    resource: 'harbor_intent',
    resourceId: intent.intentId,
    decision: 'denied',
    details: { operator_did: intent.payeeDid, blocking_signal_codes: gate.blocking_signal_codes },
  });
  return new DomainError('fraud_release_hold', `Release held by critical fraud signals: ${gate.blocking_signal_codes.join(', ')}`, {
    details: { ...held, reasons: gate.reasons },
  });
}
