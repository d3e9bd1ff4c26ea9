import { describe, expect, it } from 'vitest';
import {
  assessFraud,
  computeFraudMetrics,
  detectFraudSignals,
  disputeBaselineAt,
  disputeBaselineFrom,
  evaluateReleaseGate,
  foldReviewCase,
  FRAUD_LOOKBACK_MS,
  fraudSignalsResponse,
  metricsReliability,
  operatorFraudView,
  parseFraudWindow,
  parseQueueQuery,
  reviewQueueItem,
  reviewStatusResponse,
  scanFraudEpisodes,
  selectReviewQueue,
  type ReviewEventRecord,
} from '../../src/areas/signal/model/index.ts';
import { DAY, HOUR, LedgerBuilder } from './ledger-builder.ts';

const A = 'did:example:alpha';
const B = 'did:example:beta';

function scenario() {
  const b = new LedgerBuilder();
  for (let i = 0; i < 10; i++) b.advance(HOUR).happy(`b${i}`, B);
  for (let i = 0; i < 5; i++) b.advance(HOUR).happy(`d${i}`, A);
  for (let i = 0; i < 5; i++) b.advance(HOUR).openDispute(`d${i}`);
  // A release to A while DISPUTE_CLUSTER is critical: a hold candidate.
  b.advance(HOUR).happy('late', A);
  b.advance(DAY).resolveDispute('d0', 'refund').resolveDispute('d4', 'refund').resolveDispute('d1', 'release');
  const flaggedAt = b.now - DAY;
  const reviewEvents: ReviewEventRecord[] = [
    { operatorDid: A, eventType: 'signal_flagged', signalCode: 'DISPUTE_CLUSTER', recordedAt: new Date(flaggedAt).toISOString(), accepted: true },
    { operatorDid: A, eventType: 'review_outcome_recorded', reviewOutcome: 'confirmed_risk', signalCode: 'DISPUTE_CLUSTER', recordedAt: new Date(b.now + HOUR).toISOString(), accepted: true },
    { operatorDid: B, eventType: 'review_open_requested', recordedAt: new Date(b.now + HOUR).toISOString(), accepted: true },
    { operatorDid: B, eventType: 'review_outcome_recorded', reviewOutcome: 'needs_more_evidence', recordedAt: new Date(b.now + 2 * HOUR).toISOString(), accepted: true },
  ];
  return { b, reviewEvents, now: b.now + 3 * HOUR };
}

describe('fraud metrics per window', () => {
  it('counts signals, reviews, labels, hold candidates and dispute recall', () => {
    const { b, reviewEvents, now } = scenario();
    const events = b.bound();
    const m = computeFraudMetrics({ tenantId: 'tenant-a', scoreModelVersion: '1.0', window: '7d', nowMs: now, events, reviewEvents, mode: 'review_only' });
    expect(m).toMatchObject({
      schema_version: 1,
      tenant_id: 'tenant-a',
      score_model_version: '1.0',
      fraud_signal_version: '1.0.0',
      window: '7d',
      window_ended_at: new Date(now).toISOString(),
      window_started_at: new Date(now - 7 * DAY).toISOString(),
      flagged_operator_count: 1,
      critical_signal_count: 1,
      high_signal_count: 0,
      elevated_signal_count: 0,
      dispute_cluster_count: 1,
      refund_burst_count: 0,
      review_open_count: 0,
      review_load_count: 1,
      reviewed_count: 2,
      labeled_outcome_count: 1,
      confirmed_risk_count: 1,
      false_positive_count: 0,
      needs_more_evidence_count: 1,
      review_precision_bps: 10_000,
      false_positive_rate_bps: 0,
      confirmed_risk_rate_bps: 5_000,
      labeled_coverage_bps: 10_000,
      critical_signal_hold_candidate_count: 1,
      provider_signal_count: 0,
      stale_label_gap_seconds: 2 * 3600,
      dispute_recall_bps: 5_000,
      dispute_recall_sample_count: 2,
      release_gate_config: { mode: 'review_only' },
    });
    const episode = scanFraudEpisodes(events).find((e) => e.code === 'DISPUTE_CLUSTER')!;
    expect(m.median_time_to_review_seconds).toBe(Math.floor((now - 2 * HOUR - episode.firstSeenMs) / 1000));
    expect(m.backtest_summary).toMatch(/precision_bps=10000 .*dispute_recall_bps=5000 \(n=2\)/);
    expect(m.release_gate_metrics_reliability.reliable).toBe(false);
    // Every number is an integer.
    for (const [key, value] of Object.entries(m)) if (typeof value === 'number') expect(Number.isInteger(value), key).toBe(true);
  });

  it('shrinks with the window and sees nothing after now', () => {
    const { b, reviewEvents, now } = scenario();
    const events = b.bound();
    const day = computeFraudMetrics({ tenantId: 't', scoreModelVersion: '1.0', window: '24h', nowMs: now + 9 * DAY, events, reviewEvents, mode: 'critical_hold' });
    expect(day).toMatchObject({ flagged_operator_count: 0, critical_signal_count: 0, reviewed_count: 0, labeled_coverage_bps: 0, review_precision_bps: 0, critical_signal_hold_candidate_count: 0, dispute_recall_sample_count: 0 });
    const before = computeFraudMetrics({ tenantId: 't', scoreModelVersion: '1.0', window: '30d', nowMs: b.now - 2 * DAY, events, reviewEvents, mode: 'review_only' });
    expect(before).toMatchObject({ critical_signal_count: 0, reviewed_count: 0, dispute_recall_sample_count: 0 });
  });

  it('parses the window like the Kit', () => {
    expect(parseFraudWindow(undefined)).toBe('24h');
    expect(parseFraudWindow(' 7d ')).toBe('7d');
    expect(() => parseFraudWindow('1h')).toThrow('window must be one of 24h, 7d, or 30d');
  });
});

