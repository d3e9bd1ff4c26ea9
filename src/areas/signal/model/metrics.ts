import { SignalModelError } from './errors.ts';
import { assessFraud, detectFraudSignals, FRAUD_SIGNAL_VERSION, FRAUD_V1_PARAMS, MODEL_SIGNAL_FAMILIES, SEVERITY_RANK, scanFraudEpisodes, type DisputeBaseline, type FraudAssessment, type FraudEpisode, type FraudParams, type FraudSeverity, type FraudSignal } from './fraud.ts';
import { evaluateReleaseGate, metricsReliability, RELIABILITY_V1, type MetricsReliability, type ReleaseGateDecision, type ReleaseGateMode, type ReliabilityParams } from './gate.ts';
import { isoTime, parseTime, type SignalEvent } from './history.ts';
import { foldReviewCase, labelsFrom, requestStampsFrom, type ReviewCase, type ReviewEventRecord, type ReviewState } from './review.ts';
import { bps } from './score.ts';

/**
 * Fraud monitoring over a window ending now, replayed from the ledger prefix and the review log.
 * Precision, false-positive rate and coverage come from review labels. Recall cannot be measured
 * from labels (fraud that was never flagged is never labeled); `dispute_recall_bps` is the
 * measurable stand-in: of the intents whose dispute resolved `refund` in the window, the share
 * whose payee had a signal before the dispute was opened.
 */

export type FraudMetricsWindow = '24h' | '7d' | '30d';
export const FRAUD_METRICS_WINDOWS: Record<FraudMetricsWindow, number> = { '24h': 86_400, '7d': 7 * 86_400, '30d': 30 * 86_400 };

/** `?window=`: default 24h; anything else is the Kit's 400 message. */
export function parseFraudWindow(value: string | null | undefined): FraudMetricsWindow {
  const v = value?.trim();
  if (!v) return '24h';
  if (v in FRAUD_METRICS_WINDOWS) return v as FraudMetricsWindow;
  throw new SignalModelError('invalid_window', 'window must be one of 24h, 7d, or 30d', { field: 'window' });
}

/** How long before `dispute.opened` a signal counts as having warned about it. */
const RECALL_LOOKBACK_MS = 30 * 86_400_000;

export interface FraudMetrics {
  schema_version: 1;
  tenant_id: string;
  score_model_version: string;
  fraud_signal_version: string;
  window: FraudMetricsWindow;
  window_started_at: string;
  window_ended_at: string;
  generated_at: string;
  flagged_operator_count: number;
  critical_signal_count: number;
  high_signal_count: number;
  elevated_signal_count: number;
  review_open_count: number;
  review_load_count: number;
  reviewed_count: number;
  labeled_outcome_count: number;
  confirmed_risk_count: number;
  false_positive_count: number;
  needs_more_evidence_count: number;
  review_precision_bps: number;
  false_positive_rate_bps: number;
  confirmed_risk_rate_bps: number;
  labeled_coverage_bps: number;
  median_time_to_review_seconds: number;
  refund_burst_count: number;
  dispute_cluster_count: number;
  replay_appeal_abuse_count: number;
  critical_signal_hold_candidate_count: number;
  provider_signal_count: number;
  stale_label_gap_seconds: number;
  stale_signal_family_label_gap_count: number;
  dispute_recall_bps: number;
  dispute_recall_sample_count: number;
  backtest_summary: string;
  release_gate_config: { mode: ReleaseGateMode };
  release_gate_metrics_reliability: MetricsReliability;
}

function lowerMedian(values: number[]): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.floor((s[mid - 1]! + s[mid]!) / 2);
}

