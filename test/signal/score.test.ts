import { describe, expect, it } from 'vitest';
import {
  betaQuantile,
  OperatorAccumulator,
  modelParamsSha256,
  replayOperator,
  scoreFromPosterior,
  SIGNAL_V1_PARAMS,
  snapshotNeeded,
  termUnits,
  validateModelParams,
  SignalModelError,
  SCORING_EVENT_TYPES,
  type AccumulatorState,
  type SignalEvent,
  type Watermark,
} from '../../src/areas/signal/model/index.ts';
import { DAY, HOUR, LedgerBuilder, T0 } from './ledger-builder.ts';
import { randomHistory } from './random-history.ts';

const P = SIGNAL_V1_PARAMS;
const A = 'did:example:alpha';
const B = 'did:example:beta';

describe('Beta quantile and golden scores', () => {
  it('maps the documented posteriors to the documented scores', () => {
    const golden: Array<[number, number, number]> = [
      [1, 1, 100],
      [11, 1, 811],
      [41, 3, 881],
      [101, 5, 925],
      [81, 21, 742],
    ];
    for (const [a, b, score] of golden) expect(scoreFromPosterior(P, a, b)).toBe(score);
  });

  // Cross-checked against SciPy 1.x `scipy.stats.beta.ppf` (Debian python3-scipy), outside the repo:
  // round(1000·ppf(0.1, a, b)) and ppf(0.9) − ppf(0.1).
  it('agrees with SciPy on further posteriors, including fractional ones', () => {
    const scipy: Array<[number, number, number, number]> = [
      [1.075, 1, 117, 0.7892131766060284],
      [2.5, 7.3, 96, 0.34354754108937535],
      [3, 1, 464, 0.5013305012443519],
      [6, 2, 547, 0.3737414971976585],
      [1, 2, 51, 0.6324555320336759],
      [21, 3, 785, 0.166287577415845],
      [1.5, 1.5, 156, 0.6870488261325407],
      [501, 26, 938, 0.02405426915124864],
    ];
    for (const [a, b, score, width] of scipy) {
      expect(scoreFromPosterior(P, a, b)).toBe(score);
      expect(betaQuantile(0.9, a, b) - betaQuantile(0.1, a, b)).toBeCloseTo(width, 12);
    }
  });

  it('refuses parameters outside the domain', () => {
    expect(() => betaQuantile(0.1, 0, 1)).toThrow(RangeError);
    expect(() => betaQuantile(1.5, 1, 1)).toThrow(RangeError);
    expect(() => betaQuantile(0.1, Number.NaN, 1)).toThrow(RangeError);
  });
});

describe('model parameters', () => {
  it('are integers only and hash stably', () => {
    expect(validateModelParams(P)).toBe(P);
    expect(modelParamsSha256(P)).toMatch(/^[0-9a-f]{64}$/);
    expect(modelParamsSha256({ ...P, half_life_seconds: P.half_life_seconds + 1 })).not.toBe(modelParamsSha256(P));
  });

  it('refuses floats and impossible values', () => {
    expect(() => validateModelParams({ ...P, half_life_seconds: 1.5 })).toThrow(SignalModelError);
    expect(() => validateModelParams({ ...P, lower_quantile_bps: 9500 })).toThrow(/quantiles/);
    expect(() => validateModelParams({ ...P, prior_alpha: 0 })).toThrow(/priors/);
  });
});

