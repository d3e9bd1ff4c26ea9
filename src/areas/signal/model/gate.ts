import { CRITICAL_CAPABLE_FAMILIES, MODEL_SIGNAL_FAMILIES, signalFamilyOf, type FraudSignal } from './fraud.ts';
import { isoTime, parseTime } from './history.ts';
import type { ReviewLabel } from './review.ts';
import { bps } from './score.ts';

/**
 * Release gate: whether a critical fraud signal may hold a payee's release. Holds are only as good
 * as the labels behind them, so enforcement needs reliable review metrics, tenant-wide and for the
 * signal's family. Refunds are never held.
 */

export type ReleaseGateMode = 'review_only' | 'critical_hold';
export const RELEASE_GATE_MODES: readonly ReleaseGateMode[] = ['review_only', 'critical_hold'];

export interface ReliabilityParams {
  min_reviewed_count: number;
  min_labeled_outcome_count: number;
  min_signal_family_labeled_outcome_count: number;
  min_review_precision_bps: number;
  max_label_age_seconds: number;
}
export const RELIABILITY_V1: Readonly<ReliabilityParams> = Object.freeze({
  min_reviewed_count: 10,
  min_labeled_outcome_count: 5,
  min_signal_family_labeled_outcome_count: 3,
  min_review_precision_bps: 8000,
  max_label_age_seconds: 30 * 86_400,
});

export interface SignalFamilyReliability {
  signal_family: string;
  reliable: boolean;
  stale: boolean;
  sparse: boolean;
  reviewed_count: number;
  labeled_outcome_count: number;
  review_precision_bps: number;
  min_signal_family_labeled_outcome_count: number;
  last_labeled_at?: string;
  reasons: string[];
  summary: string;
}

export interface MetricsReliability {
  reliable: boolean;
  stale: boolean;
  sparse: boolean;
  reviewed_count: number;
  labeled_outcome_count: number;
  review_precision_bps: number;
  min_reviewed_count: number;
  min_labeled_outcome_count: number;
  min_signal_family_labeled_outcome_count: number;
  min_review_precision_bps: number;
  last_labeled_at?: string;
  signal_families: SignalFamilyReliability[];
  reasons: string[];
  summary: string;
}

interface Tally {
  reviewed: number;
  confirmed: number;
  falsePositive: number;
  lastLabeledMs: number | null;
}

function tally(labels: readonly ReviewLabel[]): Tally {
  const t: Tally = { reviewed: 0, confirmed: 0, falsePositive: 0, lastLabeledMs: null };
  for (const l of labels) {
    t.reviewed += 1;
    if (l.outcome === 'needs_more_evidence') continue;
    if (l.outcome === 'confirmed_risk') t.confirmed += 1;
    else t.falsePositive += 1;
    const ms = parseTime(l.recordedAt, 'recorded_at');
    t.lastLabeledMs = Math.max(t.lastLabeledMs ?? ms, ms);
  }
  return t;
}

/**
 * Reliability of the review labels at `nowMs`. Reviewed = every recorded outcome; labeled =
 * confirmed_risk + false_positive; precision = confirmed / labeled. Labels carrying a signal code
 * also count for that code's family.
 */
