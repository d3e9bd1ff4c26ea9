import { z } from 'zod';
import type { Principal, ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import { newId } from '../../crypto/hash.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { isTenantAdmin } from '../../kernel/roles.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { parsed } from './errors.ts';
import { SignalModelError } from './model/errors.ts';
import { disputeBaselineAt, disputeBaselineFrom, FRAUD_SIGNAL_VERSION, type DisputeBaseline } from './model/fraud.ts';
import { metricsReliability, releaseGateConfigResponse, criticalHoldEligibility, type ReleaseGateMode } from './model/gate.ts';
import { isoTime, type SignalEvent } from './model/history.ts';
import { computeFraudMetrics, FRAUD_LOOKBACK_MS, FRAUD_METRICS_WINDOWS, fraudSignalsResponse, operatorFraudView, parseFraudWindow, parseQueueQuery, reviewQueueItem, reviewStatusResponse, selectReviewQueue } from './model/metrics.ts';
import { flagsToRecord, foldReviewCase, labelsFrom, normalizeReviewRequest, reviewEventResponse, throttleReviewRequest, type NormalizedReviewRequest, type ReviewEventRecord } from './model/review.ts';
import { boundEvents, gateMode, latestSnapshot, latestSnapshots, operatorKnown, reviewEvents } from './store.ts';
import { PRIMARY_SCORE_VERSION } from './versions.ts';

/**
 * Fraud review: score-neutral signals per operator, the review workflow (requests, outcomes,
 * system flags, the appeal/replay throttle), the tenant's release-gate mode and the monitoring
 * metrics. Signals and metrics are computed on read from the ledger and the review log, at the
 * injected clock's now; nothing here changes a score.
 */

export type SignalCtx = ServiceContext & { principal: Principal };

/** Entitlement that lets a member record review outcomes without being a tenant admin. */
export const SIGNAL_REVIEW_ENTITLEMENT = 'signal.review';

/** Baseline with no outcomes: the dispute-rate rule stays off (the count rule does not need it). */
const NO_BASELINE = disputeBaselineFrom(0, 0);

/** The tenant dispute baseline at `nowMs` from one aggregate over the last 90 days of the ledger. */
async function tenantBaseline(db: Tx, tenantId: string, nowMs: number): Promise<DisputeBaseline> {
  const from = isoTime(nowMs - 90 * 86_400_000);
  const [row] = await db.$queryRaw<Array<{ disputes: number; base: number }>>`
    SELECT count(*) FILTER (WHERE "type" = 'dispute.opened')::int AS disputes, count(DISTINCT "intentId")::int AS base
    FROM "LedgerEvent"
    WHERE "tenantId" = ${tenantId} AND "type" IN ('dispute.opened', 'settlement.settled', 'settlement.refunded')
      AND "occurredAt" > ${from} AND "occurredAt" <= ${isoTime(nowMs)}`;
  return disputeBaselineFrom(row?.disputes ?? 0, row?.base ?? 0);
}

/**
 * One operator's signals, case and gate decision at `nowMs`, from its own ledger events since
 * `nowMs − lookbackMs` and the review log. `baseline: false` skips the tenant aggregate (the
 * release gate only reads critical signals, which never depend on it).
 */
export async function loadOperatorView(
  db: Tx,
  tenantId: string,
  operatorDid: string,
  nowMs: number,
  options: { mode: ReleaseGateMode; lookbackMs?: number; action?: 'release' | 'refund'; baseline?: boolean; pending?: SignalEvent },
) {
  const events = await boundEvents(db, tenantId, { operatorDid, sinceMs: nowMs - (options.lookbackMs ?? FRAUD_LOOKBACK_MS), pending: options.pending });
  const reviews = await reviewEvents(db, tenantId, operatorDid);
  const baseline = options.baseline === false ? NO_BASELINE : await tenantBaseline(db, tenantId, nowMs);
  return { ...operatorFraudView({ events, reviewEvents: reviews, operatorDid, nowMs, mode: options.mode, action: options.action, baseline }), reviews };
}

/** Every operator's view at once: one load of the tenant's last 92 days and review log. */
async function tenantViews(db: Tx, tenantId: string, nowMs: number, mode: ReleaseGateMode) {
  const events = await boundEvents(db, tenantId, { sinceMs: nowMs - FRAUD_LOOKBACK_MS });
  const reviews = await reviewEvents(db, tenantId);
  const baseline = disputeBaselineAt(events, nowMs);
  const byOperator = new Map<string, SignalEvent[]>();
  for (const e of events) if (e.operatorDid) byOperator.set(e.operatorDid, [...(byOperator.get(e.operatorDid) ?? []), e]);
  for (const r of reviews) if (!byOperator.has(r.operatorDid)) byOperator.set(r.operatorDid, []);
  return [...byOperator].map(([operatorDid, own]) => ({ operatorDid, reviews, ...operatorFraudView({ events: own, reviewEvents: reviews, operatorDid, nowMs, mode, baseline }) }));
}

/** Every operator's fraud view for the caller's tenant, now, under its gate mode. */
export async function loadTenantViews(ctx: SignalCtx) {
  const { db } = ctx.runtime;
  const nowMs = ctx.runtime.clock.now().getTime();
  const mode = await gateMode(db, ctx.principal.tenantId);
  return { mode, nowMs, views: await tenantViews(db, ctx.principal.tenantId, nowMs, mode) };
}

/**
 * Insert review events and their audit events (a throttled attempt is recorded too). When the
 * event moves the operator's review case to another state, that is audited as
 * `signal.review_status.changed` too (the webhook outbox announces it).
 */
async function appendReview(tx: Tx, ctx: ServiceContext, tenantId: string, event: ReviewEventRecord & { requestedEventType: string; nextEligibleAt?: string }, actor?: { type: string; id: string | null }) {
  const history = await reviewEvents(tx, tenantId, event.operatorDid);
  const before = foldReviewCase(event.operatorDid, history);
  const id = newId('srv');
  await tx.signalReviewEvent.create({
    data: {
      id,
      tenantId,
      operatorDid: event.operatorDid,
      eventType: event.eventType,
      requestedEventType: event.requestedEventType,
      reviewOutcome: event.reviewOutcome ?? null,
      signalCode: event.signalCode ?? null,
      intentId: event.intentId ?? null,
      providerEventId: event.providerEventId ?? null,
      summary: event.summary ?? '',
      accepted: event.accepted,
      nextEligibleAt: event.nextEligibleAt ? new Date(event.nextEligibleAt) : null,
      actorType: actor?.type ?? ctx.principal?.kind ?? 'system',
      actorId: actor ? actor.id : (ctx.principal?.subjectId ?? null),
      recordedAt: new Date(event.recordedAt),
    },
  });
  await recordAudit(tx, ctx, {
    tenantId,
    eventType: `signal.review.${event.eventType}${event.accepted ? '' : '.throttled'}`,
    resource: 'signal_operator',
    decision: event.accepted ? 'allowed' : 'denied',
    details: {
      operator_did: event.operatorDid,
      ...(event.reviewOutcome ? { review_outcome: event.reviewOutcome } : {}),
      ...(event.signalCode ? { signal_code: event.signalCode } : {}),
      ...(event.intentId ? { intent_id: event.intentId } : {}),
      accepted: event.accepted,
    },
    ...(actor ? { actor } : {}),
  });
  const after = foldReviewCase(event.operatorDid, [...history, event]);
  if (after.review_state !== before.review_state) {
    await recordAudit(tx, ctx, {
      tenantId,
      eventType: 'signal.review_status.changed',
      // The review event that moved it: audit rows never carry an operator's DID in clear.
      resource: 'signal_review_event',
      resourceId: id,
      details: {
        operator_did: event.operatorDid,
        review_status: after.review_state,
        previous_review_status: before.review_state,
        review_outcome: after.review_outcome,
        review_reasons: after.review_reasons,
      },
      ...(actor ? { actor } : {}),
    });
  }
}

/**
 * Open (or add to) the operator's review case for each new high or critical signal, in the
 * transaction of the ledger event that raised it. A closed case reopens only for evidence newer
 * than its last review.
 */
export async function raiseFlags(tx: Tx, ctx: ServiceContext, tenantId: string, event: SignalEvent): Promise<void> {
  const operatorDid = event.operatorDid!;
  const nowMs = event.timeMs;
  let view: Awaited<ReturnType<typeof loadOperatorView>>;
  try {
    view = await loadOperatorView(tx, tenantId, operatorDid, nowMs, { mode: 'review_only', pending: event });
  } catch (error) {
    // Rows that contradict the ledger must not fail the payment write that raised the flag; the
    // views report the same error when read.
    if (!(error instanceof SignalModelError)) throw error;
    ctx.runtime.log.error({ err: error, tenant_id: tenantId }, 'signal: ledger binding failed; no review flag raised');
    return;
  }
  for (const flag of flagsToRecord(view.reviewCase, view.signals, operatorDid, isoTime(nowMs))) {
    await appendReview(tx, ctx, tenantId, { ...flag, requestedEventType: 'signal_flagged' }, { type: 'system', id: null });
  }
}

export const reviewEventInput = z.object({
  eventType: z.string().max(64).describe('review_open_requested, appeal_requested, replay_requested, review_outcome_recorded, or an outcome name (confirmed_risk, false_positive, needs_more_evidence).'),
  reviewOutcome: z.string().max(64).optional().describe('confirmed_risk, false_positive or needs_more_evidence (required with review_outcome_recorded).'),
  signalCode: z.string().max(128).optional().describe('The fraud signal code the event is about (a label then counts for that signal family).'),
  intentId: z.string().max(256).optional().describe('The intent the event is about.'),
  providerEventId: z.string().max(256).optional().describe('A provider event the event refers to.'),
  summary: z.string().max(2000).describe('What happened, for the review log (required).'),
});

/** Who may record what: outcomes need tenant_admin or `signal.review`; requests need write access or `signal.review`. */
function assertMayRecord(principal: Principal, request: NormalizedReviewRequest) {
  const reviewer = principal.entitlements.includes(SIGNAL_REVIEW_ENTITLEMENT);
  if (request.requiresReviewer && !(isTenantAdmin(principal) || reviewer)) {
    throw new DomainError('forbidden', `Recording a review outcome requires the tenant_admin role or the ${SIGNAL_REVIEW_ENTITLEMENT} entitlement`);
  }
  if (!request.requiresReviewer && !(principal.scopes.includes('harbor:write') || reviewer)) {
    throw new DomainError('forbidden', `This credential cannot request reviews (needs write access or the ${SIGNAL_REVIEW_ENTITLEMENT} entitlement)`);
  }
}

/**
 * `POST …/review-events`. Appeals and replays are throttled per operator (3 in 24 hours): a
 * throttled one is recorded with accepted: false and answered with next_eligible_at.
 */
export async function recordReviewEvent(ctx: SignalCtx, operatorDid: string, scoreVersion: string, input: z.infer<typeof reviewEventInput>) {
  const tenantId = ctx.principal.tenantId;
  const request = parsed(() =>
    normalizeReviewRequest({ event_type: input.eventType, review_outcome: input.reviewOutcome, signal_code: input.signalCode, intent_id: input.intentId, provider_event_id: input.providerEventId, summary: input.summary }),
  );
  if (!(await operatorKnown(ctx.runtime.db, tenantId, operatorDid))) throw new DomainError('not_found', 'Operator not found');
  assertMayRecord(ctx.principal, request);
  return ctx.runtime.db.$transaction(async (tx) => {
    // One review decision per operator at a time: the throttle counts what the others recorded.
    await tx.$queryRaw`SELECT 1 FROM "SignalOperatorState" WHERE "tenantId" = ${tenantId} AND "operatorDid" = ${operatorDid} AND "scoreVersion" = ${PRIMARY_SCORE_VERSION} FOR UPDATE`;
    const now = ctx.runtime.clock.now();
    const throttle = request.throttled ? throttleReviewRequest(await reviewEvents(tx, tenantId, operatorDid), operatorDid, now.getTime()) : undefined;
    await appendReview(tx, ctx, tenantId, {
      operatorDid,
      eventType: request.recordedEventType,
      requestedEventType: request.requestedEventType,
      ...(request.reviewOutcome ? { reviewOutcome: request.reviewOutcome } : {}),
      ...(request.signalCode ? { signalCode: request.signalCode } : {}),
      ...(request.intentId ? { intentId: request.intentId } : {}),
      ...(request.providerEventId ? { providerEventId: request.providerEventId } : {}),
      summary: request.summary,
      recordedAt: now.toISOString(),
      accepted: throttle?.accepted ?? true,
      ...(throttle?.nextEligibleAt ? { nextEligibleAt: throttle.nextEligibleAt } : {}),
    });
    return reviewEventResponse({ tenantId, operatorDid, scoreModelVersion: scoreVersion, request, throttle });
  });
}

/** `GET …/review-status`: null for an operator this tenant never paid. */
export async function reviewStatus(ctx: SignalCtx, operatorDid: string, scoreVersion: string) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  if (!(await operatorKnown(db, tenantId, operatorDid))) return null;
  const nowMs = ctx.runtime.clock.now().getTime();
  const view = await loadOperatorView(db, tenantId, operatorDid, nowMs, { mode: await gateMode(db, tenantId) });
  const latest = await latestSnapshot(db, tenantId, operatorDid, scoreVersion);
  const own = view.reviews.filter((r) => r.operatorDid === operatorDid);
  const next = throttleReviewRequest(own, operatorDid, nowMs);
  return reviewStatusResponse({
    tenantId,
    operatorDid,
    scoreModelVersion: scoreVersion,
    reviewCase: view.reviewCase,
    signals: view.signals,
    assessment: view.assessment,
    gate: view.gate,
    maturityTier: latest?.supportDepthBand ?? 'none',
    friction: { ...next.friction, ...(next.nextEligibleAt ? { next_eligible_at: next.nextEligibleAt } : {}) },
    annotations: own
      .filter((r) => r.accepted)
      .slice(-50)
      .map((r) => ({ recorded_at: r.recordedAt, event_type: r.eventType, summary: r.summary ?? '' })),
  });
}

