import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, type RestResult } from '../helpers/gateway.ts';
import { disputeOpen, enc, runIntent, signalGateway } from './flows.ts';

/**
 * The Paybond Kit SDK's Signal and fraud clients, request for request: the paths, query names and
 * JSON bodies they send (bearer + accept only, no x-tenant-id; DIDs percent-encoded with
 * encodeURIComponent) and what their parsers require of each answer (tenant_id echoed, operator_did
 * echoed exactly, 404 → null, a 429 review-event answer parsed as the review-event body).
 */
let env: Awaited<ReturnType<typeof signalGateway>>;
let tenantId: string;
// A did:web with a port: its own '%3A' must survive the SDK's encodeURIComponent round trip.
const OPERATOR = 'did:web:shop.example%3A8443:agents:alpha';
const UNKNOWN = 'did:example:never-paid';

/** What the SDK's parsers check on every JSON answer. */
function kitParse(res: RestResult, operatorDid?: string) {
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  expect(typeof res.body).toBe('object');
  expect(res.body.tenant_id).toBe(tenantId);
  if (operatorDid !== undefined) expect(res.body.operator_did).toBe(operatorDid);
  return res.body;
}
const kitGet = (path: string) => rest(env.gw, 'GET', path, undefined, { token: env.org.apiKey.sandbox });
const scoreQuery = (v?: string) => (v ? `?score_version=${encodeURIComponent(v)}` : '');

beforeAll(async () => {
  env = await signalGateway();
  for (let i = 0; i < 4; i++) await runIntent(env.gw, env.actor, { payeeDid: OPERATOR });
  const disputed = await runIntent(env.gw, env.actor, { payeeDid: OPERATOR });
  await disputeOpen(env.gw, env.actor, disputed);
  // The SDK resolves its tenant from the principal route first.
  const principal = await kitGet('/v1/auth/principal');
  tenantId = principal.body.tenant_id;
  expect(tenantId).toBe(env.actor.tenantId);
});
afterAll(() => env.gw.close());

