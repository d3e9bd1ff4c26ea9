import { bps } from './score.ts';

/**
 * Fairness posture and shadow readiness. No protected attributes are stored, so nothing here can
 * claim demographic parity; what can be shown honestly is how the outputs differ across the
 * cohorts the gateway does know (history age, rail, currency, amount band), with small cells
 * suppressed so a cell cannot single out an operator.
 */

export interface OperatorCohortRow {
  operatorDid: string;
  /** Time of the operator's first ledger event. */
  firstSeenMs: number;
  /** Rails, currencies and amounts of the operator's intents (the dominant one is used). */
  rails: readonly string[];
  currencies: readonly string[];
  amountsCents: readonly number[];
  score: number;
  flagged: boolean;
  held: boolean;
  /** Review labels of this operator: confirmed_risk + false_positive, and false_positive alone. */
  labeledCount: number;
  falsePositiveCount: number;
  /** Model version that produced `score` (the assignment slice). */
  scoreVersion: string;
}

export interface CohortCell {
  dimension: string;
  cohort: string;
  operator_count: number;
  suppressed: boolean;
  flag_rate_bps?: number;
  false_positive_rate_bps?: number;
  hold_rate_bps?: number;
  mean_score?: number;
}

export const MIN_COHORT_SIZE = 10;
const NEW_OPERATOR_MS = 30 * 86_400_000;

/** Most frequent value; ties go to the lexicographically smallest. */
export function dominant(values: readonly string[]): string {
  if (!values.length) return 'unknown';
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))[0]![0];
}

/** Band of the operator's median intent amount. */
export function amountBand(amountsCents: readonly number[]): string {
  if (!amountsCents.length) return 'unknown';
  const s = [...amountsCents].sort((a, b) => a - b);
  const median = s[Math.floor((s.length - 1) / 2)]!;
  return median < 1_000 ? 'lt_10' : median < 10_000 ? '10_to_100' : median < 100_000 ? '100_to_1000' : 'gte_1000';
}

const mean = (values: readonly number[]) => (values.length ? Math.floor((2 * values.reduce((a, b) => a + b, 0) + values.length) / (2 * values.length)) : 0);

