import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../crypto/canonical-json.ts';
import { ed, isValidPublicKey, toHex, verifyEd25519 } from '../../../crypto/ed25519.ts';
import { SignalModelError } from './errors.ts';
import type { SignalExplanationDelta, AttributionPart, SignalExplanationMetricDelta } from './explain.ts';
import type { Watermark } from './history.ts';
import { modelParamsSha256, type SignalModelParams } from './params.ts';
import { SCORING_NARRATIVE, type OperatorScore, type SignalConfidence, type SignalMetrics, type SignalSupportDepth } from './score.ts';

/**
 * Signed Signal artifacts (`ed25519-sha256-json-v1`).
 *
 * payload  = the artifact without signing_algorithm, message_digest_hex, signing_public_key_hex
 *            and signature_hex;
 * bytes    = RFC 8785 canonical JSON of the payload, then `&`, `<`, `>`, U+2028 and U+2029
 *            written as \u0026, \u003c, \u003e, \u2028, \u2029 (Go's HTML-safe encoding);
 * digest   = SHA-256(bytes), sent as message_digest_hex;
 * signature = Ed25519 over the 32 digest bytes, sent as signature_hex, with the raw 32-byte
 *            public key as signing_public_key_hex.
 *
 * The bytes equal Go's `json.Marshal` of the payload as a map, and Python's
 * `json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` plus the same five
 * replacements, because payloads are restricted to what all three encode alike: integers (no
 * floats), booleans, null, and strings without control characters or unpaired surrogates.
 */

export const SIGNAL_SIGNING_ALGORITHM = 'ed25519-sha256-json-v1';
export const RECEIPT_KIND = 'paybond.signal.reputation_receipt';
export const EXPLANATION_KIND = 'paybond.signal.explanation';
export const PORTFOLIO_KIND = 'paybond.signal.portfolio_snapshot';
export const SIGNATURE_FIELDS = ['signing_algorithm', 'message_digest_hex', 'signing_public_key_hex', 'signature_hex'] as const;

export interface SignatureFields {
  signing_algorithm: string;
  message_digest_hex: string;
  signing_public_key_hex: string;
  signature_hex: string;
}
export type Signed<T> = T & SignatureFields;

export interface SignalSigningKey {
  /** Published in the Signal key list; signed into every artifact as `key_id`. */
  keyId: string;
  /** 32-byte Ed25519 secret seed. */
  seed: Uint8Array;
}

/** Go `encoding/json` HTML-safe escaping applied to already-encoded JSON text. */
export function goHtmlEscape(json: string): string {
  return json.replaceAll('&', '\\u0026').replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');
}

// Control characters (Go and JCS escape some of them differently) and unpaired surrogates.
const UNENCODABLE = /[\u0000-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function assertSignable(value: unknown, path: string): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new SignalModelError('payload_not_integer', `${path} must be a safe integer in a signed payload (got ${value})`, { path });
    return;
  }
  if (typeof value === 'string') {
    if (UNENCODABLE.test(value)) throw new SignalModelError('payload_unencodable', `${path} contains a control character or an unpaired surrogate`, { path });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertSignable(v, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (UNENCODABLE.test(k)) throw new SignalModelError('payload_unencodable', `${path} has an unencodable key`, { path });
      if (v !== undefined) assertSignable(v, `${path}.${k}`);
    }
    return;
  }
  throw new SignalModelError('payload_unencodable', `${path} is a ${typeof value}`, { path });
}

/** The artifact minus its four signature fields. */
export function payloadOf(artifact: Record<string, unknown>): Record<string, unknown> {
  const payload: Record<string, unknown> = { ...artifact };
  for (const field of SIGNATURE_FIELDS) delete payload[field];
  return payload;
}

/** Exact bytes that are digested. Throws SignalModelError for values outside the signable subset. */
export function signalPayloadBytes(payload: Record<string, unknown>): Uint8Array {
  assertSignable(payload, 'payload');
  return new TextEncoder().encode(goHtmlEscape(canonicalJson(payload)));
}

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

export function signingPublicKeyHex(key: SignalSigningKey): string {
  if (key.seed.length !== 32) throw new SignalModelError('invalid_signing_key', 'the Signal signing seed must be 32 bytes');
  return toHex(ed.getPublicKey(key.seed));
}