describe('scoring a ledger prefix', () => {
  it('scores an operator without history at the prior (100) with THIN_HISTORY', () => {
    const b = new LedgerBuilder().create('i1', A).fund('i1');
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.score).toBe(100);
    expect(score.alpha).toBe(1);
    expect(score.beta).toBe(1);
    expect(score.confidence.band).toBe('insufficient');
    expect(score.confidence.support_score).toBe(200);
    expect(score.reasonCodes).toEqual(['THIN_HISTORY']);
    expect(score.supportDepth.band).toBe('none');
  });

  it('gives full weight to intents of 9999 cents or more settled at the watermark: Beta(11,1) → 811', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 10; i++) b.happy(`i${i}`, A, 9_999);
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.alpha).toBeCloseTo(11, 12);
    expect(score.beta).toBe(1);
    expect(score.score).toBe(811);
    expect(score.nEff).toBeCloseTo(10, 12);
    expect(score.confidence.band).toBe('medium');
  });

  it('weighs a 1-cent intent 0.075 (micro-intent farming earns little)', () => {
    const b = new LedgerBuilder().happy('i1', A, 1);
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.alpha).toBeCloseTo(1 + Math.log10(2) / 4, 14);
    expect(score.alpha - 1).toBeCloseTo(0.075, 3);
    expect(score.score).toBe(scoreFromPosterior(P, 1 + Math.log10(2) / 4, 1));
  });

  it('halves a weight every 90 days, with T taken from the watermark event, never the clock', () => {
    const b = new LedgerBuilder().happy('i1', A, 10_000);
    b.advance(90 * DAY).tick();
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.alpha).toBeCloseTo(1.5, 12);
    // The same prefix replays to the same numbers whenever it is evaluated.
    const again = replayOperator(b.bound(), A, b.watermark()).score;
    expect(again).toEqual(score);
    expect(score.reasonCodes).toContain('NO_ACTIVITY_30D');
  });

  it('takes a settled outcome back exactly when a dispute opens, and applies the resolution', () => {
    const b = new LedgerBuilder().happy('i1', A, 10_000).advance(DAY).happy('i2', A, 10_000);
    const before = replayOperator(b.bound(), A, b.watermark()).accumulator.sums();
    b.advance(2 * DAY).openDispute('i1');
    const opened = replayOperator(b.bound(), A, b.watermark());
    // Only i2 remains, bit for bit.
    expect(opened.accumulator.sums().s2).toBe(termUnits(P, 10_000, T0 + DAY) * 2n);
    expect(opened.accumulator.sums().s2).toBeLessThan(before.s2);
    expect(opened.score.metrics.disputed).toBe(1);
    expect(opened.score.metrics.terminal_intents).toBe(1);
    expect(opened.score.metrics.dispute_rate_bps).toBe(5000);
    b.advance(DAY).resolveDispute('i1', 'refund');
    const resolved = replayOperator(b.bound(), A, b.watermark());
    expect(resolved.accumulator.sums().f2).toBe(termUnits(P, 10_000, b.now) * 4n);
    expect(resolved.score.beta).toBeCloseTo(3, 12);
    expect(resolved.score.metrics.refunded).toBe(1);
    expect(resolved.score.reasonCodes).toContain('DISPUTE_LOST_90D');
  });

  it('counts a split as half a success and half a failure', () => {
    const b = new LedgerBuilder().happy('i1', A, 10_000).openDispute('i1').resolveDispute('i1', 'split');
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.alpha).toBeCloseTo(1.5, 12);
    expect(score.beta).toBeCloseTo(1.5, 12);
    expect(score.metrics.terminal_intents).toBe(1);
    expect(score.metrics.released).toBe(0);
    expect(score.metrics.refunded).toBe(0);
  });

  it('excludes voided, unfinished and still-disputed intents from the posterior', () => {
    const b = new LedgerBuilder().create('i1', A).create('i2', A).fund('i2').submitEvidence('i2', true).create('i3', A).fund('i3').openDispute('i3');
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.alpha).toBe(1);
    expect(score.beta).toBe(1);
    expect(score.metrics.terminal_intents).toBe(0);
    expect(score.metrics.disputed).toBe(1);
    expect(score.metrics.dispute_rate_bps).toBe(10_000);
  });

  it('reports raw metrics: counts, integer rates in bps, latency in nanoseconds, volume', () => {
    const b = new LedgerBuilder();
    b.create('i1', A, 1_000).fund('i1').submitEvidence('i1', true).advance(2 * HOUR).settle('i1');
    b.create('i2', A, 3_000).fund('i2').submitEvidence('i2', true).advance(4 * HOUR).settle('i2');
    b.create('i3', A, 5_000).fund('i3').submitEvidence('i3', false).refund('i3');
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.metrics).toEqual({
      terminal_intents: 3,
      released: 2,
      refunded: 1,
      disputed: 0,
      success_rate_bps: 6667,
      dispute_rate_bps: 0,
      refund_rate_bps: 3333,
      mean_latency_nanos: 3 * 3_600_000_000_000,
      latency_sample_count: 2,
      receipted_volume_cents: 9_000,
    });
    expect(score.reasonCodes).toEqual(['THIN_HISTORY', 'REFUND_RATE_GT_2000BPS', 'PREDICATE_FAILURES_7D']);
  });

  it('caps the mean latency at the largest exact integer', () => {
    const b = new LedgerBuilder().create('i1', A).fund('i1').submitEvidence('i1', true).advance(200 * DAY).settle('i1');
    expect(replayOperator(b.bound(), A, b.watermark()).score.metrics.mean_latency_nanos).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('applies each reason rule at its boundary', () => {
    const b = new LedgerBuilder().create('i1', A).fund('i1').submitEvidence('i1', false);
    b.advance(7 * DAY).tick();
    expect(replayOperator(b.bound(), A, b.watermark()).score.reasonCodes).toContain('PREDICATE_FAILURES_7D');
    b.advance(1).tick();
    expect(replayOperator(b.bound(), A, b.watermark()).score.reasonCodes).not.toContain('PREDICATE_FAILURES_7D');
    b.advance(23 * DAY - 1).tick();
    expect(replayOperator(b.bound(), A, b.watermark()).score.reasonCodes).not.toContain('NO_ACTIVITY_30D');
    b.advance(1).tick();
    expect(replayOperator(b.bound(), A, b.watermark()).score.reasonCodes).toContain('NO_ACTIVITY_30D');
  });

  it('drops THIN_HISTORY at an effective sample of 5 and reaches high confidence with depth', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 5; i++) b.happy(`i${i}`, A, 1_000_000);
    expect(replayOperator(b.bound(), A, b.watermark()).score.reasonCodes).not.toContain('THIN_HISTORY');
    for (let i = 5; i < 60; i++) b.advance(2 * DAY).happy(`i${i}`, A, 1_000_000);
    const { score } = replayOperator(b.bound(), A, b.watermark());
    expect(score.confidence.band).toBe('high');
    expect(score.supportDepth).toMatchObject({ band: 'deep', terminal_intents: 60, history_depth: 110 });
  });

  it('keeps operators apart and refuses misuse', () => {
    const b = new LedgerBuilder().happy('i1', A).happy('i2', B);
    const events = b.bound();
    expect(replayOperator(events, A, b.watermark()).score.metrics.terminal_intents).toBe(1);
    const acc = new OperatorAccumulator(A);
    expect(() => acc.apply(events.find((e) => e.operatorDid === B)!)).toThrow(expect.objectContaining({ code: 'operator_mismatch' }));
    const mine = events.filter((e) => e.operatorDid === A);
    acc.apply(mine[1]!);
    expect(() => acc.apply(mine[0]!)).toThrow(expect.objectContaining({ code: 'events_out_of_order' }));
    expect(() => acc.scoreAt({ ...b.watermark(1) })).toThrow(expect.objectContaining({ code: 'watermark_before_state' }));
  });

  it('writes a snapshot only when the score or the reason codes change', () => {
    const b = new LedgerBuilder().happy('i1', A);
    const first = replayOperator(b.bound(), A, b.watermark()).score;
    expect(snapshotNeeded(null, first)).toBe(true);
    expect(snapshotNeeded({ score: first.score, reasonCodes: first.reasonCodes }, first)).toBe(false);
    expect(snapshotNeeded({ score: first.score, reasonCodes: [] }, first)).toBe(true);
    expect(snapshotNeeded({ score: first.score + 1, reasonCodes: first.reasonCodes }, first)).toBe(true);
  });
});