export function cohortCells(rows: readonly OperatorCohortRow[], nowMs: number, minSize = MIN_COHORT_SIZE): CohortCell[] {
  const dims: Array<[string, (r: OperatorCohortRow) => string]> = [
    ['history_age', (r) => (nowMs - r.firstSeenMs < NEW_OPERATOR_MS ? 'lt_30d' : 'gte_30d')],
    ['settlement_rail', (r) => dominant(r.rails)],
    ['currency', (r) => dominant(r.currencies)],
    ['amount_band', (r) => amountBand(r.amountsCents)],
  ];
  const cells: CohortCell[] = [];
  for (const [dimension, key] of dims) {
    const groups = new Map<string, OperatorCohortRow[]>();
    for (const r of rows) {
      const k = key(r);
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    for (const [cohort, members] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (members.length < minSize) {
        cells.push({ dimension, cohort, operator_count: members.length, suppressed: true });
        continue;
      }
      const labeled = members.reduce((n, m) => n + m.labeledCount, 0);
      cells.push({
        dimension,
        cohort,
        operator_count: members.length,
        suppressed: false,
        flag_rate_bps: bps(members.filter((m) => m.flagged).length, members.length),
        false_positive_rate_bps: bps(members.reduce((n, m) => n + m.falsePositiveCount, 0), labeled),
        hold_rate_bps: bps(members.filter((m) => m.held).length, members.length),
        mean_score: mean(members.map((m) => m.score)),
      });
    }
  }
  return cells;
}

/** The inputs the score reads (and nothing else): stated in the fairness document. */
export const SCORE_INPUTS: readonly string[] = [
  'ledger event types, seqs and timestamps of the operator\'s Harbor intents',
  'intent amount (amount factor) from the intent.created ledger event',
  'settlement outcome (settled / refunded) from the ledger',
  'dispute opened / resolved from the ledger, and the dispute outcome',
  'evidence predicate results (reason codes only, not the score)',
];

/** `GET /signal/v1/fairness` body. */
export function fairnessReport(input: { tenantId: string; primaryVersion: string; shadowVersions: readonly string[]; rows: readonly OperatorCohortRow[]; nowMs: number; minCohortSize?: number }) {
  const slice = new Map<string, number>();
  for (const r of input.rows) slice.set(r.scoreVersion, (slice.get(r.scoreVersion) ?? 0) + 1);
  const primaryRows = input.rows.filter((r) => r.scoreVersion === input.primaryVersion);
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    score_model_version: input.primaryVersion,
    generated_at: new Date(input.nowMs).toISOString(),
    protected_attributes_available: false,
    demographic_parity_claimed: false,
    statement:
      'No protected attributes are collected or inferred, so no demographic parity is claimed. Cohorts below are the operational attributes the gateway knows; cells with fewer than ' +
      `${input.minCohortSize ?? MIN_COHORT_SIZE} operators are suppressed.`,
    fraud_signals_affect_score: false,
    score_inputs: [...SCORE_INPUTS],
    assignment_slice: {
      primary_version: input.primaryVersion,
      shadow_versions: [...input.shadowVersions],
      operators_per_version: Object.fromEntries([...slice].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    },
    min_cohort_size: input.minCohortSize ?? MIN_COHORT_SIZE,
    cohorts: cohortCells(primaryRows, input.nowMs, input.minCohortSize),
  };
}

/** Ranks with ties averaged (1-based). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's ρ (Pearson correlation of average ranks); null when either side is constant or n < 2. */
export function spearmanRho(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new RangeError('spearmanRho needs paired samples');
  const n = x.length;
  if (n < 2) return null;
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mx = rx.reduce((a, b) => a + b, 0) / n;
  const my = ry.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = rx[i]! - mx;
    const dy = ry[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Coarse score bands used to count band changes between versions. */
export function scoreBand(score: number): 'weak' | 'fair' | 'good' | 'strong' {
  return score < 400 ? 'weak' : score < 700 ? 'fair' : score < 850 ? 'good' : 'strong';
}

export interface ShadowPair {
  operatorDid: string;
  primaryScore: number;
  shadowScore: number;
  primaryWouldHold?: boolean;
  shadowWouldHold?: boolean;
}

export interface ShadowReadinessParams {
  min_operators: number;
  min_shadow_days: number;
  min_spearman_rho_milli: number;
}
export const SHADOW_READINESS_V1: Readonly<ShadowReadinessParams> = Object.freeze({ min_operators: 50, min_shadow_days: 14, min_spearman_rho_milli: 800 });

/** `GET /signal/v1/shadow-readiness` body (tenant admin only; never exported). */
export function shadowReadiness(input: {
  tenantId: string;
  primaryVersion: string;
  shadowVersion: string;
  primaryOperatorCount: number;
  pairs: readonly ShadowPair[];
  shadowStartedMs: number;
  nowMs: number;
  backtest?: { primary_precision_bps: number; shadow_precision_bps: number };
  params?: ShadowReadinessParams;
}) {
  const p = input.params ?? SHADOW_READINESS_V1;
  const n = input.pairs.length;
  const rho = spearmanRho(
    input.pairs.map((q) => q.primaryScore),
    input.pairs.map((q) => q.shadowScore),
  );
  const absDeltas = input.pairs.map((q) => Math.abs(q.shadowScore - q.primaryScore));
  const transitions = new Map<string, number>();
  let bandChanges = 0;
  for (const q of input.pairs) {
    const from = scoreBand(q.primaryScore);
    const to = scoreBand(q.shadowScore);
    if (from !== to) {
      bandChanges += 1;
      transitions.set(`${from}->${to}`, (transitions.get(`${from}->${to}`) ?? 0) + 1);
    }
  }
  const holdAdded = input.pairs.filter((q) => !q.primaryWouldHold && q.shadowWouldHold).length;
  const holdRemoved = input.pairs.filter((q) => q.primaryWouldHold && !q.shadowWouldHold).length;
  const shadowDays = Math.max(0, Math.floor((input.nowMs - input.shadowStartedMs) / 86_400_000));
  const rhoMilli = rho === null ? null : Math.round(rho * 1000);
  const reasons: string[] = [];
  if (n < p.min_operators) reasons.push(`operators_below_minimum:${n}<${p.min_operators}`);
  if (shadowDays < p.min_shadow_days) reasons.push(`shadow_days_below_minimum:${shadowDays}<${p.min_shadow_days}`);
  if (rhoMilli === null) reasons.push('spearman_rho_undefined');
  else if (rhoMilli < p.min_spearman_rho_milli) reasons.push(`spearman_rho_below_minimum:${rhoMilli}<${p.min_spearman_rho_milli}`);
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    primary_version: input.primaryVersion,
    shadow_version: input.shadowVersion,
    generated_at: new Date(input.nowMs).toISOString(),
    operator_count: n,
    coverage_bps: bps(n, input.primaryOperatorCount),
    shadow_days: shadowDays,
    spearman_rho: rho,
    spearman_rho_milli: rhoMilli,
    mean_abs_score_delta: n ? absDeltas.reduce((a, b) => a + b, 0) / n : 0,
    max_abs_score_delta: n ? Math.max(...absDeltas) : 0,
    band_changes: bandChanges,
    band_transitions: Object.fromEntries([...transitions].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    would_hold_added: holdAdded,
    would_hold_removed: holdRemoved,
    ...(input.backtest ? { backtest: input.backtest } : {}),
    thresholds: { ...p },
    ready: reasons.length === 0,
    reasons,
  };
}
