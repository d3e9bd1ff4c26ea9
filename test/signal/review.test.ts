import { describe, expect, it } from 'vitest';
import {
  flagsToRecord,
  foldReviewCase,
  labelsFrom,
  normalizeReviewRequest,
  requestStampsFrom,
  reviewEventResponse,
  throttleReviewRequest,
  type FraudSignal,
  type ReviewEventRecord,
} from '../../src/areas/signal/model/index.ts';

const A = 'did:example:alpha';
const NOW = Date.UTC(2026, 4, 23, 12);
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;
const ev = (eventType: ReviewEventRecord['eventType'], at: number, extra: Partial<ReviewEventRecord> = {}): ReviewEventRecord => ({ operatorDid: A, eventType, recordedAt: iso(at), accepted: true, ...extra });

describe('review event requests', () => {
  it('rewrites outcome-named types to review_outcome_recorded', () => {
    const r = normalizeReviewRequest({ event_type: 'confirmed_risk', signal_code: ' PROVIDER_STRIPE_EARLY_FRAUD_WARNING ', intent_id: '00000000-0000-4000-8000-000000000123', provider_event_id: 'evt_review_signal', summary: 'Developer supplied appeal context' });
    expect(r).toMatchObject({ requestedEventType: 'confirmed_risk', recordedEventType: 'review_outcome_recorded', reviewOutcome: 'confirmed_risk', signalCode: 'PROVIDER_STRIPE_EARLY_FRAUD_WARNING', requiresReviewer: true, throttled: false });
    expect(reviewEventResponse({ tenantId: 'tenant-a', operatorDid: A, scoreModelVersion: '1.0', request: r })).toEqual({
      schema_version: 1,
      tenant_id: 'tenant-a',
      operator_did: A,
      score_model_version: '1.0',
      requested_event_type: 'confirmed_risk',
      recorded_event_type: 'review_outcome_recorded',
      review_outcome: 'confirmed_risk',
      signal_code: 'PROVIDER_STRIPE_EARLY_FRAUD_WARNING',
      intent_id: '00000000-0000-4000-8000-000000000123',
      provider_event_id: 'evt_review_signal',
      accepted: true,
      friction: { band: 'normal' },
    });
  });

  it('refuses unknown types, missing outcomes and missing summaries', () => {
    expect(() => normalizeReviewRequest({ event_type: 'settlement_refunded', summary: 'x' })).toThrow(expect.objectContaining({ code: 'invalid_review_event' }));
    expect(() => normalizeReviewRequest({ event_type: 'review_outcome_recorded', summary: 'x' })).toThrow(expect.objectContaining({ code: 'review_outcome_required' }));
    expect(() => normalizeReviewRequest({ event_type: 'review_outcome_recorded', review_outcome: 'maybe', summary: 'x' })).toThrow(expect.objectContaining({ code: 'invalid_review_event' }));
    expect(() => normalizeReviewRequest({ event_type: 'false_positive', review_outcome: 'confirmed_risk', summary: 'x' })).toThrow(/contradicts/);
    expect(() => normalizeReviewRequest({ event_type: 'appeal_requested', review_outcome: 'confirmed_risk', summary: 'x' })).toThrow(/only accepted/);
    expect(() => normalizeReviewRequest({ event_type: 'appeal_requested', summary: '  ' })).toThrow(/summary/);
    expect(() => normalizeReviewRequest({ event_type: 'appeal_requested', summary: 5 })).toThrow(/summary/);
    expect(normalizeReviewRequest({ event_type: 'replay_requested', summary: 'please' })).toMatchObject({ throttled: true, requiresReviewer: false });
  });
});

describe('appeal and replay throttle', () => {
  it('accepts 3 per rolling 24h; the 4th answers accepted:false with next_eligible_at', () => {
    const prior = [ev('appeal_requested', NOW - 20 * HOUR), ev('replay_requested', NOW - 10 * HOUR), ev('appeal_requested', NOW - HOUR), ev('review_open_requested', NOW - HOUR), ev('appeal_requested', NOW - 2 * HOUR, { accepted: false })];
    const d = throttleReviewRequest(prior, A, NOW);
    expect(d).toMatchObject({ accepted: false, nextEligibleAt: iso(NOW + 4 * HOUR), friction: { band: 'throttled', recent_request_count: 3, limit: 3, window: '24h' } });
    const request = normalizeReviewRequest({ event_type: 'appeal_requested', summary: 'again' });
    const body = reviewEventResponse({ tenantId: 'tenant-a', operatorDid: A, scoreModelVersion: '1.0', request, throttle: d });
    expect(body).toMatchObject({ accepted: false, next_eligible_at: iso(NOW + 4 * HOUR), recorded_event_type: 'appeal_requested', tenant_id: 'tenant-a', operator_did: A });
    expect(throttleReviewRequest(prior, A, NOW + 4 * HOUR + 1).accepted).toBe(true);
    expect(throttleReviewRequest(prior, 'did:example:other', NOW)).toMatchObject({ accepted: true, friction: { band: 'normal' } });
    expect(throttleReviewRequest(prior.slice(0, 2), A, NOW)).toMatchObject({ accepted: true, friction: { band: 'elevated', recent_request_count: 3 } });
  });

  it('counts throttled attempts too for REPLAY_APPEAL_ABUSE', () => {
    const stamps = requestStampsFrom([ev('appeal_requested', NOW), ev('replay_requested', NOW, { accepted: false }), ev('review_open_requested', NOW)]);
    expect(stamps.get(A)).toHaveLength(2);
  });
});