/** `GET /signal/v1/review-queue`: cases and flagged operators, most severe first. */
export async function reviewQueue(ctx: SignalCtx, scoreVersion: string, query: { state?: string; fraud_severity?: string; limit?: string }) {
  const filter = parsed(() => parseQueueQuery(query));
  const tenantId = ctx.principal.tenantId;
  const { views } = await loadTenantViews(ctx);
  const digests = new Map((await latestSnapshots(ctx.runtime.db, tenantId, scoreVersion)).map((s) => [s.operatorDid, s.receiptDigest]));
  const items = views.map((v) => reviewQueueItem({ reviewCase: v.reviewCase, signals: v.signals, assessment: v.assessment, gate: v.gate, lastReceiptMessageDigestHex: digests.get(v.operatorDid) ?? '' }));
  return { schema_version: 1, tenant_id: tenantId, score_model_version: scoreVersion, items: selectReviewQueue(items, filter) };
}

/** `GET /signal/v1/fraud-signals`: flagged operators with their gate decisions. */
export async function fraudSignals(ctx: SignalCtx, scoreVersion: string) {
  const { mode, nowMs, views } = await loadTenantViews(ctx);
  return fraudSignalsResponse({ tenantId: ctx.principal.tenantId, scoreModelVersion: scoreVersion, generatedAt: isoTime(nowMs), mode, operators: views });
}

