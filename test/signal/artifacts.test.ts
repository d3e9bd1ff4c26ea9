import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildExplanationPayload,
  buildPortfolioPayload,
  buildReceiptPayload,
  explainFromHistory,
  goHtmlEscape,
  modelParamsSha256,
  payloadOf,
  portfolioSummary,
  receiptEnvelope,
  replayOperator,
  signalPayloadBytes,
  signArtifact,
  signExplanation,
  signingPublicKeyHex,
  signPortfolio,
  signReceipt,
  SIGNAL_V1_PARAMS,
  verifyArtifact,
  verifyExplanation,
  verifyPortfolio,
  verifyReceipt,
  type ReceiptPayload,
  type SignalSigningKey,
} from '../../src/areas/signal/model/index.ts';
import { LedgerBuilder } from './ledger-builder.ts';

const KEY: SignalSigningKey = { keyId: 'signal-test-1', seed: Uint8Array.from({ length: 32 }, (_, i) => i + 1) };
const OTHER_KEY: SignalSigningKey = { keyId: 'signal-test-2', seed: new Uint8Array(32).fill(7) };

/**
 * Golden artifact. Expected bytes, digest, public key and signature were produced independently
 * with Python (json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), the five
 * Go HTML-safe replacements, hashlib.sha256, and the `cryptography` package's Ed25519 with seed
 * bytes 1..32), not by this code.
 */
const GOLDEN_PAYLOAD: ReceiptPayload = {
  schema_version: 1,
  kind: 'paybond.signal.reputation_receipt',
  receipt_version: '3',
  tenant_id: 'tenant-a',
  operator_did: 'did:example:alpha',
  score_version: '1.0',
  scoring_model: 'paybond.signal.v1',
  model_params_sha256_hex: '00'.repeat(32),
  scoring_narrative: 'Score <fixed> & stable \u2028 line\u2029 para — é',
  explanation_summary: 'score 811 from 10 terminal intents',
  ledger_watermark_seq: 77,
  ledger_watermark_hash: 'ab'.repeat(32),
  ledger_watermark_at: '2026-05-23T17:00:00.000Z',
  reason_codes: ['THIN_HISTORY'],
  confidence: { band: 'medium', support_score: 821, summary: 'medium confidence' },
  support_depth: { band: 'shallow', terminal_intents: 10, receipted_volume_cents: 99_990, history_depth: 0, latency_sample_count: 10 },
  review_state: 'none',
  metrics: {
    terminal_intents: 10,
    released: 10,
    refunded: 0,
    disputed: 0,
    success_rate_bps: 10_000,
    dispute_rate_bps: 0,
    refund_rate_bps: 0,
    mean_latency_nanos: 3_600_000_000_000,
    latency_sample_count: 10,
    receipted_volume_cents: 99_990,
  },
  score: 811,
  key_id: 'signal-test-1',
};
const GOLDEN_TEXT =
  '{"confidence":{"band":"medium","summary":"medium confidence","support_score":821},"explanation_summary":"score 811 from 10 terminal intents","key_id":"signal-test-1","kind":"paybond.signal.reputation_receipt","ledger_watermark_at":"2026-05-23T17:00:00.000Z","ledger_watermark_hash":"abababababababababababababababababababababababababababababababab","ledger_watermark_seq":77,"metrics":{"dispute_rate_bps":0,"disputed":0,"latency_sample_count":10,"mean_latency_nanos":3600000000000,"receipted_volume_cents":99990,"refund_rate_bps":0,"refunded":0,"released":10,"success_rate_bps":10000,"terminal_intents":10},"model_params_sha256_hex":"0000000000000000000000000000000000000000000000000000000000000000","operator_did":"did:example:alpha","reason_codes":["THIN_HISTORY"],"receipt_version":"3","review_state":"none","schema_version":1,"score":811,"score_version":"1.0","scoring_model":"paybond.signal.v1","scoring_narrative":"Score \\u003cfixed\\u003e \\u0026 stable \\u2028 line\\u2029 para — é","support_depth":{"band":"shallow","history_depth":0,"latency_sample_count":10,"receipted_volume_cents":99990,"terminal_intents":10},"tenant_id":"tenant-a"}';