export function computeFraudMetrics(input: {
  tenantId: string;
  scoreModelVersion: string;
  window: FraudMetricsWindow;
  nowMs: number;
  /** The tenant's bound ledger prefix. */
  events: readonly SignalEvent[];
  reviewEvents: readonly ReviewEventRecord[];
  mode: ReleaseGateMode;
  fraudParams?: FraudParams;
  reliabilityParams?: ReliabilityParams;
  /** Precomputed episodes (e.g. cached); otherwise the prefix is scanned. */
  episodes?: readonly FraudEpisode[];
}): FraudMetrics {
  const { nowMs } = input;
  const startMs = nowMs - FRAUD_METRICS_WINDOWS[input.window] * 1000;
  const inWindow = (ms: number) => ms > startMs && ms <= nowMs;
  const reviewEvents = input.reviewEvents.filter((e) => parseTime(e.recordedAt, 'recorded_at') <= nowMs);
  const episodes = input.episodes ?? scanFraudEpisodes(input.events, { requests: requestStampsFrom(reviewEvents), params: input.fraudParams ?? FRAUD_V1_PARAMS, untilMs: nowMs });
  const windowEpisodes = episodes.filter((e) => e.lastMs > startMs && e.openedMs <= nowMs);
  const flagged = new Set(windowEpisodes.map((e) => e.operatorDid));
  const bySeverity = (s: FraudSeverity) => windowEpisodes.filter((e) => e.severity === s).length;
  const byCode = (c: string) => windowEpisodes.filter((e) => e.code === c).length;

  const operators = [...new Set(reviewEvents.map((e) => e.operatorDid))];
  const cases = operators.map((o) => foldReviewCase(o, reviewEvents));
  const allLabels = labelsFrom(reviewEvents);
  const labels = allLabels.filter((l) => inWindow(parseTime(l.recordedAt, 'recorded_at')));
  const confirmed = labels.filter((l) => l.outcome === 'confirmed_risk').length;
  const falsePositive = labels.filter((l) => l.outcome === 'false_positive').length;
  const needsMore = labels.filter((l) => l.outcome === 'needs_more_evidence').length;
  const labeled = confirmed + falsePositive;
  const labeledOperators = new Set(labels.filter((l) => l.outcome !== 'needs_more_evidence').map((l) => l.operatorDid));

  const reviewTimes: number[] = [];
  for (const l of labels) {
    const at = parseTime(l.recordedAt, 'recorded_at');
    const candidates = episodes.filter((e) => e.operatorDid === l.operatorDid && (!l.signalCode || e.code === l.signalCode) && e.firstSeenMs <= at);
    if (!candidates.length) continue;
    const latest = candidates.reduce((a, b) => (b.openedSeq > a.openedSeq ? b : a));
    reviewTimes.push(Math.floor((at - latest.firstSeenMs) / 1000));
  }

  // Releases (or held releases) in the window during which an uncleared critical signal was firing.
  const falsePositives = allLabels.filter((l) => l.outcome === 'false_positive');
  let holdCandidates = 0;
  for (const e of input.events) {
    if (e.timeMs > nowMs) break;
    if (!inWindow(e.timeMs) || !e.operatorDid || (e.type !== 'settlement.released' && e.type !== 'settlement.held')) continue;
    const blocking = episodes.some(
      (ep) =>
        ep.operatorDid === e.operatorDid &&
        ep.severity === 'critical' &&
        ep.openedSeq <= e.seq &&
        ep.lastSeq >= e.seq &&
        !falsePositives.some((l) => l.operatorDid === ep.operatorDid && (!l.signalCode || l.signalCode === ep.code) && parseTime(l.recordedAt, 'recorded_at') >= ep.firstSeenMs && parseTime(l.recordedAt, 'recorded_at') <= e.timeMs),
    );
    if (blocking) holdCandidates += 1;
  }

  // dispute_recall_bps: resolved-refund disputes in the window, warned about before they opened.
  const openedAt = new Map<string, SignalEvent>();
  let recallBase = 0;
  let recallHit = 0;
  for (const e of input.events) {
    if (e.timeMs > nowMs) break;
    if (e.type === 'dispute.opened' && e.intentId) openedAt.set(e.intentId, e);
    if (e.type === 'dispute.resolved' && e.disputeOutcome === 'refund' && e.intentId && inWindow(e.timeMs)) {
      const opened = openedAt.get(e.intentId);
      if (!opened || !opened.operatorDid) continue;
      recallBase += 1;
      const warned = episodes.some((ep) => ep.operatorDid === opened.operatorDid && ep.openedSeq < opened.seq && ep.lastMs >= opened.timeMs - RECALL_LOOKBACK_MS);
      if (warned) recallHit += 1;
    }
  }

  const reliability = metricsReliability(allLabels, nowMs, input.reliabilityParams ?? RELIABILITY_V1);
  const lastLabel = reliability.last_labeled_at ? Date.parse(reliability.last_labeled_at) : null;
  const windowFamilies = new Set(windowEpisodes.map((e) => e.family));
  const staleFamilies = reliability.signal_families.filter((f) => windowFamilies.has(f.signal_family) && f.stale).length;
  const precision = bps(confirmed, labeled);
  const recall = bps(recallHit, recallBase);
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    score_model_version: input.scoreModelVersion,
    fraud_signal_version: FRAUD_SIGNAL_VERSION,
    window: input.window,
    window_started_at: isoTime(startMs),
    window_ended_at: isoTime(nowMs),
    generated_at: isoTime(nowMs),
    flagged_operator_count: flagged.size,
    critical_signal_count: bySeverity('critical'),
    high_signal_count: bySeverity('high'),
    elevated_signal_count: bySeverity('elevated'),
    review_open_count: cases.filter((c) => c.review_state === 'open').length,
    review_load_count: cases.filter((c) => c.review_state === 'open' || c.review_state === 'in_review').length,
    reviewed_count: labels.length,
    labeled_outcome_count: labeled,
    confirmed_risk_count: confirmed,
    false_positive_count: falsePositive,
    needs_more_evidence_count: needsMore,
    review_precision_bps: precision,
    false_positive_rate_bps: bps(falsePositive, labeled),
    confirmed_risk_rate_bps: bps(confirmed, labels.length),
    labeled_coverage_bps: bps([...flagged].filter((o) => labeledOperators.has(o)).length, flagged.size),
    median_time_to_review_seconds: lowerMedian(reviewTimes),
    refund_burst_count: byCode('REFUND_BURST'),
    dispute_cluster_count: byCode('DISPUTE_CLUSTER'),
    replay_appeal_abuse_count: byCode('REPLAY_APPEAL_ABUSE'),
    critical_signal_hold_candidate_count: holdCandidates,
    provider_signal_count: windowEpisodes.filter((e) => e.family === 'PROVIDER').length,
    stale_label_gap_seconds: lastLabel === null ? 0 : Math.max(0, Math.floor((nowMs - lastLabel) / 1000)),
    stale_signal_family_label_gap_count: staleFamilies,
    dispute_recall_bps: recall,
    dispute_recall_sample_count: recallBase,
    backtest_summary: `precision_bps=${precision} false_positive_rate_bps=${bps(falsePositive, labeled)} dispute_recall_bps=${recall} (n=${recallBase}) hold_candidates=${holdCandidates} episodes=${windowEpisodes.length}`,
    release_gate_config: { mode: input.mode },
    release_gate_metrics_reliability: reliability,
  };
}

