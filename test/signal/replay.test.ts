import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignalScoreSnapshot } from '../../src/generated/prisma/client.ts';
import { buildExplanationPayload, buildReceiptPayload, signExplanation, signReceipt, verifyExplanation, verifyReceipt } from '../../src/areas/signal/model/artifacts.ts';
import { explainFromHistory } from '../../src/areas/signal/model/explain.ts';
import { bindHistory, type DisputeOutcome, type SignalEvent } from '../../src/areas/signal/model/history.ts';
import { SIGNAL_V1_PARAMS } from '../../src/areas/signal/model/params.ts';
import { OperatorAccumulator, SCORING_EVENT_TYPES, snapshotNeeded } from '../../src/areas/signal/model/score.ts';
import { signalKey } from '../../src/areas/signal/keys.ts';
import { disputeOpen, disputeResolve, get, runIntent, signalGateway } from './flows.ts';

/**
 * Scores are a pure function of the ledger: this test recomputes every stored snapshot from the
 * LedgerEvent rows (joined with the intent and evidence rows they name) and requires the same
 * score, reason codes, metrics, explanation and signed bytes the gateway stored incrementally.
 */
let env: Awaited<ReturnType<typeof signalGateway>>;
const A = 'did:example:alpha';
const B = 'did:web:beta.example:shop';
const C = 'did:example:gamma';
const DAY = 86_400;

beforeAll(async () => {
  env = await signalGateway();
  const { gw, actor, clock } = env;
  for (let i = 0; i < 3; i++) await runIntent(gw, actor, { payeeDid: A, amountCents: 1000 * (i + 1) });
  await runIntent(gw, actor, { payeeDid: A, pass: false });
  const flipped = await runIntent(gw, actor, { payeeDid: A, amountCents: 90_000 });
  await runIntent(gw, actor, { payeeDid: B, amountCents: 1 });
  await runIntent(gw, actor, { payeeDid: B, amountCents: 250_000 });
  clock.advance(10 * DAY);
  expect((await disputeOpen(gw, actor, flipped)).status).toBe(200);
  const disputedB = await runIntent(gw, actor, { payeeDid: B, until: 'evidence' });
  expect((await disputeOpen(gw, actor, disputedB)).status).toBe(200);
  for (let i = 0; i < 3; i++) await runIntent(gw, actor, { payeeDid: C, pass: false, amountCents: 700 });
  clock.advance(40 * DAY);
  expect((await disputeResolve(gw, actor, flipped, 'refund')).status).toBe(200);
  expect((await disputeResolve(gw, actor, disputedB, 'split')).status).toBe(200);
  for (let i = 0; i < 2; i++) await runIntent(gw, actor, { payeeDid: A });
  const late = await runIntent(gw, actor, { payeeDid: C });
  clock.advance(200 * DAY);
  expect((await disputeOpen(gw, actor, late)).status).toBe(200);
  expect((await disputeResolve(gw, actor, late, 'release')).status).toBe(200);
});
afterAll(() => env.gw.close());

async function replayFromLedger(): Promise<SignalEvent[]> {
  const db = env.gw.runtime.db;
  const tenantId = env.actor.tenantId;
  const events = await db.ledgerEvent.findMany({ where: { tenantId }, orderBy: { seq: 'asc' } });
  const intents = await db.harborIntent.findMany({ where: { tenantId } });
  const evidence = await db.intentEvidence.findMany({ where: { tenantId } });
  const intentIdOf = new Map(intents.map((i) => [i.id, i.intentId]));
  return bindHistory(
    events,
    intents.map((i) => ({ ...i, disputeOutcome: i.disputeOutcome as DisputeOutcome | null })),
    evidence.map((e) => ({ ...e, intentId: intentIdOf.get(e.intentRowId)!, createdAt: e.createdAt.toISOString() })),
  );
}

