import { describe, expect, it } from 'vitest';
import { explainChange, explainFromHistory, OperatorAccumulator, replayOperator, SCORING_EVENT_TYPES } from '../../src/areas/signal/model/index.ts';
import { DAY, LedgerBuilder } from './ledger-builder.ts';
import { randomHistory } from './random-history.ts';

const A = 'did:example:alpha';

describe('explanation: sequential attribution', () => {
  it('explains a first snapshot from the prior (basis initial)', () => {
    const b = new LedgerBuilder().happy('i1', A, 10_000).happy('i2', A, 10_000);
    const x = explainFromHistory(b.bound(), A, null, b.watermark());
    expect(x.delta.basis).toBe('initial');
    expect(x.delta.previous_score).toBe(100);
    expect(x.delta.previous_ledger_watermark_seq).toBe(0);
    expect(x.attribution[0]).toEqual({ cause: 'time_decay', from_ledger_watermark_seq: 0, to_ledger_watermark_seq: b.events.length, score_delta: 0 });
    expect(x.attribution.slice(1).map((p) => p.cause === 'ledger_event' && p.type)).toEqual(['settlement.settled', 'settlement.settled']);
    expect(x.attribution.slice(1).every((p) => p.cause === 'ledger_event' && p.alpha_delta_micros === 1_000_000 && p.beta_delta_micros === 0)).toBe(true);
    expect(x.attribution.reduce((s, p) => s + p.score_delta, 0)).toBe(x.current.score - 100);
    expect(x.delta.changed_metrics.find((m) => m.metric === 'terminal_intents')).toEqual({ metric: 'terminal_intents', previous: 0, current: 2, delta: 2 });
  });

  it('puts time decay first, then each event in seq order, summing exactly to score_delta', () => {
    const b = new LedgerBuilder();
    for (let i = 0; i < 12; i++) b.happy(`i${i}`, A, 50_000);
    const previous = b.watermark();
    b.advance(40 * DAY).openDispute('i3').advance(DAY).resolveDispute('i3', 'refund').happy('i20', A, 100);
    const x = explainFromHistory(b.bound(), A, previous, b.watermark());
    expect(x.delta.basis).toBe('previous_snapshot');
    expect(x.attribution[0]!.cause).toBe('time_decay');
    expect(x.attribution[0]!.score_delta).toBeLessThan(0);
    const seqs = x.attribution.slice(1).map((p) => (p.cause === 'ledger_event' ? p.seq : -1));
    expect(seqs).toEqual([...seqs].sort((p, q) => p - q));
    expect(x.attribution.slice(1).map((p) => p.cause === 'ledger_event' && p.type)).toEqual(['dispute.opened', 'dispute.resolved', 'settlement.settled']);
    const opened = x.attribution[1]!;
    expect(opened.cause === 'ledger_event' && opened.alpha_delta_micros).toBeLessThan(0);
    expect(x.attribution.reduce((s, p) => s + p.score_delta, 0)).toBe(x.delta.score_delta);
    expect(x.delta.score_delta).toBe(x.current.score - x.previous!.score);
    expect(x.delta.reason_codes_added).toEqual(['DISPUTE_RATE_GT_500BPS', 'DISPUTE_LOST_90D']);
    expect(x.delta.reason_codes_removed).toEqual([]);
    expect(x.delta.changed_metrics.map((m) => m.metric)).toContain('disputed');
    expect(x.delta.summary).toMatch(/^score \d+ → \d+ \([+-]?\d+\); time decay -\d+; 3 ledger events/);
  });

  it('lists reason codes that went away', () => {
    const b = new LedgerBuilder().create('i1', A).fund('i1').submitEvidence('i1', false);
    const previous = b.watermark();
    b.advance(8 * DAY).tick();
    const x = explainFromHistory(b.bound(), A, previous, b.watermark());
    expect(x.delta.reason_codes_removed).toEqual(['PREDICATE_FAILURES_7D']);
    expect(x.delta.score_delta).toBe(0);
  });

  it('does not modify the previous accumulator and refuses reversed watermarks', () => {
    const b = new LedgerBuilder().happy('i1', A);
    const previous = b.watermark();
    const acc = replayOperator(b.bound(), A, previous).accumulator;
    const state = JSON.stringify(acc.toState());
    b.happy('i2', A);
    explainChange(A, { accumulator: acc, watermark: previous }, b.bound(), b.watermark());
    expect(JSON.stringify(acc.toState())).toBe(state);
    expect(() => explainChange(A, { accumulator: acc, watermark: b.watermark() }, b.bound(), previous)).toThrow(expect.objectContaining({ code: 'watermark_before_state' }));
    expect(() => explainChange('did:example:other', { accumulator: acc, watermark: previous }, b.bound(), b.watermark())).toThrow(expect.objectContaining({ code: 'operator_mismatch' }));
  });

  it('sums exactly between every pair of consecutive snapshots of random histories', () => {
    for (let seed = 20; seed < 26; seed++) {
      const b = randomHistory(seed, 300);
      const events = b.bound();
      for (const did of ['did:example:a', 'did:example:b']) {
        let previous: { accumulator: OperatorAccumulator; watermark: ReturnType<LedgerBuilder['watermark']> } | null = null;
        for (const e of events) {
          if (e.operatorDid !== did || !SCORING_EVENT_TYPES.has(e.type)) continue;
          const wm = b.watermark(e.seq);
          const x = explainChange(did, previous, events, wm);
          expect(x.attribution.reduce((s, p) => s + p.score_delta, 0)).toBe(x.delta.score_delta);
          expect(x.current).toEqual(replayOperator(events, did, wm).score);
          previous = { accumulator: x.accumulator, watermark: wm };
        }
      }
    }
  });
});
