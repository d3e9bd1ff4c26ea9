import { describe, expect, it } from 'vitest';
import { criticalHoldEligibility, evaluateReleaseGate, metricsReliability, releaseGateConfigResponse, type FraudSignal, type ReviewLabel } from '../../src/areas/signal/model/index.ts';

const NOW = Date.UTC(2026, 4, 23);
const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;

function label(outcome: ReviewLabel['outcome'], daysAgo: number, signalCode?: string): ReviewLabel {
  return { operatorDid: 'did:example:alpha', outcome, recordedAt: iso(NOW - daysAgo * DAY), ...(signalCode ? { signalCode } : {}) };
}

/** 10 reviewed, 9 labeled, precision 8889 bps; DISPUTE_CLUSTER has 3 confirmed labels. */
const RELIABLE_LABELS: ReviewLabel[] = [
  label('confirmed_risk', 2, 'DISPUTE_CLUSTER'),
  label('confirmed_risk', 3, 'DISPUTE_CLUSTER'),
  label('confirmed_risk', 4, 'DISPUTE_CLUSTER'),
  label('confirmed_risk', 5, 'REFUND_BURST'),
  label('confirmed_risk', 6),
  label('confirmed_risk', 7),
  label('confirmed_risk', 8),
  label('confirmed_risk', 9),
  label('false_positive', 10, 'VELOCITY_SPIKE'),
  label('needs_more_evidence', 11),
];

const critical: FraudSignal = {
  code: 'DISPUTE_CLUSTER',
  severity: 'critical',
  category: 'dispute',
  window: '7d',
  evidence_count: 5,
  summary: '5 disputes opened in 7d',
  affects_score: false,
  signal_source: 'signal_model',
  first_seen_at: iso(NOW - 3 * DAY),
  last_seen_at: iso(NOW - DAY),
  evidence_binding_strength: 'intent_bound',
  intent_refs: ['i1', 'i2'],
};

describe('metrics reliability', () => {
  it('is reliable with the minima 10 reviewed / 5 labeled / 8000 bps and fresh labels', () => {
    const r = metricsReliability(RELIABLE_LABELS, NOW);
    expect(r).toMatchObject({ reliable: true, stale: false, reviewed_count: 10, labeled_outcome_count: 9, review_precision_bps: 8889, min_reviewed_count: 10, min_labeled_outcome_count: 5, min_review_precision_bps: 8000, min_signal_family_labeled_outcome_count: 3, reasons: [], last_labeled_at: iso(NOW - 2 * DAY) });
    const dispute = r.signal_families.find((f) => f.signal_family === 'DISPUTE_CLUSTER')!;
    expect(dispute).toMatchObject({ reliable: true, sparse: false, labeled_outcome_count: 3, review_precision_bps: 10_000 });
    const velocity = r.signal_families.find((f) => f.signal_family === 'VELOCITY_SPIKE')!;
    expect(velocity).toMatchObject({ reliable: false, sparse: true });
    expect(velocity.reasons).toContain('signal_family_labels_sparse');
  });

  it('names each shortfall', () => {
    expect(metricsReliability([], NOW)).toMatchObject({ reliable: false, stale: true, sparse: true, reasons: ['reviewed_count_below_minimum', 'labeled_outcome_count_below_minimum', 'no_labeled_outcomes', 'labels_stale'] });
    const stale = metricsReliability(RELIABLE_LABELS, NOW + 29 * DAY);
    expect(stale.reasons).toEqual(['labels_stale']);
    expect(stale.stale).toBe(true);
    const imprecise = metricsReliability([...RELIABLE_LABELS, label('false_positive', 1), label('false_positive', 1)], NOW);
    expect(imprecise.reasons).toEqual(['review_precision_below_minimum']);
    // Labels recorded after "now" do not count (point in time).
    expect(metricsReliability(RELIABLE_LABELS, NOW - 6.5 * DAY).reviewed_count).toBe(5);
  });

  it('allows critical_hold only with reliable tenant metrics and a reliable critical-capable family', () => {
    expect(criticalHoldEligibility(metricsReliability(RELIABLE_LABELS, NOW))).toEqual({ allowed: true, reasons: [] });
    expect(criticalHoldEligibility(metricsReliability([], NOW)).allowed).toBe(false);
    const noCapable = RELIABLE_LABELS.map((l) => (l.signalCode === 'DISPUTE_CLUSTER' ? { ...l, signalCode: 'REFUND_BURST' } : l));
    expect(criticalHoldEligibility(metricsReliability(noCapable, NOW))).toEqual({ allowed: false, reasons: ['no_critical_signal_family_reliable'] });
  });

  it('shapes the release-gate config body', () => {
    const reliability = metricsReliability(RELIABLE_LABELS, NOW);
    expect(releaseGateConfigResponse({ tenantId: 'tenant-a', scoreModelVersion: '1.0', fraudSignalVersion: '1.0.0', generatedAt: iso(NOW), mode: 'critical_hold', reliability })).toEqual({
      schema_version: 1,
      tenant_id: 'tenant-a',
      score_model_version: '1.0',
      fraud_signal_version: '1.0.0',
      generated_at: iso(NOW),
      config: { mode: 'critical_hold' },
      metrics_reliability: reliability,
    });
  });
});