describe('GatewaySignalClient', () => {
  it('getReputationReceipt: envelope with the signed receipt, tenant and operator echoed, default score_version 1.0', async () => {
    for (const version of [undefined, '1.0']) {
      const res = await kitGet(`/reputation/${enc(OPERATOR)}${scoreQuery(version)}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ schema_version: 1, updated_at: expect.stringMatching(/Z$/) });
      const receipt = res.body.receipt;
      expect(receipt).toMatchObject({ tenant_id: tenantId, operator_did: OPERATOR, score_version: '1.0', scoring_model: 'paybond.signal.v1', signing_algorithm: 'ed25519-sha256-json-v1' });
      for (const key of ['schema_version', 'ledger_watermark_seq', 'score']) expect(Number.isInteger(receipt[key]), key).toBe(true);
      for (const key of ['receipt_version', 'scoring_narrative', 'explanation_summary', 'message_digest_hex', 'signing_public_key_hex', 'signature_hex']) expect(typeof receipt[key], key).toBe('string');
      expect(Array.isArray(receipt.reason_codes)).toBe(true);
      expect(Object.keys(receipt.metrics).sort()).toEqual(
        ['terminal_intents', 'released', 'refunded', 'disputed', 'success_rate_bps', 'dispute_rate_bps', 'refund_rate_bps', 'mean_latency_nanos', 'latency_sample_count', 'receipted_volume_cents'].sort(),
      );
      expect(Object.values(receipt.metrics).every(Number.isInteger)).toBe(true);
      expect(Object.keys(receipt.confidence).sort()).toEqual(['band', 'summary', 'support_score']);
      expect(Object.keys(receipt.support_depth).sort()).toEqual(['band', 'history_depth', 'latency_sample_count', 'receipted_volume_cents', 'terminal_intents']);
      expect(Object.keys(receipt.explanation_delta).sort()).toEqual(
        ['basis', 'changed_metrics', 'previous_ledger_watermark_seq', 'previous_score', 'reason_codes_added', 'reason_codes_removed', 'score_delta', 'summary'],
      );
    }
  });

  it('404 (the SDK returns null) for an operator without a receipt, and for a malformed version a 400', async () => {
    expect((await kitGet(`/reputation/${enc(UNKNOWN)}`)).status).toBe(404);
    expect((await kitGet(`/signal/v1/operators/${enc(UNKNOWN)}/explanation`)).status).toBe(404);
    expect((await kitGet(`/signal/v1/operators/${enc(UNKNOWN)}/review-status`)).status).toBe(404);
    expect((await kitGet(`/reputation/${enc(OPERATOR)}?score_version=9.9`)).status).toBe(400);
  });

  it('getPortfolioSummary and getSignedPortfolioArtifact', async () => {
    const summary = kitParse(await kitGet('/signal/v1/portfolio/summary'));
    expect(summary).toMatchObject({ schema_version: 1, score_model_version: '1.0', scoring_model: 'paybond.signal.v1', operator_count: 1, total_terminal_intents: 4, total_receipted_volume_cents: 20000, operators_under_review: 0 });
    for (const key of ['checkpoint_last_ledger_seq', 'average_score']) expect(Number.isInteger(summary[key])).toBe(true);
    const artifact = kitParse(await kitGet('/signal/v1/portfolio/signed-export?score_version=1.0'));
    expect(artifact).toMatchObject({ schema_version: 1, artifact_version: '1', kind: 'paybond.signal.portfolio_snapshot', score_model_version: '1.0', scoring_model: 'paybond.signal.v1', signing_algorithm: 'ed25519-sha256-json-v1' });
    expect(artifact.operators).toEqual([expect.objectContaining({ operator_did: OPERATOR, receipt_version: expect.any(String), score: expect.any(Number), ledger_watermark_seq: expect.any(Number), receipt_message_digest_hex: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
  });

  it('getOperatorExplanation and getOperatorReviewStatus echo tenant and operator', async () => {
    kitParse(await kitGet(`/signal/v1/operators/${enc(OPERATOR)}/explanation`), OPERATOR);
    const status = kitParse(await kitGet(`/signal/v1/operators/${enc(OPERATOR)}/review-status${scoreQuery('1.0')}`), OPERATOR);
    expect(status).toMatchObject({ schema_version: 1, score_model_version: '1.0', review_state: 'none', review_outcome: 'none', review_reasons: [], fraud_signals: [] });
    expect(status.fraud_assessment).toMatchObject({ fraud_signal_version: expect.any(String), level: 'none', highest_severity: 'none', review_priority: 'normal', signal_count: 0, severe_signal_count: 0 });
    expect(Object.keys(status.release_gate).sort()).toEqual(
      expect.arrayContaining(['mode', 'enforcement_enabled', 'metrics_reliable', 'release_allowed', 'hold_required', 'critical_signal_count', 'critical_signal_codes', 'reasons', 'summary']),
    );
  });
});

describe('GatewayFraudClient', () => {
  it('recordFraudReviewEvent: outcome names are sent as review_outcome_recorded; 202 with the review-event body', async () => {
    // The SDK rewrites event_type confirmed_risk to review_outcome_recorded + review_outcome.
    const res = await rest(env.gw, 'POST', `/signal/v1/operators/${enc(OPERATOR)}/review-events`, { event_type: 'review_outcome_recorded', review_outcome: 'needs_more_evidence', signal_code: 'DISPUTE_CLUSTER', intent_id: 'intent-1', summary: 'asked for delivery proof' }, { token: env.org.admin.token.sandbox });
    expect(res.status).toBe(202);
    expect(kitParse(res, OPERATOR)).toMatchObject({
      schema_version: 1,
      score_model_version: '1.0',
      requested_event_type: 'review_outcome_recorded',
      recorded_event_type: 'review_outcome_recorded',
      review_outcome: 'needs_more_evidence',
      signal_code: 'DISPUTE_CLUSTER',
      intent_id: 'intent-1',
      accepted: true,
      friction: { band: 'normal' },
    });
    expect(res.body).not.toHaveProperty('provider_event_id');
    expect(res.body).not.toHaveProperty('next_eligible_at');
  });

  it('a throttled appeal answers 429 with the review-event body (accepted: false, next_eligible_at) and Retry-After', async () => {
    const appeal = () => rest(env.gw, 'POST', `/signal/v1/operators/${enc(OPERATOR)}/review-events`, { event_type: 'appeal_requested', summary: 'please look again' }, { token: env.org.apiKey.sandbox });
    for (let i = 0; i < 3; i++) expect((await appeal()).status).toBe(202);
    const res = await appeal();
    expect(res.status).toBe(429);
    expect(res.body.error).toBeUndefined();
    expect(kitParse(res, OPERATOR)).toMatchObject({ requested_event_type: 'appeal_requested', recorded_event_type: 'appeal_requested', accepted: false, friction: { band: 'throttled', recent_request_count: 3, limit: 3 } });
    const next = Date.parse(res.body.next_eligible_at);
    expect(next).toBeGreaterThan(env.gw.clock.now().getTime());
    expect(Number(res.headers.get('retry-after'))).toBe(Math.ceil((next - env.gw.clock.now().getTime()) / 1000));
    // Throttled attempts count: four appeals in 24 hours raise REPLAY_APPEAL_ABUSE (score-neutral).
    const status = kitParse(await kitGet(`/signal/v1/operators/${enc(OPERATOR)}/review-status`), OPERATOR);
    expect(status.fraud_signals.map((s: { code: string }) => s.code)).toContain('REPLAY_APPEAL_ABUSE');
    expect(status.friction).toMatchObject({ band: 'throttled', next_eligible_at: res.body.next_eligible_at });
  });

  it('listFraudReviewQueue: state, fraud_severity and a clamped limit', async () => {
    const all = kitParse(await kitGet('/signal/v1/review-queue?state=all&limit=500&score_version=1.0'));
    expect(all).toMatchObject({ schema_version: 1, score_model_version: '1.0' });
    const item = all.items.find((i: { operator_did: string }) => i.operator_did === OPERATOR);
    for (const key of ['review_state', 'review_outcome', 'opened_at', 'reviewed_at', 'updated_at', 'last_receipt_message_digest_hex']) expect(typeof item[key], key).toBe('string');
    expect(item).toMatchObject({ review_state: 'in_review', review_outcome: 'needs_more_evidence', anomaly_flagged: false, review_reasons: expect.arrayContaining(['APPEAL']) });
    expect(Array.isArray(item.fraud_signals) && typeof item.fraud_assessment === 'object').toBe(true);
    expect(kitParse(await kitGet('/signal/v1/review-queue?fraud_severity=critical')).items).toEqual([]);
    expect(kitParse(await kitGet('/signal/v1/review-queue?fraud_severity=elevated&limit=1')).items).toHaveLength(1);
    expect((await kitGet('/signal/v1/review-queue?fraud_severity=severe')).status).toBe(400);
  });

  it('getFraudMetrics: default 24h, every SDK field an integer, and the SDK’s message for a bad window', async () => {
    for (const window of ['', '?window=24h', '?window=7d', '?window=30d&score_version=1.0']) {
      const metrics = kitParse(await kitGet(`/signal/v1/fraud/metrics${window}`));
      expect(metrics.window).toBe(window.match(/window=(\w+)/)?.[1] ?? '24h');
      for (const key of ['flagged_operator_count', 'critical_signal_count', 'high_signal_count', 'elevated_signal_count', 'review_open_count', 'review_load_count', 'reviewed_count', 'labeled_outcome_count', 'confirmed_risk_count', 'false_positive_count', 'needs_more_evidence_count', 'review_precision_bps', 'false_positive_rate_bps', 'confirmed_risk_rate_bps', 'labeled_coverage_bps', 'median_time_to_review_seconds', 'refund_burst_count', 'dispute_cluster_count', 'replay_appeal_abuse_count', 'critical_signal_hold_candidate_count', 'provider_signal_count', 'stale_label_gap_seconds', 'stale_signal_family_label_gap_count']) {
        expect(Number.isInteger(metrics[key]), key).toBe(true);
      }
      for (const key of ['fraud_signal_version', 'window_started_at', 'window_ended_at', 'generated_at', 'backtest_summary']) expect(typeof metrics[key], key).toBe('string');
      expect(metrics).toMatchObject({ replay_appeal_abuse_count: 1, needs_more_evidence_count: 1, release_gate_config: { mode: 'review_only' } });
    }
    const bad = await kitGet('/signal/v1/fraud/metrics?window=1y');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('window must be one of 24h, 7d, or 30d');
  });

  it('getFraudReleaseGateConfig and setFraudReleaseGateMode', async () => {
    const config = kitParse(await kitGet('/signal/v1/fraud/release-gate'));
    expect(config).toMatchObject({ schema_version: 1, score_model_version: '1.0', config: { mode: 'review_only' } });
    const r = config.metrics_reliability;
    expect(r).toMatchObject({ reliable: false, stale: expect.any(Boolean), sparse: true, min_reviewed_count: 10, min_labeled_outcome_count: 5, min_signal_family_labeled_outcome_count: 3, min_review_precision_bps: 8000 });
    expect(r.signal_families[0]).toMatchObject({ signal_family: expect.any(String), reliable: false, reasons: expect.any(Array), summary: expect.any(String) });
    const put = await rest(env.gw, 'PUT', '/signal/v1/fraud/release-gate', { mode: 'review_only' }, { token: env.org.admin.token.sandbox });
    expect(put.status).toBe(200);
    expect(kitParse(put).config).toEqual({ mode: 'review_only' });
  });
});