describe('scores replay from the ledger', () => {
  let bound: SignalEvent[];
  let snapshots: SignalScoreSnapshot[];
  beforeAll(async () => {
    bound = await replayFromLedger();
    snapshots = await env.gw.runtime.db.signalScoreSnapshot.findMany({ where: { tenantId: env.actor.tenantId }, orderBy: [{ operatorDid: 'asc' }, { receiptVersion: 'asc' }] });
  });

  it('a snapshot exists exactly where a replay says the score or reason codes changed', () => {
    for (const did of [A, B, C]) {
      const acc = new OperatorAccumulator(did);
      const expected: number[] = [];
      let last: { score: number; reasonCodes: string[] } | null = null;
      for (const e of bound) {
        if (e.operatorDid !== did) continue;
        acc.apply(e);
        if (!SCORING_EVENT_TYPES.has(e.type)) continue;
        const score = acc.scoreAt({ seq: e.seq, occurredAt: e.occurredAt, hash: e.hash });
        if (snapshotNeeded(last, score)) {
          expected.push(e.seq);
          last = score;
        }
      }
      expect(snapshots.filter((s) => s.operatorDid === did).map((s) => s.watermarkSeq), did).toEqual(expected);
      expect(expected.length).toBeGreaterThan(1);
    }
  });

  it('every stored receipt and explanation is byte-identical to one rebuilt from the ledger', () => {
    const key = signalKey(env.gw.runtime.keys.signalSigning);
    for (const snap of snapshots) {
      const watermark = bound.find((e) => e.seq === snap.watermarkSeq)!;
      expect(snap.watermarkHash).toBe(watermark.hash);
      const previous = snapshots.find((s) => s.operatorDid === snap.operatorDid && s.receiptVersion === snap.receiptVersion - 1);
      const prevEvent = previous ? bound.find((e) => e.seq === previous.watermarkSeq)! : null;
      const wm = (e: SignalEvent) => ({ seq: e.seq, occurredAt: e.occurredAt, hash: e.hash });
      const ex = explainFromHistory(bound, snap.operatorDid, prevEvent ? wm(prevEvent) : null, wm(watermark));
      expect({ score: ex.current.score, reasonCodes: ex.current.reasonCodes, metrics: ex.current.metrics }).toEqual({ score: snap.score, reasonCodes: snap.reasonCodes, metrics: snap.metrics });
      const receipt = signReceipt(
        buildReceiptPayload({ tenantId: snap.tenantId, score: ex.current, params: SIGNAL_V1_PARAMS, receiptVersion: snap.receiptVersion, explanationDelta: ex.delta, keyId: key.keyId }),
        key,
      );
      expect(snap.receipt).toEqual(receipt);
      const explanation = signExplanation(buildExplanationPayload({ tenantId: snap.tenantId, params: SIGNAL_V1_PARAMS, explanation: ex, receiptMessageDigestHex: receipt.message_digest_hex, keyId: key.keyId }), key);
      expect(snap.explanation).toEqual(explanation);
    }
  });

  it('the stored operator state equals a full replay bit for bit', async () => {
    const states = await env.gw.runtime.db.signalOperatorState.findMany({ where: { tenantId: env.actor.tenantId } });
    expect(states.map((s) => s.operatorDid).sort()).toEqual([A, C, B].sort());
    for (const row of states) {
      const acc = new OperatorAccumulator(row.operatorDid);
      for (const e of bound) if (e.operatorDid === row.operatorDid) acc.apply(e);
      expect((row.state as { acc: unknown }).acc).toEqual(acc.toState({ intentIds: [] }));
    }
  });

  it('served artifacts verify offline against the published key', async () => {
    const keys = await get(env.gw, env.org, '/signal/v1/keys');
    const trusted = keys.body.keys.map((k: { public_key_hex: string }) => k.public_key_hex);
    for (const did of [A, B, C]) {
      const receipt = await get(env.gw, env.org, `/reputation/${encodeURIComponent(did)}`);
      expect(verifyReceipt(receipt.body.receipt, trusted)).toMatchObject({ ok: true });
      const explanation = await get(env.gw, env.org, `/signal/v1/operators/${encodeURIComponent(did)}/explanation`);
      expect(verifyExplanation(explanation.body, trusted)).toMatchObject({ ok: true });
      expect(explanation.body.receipt_message_digest_hex).toBe(receipt.body.receipt.message_digest_hex);
      // The explanation's parts add up to the move it explains.
      const parts = explanation.body.attribution as Array<{ score_delta: number }>;
      expect(parts.reduce((sum, p) => sum + p.score_delta, 0)).toBe(explanation.body.score_delta);
    }
  });
});
