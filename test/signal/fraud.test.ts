import { describe, expect, it } from 'vitest';
import {
  assessFraud,
  detectFraudSignals,
  disputeBaselineFrom,
  replayOperator,
  scanFraudEpisodes,
  signalFamilyOf,
  type FraudSignal,
} from '../../src/areas/signal/model/index.ts';
import { DAY, HOUR, LedgerBuilder } from './ledger-builder.ts';
import { randomHistory } from './random-history.ts';

const A = 'did:example:alpha';
const B = 'did:example:beta';
const codes = (signals: readonly FraudSignal[]) => signals.map((s) => `${s.code}:${s.severity}`);
const detect = (b: LedgerBuilder, did = A, extra: Parameters<typeof detectFraudSignals>[3] = {}) => detectFraudSignals(b.bound(), did, b.now, extra);

describe('VELOCITY_SPIKE', () => {
  it('needs 10 intents in the hour; a brand-new operator bursting is critical', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 9; i++) b.advance(60_000).create(`v${i}`, A);
    expect(detect(b)).toEqual([]);
    b.advance(60_000).create('v9', A);
    const [signal] = detect(b);
    expect(signal).toMatchObject({ code: 'VELOCITY_SPIKE', severity: 'critical', window: '1h', evidence_count: 10, affects_score: false, signal_source: 'signal_model', evidence_binding_strength: 'operator_aggregate', category: 'velocity' });
    expect(signal!.intent_refs).toHaveLength(10);
    expect(signal!.first_seen_at < signal!.last_seen_at).toBe(true);
  });

  it('grades z against the trailing 7-day hourly mean', () => {
    const b = new LedgerBuilder();
    for (let h = 0; h < 168; h++) b.advance(HOUR).create(`base${h}`, A); // μ ≈ 1 per hour
    b.advance(HOUR - 1000);
    for (let i = 0; i < 10; i++) b.advance(10).create(`burst${i}`, A);
    // x = 10 (one base intent falls in the hour too → 11), μ ≈ 1: z ≈ (11 − 1)/√2 ≈ 7.1 → high.
    expect(codes(detect(b))).toEqual(['VELOCITY_SPIKE:high']);
  });

  it('expires when the hour passes', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 12; i++) b.advance(1000).create(`v${i}`, A);
    b.advance(HOUR).tick();
    expect(detect(b)).toEqual([]);
  });
});

describe('AMOUNT_ANOMALY', () => {
  it('flags a robust-z outlier against 20+ prior amounts', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 20; i++) b.advance(DAY).create(`p${i}`, A, 1_000 + (i % 3) * 100);
    b.advance(HOUR).create('odd', A, 1_150);
    expect(detect(b)).toEqual([]);
    b.advance(HOUR).create('big', A, 500_000);
    const [signal] = detect(b);
    expect(signal).toMatchObject({ code: 'AMOUNT_ANOMALY', severity: 'high', intent_refs: ['big'], evidence_binding_strength: 'intent_bound', window: '24h' });
    b.advance(DAY + 1).tick();
    expect(detect(b)).toEqual([]);
  });

  it('flags more than 10× the prior maximum with few samples (elevated)', () => {
    const b = new LedgerBuilder().create('p1', A, 1_000).create('p2', A, 1_200).create('p3', A, 900);
    b.create('ok', A, 12_000);
    expect(detect(b)).toEqual([]);
    b.create('jump', A, 12_001 * 10);
    expect(codes(detect(b))).toEqual(['AMOUNT_ANOMALY:elevated']);
  });
});