describe('review status and queue bodies', () => {
  it('assembles review-status and queue items with assessment and gate', () => {
    const { b, reviewEvents } = scenario();
    const events = b.bound();
    const at = events.find((e) => e.type === 'dispute.opened' && e.intentId === 'd4')!.timeMs;
    const signals = detectFraudSignals(events, A, at);
    const assessment = assessFraud(signals);
    const gate = evaluateReleaseGate({ mode: 'review_only', reliability: metricsReliability([], at), signals });
    const reviewCase = foldReviewCase(A, reviewEvents.slice(0, 1));
    const status = reviewStatusResponse({ tenantId: 'tenant-a', operatorDid: A, scoreModelVersion: '1.0', reviewCase, signals, assessment, gate, maturityTier: 'shallow' });
    expect(status).toMatchObject({ schema_version: 1, tenant_id: 'tenant-a', operator_did: A, review_state: 'open', review_outcome: 'none', review_reasons: ['FRAUD_REVIEW', 'DISPUTE_CLUSTER'], fraud_assessment: { level: 'critical', review_priority: 'urgent' }, release_gate: { hold_candidate: true, hold_required: false }, maturity_tier: 'shallow' });
    expect(status.fraud_signals[0]).toMatchObject({ code: 'DISPUTE_CLUSTER', affects_score: false });

    const items = [
      reviewQueueItem({ reviewCase, signals, assessment, gate, lastReceiptMessageDigestHex: 'ab'.repeat(32) }),
      reviewQueueItem({ reviewCase: foldReviewCase(B, reviewEvents), signals: [], assessment: assessFraud([]), lastReceiptMessageDigestHex: 'cd'.repeat(32) }),
      reviewQueueItem({ reviewCase: foldReviewCase('did:example:none', []), signals: [], assessment: assessFraud([]), lastReceiptMessageDigestHex: 'ef'.repeat(32) }),
    ];
    expect(selectReviewQueue(items, parseQueueQuery({})).map((i) => i.operator_did)).toEqual([A, B]);
    expect(selectReviewQueue(items, parseQueueQuery({ state: 'all', fraud_severity: 'high' })).map((i) => i.operator_did)).toEqual([A]);
    expect(selectReviewQueue(items, parseQueueQuery({ state: 'none' })).map((i) => i.operator_did)).toEqual(['did:example:none']);
    expect(selectReviewQueue(items, parseQueueQuery({ state: 'all', limit: '1' }))).toHaveLength(1);
    expect(parseQueueQuery({ limit: '9999' }).limit).toBe(500);
    expect(parseQueueQuery({ limit: '0' }).limit).toBe(1);
    expect(() => parseQueueQuery({ state: 'pending' })).toThrow(/state/);
    expect(() => parseQueueQuery({ fraud_severity: 'low' })).toThrow('fraud_severity must be one of elevated, high, or critical');
    expect(() => parseQueueQuery({ limit: 'many' })).toThrow(/limit/);
  });
});