/** The families listed in metrics and reliability (provider webhooks would add `PROVIDER`). */
export const KNOWN_SIGNAL_FAMILIES: readonly string[] = [...MODEL_SIGNAL_FAMILIES];

/** `GET …/review-status` body. Extra keys beyond the Kit's type are allowed by it. */
export function reviewStatusResponse(input: {
  tenantId: string;
  operatorDid: string;
  scoreModelVersion: string;
  reviewCase: ReviewCase;
  signals: readonly FraudSignal[];
  assessment: FraudAssessment;
  gate?: ReleaseGateDecision;
  /** support_depth.band of the current receipt. */
  maturityTier?: string;
  friction?: { band: string };
  annotations?: readonly { recorded_at: string; event_type: string; summary: string }[];
}) {
  const c = input.reviewCase;
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    operator_did: input.operatorDid,
    score_model_version: input.scoreModelVersion,
    review_state: c.review_state,
    review_outcome: c.review_outcome,
    review_reasons: [...c.review_reasons],
    anomaly_flagged: c.anomaly_flagged,
    opened_at: c.opened_at,
    reviewed_at: c.reviewed_at,
    updated_at: c.updated_at,
    fraud_signals: input.signals.map((s) => ({ ...s })),
    fraud_assessment: input.assessment,
    ...(input.gate ? { release_gate: input.gate } : {}),
    maturity_tier: input.maturityTier ?? 'none',
    friction: input.friction ?? { band: 'normal' },
    annotations: [...(input.annotations ?? [])],
  };
}