describe('review case', () => {
  it('moves none → open → in_review → closed and reopens on new flags or appeals', () => {
    const events = [ev('signal_flagged', NOW, { signalCode: 'REFUND_BURST' })];
    expect(foldReviewCase(A, [])).toMatchObject({ review_state: 'none', review_outcome: 'none', opened_at: '', reviewed_at: '', updated_at: '' });
    expect(foldReviewCase(A, events)).toMatchObject({ review_state: 'open', anomaly_flagged: true, review_reasons: ['FRAUD_REVIEW', 'REFUND_BURST'], opened_at: iso(NOW) });
    events.push(ev('review_outcome_recorded', NOW + HOUR, { reviewOutcome: 'needs_more_evidence' }));
    expect(foldReviewCase(A, events)).toMatchObject({ review_state: 'in_review', review_outcome: 'needs_more_evidence', reviewed_at: iso(NOW + HOUR) });
    events.push(ev('review_outcome_recorded', NOW + 2 * HOUR, { reviewOutcome: 'false_positive', signalCode: 'REFUND_BURST' }));
    expect(foldReviewCase(A, events)).toMatchObject({ review_state: 'closed', review_outcome: 'false_positive', updated_at: iso(NOW + 2 * HOUR) });
    events.push(ev('appeal_requested', NOW + 3 * HOUR, { accepted: false }));
    expect(foldReviewCase(A, events).review_state).toBe('closed');
    events.push(ev('appeal_requested', NOW + 4 * HOUR));
    expect(foldReviewCase(A, events)).toMatchObject({ review_state: 'open', review_outcome: 'none', review_reasons: ['APPEAL'], anomaly_flagged: false, opened_at: iso(NOW + 4 * HOUR) });
    expect(labelsFrom(events)).toEqual([
      { operatorDid: A, outcome: 'needs_more_evidence', recordedAt: iso(NOW + HOUR) },
      { operatorDid: A, outcome: 'false_positive', signalCode: 'REFUND_BURST', recordedAt: iso(NOW + 2 * HOUR) },
    ]);
    expect(() => foldReviewCase(A, [ev('review_outcome_recorded', NOW)])).toThrow(expect.objectContaining({ code: 'review_outcome_required' }));
  });

  it('flags new high/critical evidence once, and not evidence a closed review already saw', () => {
    const signal = (code: string, severity: FraudSignal['severity'], lastSeen: number) => ({ code, severity, summary: code, last_seen_at: iso(lastSeen) }) as FraudSignal;
    const none = foldReviewCase(A, []);
    expect(flagsToRecord(none, [signal('AMOUNT_ANOMALY', 'elevated', NOW), signal('REFUND_BURST', 'high', NOW)], A, iso(NOW)).map((f) => f.signalCode)).toEqual(['REFUND_BURST']);
    const open = foldReviewCase(A, [ev('signal_flagged', NOW, { signalCode: 'REFUND_BURST' })]);
    expect(flagsToRecord(open, [signal('REFUND_BURST', 'high', NOW), signal('DISPUTE_CLUSTER', 'critical', NOW)], A, iso(NOW)).map((f) => f.signalCode)).toEqual(['DISPUTE_CLUSTER']);
    const closed = foldReviewCase(A, [ev('signal_flagged', NOW), ev('review_outcome_recorded', NOW + HOUR, { reviewOutcome: 'false_positive' })]);
    expect(flagsToRecord(closed, [signal('REFUND_BURST', 'high', NOW)], A, iso(NOW + 2 * HOUR))).toEqual([]);
    expect(flagsToRecord(closed, [signal('REFUND_BURST', 'high', NOW + 2 * HOUR)], A, iso(NOW + 2 * HOUR))).toHaveLength(1);
  });
});
