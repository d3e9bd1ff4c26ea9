import type { SignedReceipt } from './artifacts.ts';
import type { FraudAssessment } from './fraud.ts';
import type { SignalModelParams } from './params.ts';
import { modelParamsSha256 } from './params.ts';
import type { OperatorAccumulator, OperatorScore } from './score.ts';

/**
 * Row shapes and bodies of the routes the Kit does not call (trend, overview, score model
 * versions). A snapshot row keeps the signed receipt as issued, so `GET /reputation` serves the
 * same bytes every time and anyone can replay the score at its watermark.
 */

/** One append-only `SignalScoreSnapshot` row. */
export interface SnapshotRecord {
  tenant_id: string;
  operator_did: string;
  score_version: string;
  receipt_version: number;
  ledger_watermark_seq: number;
  ledger_watermark_hash: string;
  ledger_watermark_at: string;
  score: number;
  /** Posterior at the watermark (floating point; not part of any signed payload). */
  alpha: number;
  beta: number;
  n_eff: number;
  reason_codes: string[];
  confidence_band: string;
  support_depth_band: string;
  metrics: OperatorScore['metrics'];
  receipt: SignedReceipt;
  receipt_message_digest_hex: string;
  created_at: string;
}

/** A snapshot record plus the accumulator aggregate after its watermark (intent tracks live in their own rows). */
export function snapshotRecord(input: { tenantId: string; score: OperatorScore; accumulator: OperatorAccumulator; receipt: SignedReceipt; createdAt: string }): SnapshotRecord & { accumulator_state: ReturnType<OperatorAccumulator['toState']> } {
  const { score, receipt } = input;
  return {
    tenant_id: input.tenantId,
    operator_did: score.operatorDid,
    score_version: score.scoreVersion,
    receipt_version: Number(receipt.receipt_version),
    ledger_watermark_seq: score.watermark.seq,
    ledger_watermark_hash: score.watermark.hash,
    ledger_watermark_at: score.watermark.occurredAt,
    score: score.score,
    alpha: score.alpha,
    beta: score.beta,
    n_eff: score.nEff,
    reason_codes: [...score.reasonCodes],
    confidence_band: score.confidence.band,
    support_depth_band: score.supportDepth.band,
    metrics: { ...score.metrics },
    receipt,
    receipt_message_digest_hex: receipt.message_digest_hex,
    accumulator_state: input.accumulator.toState({ intentIds: [] }),
    created_at: input.createdAt,
  };
}

/** `GET /signal/v1/operators/{did}/trend`: snapshots newest first, cursor-paged by watermark seq. */
export function trendResponse(input: { tenantId: string; operatorDid: string; scoreVersion: string; snapshots: readonly SnapshotRecord[]; nextCursor: string | null }) {
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    operator_did: input.operatorDid,
    score_version: input.scoreVersion,
    items: input.snapshots.map((s) => ({
      receipt_version: String(s.receipt_version),
      ledger_watermark_seq: s.ledger_watermark_seq,
      ledger_watermark_hash: s.ledger_watermark_hash,
      ledger_watermark_at: s.ledger_watermark_at,
      score: s.score,
      reason_codes: [...s.reason_codes],
      confidence_band: s.confidence_band,
      support_depth_band: s.support_depth_band,
      receipt_message_digest_hex: s.receipt_message_digest_hex,
      recorded_at: s.created_at,
    })),
    next_cursor: input.nextCursor,
  };
}

/** `GET /signal/v1/overview`: latest snapshot per operator with its review and fraud level. */
export function overviewResponse(input: {
  tenantId: string;
  scoreVersion: string;
  checkpointSeq: number;
  operators: ReadonlyArray<{ latest: SnapshotRecord; reviewState: string; fraudAssessment: FraudAssessment }>;
}) {
  const rows = [...input.operators].sort((a, b) => (a.latest.operator_did < b.latest.operator_did ? -1 : 1));
  const n = rows.length;
  const total = rows.reduce((sum, r) => sum + r.latest.score, 0);
  const bands: Record<string, number> = {};
  for (const r of rows) bands[r.latest.confidence_band] = (bands[r.latest.confidence_band] ?? 0) + 1;
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    score_model_version: input.scoreVersion,
    checkpoint_last_ledger_seq: input.checkpointSeq,
    operator_count: n,
    average_score: n === 0 ? 0 : Math.floor((2 * total + n) / (2 * n)),
    confidence_bands: bands,
    operators_under_review: rows.filter((r) => r.reviewState === 'open' || r.reviewState === 'in_review').length,
    operators_flagged: rows.filter((r) => r.fraudAssessment.level !== 'none').length,
    operators: rows.map((r) => ({
      operator_did: r.latest.operator_did,
      score: r.latest.score,
      receipt_version: String(r.latest.receipt_version),
      ledger_watermark_seq: r.latest.ledger_watermark_seq,
      reason_codes: [...r.latest.reason_codes],
      confidence_band: r.latest.confidence_band,
      terminal_intents: r.latest.metrics.terminal_intents,
      review_state: r.reviewState,
      fraud_level: r.fraudAssessment.level,
      updated_at: r.latest.created_at,
    })),
  };
}

export type ModelVersionStatus = 'primary' | 'shadow' | 'retired';

/** `GET /signal/v1/operators/{did}/score-model-versions`: one row per version the operator was scored with. */
export function scoreModelVersionsResponse(input: {
  tenantId: string;
  operatorDid: string;
  versions: ReadonlyArray<{ params: SignalModelParams; status: ModelVersionStatus; latest: SnapshotRecord | null; snapshotCount: number }>;
}) {
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    operator_did: input.operatorDid,
    items: input.versions.map((v) => ({
      score_version: v.params.score_version,
      scoring_model: v.params.scoring_model,
      status: v.status,
      model_params_sha256_hex: modelParamsSha256(v.params),
      snapshot_count: v.snapshotCount,
      latest_score: v.latest?.score ?? null,
      latest_ledger_watermark_seq: v.latest?.ledger_watermark_seq ?? null,
      latest_receipt_message_digest_hex: v.latest?.receipt_message_digest_hex ?? null,
      updated_at: v.latest?.created_at ?? null,
    })),
  };
}