/** Independent reference: final outcome per intent, weights in plain floating point. */
function reference(events: readonly SignalEvent[], did: string, wm: Watermark) {
  const T = Date.parse(wm.occurredAt);
  const final = new Map<string, { t: number; s: number; f: number; amount: number }>();
  for (const e of events) {
    if (e.seq > wm.seq || e.operatorDid !== did || !e.intentId) continue;
    const amount = e.amountCents ?? 0;
    if (e.type === 'settlement.settled') final.set(e.intentId, { t: e.timeMs, s: 1, f: 0, amount });
    if (e.type === 'settlement.refunded') final.set(e.intentId, { t: e.timeMs, s: 0, f: 1, amount });
    if (e.type === 'dispute.opened') final.delete(e.intentId);
    if (e.type === 'dispute.resolved') {
      const [s, f] = e.disputeOutcome === 'release' ? [1, 0] : e.disputeOutcome === 'refund' ? [0, 2] : [0.5, 0.5];
      final.set(e.intentId, { t: e.timeMs, s, f, amount });
    }
  }
  let alpha = 1;
  let beta = 1;
  let s2 = 0n;
  let f2 = 0n;
  for (const o of final.values()) {
    const w = Math.min(1, Math.log10(1 + o.amount) / 4) * 2 ** (-(T - o.t) / (90 * DAY));
    alpha += w * o.s;
    beta += w * o.f;
    const units = termUnits(P, o.amount, o.t);
    s2 += units * BigInt(o.s * 2);
    f2 += units * BigInt(o.f * 2);
  }
  return { alpha, beta, s2, f2 };
}