const GOLDEN_DIGEST = '35ec2ec970f7d23679c39d4c85cde29cef9c8c8fc83fdbc44a58c4a86ae9e823';
const GOLDEN_PUBLIC_KEY = '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664';
const GOLDEN_SIGNATURE = '04ca6d352d453f06dd0d112752687729cd277591714a6e6467edf7c020e4326ed3160471d0534e00c7e33529c937cf76cb18970fb133118ef4f569b87e8f5e01';

describe('signed artifact byte layout (ed25519-sha256-json-v1)', () => {
  it('produces the golden bytes, digest and signature', () => {
    const bytes = signalPayloadBytes(GOLDEN_PAYLOAD);
    expect(new TextDecoder().decode(bytes)).toBe(GOLDEN_TEXT);
    expect(bytes.length).toBe(1145);
    const signed = signReceipt(GOLDEN_PAYLOAD, KEY);
    expect(signed.signing_algorithm).toBe('ed25519-sha256-json-v1');
    expect(signed.message_digest_hex).toBe(GOLDEN_DIGEST);
    expect(signed.signing_public_key_hex).toBe(GOLDEN_PUBLIC_KEY);
    expect(signed.signature_hex).toBe(GOLDEN_SIGNATURE);
    expect(signingPublicKeyHex(KEY)).toBe(GOLDEN_PUBLIC_KEY);
  });

  it('verifies the golden artifact offline, with and without a pinned key', () => {
    const artifact = { ...GOLDEN_PAYLOAD, signing_algorithm: 'ed25519-sha256-json-v1', message_digest_hex: GOLDEN_DIGEST, signing_public_key_hex: GOLDEN_PUBLIC_KEY, signature_hex: GOLDEN_SIGNATURE };
    expect(verifyReceipt(artifact)).toEqual({ ok: true, digestHex: GOLDEN_DIGEST, publicKeyHex: GOLDEN_PUBLIC_KEY });
    expect(verifyReceipt(artifact, [GOLDEN_PUBLIC_KEY.toUpperCase()]).ok).toBe(true);
    expect(verifyReceipt(artifact, [signingPublicKeyHex(OTHER_KEY)])).toMatchObject({ ok: false, code: 'untrusted_key' });
    // Key order and whitespace of the transport JSON do not matter; the bytes are recomputed.
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(artifact).reverse())));
    expect(verifyArtifact(reordered).ok).toBe(true);
  });

  it('fails after any one-byte change of the signed text', () => {
    const signed = signReceipt(GOLDEN_PAYLOAD, KEY);
    const text = JSON.stringify(signed);
    // Change one character inside a few different values of the transported JSON.
    for (const [from, to] of [
      ['"score":811', '"score":812'],
      ['"receipt_version":"3"', '"receipt_version":"4"'],
      ['did:example:alpha', 'did:example:alphb'],
      ['"history_depth":0', '"history_depth":1'],
    ] as const) {
      const tampered = JSON.parse(text.replace(from, to));
      expect(verifyReceipt(tampered)).toMatchObject({ ok: false, code: 'digest_mismatch' });
    }
    // A tampered value with a recomputed digest still fails on the signature.
    const forged = { ...signed, score: 999 };
    forged.message_digest_hex = createHash('sha256').update(signalPayloadBytes(payloadOf(forged))).digest('hex');
    expect(verifyReceipt(forged)).toMatchObject({ ok: false, code: 'signature_invalid' });
    // One flipped bit of the signature.
    const sig = Buffer.from(signed.signature_hex, 'hex');
    sig[5] = sig[5]! ^ 1;
    expect(verifyReceipt({ ...signed, signature_hex: sig.toString('hex') })).toMatchObject({ ok: false, code: 'signature_invalid' });
  });

  it('refuses malformed envelopes and wrong kinds', () => {
    const signed = signReceipt(GOLDEN_PAYLOAD, KEY);
    expect(verifyArtifact(null)).toMatchObject({ ok: false, code: 'malformed' });
    expect(verifyArtifact({ ...signed, signing_algorithm: 'ed25519' })).toMatchObject({ ok: false, code: 'unsupported_signing_algorithm' });
    expect(verifyArtifact({ ...signed, message_digest_hex: signed.message_digest_hex.toUpperCase() })).toMatchObject({ ok: false, code: 'malformed' });
    expect(verifyArtifact({ ...signed, signature_hex: 'ab' })).toMatchObject({ ok: false, code: 'malformed' });
    expect(verifyArtifact({ ...signed, signing_public_key_hex: '00'.repeat(32) })).toMatchObject({ ok: false, code: 'invalid_public_key' });
    expect(verifyExplanation(signed)).toMatchObject({ ok: false, code: 'kind_mismatch' });
    expect(verifyPortfolio(signed)).toMatchObject({ ok: false, code: 'kind_mismatch' });
    expect(verifyArtifact({ ...signed, score: 811.5 })).toMatchObject({ ok: false, code: 'payload_unencodable' });
  });

  it('signs integers only and refuses text Go and JCS would encode differently', () => {
    expect(() => signArtifact({ score: 0.5 }, KEY)).toThrow(expect.objectContaining({ code: 'payload_not_integer' }));
    expect(() => signArtifact({ n: 2 ** 53 }, KEY)).toThrow(expect.objectContaining({ code: 'payload_not_integer' }));
    expect(() => signArtifact({ s: 'tab\there' }, KEY)).toThrow(expect.objectContaining({ code: 'payload_unencodable' }));
    expect(() => signArtifact({ s: 'lone \ud800 surrogate' }, KEY)).toThrow(expect.objectContaining({ code: 'payload_unencodable' }));
    expect(() => signArtifact({ signature_hex: 'x' }, KEY)).toThrow(expect.objectContaining({ code: 'payload_unencodable' }));
    expect(() => signArtifact({ a: 1 }, { keyId: 'k', seed: new Uint8Array(31) })).toThrow(expect.objectContaining({ code: 'invalid_signing_key' }));
    expect(signArtifact({ emoji: '😀 ok' }, KEY).signature_hex).toMatch(/^[0-9a-f]{128}$/);
    expect(goHtmlEscape('a&b<c>d\u2028e\u2029')).toBe('a\\u0026b\\u003cc\\u003ed\\u2028e\\u2029');
  });
});

