import { describe, expect, it } from 'vitest';
import { amountBand, averageRanks, cohortCells, dominant, fairnessReport, scoreBand, shadowReadiness, spearmanRho, type OperatorCohortRow, type ShadowPair } from '../../src/areas/signal/model/index.ts';

const NOW = Date.UTC(2026, 4, 23);
const DAY = 86_400_000;

function row(i: number, overrides: Partial<OperatorCohortRow> = {}): OperatorCohortRow {
  return {
    operatorDid: `did:example:op${i}`,
    firstSeenMs: NOW - (i % 2 ? 10 : 100) * DAY,
    rails: ['x402'],
    currencies: ['usd'],
    amountsCents: [5_000],
    score: 500 + i,
    flagged: i % 4 === 0,
    held: i % 8 === 0,
    labeledCount: i % 4 === 0 ? 1 : 0,
    falsePositiveCount: i % 8 === 0 ? 1 : 0,
    scoreVersion: '1.0',
    ...overrides,
  };
}

describe('fairness cohorts', () => {
  it('reports rates per known cohort and suppresses cells under 10 operators', () => {
    const rows = [...Array.from({ length: 24 }, (_, i) => row(i)), ...Array.from({ length: 3 }, (_, i) => row(100 + i, { rails: ['stripe_connect'], currencies: ['eur'] }))];
    const cells = cohortCells(rows, NOW);
    const rail = cells.filter((c) => c.dimension === 'settlement_rail');
    expect(rail).toEqual([
      { dimension: 'settlement_rail', cohort: 'stripe_connect', operator_count: 3, suppressed: true },
      { dimension: 'settlement_rail', cohort: 'x402', operator_count: 24, suppressed: false, flag_rate_bps: 2500, false_positive_rate_bps: 5000, hold_rate_bps: 1250, mean_score: 512 },
    ]);
    const age = cells.filter((c) => c.dimension === 'history_age').map((c) => [c.cohort, c.operator_count]);
    expect(age).toEqual([
      ['gte_30d', 12 + 2],
      ['lt_30d', 12 + 1],
    ]);
    expect(cells.some((c) => c.suppressed && c.flag_rate_bps !== undefined)).toBe(false);
  });

  it('states what it cannot claim, the inputs and the assignment slice', () => {
    const rows = [...Array.from({ length: 12 }, (_, i) => row(i)), row(50, { scoreVersion: '1.1-shadow' })];
    const report = fairnessReport({ tenantId: 'tenant-a', primaryVersion: '1.0', shadowVersions: ['1.1-shadow'], rows, nowMs: NOW });
    expect(report).toMatchObject({ protected_attributes_available: false, demographic_parity_claimed: false, fraud_signals_affect_score: false, assignment_slice: { primary_version: '1.0', shadow_versions: ['1.1-shadow'], operators_per_version: { '1.0': 12, '1.1-shadow': 1 } } });
    expect(report.score_inputs.length).toBeGreaterThan(0);
    expect(report.cohorts.find((c) => c.dimension === 'currency')).toMatchObject({ cohort: 'usd', operator_count: 12, suppressed: false });
  });

  it('picks dominant values and amount bands deterministically', () => {
    expect(dominant(['b', 'a', 'b', 'a'])).toBe('a');
    expect(dominant([])).toBe('unknown');
    expect(amountBand([500, 5_000, 30_000])).toBe('10_to_100');
    expect(amountBand([999])).toBe('lt_10');
    expect(amountBand([100_000])).toBe('gte_1000');
  });
});

describe('shadow readiness statistics', () => {
  // Reference values from scipy.stats.spearmanr (Debian python3-scipy), computed outside the repo.
  it('computes Spearman ρ with average ranks for ties', () => {
    expect(averageRanks([10, 20, 20, 30])).toEqual([1, 2.5, 2.5, 4]);
    expect(spearmanRho([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 14);
    expect(spearmanRho([10, 20, 20, 30, 40, 50], [1, 3, 2, 2, 5, 4])).toBeCloseTo(0.8088235294117647, 14);
    expect(spearmanRho([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
    expect(spearmanRho([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(spearmanRho([1], [1])).toBeNull();
    expect(() => spearmanRho([1, 2], [1])).toThrow(RangeError);
  });

  it('is ready only with ≥50 operators, ≥14 days of shadow and ρ ≥ 0.8', () => {
    const pairs: ShadowPair[] = Array.from({ length: 60 }, (_, i) => ({ operatorDid: `op${i}`, primaryScore: 300 + i * 10, shadowScore: 300 + i * 10 + (i % 3 === 0 ? 30 : -10), primaryWouldHold: i === 1, shadowWouldHold: i === 2 }));
    const ready = shadowReadiness({ tenantId: 't', primaryVersion: '1.0', shadowVersion: '1.1', primaryOperatorCount: 80, pairs, shadowStartedMs: NOW - 15 * DAY, nowMs: NOW });
    expect(ready).toMatchObject({ ready: true, reasons: [], operator_count: 60, coverage_bps: 7500, shadow_days: 15, would_hold_added: 1, would_hold_removed: 1, max_abs_score_delta: 30 });
    expect(ready.spearman_rho_milli).toBeGreaterThanOrEqual(990);
    expect(ready.mean_abs_score_delta).toBeCloseTo((20 * 30 + 40 * 10) / 60, 12);
    expect(ready.band_changes).toBe(Object.values(ready.band_transitions).reduce((a, b) => a + b, 0));
    expect(ready.band_changes).toBeGreaterThan(0);

    const early = shadowReadiness({ tenantId: 't', primaryVersion: '1.0', shadowVersion: '1.1', primaryOperatorCount: 80, pairs: pairs.slice(0, 10), shadowStartedMs: NOW - 3 * DAY, nowMs: NOW });
    expect(early.ready).toBe(false);
    expect(early.reasons).toEqual(['operators_below_minimum:10<50', 'shadow_days_below_minimum:3<14']);
    const shuffled = pairs.map((p, i) => ({ ...p, shadowScore: ((i * 37) % 60) * 10 }));
    const weak = shadowReadiness({ tenantId: 't', primaryVersion: '1.0', shadowVersion: '1.1', primaryOperatorCount: 60, pairs: shuffled, shadowStartedMs: NOW - 20 * DAY, nowMs: NOW });
    expect(weak.ready).toBe(false);
    expect(weak.reasons[0]).toMatch(/^spearman_rho_below_minimum:/);
    expect(scoreBand(399)).toBe('weak');
    expect(scoreBand(850)).toBe('strong');
  });
});