describe('incremental updates equal a full replay', () => {
  it('on random histories with late flips, at every terminal event and through O(1) persistence', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const b = randomHistory(seed);
      const events = b.bound();
      const operators = ['did:example:a', 'did:example:b', 'did:example:c'];
      const live = new Map(operators.map((o) => [o, new OperatorAccumulator(o)]));
      // A stand-in for the tables: one aggregate row per operator plus one row per intent track.
      const aggregates = new Map(operators.map((o) => [o, new OperatorAccumulator(o).toState({ intentIds: [] })]));
      const tracks = new Map<string, AccumulatorState['intents'][string]>();
      let checks = 0;
      for (const e of events) {
        if (e.operatorDid) {
          live.get(e.operatorDid)!.apply(e);
          // Load the aggregate and only this event's intent track, fold, store both back.
          const row = aggregates.get(e.operatorDid)!;
          const track = e.intentId ? tracks.get(e.intentId) : undefined;
          const acc = OperatorAccumulator.fromState(JSON.parse(JSON.stringify({ ...row, intents: track && e.intentId ? { [e.intentId]: track } : {} })));
          acc.apply(e);
          const state = acc.toState();
          if (e.intentId && state.intents[e.intentId]) tracks.set(e.intentId, state.intents[e.intentId]!);
          aggregates.set(e.operatorDid, { ...state, intents: {} });
        }
        if (!SCORING_EVENT_TYPES.has(e.type) && e.seq !== events.length) continue;
        const wm = { seq: e.seq, occurredAt: e.occurredAt, hash: e.hash };
        for (const did of operators) {
          const incremental = live.get(did)!.scoreAt(wm);
          const full = replayOperator(events, did, wm).score;
          expect(incremental).toEqual(full);
          expect(OperatorAccumulator.fromState(aggregates.get(did)!).scoreAt(wm)).toEqual(full);
          const ref = reference(events, did, wm);
          // Exact: the fixed-point sums equal those of the final outcomes alone.
          expect(live.get(did)!.sums().s2).toBe(ref.s2);
          expect(live.get(did)!.sums().f2).toBe(ref.f2);
          expect(Math.abs(incremental.alpha - ref.alpha)).toBeLessThan(1e-9 * ref.alpha);
          expect(Math.abs(incremental.beta - ref.beta)).toBeLessThan(1e-9 * ref.beta);
          const q = 1000 * betaQuantile(0.1, ref.alpha, ref.beta);
          if (Math.abs(q - Math.floor(q) - 0.5) > 1e-6) expect(incremental.score).toBe(Math.round(q));
          checks += 1;
        }
      }
      expect(checks).toBeGreaterThan(50);
    }
  });
});