describe('release gate decision', () => {
  const reliable = metricsReliability(RELIABLE_LABELS, NOW);

  it('holds a release on a critical signal of a reliable family under critical_hold', () => {
    const d = evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical] });
    expect(d).toMatchObject({ mode: 'critical_hold', enforcement_enabled: true, metrics_reliable: true, release_allowed: false, hold_required: true, critical_signal_count: 1, critical_signal_codes: ['DISPUTE_CLUSTER'], blocking_signal_codes: ['DISPUTE_CLUSTER'], blocking_evidence_refs: ['i1', 'i2'], reasons: ['DISPUTE_CLUSTER:blocking'] });
  });

  it('never holds a refund', () => {
    const d = evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical], action: 'refund' });
    expect(d).toMatchObject({ release_allowed: true, hold_required: false, hold_candidate: false, blocking_signal_codes: [] });
    expect(d.reasons).toContain('refunds_are_never_held');
  });

  it('only reports the would-be hold under review_only', () => {
    const d = evaluateReleaseGate({ mode: 'review_only', reliability: reliable, signals: [critical] });
    expect(d).toMatchObject({ enforcement_enabled: false, release_allowed: true, hold_required: false, hold_candidate: true });
    expect(d.reasons).toContain('review_only:hold_not_enforced');
  });

  it('does not hold on unreliable metrics or an unreliable family, and ignores non-critical signals', () => {
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: metricsReliability([], NOW), signals: [critical] })).toMatchObject({ hold_required: false, metrics_reliable: false, reasons: ['DISPUTE_CLUSTER:tenant_metrics_unreliable'] });
    const velocity = { ...critical, code: 'VELOCITY_SPIKE' };
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [velocity] })).toMatchObject({ hold_required: false, reasons: ['VELOCITY_SPIKE:signal_family_unreliable'] });
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [{ ...critical, severity: 'high' }] })).toMatchObject({ hold_required: false, critical_signal_count: 0, reasons: ['no_critical_signals'] });
  });

  it('is cleared by a false_positive label recorded after the signal was first seen', () => {
    const fp = (daysAgo: number, signalCode?: string) => ({ ...label('false_positive', daysAgo), ...(signalCode ? { signalCode } : {}) });
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical], labels: [fp(1, 'DISPUTE_CLUSTER')] })).toMatchObject({ hold_required: false, cleared_signal_codes: ['DISPUTE_CLUSTER'] });
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical], labels: [fp(1)] }).hold_required).toBe(false);
    // Older than the evidence, or about another code: still held.
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical], labels: [fp(5, 'DISPUTE_CLUSTER')] }).hold_required).toBe(true);
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical], labels: [fp(1, 'REFUND_BURST')] }).hold_required).toBe(true);
    expect(evaluateReleaseGate({ mode: 'critical_hold', reliability: reliable, signals: [critical], labels: [{ ...fp(1, 'DISPUTE_CLUSTER'), outcome: 'confirmed_risk' }] }).hold_required).toBe(true);
  });
});