export interface ReviewQueueItem {
  operator_did: string;
  review_state: ReviewState;
  review_outcome: string;
  review_reasons: string[];
  anomaly_flagged: boolean;
  opened_at: string;
  reviewed_at: string;
  updated_at: string;
  last_receipt_message_digest_hex: string;
  fraud_signals: FraudSignal[];
  fraud_assessment: FraudAssessment;
  release_gate?: ReleaseGateDecision;
}

export const reviewQueueItem = (input: { reviewCase: ReviewCase; signals: readonly FraudSignal[]; assessment: FraudAssessment; gate?: ReleaseGateDecision; lastReceiptMessageDigestHex: string }): ReviewQueueItem => ({
  operator_did: input.reviewCase.operator_did,
  review_state: input.reviewCase.review_state,
  review_outcome: input.reviewCase.review_outcome,
  review_reasons: [...input.reviewCase.review_reasons],
  anomaly_flagged: input.reviewCase.anomaly_flagged,
  opened_at: input.reviewCase.opened_at,
  reviewed_at: input.reviewCase.reviewed_at,
  updated_at: input.reviewCase.updated_at,
  last_receipt_message_digest_hex: input.lastReceiptMessageDigestHex,
  fraud_signals: input.signals.map((s) => ({ ...s })),
  fraud_assessment: input.assessment,
  ...(input.gate ? { release_gate: input.gate } : {}),
});

export type QueueStateFilter = ReviewState | 'all';

/** `?state=` (default: open and in_review), `?fraud_severity=` (at least that level), `?limit=` 1–500. */
export function parseQueueQuery(query: { state?: string | null; fraud_severity?: string | null; limit?: string | null }): { state: QueueStateFilter | 'active'; severity: FraudSeverity | null; limit: number } {
  const state = query.state?.trim() || 'active';
  if (!['none', 'open', 'in_review', 'closed', 'all', 'active'].includes(state)) {
    throw new SignalModelError('invalid_review_event', 'state must be one of none, open, in_review, closed, all', { field: 'state' });
  }
  const severity = query.fraud_severity?.trim() || null;
  if (severity !== null && !['elevated', 'high', 'critical'].includes(severity)) {
    throw new SignalModelError('invalid_review_event', 'fraud_severity must be one of elevated, high, or critical', { field: 'fraud_severity' });
  }
  const raw = query.limit?.trim();
  const n = raw ? Number(raw) : 100;
  if (!Number.isFinite(n)) throw new SignalModelError('invalid_review_event', 'limit must be a number', { field: 'limit' });
  return { state: state as QueueStateFilter | 'active', severity: severity as FraudSeverity | null, limit: Math.max(1, Math.min(500, Math.floor(n))) };
}