/** Sign a payload (which must not already carry signature fields). */
export function signArtifact<T extends Record<string, unknown>>(payload: T, key: SignalSigningKey): Signed<T> {
  if (key.seed.length !== 32) throw new SignalModelError('invalid_signing_key', 'the Signal signing seed must be 32 bytes');
  for (const field of SIGNATURE_FIELDS) {
    if (field in payload) throw new SignalModelError('payload_unencodable', `payload already has ${field}`);
  }
  const digest = sha256(signalPayloadBytes(payload));
  const signature = ed.sign(digest, key.seed);
  return {
    ...payload,
    signing_algorithm: SIGNAL_SIGNING_ALGORITHM,
    message_digest_hex: digest.toString('hex'),
    signing_public_key_hex: toHex(ed.getPublicKey(key.seed)),
    signature_hex: toHex(signature),
  };
}

export type VerifyFailure =
  | 'malformed'
  | 'unsupported_signing_algorithm'
  | 'kind_mismatch'
  | 'payload_unencodable'
  | 'digest_mismatch'
  | 'invalid_public_key'
  | 'untrusted_key'
  | 'signature_invalid';

export type VerifyResult = { ok: true; digestHex: string; publicKeyHex: string } | { ok: false; code: VerifyFailure; message: string };

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/**
 * Verify an artifact offline: recompute the payload bytes and their digest, then the Ed25519
 * signature over the digest. An embedded key proves nothing by itself: pass the published keys in
 * `trustedPublicKeysHex` to pin them.
 */
export function verifyArtifact(artifact: unknown, options: { trustedPublicKeysHex?: readonly string[]; expectedKind?: string } = {}): VerifyResult {
  const fail = (code: VerifyFailure, message: string): VerifyResult => ({ ok: false, code, message });
  if (!artifact || typeof artifact !== 'object' || Array.isArray(artifact)) return fail('malformed', 'artifact must be a JSON object');
  const a = artifact as Record<string, unknown>;
  if (a.signing_algorithm !== SIGNAL_SIGNING_ALGORITHM) return fail('unsupported_signing_algorithm', `signing_algorithm must be ${SIGNAL_SIGNING_ALGORITHM}`);
  const { message_digest_hex: digestHex, signing_public_key_hex: keyHex, signature_hex: signatureHex } = a;
  if (typeof digestHex !== 'string' || !HEX64.test(digestHex)) return fail('malformed', 'message_digest_hex must be 64 lowercase hex characters');
  if (typeof keyHex !== 'string' || !HEX64.test(keyHex)) return fail('malformed', 'signing_public_key_hex must be 64 lowercase hex characters');
  if (typeof signatureHex !== 'string' || !HEX128.test(signatureHex)) return fail('malformed', 'signature_hex must be 128 lowercase hex characters');
  if (options.expectedKind !== undefined && a.kind !== options.expectedKind) return fail('kind_mismatch', `kind must be ${options.expectedKind}`);
  let bytes: Uint8Array;
  try {
    bytes = signalPayloadBytes(payloadOf(a));
  } catch (error) {
    return fail('payload_unencodable', (error as Error).message);
  }
  const digest = sha256(bytes);
  if (digest.toString('hex') !== digestHex) return fail('digest_mismatch', 'message_digest_hex does not match the payload');
  const key = Buffer.from(keyHex, 'hex');
  if (!isValidPublicKey(key)) return fail('invalid_public_key', 'signing_public_key_hex is not a usable Ed25519 key');
  if (options.trustedPublicKeysHex && !options.trustedPublicKeysHex.map((k) => k.toLowerCase()).includes(keyHex)) {
    return fail('untrusted_key', 'signing_public_key_hex is not a published Signal key');
  }
  if (!verifyEd25519(key, digest, Buffer.from(signatureHex, 'hex'))) return fail('signature_invalid', 'signature_hex does not verify over the digest');
  return { ok: true, digestHex, publicKeyHex: keyHex };
}

// ---------------------------------------------------------------------------------------------
// The three artifact kinds. Field sets follow the Paybond Kit types; the extra fields (kind,
// ledger hashes, model_params_sha256_hex, key_id) bind each score to a verifiable ledger prefix,
// a parameter set and a published key.

export interface ReceiptPayload extends Record<string, unknown> {
  schema_version: 1;
  kind: typeof RECEIPT_KIND;
  receipt_version: string;
  tenant_id: string;
  operator_did: string;
  score_version: string;
  scoring_model: string;
  model_params_sha256_hex: string;
  scoring_narrative: string;
  explanation_summary: string;
  ledger_watermark_seq: number;
  ledger_watermark_hash: string;
  ledger_watermark_at: string;
  reason_codes: string[];
  confidence: SignalConfidence;
  support_depth: SignalSupportDepth;
  review_state?: string;
  explanation_delta?: SignalExplanationDelta;
  metrics: SignalMetrics;
  score: number;
  key_id: string;
}
export type SignedReceipt = Signed<ReceiptPayload>;