/** `GET /signal/v1/fraud/metrics?window=`: replayed from the ledger prefix the window needs. */
export async function fraudMetrics(ctx: SignalCtx, scoreVersion: string, windowParam: string | undefined) {
  const window = parsed(() => parseFraudWindow(windowParam));
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const nowMs = ctx.runtime.clock.now().getTime();
  const events = await boundEvents(db, tenantId, { sinceMs: nowMs - FRAUD_METRICS_WINDOWS[window] * 1000 - FRAUD_LOOKBACK_MS });
  return computeFraudMetrics({ tenantId, scoreModelVersion: scoreVersion, window, nowMs, events, reviewEvents: await reviewEvents(db, tenantId), mode: await gateMode(db, tenantId) });
}

async function gateConfig(db: Tx, tenantId: string, scoreVersion: string, now: Date, mode: ReleaseGateMode) {
  const reliability = metricsReliability(labelsFrom(await reviewEvents(db, tenantId)), now.getTime());
  return releaseGateConfigResponse({ tenantId, scoreModelVersion: scoreVersion, fraudSignalVersion: FRAUD_SIGNAL_VERSION, generatedAt: now.toISOString(), mode, reliability });
}

/** `GET /signal/v1/fraud/release-gate`. */
export async function releaseGate(ctx: SignalCtx, scoreVersion: string) {
  const { db } = ctx.runtime;
  return gateConfig(db, ctx.principal.tenantId, scoreVersion, ctx.runtime.clock.now(), await gateMode(db, ctx.principal.tenantId));
}

