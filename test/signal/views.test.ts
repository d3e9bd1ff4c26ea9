import { describe, expect, it } from 'vitest';
import { assessFraud, buildReceiptPayload, OperatorAccumulator, overviewResponse, replayOperator, scoreModelVersionsResponse, signReceipt, SIGNAL_V1_PARAMS, snapshotRecord, trendResponse, verifyReceipt } from '../../src/areas/signal/model/index.ts';
import { LedgerBuilder } from './ledger-builder.ts';

const KEY = { keyId: 'k1', seed: new Uint8Array(32).fill(3) };

describe('snapshot rows and the routes that read them', () => {
  const b = new LedgerBuilder();
  for (let i = 0; i < 3; i++) b.happy(`a${i}`, 'did:example:a');
  b.happy('b0', 'did:example:b').openDispute('b0');
  const events = b.bound();
  const rows = ['did:example:a', 'did:example:b'].map((did) => {
    const { score, accumulator } = replayOperator(events, did, b.watermark());
    const receipt = signReceipt(buildReceiptPayload({ tenantId: 't', score, params: SIGNAL_V1_PARAMS, receiptVersion: 1, keyId: KEY.keyId }), KEY);
    return snapshotRecord({ tenantId: 't', score, accumulator, receipt, createdAt: '2026-01-02T00:00:00.000Z' });
  });

  it('keeps the signed receipt verbatim and an aggregate that restores the score', () => {
    const [a] = rows;
    expect(verifyReceipt(a!.receipt).ok).toBe(true);
    expect(a!.receipt_message_digest_hex).toBe(a!.receipt.message_digest_hex);
    expect(a!.accumulator_state.intents).toEqual({});
    expect(OperatorAccumulator.fromState(a!.accumulator_state).scoreAt(b.watermark()).score).toBe(a!.score);
  });

  it('shapes trend, overview and score-model-versions', () => {
    expect(trendResponse({ tenantId: 't', operatorDid: 'did:example:a', scoreVersion: '1.0', snapshots: rows.slice(0, 1), nextCursor: null }).items[0]).toMatchObject({ receipt_version: '1', score: rows[0]!.score, ledger_watermark_seq: b.events.length });
    const overview = overviewResponse({ tenantId: 't', scoreVersion: '1.0', checkpointSeq: b.events.length, operators: rows.map((latest, i) => ({ latest, reviewState: i ? 'open' : 'none', fraudAssessment: assessFraud([]) })) });
    expect(overview).toMatchObject({ tenant_id: 't', operator_count: 2, operators_under_review: 1, operators_flagged: 0 });
    expect(overview.average_score).toBe(Math.round((rows[0]!.score + rows[1]!.score) / 2));
    const versions = scoreModelVersionsResponse({ tenantId: 't', operatorDid: 'did:example:a', versions: [{ params: SIGNAL_V1_PARAMS, status: 'primary', latest: rows[0]!, snapshotCount: 1 }] });
    expect(versions.items[0]).toMatchObject({ score_version: '1.0', status: 'primary', latest_score: rows[0]!.score });
  });
});