describe('REFUND_BURST', () => {
  it('needs 3 refunds in 24h at 3× the 30-day rate', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 3; i++) b.create(`r${i}`, A).fund(`r${i}`).submitEvidence(`r${i}`, false);
    const burst = () => detect(b).filter((s) => s.code === 'REFUND_BURST');
    b.refund('r0').advance(HOUR).refund('r1');
    expect(burst()).toEqual([]);
    b.advance(HOUR).refund('r2');
    expect(burst()[0]).toMatchObject({ code: 'REFUND_BURST', severity: 'high', evidence_count: 3, intent_refs: ['r0', 'r1', 'r2'] });
  });

  it('stays quiet for an operator that refunds steadily', () => {
    const b = new LedgerBuilder();
    for (let d = 0; d < 29; d++) {
      for (let k = 0; k < 2; k++) {
        const id = `s${d}-${k}`;
        b.advance(HOUR).create(id, A).fund(id).submitEvidence(id, false).refund(id);
      }
      b.advance(DAY - 2 * HOUR);
    }
    for (let k = 0; k < 3; k++) b.advance(HOUR).create(`t${k}`, A).fund(`t${k}`).submitEvidence(`t${k}`, false).refund(`t${k}`);
    // 3 in 24h vs 61 in 30 days: 3 · 30 < 3 · 61 → no burst.
    expect(detect(b).map((s) => s.code)).not.toContain('REFUND_BURST');
  });
});

describe('DISPUTE_CLUSTER', () => {
  const disputed = (b: LedgerBuilder, n: number, prefix = 'd') => {
    for (let i = 0; i < n; i++) b.advance(HOUR).happy(`${prefix}${i}`, A).openDispute(`${prefix}${i}`);
    return b;
  };

  it('is high at 3 disputes in 7 days and critical at 5 with a rate of at least 20%', () => {
    expect(detect(disputed(new LedgerBuilder(), 2), A, { baseline: disputeBaselineFrom(0, 0) })).toEqual([]);
    expect(codes(detect(disputed(new LedgerBuilder(), 3)))).toEqual(['DISPUTE_CLUSTER:high']);
    expect(codes(detect(disputed(new LedgerBuilder(), 5)))).toEqual(['DISPUTE_CLUSTER:critical']);
    const diluted = new LedgerBuilder();
    for (let i = 0; i < 30; i++) diluted.advance(HOUR).happy(`ok${i}`, A);
    expect(codes(detect(disputed(diluted, 5)))).toEqual(['DISPUTE_CLUSTER:high']);
  });

  it('fires on 2 disputes when the 7-day rate exceeds the tenant 99% bound', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 400; i++) b.happy(`other${i}`, B);
    b.advance(80 * DAY);
    disputed(b, 2);
    const signal = detect(b)[0]!;
    expect(signal).toMatchObject({ code: 'DISPUTE_CLUSTER', severity: 'high' });
    expect(signal.summary).toMatch(/tenant 99% bound \d+ bps/);
    // Without a baseline the count rule alone decides.
    expect(detectFraudSignals(b.bound(), A, b.now, { baseline: undefined, params: undefined }).length).toBe(1);
    // In a tenant where half the intents are disputed, 2 of 5 is unremarkable.
    const dense = new LedgerBuilder();
    for (let i = 0; i < 400; i++) dense.happy(`other${i}`, B).openDispute(`other${i}`).happy(`fine${i}`, B);
    for (let i = 0; i < 3; i++) dense.happy(`ok${i}`, A);
    disputed(dense, 2);
    expect(detect(dense)).toEqual([]);
    // A thin tenant baseline (under 50 outcomes) does not enable the rate rule.
    const thin = new LedgerBuilder();
    for (let i = 0; i < 40; i++) thin.happy(`other${i}`, B);
    expect(detect(disputed(thin, 2))).toEqual([]);
  });
});

describe('REPEATED_FAILED_PREDICATES and REPLAY_APPEAL_ABUSE', () => {
  it('flags 3 failing evidence submissions within 7 days', () => {
    const b = new LedgerBuilder().create('i1', A).fund('i1').submitEvidence('i1', false).advance(3 * DAY).submitEvidence('i1', false);
    expect(detect(b)).toEqual([]);
    b.advance(3 * DAY).submitEvidence('i1', false);
    expect(detect(b)[0]).toMatchObject({ code: 'REPEATED_FAILED_PREDICATES', severity: 'high', category: 'manipulation', window: '7d', evidence_count: 3, evidence_binding_strength: 'intent_bound', intent_refs: ['i1'] });
    b.advance(4 * DAY).tick();
    expect(detect(b)).toEqual([]);
  });

  it('flags more than 3 appeal/replay requests in 24 hours', () => {
    const b = new LedgerBuilder().happy('i1', A);
    const requests = [1, 2, 3].map((h) => ({ timeMs: b.now + h * HOUR }));
    expect(detectFraudSignals(b.bound(), A, b.now + 4 * HOUR, { requests })).toEqual([]);
    const four = [...requests, { timeMs: b.now + 4 * HOUR, intentId: 'i1' }];
    expect(detectFraudSignals(b.bound(), A, b.now + 4 * HOUR, { requests: four })[0]).toMatchObject({ code: 'REPLAY_APPEAL_ABUSE', severity: 'elevated', evidence_count: 4, evidence_binding_strength: 'operator_aggregate' });
    expect(detectFraudSignals(b.bound(), A, b.now + 25 * HOUR, { requests: four })).toEqual([]);
  });
});