export const releaseGateMode = describedEnum('SignalReleaseGateMode', 'What the release gate does with critical fraud signals.', {
  review_only: 'Report would-be holds (critical_signal_hold_candidate_count); hold nothing.',
  critical_hold: 'Hold releases to payees with a critical signal of a reliable family (refunds are never held).',
});

export const releaseGateInput = z.object({ mode: releaseGateMode.describe('review_only or critical_hold.') });

/**
 * `PUT /signal/v1/fraud/release-gate` (tenant admin). critical_hold needs reliable tenant metrics
 * and a reliable family that can reach critical; otherwise 409 release_gate_unreliable with the
 * reasons (the refusal is audited too).
 */
export async function setReleaseGate(ctx: SignalCtx, scoreVersion: string, input: z.infer<typeof releaseGateInput>) {
  const tenantId = ctx.principal.tenantId;
  const refusal = await ctx.runtime.db.$transaction(async (tx) => {
    const now = ctx.runtime.clock.now();
    const previous = await gateMode(tx, tenantId);
    const body = await gateConfig(tx, tenantId, scoreVersion, now, input.mode);
    const eligibility = input.mode === 'critical_hold' ? criticalHoldEligibility(body.metrics_reliability) : { allowed: true, reasons: [] };
    await recordAudit(tx, ctx, {
      tenantId,
      eventType: 'signal.release_gate.mode_changed',
      resource: 'signal_release_gate',
      decision: eligibility.allowed ? 'allowed' : 'denied',
      details: { mode: input.mode, previous_mode: previous, ...(eligibility.allowed ? {} : { reasons: eligibility.reasons }) },
    });
    if (!eligibility.allowed) return new DomainError('release_gate_unreliable', `critical_hold needs reliable review metrics: ${eligibility.reasons.join(', ')}`, { details: { reasons: eligibility.reasons } });
    await tx.signalReleaseGate.upsert({
      where: { tenantId },
      create: { tenantId, mode: input.mode, updatedBy: ctx.principal.subjectId, updatedAt: now },
      update: { mode: input.mode, updatedBy: ctx.principal.subjectId, updatedAt: now },
    });
    return body;
  });
  if (refusal instanceof DomainError) throw refusal;
  return refusal;
}