export function metricsReliability(labels: readonly ReviewLabel[], nowMs: number, params: ReliabilityParams = RELIABILITY_V1): MetricsReliability {
  const all = tally(labels.filter((l) => parseTime(l.recordedAt, 'recorded_at') <= nowMs));
  const labeled = all.confirmed + all.falsePositive;
  const precision = bps(all.confirmed, labeled);
  const maxAge = params.max_label_age_seconds * 1000;
  const stale = all.lastLabeledMs === null || nowMs - all.lastLabeledMs > maxAge;
  const families = [...new Set([...MODEL_SIGNAL_FAMILIES, ...labels.flatMap((l) => (l.signalCode ? [signalFamilyOf(l.signalCode)] : []))])];
  const reasons: string[] = [];
  if (all.reviewed < params.min_reviewed_count) reasons.push('reviewed_count_below_minimum');
  if (labeled < params.min_labeled_outcome_count) reasons.push('labeled_outcome_count_below_minimum');
  if (labeled > 0 && precision < params.min_review_precision_bps) reasons.push('review_precision_below_minimum');
  if (labeled === 0) reasons.push('no_labeled_outcomes');
  if (stale) reasons.push('labels_stale');
  const reliable = reasons.length === 0;
  const familyRows = families.map((family): SignalFamilyReliability => {
    const t = tally(labels.filter((l) => l.signalCode && signalFamilyOf(l.signalCode) === family && parseTime(l.recordedAt, 'recorded_at') <= nowMs));
    const n = t.confirmed + t.falsePositive;
    const p = bps(t.confirmed, n);
    const famStale = t.lastLabeledMs === null || nowMs - t.lastLabeledMs > maxAge;
    const sparse = n < params.min_signal_family_labeled_outcome_count;
    const famReasons: string[] = [];
    if (!reliable) famReasons.push('tenant_metrics_unreliable');
    if (sparse) famReasons.push('signal_family_labels_sparse');
    if (n > 0 && p < params.min_review_precision_bps) famReasons.push('signal_family_precision_below_minimum');
    if (famStale) famReasons.push('signal_family_labels_stale');
    const ok = famReasons.length === 0;
    return {
      signal_family: family,
      reliable: ok,
      stale: famStale,
      sparse,
      reviewed_count: t.reviewed,
      labeled_outcome_count: n,
      review_precision_bps: p,
      min_signal_family_labeled_outcome_count: params.min_signal_family_labeled_outcome_count,
      ...(t.lastLabeledMs !== null ? { last_labeled_at: isoTime(t.lastLabeledMs) } : {}),
      reasons: famReasons,
      summary: ok ? `${family}: reliable (${n} labels, precision ${p} bps)` : `${family}: not reliable (${famReasons.join(', ')})`,
    };
  });
  const sparse = labeled < params.min_labeled_outcome_count || !familyRows.some((f) => !f.sparse);
  return {
    reliable,
    stale,
    sparse,
    reviewed_count: all.reviewed,
    labeled_outcome_count: labeled,
    review_precision_bps: precision,
    min_reviewed_count: params.min_reviewed_count,
    min_labeled_outcome_count: params.min_labeled_outcome_count,
    min_signal_family_labeled_outcome_count: params.min_signal_family_labeled_outcome_count,
    min_review_precision_bps: params.min_review_precision_bps,
    ...(all.lastLabeledMs !== null ? { last_labeled_at: isoTime(all.lastLabeledMs) } : {}),
    signal_families: familyRows,
    reasons,
    summary: reliable
      ? `reliable: ${all.reviewed} reviewed, ${labeled} labeled, precision ${precision} bps`
      : `not reliable: ${reasons.join(', ')}`,
  };
}

/**
 * Whether `PUT …/release-gate {"mode":"critical_hold"}` may proceed (else 409 with `reasons`):
 * tenant metrics reliable and at least one family that can reach critical reliable, so the mode
 * can actually hold something.
 */
export function criticalHoldEligibility(reliability: MetricsReliability): { allowed: boolean; reasons: string[] } {
  const reasons = [...reliability.reasons];
  const capable = reliability.signal_families.filter((f) => CRITICAL_CAPABLE_FAMILIES.includes(f.signal_family));
  if (!capable.some((f) => f.reliable)) reasons.push('no_critical_signal_family_reliable');
  return { allowed: reasons.length === 0, reasons };
}

export interface ReleaseGateDecision {
  mode: ReleaseGateMode;
  enforcement_enabled: boolean;
  metrics_reliable: boolean;
  release_allowed: boolean;
  hold_required: boolean;
  /** A release under critical_hold with reliable metrics would be held (reported in review_only). */
  hold_candidate: boolean;
  critical_signal_count: number;
  critical_signal_codes: string[];
  blocking_signal_codes: string[];
  blocking_evidence_refs: string[];
  cleared_signal_codes: string[];
  reliability_reasons: string[];
  reasons: string[];
  summary: string;
}