describe('assessment and score neutrality', () => {
  it('summarises level, priority and severe counts', () => {
    expect(assessFraud([])).toEqual({ fraud_signal_version: '1.0.0', level: 'none', highest_severity: 'none', review_priority: 'normal', signal_count: 0, severe_signal_count: 0, summary: 'level=none' });
    const s = (code: string, severity: FraudSignal['severity']) => ({ code, severity }) as FraudSignal;
    expect(assessFraud([s('AMOUNT_ANOMALY', 'elevated')])).toMatchObject({ level: 'elevated', review_priority: 'elevated', severe_signal_count: 0 });
    expect(assessFraud([s('AMOUNT_ANOMALY', 'elevated'), s('REFUND_BURST', 'high')])).toMatchObject({ level: 'high', review_priority: 'high', signal_count: 2, severe_signal_count: 1 });
    expect(assessFraud([s('DISPUTE_CLUSTER', 'critical')])).toMatchObject({ level: 'critical', highest_severity: 'critical', review_priority: 'urgent' });
    expect(signalFamilyOf('PROVIDER_STRIPE_EARLY_FRAUD_WARNING')).toBe('PROVIDER');
  });

  it('never reads signals into the score', () => {
    const calm = new LedgerBuilder();
    const noisy = new LedgerBuilder();
    for (const b of [calm, noisy]) for (let i = 0; i < 5; i++) b.happy(`i${i}`, A);
    for (let i = 0; i < 12; i++) noisy.create(`burst${i}`, A);
    expect(detect(noisy).length).toBeGreaterThan(0);
    // The burst intents have no outcome: identical posterior, whatever the signals say.
    const a = replayOperator(calm.bound(), A, calm.watermark()).score;
    const z = replayOperator(noisy.bound(), A, noisy.watermark()).score;
    expect([z.score, z.alpha, z.beta]).toEqual([a.score, a.alpha, a.beta]);
  });
});

describe('episodes replayed over a tenant prefix', () => {
  it('match point-in-time detection at every event (no lookahead)', () => {
    for (const seed of [3, 4]) {
      const b = randomHistory(seed, 500, [A, B]);
      // Add a burst so that something fires.
      for (let i = 0; i < 12; i++) b.advance(1000).create(`burst${i}`, A);
      const events = b.bound();
      const episodes = scanFraudEpisodes(events);
      expect(episodes.length).toBeGreaterThan(0);
      for (const e of events) {
        if (!e.operatorDid || e.seq % 5 !== 0) continue;
        const now = detectFraudSignals(events.slice(0, e.seq), e.operatorDid, e.timeMs).map((s) => s.code).sort();
        const fromEpisodes = episodes.filter((ep) => ep.operatorDid === e.operatorDid && ep.openedSeq <= e.seq && ep.lastSeq >= e.seq).map((ep) => ep.code).sort();
        expect(fromEpisodes).toEqual(now);
      }
    }
  });

  it('opens a new episode when a code fires again after a pause', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 10; i++) b.create(`x${i}`, A);
    b.advance(2 * HOUR).create('quiet', A);
    for (let i = 0; i < 10; i++) b.create(`y${i}`, A);
    const episodes = scanFraudEpisodes(b.bound()).filter((e) => e.code === 'VELOCITY_SPIKE');
    expect(episodes).toHaveLength(2);
    expect(episodes[0]!.lastSeq).toBeLessThan(episodes[1]!.openedSeq);
  });
});