export function buildReceiptPayload(input: {
  tenantId: string;
  score: OperatorScore;
  params: SignalModelParams;
  /** Per operator and score version, 1 for the first receipt, +1 for each new snapshot. */
  receiptVersion: number;
  reviewState?: string;
  explanationDelta?: SignalExplanationDelta;
  keyId: string;
}): ReceiptPayload {
  const s = input.score;
  if (s.scoringModel !== input.params.scoring_model || s.scoreVersion !== input.params.score_version) {
    throw new SignalModelError('invalid_model_params', 'the score was computed with other parameters');
  }
  if (!Number.isSafeInteger(input.receiptVersion) || input.receiptVersion < 1) throw new SignalModelError('payload_not_integer', 'receipt_version must be a positive integer');
  return {
    schema_version: 1,
    kind: RECEIPT_KIND,
    receipt_version: String(input.receiptVersion),
    tenant_id: input.tenantId,
    operator_did: s.operatorDid,
    score_version: s.scoreVersion,
    scoring_model: s.scoringModel,
    model_params_sha256_hex: modelParamsSha256(input.params),
    scoring_narrative: SCORING_NARRATIVE,
    explanation_summary: s.explanationSummary,
    ledger_watermark_seq: s.watermark.seq,
    ledger_watermark_hash: s.watermark.hash,
    ledger_watermark_at: s.watermark.occurredAt,
    reason_codes: [...s.reasonCodes],
    confidence: { ...s.confidence },
    support_depth: { ...s.supportDepth },
    ...(input.reviewState !== undefined ? { review_state: input.reviewState } : {}),
    ...(input.explanationDelta !== undefined ? { explanation_delta: input.explanationDelta } : {}),
    metrics: { ...s.metrics },
    score: s.score,
    key_id: input.keyId,
  };
}

/** `GET /reputation/{did}` body: the envelope's `updated_at` is outside the signature. */
export const receiptEnvelope = (receipt: SignedReceipt, updatedAt: string) => ({ schema_version: 1 as const, updated_at: updatedAt, receipt });

export interface ExplanationPayload extends Record<string, unknown> {
  schema_version: 1;
  kind: typeof EXPLANATION_KIND;
  artifact_version: '1';
  tenant_id: string;
  operator_did: string;
  score_version: string;
  scoring_model: string;
  model_params_sha256_hex: string;
  score: number;
  previous_score: number;
  score_delta: number;
  ledger_watermark_seq: number;
  ledger_watermark_hash: string;
  previous_ledger_watermark_seq: number;
  receipt_message_digest_hex?: string;
  basis: string;
  attribution: AttributionPart[];
  changed_metrics: SignalExplanationMetricDelta[];
  reason_codes: string[];
  reason_codes_added: string[];
  reason_codes_removed: string[];
  confidence: SignalConfidence;
  explanation_delta: SignalExplanationDelta;
  summary: string;
  key_id: string;
}
export type SignedExplanation = Signed<ExplanationPayload>;

export function buildExplanationPayload(input: {
  tenantId: string;
  params: SignalModelParams;
  explanation: { current: OperatorScore; delta: SignalExplanationDelta; attribution: AttributionPart[] };
  /** Digest of the receipt issued at the same watermark, when there is one. */
  receiptMessageDigestHex?: string;
  keyId: string;
}): ExplanationPayload {
  const { current, delta, attribution } = input.explanation;
  return {
    schema_version: 1,
    kind: EXPLANATION_KIND,
    artifact_version: '1',
    tenant_id: input.tenantId,
    operator_did: current.operatorDid,
    score_version: current.scoreVersion,
    scoring_model: current.scoringModel,
    model_params_sha256_hex: modelParamsSha256(input.params),
    score: current.score,
    previous_score: delta.previous_score,
    score_delta: delta.score_delta,
    ledger_watermark_seq: current.watermark.seq,
    ledger_watermark_hash: current.watermark.hash,
    previous_ledger_watermark_seq: delta.previous_ledger_watermark_seq,
    ...(input.receiptMessageDigestHex ? { receipt_message_digest_hex: input.receiptMessageDigestHex } : {}),
    basis: delta.basis,
    attribution: attribution.map((p) => ({ ...p })),
    changed_metrics: delta.changed_metrics.map((m) => ({ ...m })),
    reason_codes: [...current.reasonCodes],
    reason_codes_added: [...delta.reason_codes_added],
    reason_codes_removed: [...delta.reason_codes_removed],
    confidence: { ...current.confidence },
    explanation_delta: delta,
    summary: delta.summary,
    key_id: input.keyId,
  };
}