/**
 * Decide one release (or refund) of a payee given its active signals. A critical signal blocks
 * when its family is reliable and no false_positive label recorded at or after its first evidence
 * covers it (a label names a code, or none for all codes). Under review_only nothing is held but
 * `hold_candidate` says what critical_hold would have done, reliability apart.
 */
export function evaluateReleaseGate(input: {
  mode: ReleaseGateMode;
  reliability: MetricsReliability;
  signals: readonly FraudSignal[];
  labels?: readonly ReviewLabel[];
  action?: 'release' | 'refund';
}): ReleaseGateDecision {
  const { mode, reliability } = input;
  const action = input.action ?? 'release';
  const critical = input.signals.filter((s) => s.severity === 'critical');
  const falsePositives = (input.labels ?? []).filter((l) => l.outcome === 'false_positive');
  const cleared = (s: FraudSignal) => falsePositives.some((l) => (!l.signalCode || l.signalCode === s.code) && Date.parse(l.recordedAt) >= Date.parse(s.first_seen_at));
  const familyReliable = (s: FraudSignal) => reliability.signal_families.some((f) => f.signal_family === signalFamilyOf(s.code) && f.reliable);
  const uncleared = critical.filter((s) => !cleared(s));
  const blocking = uncleared.filter((s) => reliability.reliable && familyReliable(s));
  const enforcement = mode === 'critical_hold';
  const isRelease = action === 'release';
  const holdCandidate = isRelease && uncleared.length > 0;
  const hold = enforcement && isRelease && blocking.length > 0;
  const reasons: string[] = [];
  if (!isRelease) reasons.push('refunds_are_never_held');
  if (critical.length === 0) reasons.push('no_critical_signals');
  for (const s of critical) {
    if (cleared(s)) reasons.push(`${s.code}:cleared_by_false_positive`);
    else if (!reliability.reliable) reasons.push(`${s.code}:tenant_metrics_unreliable`);
    else if (!familyReliable(s)) reasons.push(`${s.code}:signal_family_unreliable`);
    else reasons.push(`${s.code}:blocking`);
  }
  if (!enforcement && holdCandidate) reasons.push('review_only:hold_not_enforced');
  const codes = (list: readonly FraudSignal[]) => [...new Set(list.map((s) => s.code))];
  const summary = hold
    ? `release held: ${codes(blocking).join(', ')}`
    : holdCandidate && !enforcement
      ? `release allowed (review_only); critical_hold would hold on ${codes(uncleared).join(', ')}`
      : 'release allowed';
  return {
    mode,
    enforcement_enabled: enforcement,
    metrics_reliable: reliability.reliable,
    release_allowed: !hold,
    hold_required: hold,
    hold_candidate: holdCandidate,
    critical_signal_count: critical.length,
    critical_signal_codes: codes(critical),
    blocking_signal_codes: hold ? codes(blocking) : [],
    blocking_evidence_refs: hold ? [...new Set(blocking.flatMap((s) => [...s.intent_refs, ...(s.provider_event_refs ?? [])]))] : [],
    cleared_signal_codes: codes(critical.filter(cleared)),
    reliability_reasons: [...reliability.reasons],
    reasons,
    summary,
  };
}

/** `GET/PUT /signal/v1/fraud/release-gate` body. */
export function releaseGateConfigResponse(input: { tenantId: string; scoreModelVersion: string; fraudSignalVersion: string; generatedAt: string; mode: ReleaseGateMode; reliability: MetricsReliability }) {
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    score_model_version: input.scoreModelVersion,
    fraud_signal_version: input.fraudSignalVersion,
    generated_at: input.generatedAt,
    config: { mode: input.mode },
    metrics_reliability: input.reliability,
  };
}