/** Filter and order the queue: most severe first, then most recently updated, then DID. */
export function selectReviewQueue(items: readonly ReviewQueueItem[], filter: { state: QueueStateFilter | 'active'; severity: FraudSeverity | null; limit: number }): ReviewQueueItem[] {
  return items
    .filter((i) => (filter.state === 'all' ? true : filter.state === 'active' ? i.review_state === 'open' || i.review_state === 'in_review' : i.review_state === filter.state))
    .filter((i) => filter.severity === null || SEVERITY_RANK[i.fraud_assessment.level] >= SEVERITY_RANK[filter.severity])
    .sort(
      (a, b) =>
        SEVERITY_RANK[b.fraud_assessment.level] - SEVERITY_RANK[a.fraud_assessment.level] ||
        (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0) ||
        (a.operator_did < b.operator_did ? -1 : a.operator_did > b.operator_did ? 1 : 0),
    )
    .slice(0, filter.limit);
}

/** Look-back any signal needs: the 90-day amount and baseline windows plus the 24-hour window, with skew. */
export const FRAUD_LOOKBACK_MS = 92 * 86_400_000;

/**
 * Signals, assessment and gate decision of one operator at `nowMs`, from the tenant's bound prefix
 * (events older than FRAUD_LOOKBACK_MS before now may be left out) and the review log. This is
 * what `review-status`, the queue, `fraud-signals` and the settlement hold check all read.
 */
export function operatorFraudView(input: {
  events: readonly SignalEvent[];
  reviewEvents: readonly ReviewEventRecord[];
  operatorDid: string;
  nowMs: number;
  mode: ReleaseGateMode;
  action?: 'release' | 'refund';
  /** Tenant dispute baseline at now (e.g. from one SQL aggregate); else computed from `events`, which must then hold every operator. */
  baseline?: DisputeBaseline;
  fraudParams?: FraudParams;
  reliabilityParams?: ReliabilityParams;
}): { signals: FraudSignal[]; assessment: FraudAssessment; gate: ReleaseGateDecision; reviewCase: ReviewCase; reliability: MetricsReliability } {
  const reviewEvents = input.reviewEvents.filter((e) => parseTime(e.recordedAt, 'recorded_at') <= input.nowMs);
  const signals = detectFraudSignals(input.events, input.operatorDid, input.nowMs, {
    requests: requestStampsFrom(reviewEvents).get(input.operatorDid) ?? [],
    ...(input.baseline ? { baseline: input.baseline } : {}),
    ...(input.fraudParams ? { params: input.fraudParams } : {}),
  });
  const labels = labelsFrom(reviewEvents);
  const reliability = metricsReliability(labels, input.nowMs, input.reliabilityParams ?? RELIABILITY_V1);
  const gate = evaluateReleaseGate({ mode: input.mode, reliability, signals, labels: labels.filter((l) => l.operatorDid === input.operatorDid), action: input.action ?? 'release' });
  return { signals, assessment: assessFraud(signals), gate, reviewCase: foldReviewCase(input.operatorDid, reviewEvents), reliability };
}

/** `GET /signal/v1/fraud-signals` body: per-operator score-neutral signals and gate decisions. */
export function fraudSignalsResponse(input: {
  tenantId: string;
  scoreModelVersion: string;
  generatedAt: string;
  mode: ReleaseGateMode;
  operators: ReadonlyArray<{ operatorDid: string; signals: readonly FraudSignal[]; assessment: FraudAssessment; gate: ReleaseGateDecision }>;
}) {
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    score_model_version: input.scoreModelVersion,
    fraud_signal_version: FRAUD_SIGNAL_VERSION,
    generated_at: input.generatedAt,
    release_gate_config: { mode: input.mode },
    signals_affect_score: false,
    operators: input.operators
      .filter((o) => o.signals.length > 0)
      .map((o) => ({ operator_did: o.operatorDid, fraud_signals: o.signals.map((s) => ({ ...s })), fraud_assessment: o.assessment, release_gate: o.gate }))
      .sort((a, b) => SEVERITY_RANK[b.fraud_assessment.level] - SEVERITY_RANK[a.fraud_assessment.level] || (a.operator_did < b.operator_did ? -1 : 1)),
  };
}