describe('receipt, explanation and portfolio artifacts from a ledger', () => {
  const b = new LedgerBuilder();
  for (let i = 0; i < 6; i++) b.happy(`a${i}`, 'did:example:alpha', 20_000);
  const previous = b.watermark();
  b.happy('b1', 'did:example:beta', 5_000).openDispute('a1');
  const events = b.bound();
  const wm = b.watermark();

  it('builds a receipt with the Kit field set plus ledger and parameter bindings', () => {
    const explanation = explainFromHistory(events, 'did:example:alpha', previous, wm);
    const score = replayOperator(events, 'did:example:alpha', wm).score;
    const receipt = signReceipt(buildReceiptPayload({ tenantId: 'tenant-a', score, params: SIGNAL_V1_PARAMS, receiptVersion: 2, reviewState: 'none', explanationDelta: explanation.delta, keyId: KEY.keyId }), KEY);
    for (const field of ['schema_version', 'receipt_version', 'tenant_id', 'operator_did', 'score_version', 'scoring_model', 'scoring_narrative', 'explanation_summary', 'ledger_watermark_seq', 'reason_codes', 'confidence', 'support_depth', 'review_state', 'explanation_delta', 'metrics', 'score', 'signing_algorithm', 'message_digest_hex', 'signing_public_key_hex', 'signature_hex']) {
      expect(receipt).toHaveProperty(field);
    }
    expect(receipt).toMatchObject({ receipt_version: '2', score_version: '1.0', scoring_model: 'paybond.signal.v1', ledger_watermark_seq: wm.seq, ledger_watermark_hash: wm.hash, model_params_sha256_hex: modelParamsSha256(SIGNAL_V1_PARAMS) });
    expect(verifyReceipt(receipt, [signingPublicKeyHex(KEY)]).ok).toBe(true);
    const envelope = receiptEnvelope(receipt, '2026-06-01T00:00:00Z');
    expect(envelope).toEqual({ schema_version: 1, updated_at: '2026-06-01T00:00:00Z', receipt });
    expect(() => buildReceiptPayload({ tenantId: 't', score, params: SIGNAL_V1_PARAMS, receiptVersion: 0, keyId: 'k' })).toThrow();
    expect(() => buildReceiptPayload({ tenantId: 't', score, params: { ...SIGNAL_V1_PARAMS, score_version: '2.0' }, receiptVersion: 1, keyId: 'k' })).toThrow(expect.objectContaining({ code: 'invalid_model_params' }));
  });

  it('signs the explanation with its exact attribution', () => {
    const explanation = explainFromHistory(events, 'did:example:alpha', previous, wm);
    const signed = signExplanation(buildExplanationPayload({ tenantId: 'tenant-a', params: SIGNAL_V1_PARAMS, explanation, keyId: KEY.keyId }), KEY);
    expect(signed.kind).toBe('paybond.signal.explanation');
    expect(signed.attribution.reduce((s, p) => s + p.score_delta, 0)).toBe(signed.score_delta);
    expect(verifyExplanation(signed).ok).toBe(true);
    expect(verifyExplanation({ ...signed, score_delta: signed.score_delta + 1 })).toMatchObject({ ok: false, code: 'digest_mismatch' });
  });

  it('binds the portfolio to each current receipt digest and to the ledger head', () => {
    const receipts = ['did:example:beta', 'did:example:alpha'].map((did, i) =>
      signReceipt(buildReceiptPayload({ tenantId: 'tenant-a', score: replayOperator(events, did, wm).score, params: SIGNAL_V1_PARAMS, receiptVersion: i + 1, keyId: KEY.keyId }), KEY),
    );
    const portfolio = signPortfolio(buildPortfolioPayload({ tenantId: 'tenant-a', params: SIGNAL_V1_PARAMS, checkpoint: wm, receipts, keyId: KEY.keyId }), KEY);
    expect(portfolio).toMatchObject({ kind: 'paybond.signal.portfolio_snapshot', artifact_version: '1', score_model_version: '1.0', checkpoint_last_ledger_seq: wm.seq, checkpoint_ledger_head_hash: wm.hash });
    expect(portfolio.operators.map((o) => o.operator_did)).toEqual(['did:example:alpha', 'did:example:beta']);
    expect(portfolio.operators[0]!.receipt_message_digest_hex).toBe(receipts[1]!.message_digest_hex);
    expect(verifyPortfolio(portfolio).ok).toBe(true);
    expect(() => buildPortfolioPayload({ tenantId: 'tenant-b', params: SIGNAL_V1_PARAMS, checkpoint: wm, receipts, keyId: 'k' })).toThrow(expect.objectContaining({ code: 'operator_mismatch' }));
    expect(() => buildPortfolioPayload({ tenantId: 'tenant-a', params: SIGNAL_V1_PARAMS, checkpoint: b.watermark(3), receipts, keyId: 'k' })).toThrow(expect.objectContaining({ code: 'watermark_before_state' }));
    const summary = portfolioSummary({ tenantId: 'tenant-a', params: SIGNAL_V1_PARAMS, checkpointSeq: wm.seq, receipts: receipts.map((r, i) => ({ ...r, review_state: i === 0 ? 'open' : 'none' })) });
    expect(summary).toMatchObject({ tenant_id: 'tenant-a', operator_count: 2, operators_under_review: 1, total_terminal_intents: receipts[0]!.metrics.terminal_intents + receipts[1]!.metrics.terminal_intents });
    expect(Number.isInteger(summary.average_score)).toBe(true);
  });
});