export interface PortfolioOperator extends Record<string, unknown> {
  operator_did: string;
  receipt_version?: string;
  score: number;
  ledger_watermark_seq: number;
  receipt_message_digest_hex: string;
  confidence?: SignalConfidence;
  support_depth?: SignalSupportDepth;
  review_state?: string;
  explanation_delta?: SignalExplanationDelta;
}

export interface PortfolioPayload extends Record<string, unknown> {
  schema_version: 1;
  artifact_version: '1';
  kind: typeof PORTFOLIO_KIND;
  tenant_id: string;
  score_model_version: string;
  scoring_model: string;
  model_params_sha256_hex: string;
  checkpoint_last_ledger_seq: number;
  checkpoint_ledger_head_hash: string;
  operators: PortfolioOperator[];
  key_id: string;
}
export type SignedPortfolio = Signed<PortfolioPayload>;

/** One portfolio row per operator's current signed receipt; rows sorted by operator_did. */
export function buildPortfolioPayload(input: { tenantId: string; params: SignalModelParams; checkpoint: Watermark; receipts: readonly SignedReceipt[]; keyId: string }): PortfolioPayload {
  const operators = input.receipts
    .map((r): PortfolioOperator => {
      if (r.tenant_id !== input.tenantId) throw new SignalModelError('operator_mismatch', `receipt of ${r.operator_did} belongs to another tenant`);
      if (r.ledger_watermark_seq > input.checkpoint.seq) throw new SignalModelError('watermark_before_state', `receipt of ${r.operator_did} is after the checkpoint`);
      return {
        operator_did: r.operator_did,
        receipt_version: r.receipt_version,
        score: r.score,
        ledger_watermark_seq: r.ledger_watermark_seq,
        receipt_message_digest_hex: r.message_digest_hex,
        confidence: r.confidence,
        support_depth: r.support_depth,
        ...(r.review_state !== undefined ? { review_state: r.review_state } : {}),
        ...(r.explanation_delta !== undefined ? { explanation_delta: r.explanation_delta } : {}),
      };
    })
    .sort((a, b) => (a.operator_did < b.operator_did ? -1 : a.operator_did > b.operator_did ? 1 : 0));
  return {
    schema_version: 1,
    artifact_version: '1',
    kind: PORTFOLIO_KIND,
    tenant_id: input.tenantId,
    score_model_version: input.params.score_version,
    scoring_model: input.params.scoring_model,
    model_params_sha256_hex: modelParamsSha256(input.params),
    checkpoint_last_ledger_seq: input.checkpoint.seq,
    checkpoint_ledger_head_hash: input.checkpoint.hash,
    operators,
    key_id: input.keyId,
  };
}

export const signReceipt = (payload: ReceiptPayload, key: SignalSigningKey): SignedReceipt => signArtifact(payload, key);
export const signExplanation = (payload: ExplanationPayload, key: SignalSigningKey): SignedExplanation => signArtifact(payload, key);
export const signPortfolio = (payload: PortfolioPayload, key: SignalSigningKey): SignedPortfolio => signArtifact(payload, key);

export const verifyReceipt = (artifact: unknown, trustedPublicKeysHex?: readonly string[]) => verifyArtifact(artifact, { expectedKind: RECEIPT_KIND, trustedPublicKeysHex });
export const verifyExplanation = (artifact: unknown, trustedPublicKeysHex?: readonly string[]) => verifyArtifact(artifact, { expectedKind: EXPLANATION_KIND, trustedPublicKeysHex });
export const verifyPortfolio = (artifact: unknown, trustedPublicKeysHex?: readonly string[]) => verifyArtifact(artifact, { expectedKind: PORTFOLIO_KIND, trustedPublicKeysHex });

/**
 * Portfolio summary (`GET /signal/v1/portfolio/summary`), from the same current receipts.
 * average_score is an integer (rounded half up) like every other Signal number.
 */
export function portfolioSummary(input: { tenantId: string; params: SignalModelParams; checkpointSeq: number; receipts: readonly Pick<SignedReceipt, 'score' | 'metrics' | 'review_state'>[] }) {
  const n = input.receipts.length;
  const total = input.receipts.reduce((sum, r) => sum + r.score, 0);
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    score_model_version: input.params.score_version,
    scoring_model: input.params.scoring_model,
    checkpoint_last_ledger_seq: input.checkpointSeq,
    operator_count: n,
    average_score: n === 0 ? 0 : Math.floor((2 * total + n) / (2 * n)),
    total_terminal_intents: input.receipts.reduce((sum, r) => sum + r.metrics.terminal_intents, 0),
    total_receipted_volume_cents: input.receipts.reduce((sum, r) => sum + r.metrics.receipted_volume_cents, 0),
    operators_under_review: input.receipts.filter((r) => r.review_state === 'open' || r.review_state === 'in_review').length,
  };
}