describe('operator fraud view (what the settlement hold check reads)', () => {
  // Reliable labels: 10 confirmed, 3 of them on DISPUTE_CLUSTER, recorded just before the disputes.
  function reliableHistory() {
    const { b } = scenario();
    const events = b.bound();
    const firstDispute = events.find((e) => e.type === 'dispute.opened')!.timeMs;
    const labels: ReviewEventRecord[] = Array.from({ length: 10 }, (_, i) => ({
      operatorDid: 'did:example:past',
      eventType: 'review_outcome_recorded',
      reviewOutcome: 'confirmed_risk',
      ...(i < 3 ? { signalCode: 'DISPUTE_CLUSTER' } : {}),
      recordedAt: new Date(firstDispute - (i + 1) * HOUR).toISOString(),
      accepted: true,
    }));
    const release = events.find((e) => e.type === 'settlement.released' && e.intentId === 'late')!;
    return { events, labels, atMs: release.timeMs, seq: release.seq };
  }

  it('holds a release under critical_hold, never a refund, and not in review_only', () => {
    const { events, labels, atMs, seq } = reliableHistory();
    const prefix = events.filter((e) => e.seq <= seq);
    const hold = operatorFraudView({ events: prefix, reviewEvents: labels, operatorDid: A, nowMs: atMs, mode: 'critical_hold' });
    expect(hold.gate).toMatchObject({ hold_required: true, release_allowed: false, blocking_signal_codes: ['DISPUTE_CLUSTER'] });
    expect(hold.gate.blocking_evidence_refs).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
    expect(operatorFraudView({ events: prefix, reviewEvents: labels, operatorDid: A, nowMs: atMs, mode: 'critical_hold', action: 'refund' }).gate.hold_required).toBe(false);
    expect(operatorFraudView({ events: prefix, reviewEvents: labels, operatorDid: A, nowMs: atMs, mode: 'review_only' }).gate).toMatchObject({ hold_required: false, hold_candidate: true });
    expect(operatorFraudView({ events: prefix, reviewEvents: labels, operatorDid: B, nowMs: atMs, mode: 'critical_hold' }).gate.hold_required).toBe(false);
    // A false_positive outcome for the operator clears the hold.
    const fp: ReviewEventRecord = { operatorDid: A, eventType: 'review_outcome_recorded', reviewOutcome: 'false_positive', signalCode: 'DISPUTE_CLUSTER', recordedAt: new Date(atMs).toISOString(), accepted: true };
    const cleared = operatorFraudView({ events: prefix, reviewEvents: [...labels, fp], operatorDid: A, nowMs: atMs, mode: 'critical_hold' });
    expect(cleared.gate).toMatchObject({ hold_required: false, cleared_signal_codes: ['DISPUTE_CLUSTER'] });
    // Review events after now are not read.
    const later = { ...fp, recordedAt: new Date(atMs + 1).toISOString() };
    expect(operatorFraudView({ events: prefix, reviewEvents: [...labels, later], operatorDid: A, nowMs: atMs, mode: 'critical_hold' }).gate.hold_required).toBe(true);
  });

  it('needs no event older than the look-back window', () => {
    const b = new LedgerBuilder();
    // Old history that no window reaches any more: disputes, refunds, failing evidence, a burst.
    for (let i = 0; i < 12; i++) b.advance(HOUR).happy(`old${i}`, A, 1_000).openDispute(`old${i}`);
    for (let i = 0; i < 4; i++) b.create(`oldr${i}`, A).fund(`oldr${i}`).submitEvidence(`oldr${i}`, false).refund(`oldr${i}`);
    b.advance(100 * DAY);
    for (let i = 0; i < 25; i++) b.advance(HOUR).happy(`n${i}`, A, 1_000);
    for (let i = 0; i < 5; i++) b.advance(HOUR).openDispute(`n${i}`);
    b.advance(HOUR).create('huge', A, 900_000);
    const events = b.bound();
    const atMs = b.now;
    const recent = events.filter((e) => e.timeMs > atMs - FRAUD_LOOKBACK_MS);
    expect(recent.length).toBeLessThan(events.length);
    const full = operatorFraudView({ events, reviewEvents: [], operatorDid: A, nowMs: atMs, mode: 'critical_hold' });
    expect(full.signals.map((x) => x.code).sort()).toEqual(['AMOUNT_ANOMALY', 'DISPUTE_CLUSTER']);
    expect(operatorFraudView({ events: recent, reviewEvents: [], operatorDid: A, nowMs: atMs, mode: 'critical_hold' })).toEqual(full);
    // Only the payee's events plus the tenant baseline as two counts (what one SQL aggregate gives).
    const baseline = disputeBaselineAt(events, atMs);
    const payeeOnly = recent.filter((e) => e.operatorDid === A);
    expect(operatorFraudView({ events: payeeOnly, reviewEvents: [], operatorDid: A, nowMs: atMs, mode: 'critical_hold', baseline: disputeBaselineFrom(baseline.disputes, baseline.base) })).toEqual(full);
    const body = fraudSignalsResponse({
      tenantId: 'tenant-a',
      scoreModelVersion: '1.0',
      generatedAt: new Date(atMs).toISOString(),
      mode: 'critical_hold',
      operators: [{ operatorDid: B, ...operatorFraudView({ events, reviewEvents: [], operatorDid: B, nowMs: atMs, mode: 'critical_hold' }) }, { operatorDid: A, ...full }],
    });
    expect(body.operators.map((o) => o.operator_did)).toEqual([A]);
    expect(body).toMatchObject({ tenant_id: 'tenant-a', signals_affect_score: false, release_gate_config: { mode: 'critical_hold' } });
  });
});
