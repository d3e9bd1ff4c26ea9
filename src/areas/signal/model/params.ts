import { canonicalJson } from '../../../crypto/canonical-json.ts';
import { sha256Hex } from '../../../crypto/hash.ts';
import { SignalModelError } from './errors.ts';

/**
 * Parameters of a scoring model version. Integers only, so the parameter set has one canonical
 * byte form and its SHA-256 (`model_params_sha256_hex`) pins what a receipt was computed with.
 * A shadow version is the same code with other parameters.
 */
export interface SignalModelParams {
  scoring_model: string;
  score_version: string;
  /** Weights are stored relative to this instant (see score.ts); part of the replay recipe. */
  weight_epoch_ms: number;
  half_life_seconds: number;
  /** a = min(1, log10(1 + amount_cents) / amount_log10_divisor). */
  amount_log10_divisor: number;
  prior_alpha: number;
  prior_beta: number;
  /** Score = round(1000 · Q(lower_quantile_bps / 10000; α, β)). */
  lower_quantile_bps: number;
  upper_quantile_bps: number;
  /** Outcome units in halves: s and f of each outcome times two (a split is s = f = 0.5). */
  outcome_half_units: {
    settled: [number, number];
    refunded: [number, number];
    dispute_release: [number, number];
    dispute_refund: [number, number];
    dispute_split: [number, number];
  };
  confidence: {
    insufficient_below_n_eff_milli: number;
    low_above_width_bps: number;
    medium_above_width_bps: number;
  };
  reason_rules: {
    thin_history_below_n_eff_milli: number;
    dispute_rate_above_bps: number;
    refund_rate_above_bps: number;
    dispute_lost_window_seconds: number;
    predicate_failures_window_seconds: number;
    predicate_failures_min_count: number;
    no_activity_seconds: number;
  };
  support_depth: {
    shallow_below_terminal_intents: number;
    shallow_below_history_days: number;
    moderate_below_terminal_intents: number;
    moderate_below_history_days: number;
  };
}

const DAY = 86_400;

/** `paybond.signal.v1`, score_version "1.0". Never edit: publish a new version instead. */
export const SIGNAL_V1_PARAMS: Readonly<SignalModelParams> = Object.freeze({
  scoring_model: 'paybond.signal.v1',
  score_version: '1.0',
  weight_epoch_ms: Date.UTC(2020, 0, 1),
  half_life_seconds: 90 * DAY,
  amount_log10_divisor: 4,
  prior_alpha: 1,
  prior_beta: 1,
  lower_quantile_bps: 1000,
  upper_quantile_bps: 9000,
  outcome_half_units: {
    settled: [2, 0],
    refunded: [0, 2],
    dispute_release: [2, 0],
    dispute_refund: [0, 4],
    dispute_split: [1, 1],
  },
  confidence: { insufficient_below_n_eff_milli: 5000, low_above_width_bps: 3000, medium_above_width_bps: 1500 },
  reason_rules: {
    thin_history_below_n_eff_milli: 5000,
    dispute_rate_above_bps: 500,
    refund_rate_above_bps: 2000,
    dispute_lost_window_seconds: 90 * DAY,
    predicate_failures_window_seconds: 7 * DAY,
    predicate_failures_min_count: 1,
    no_activity_seconds: 30 * DAY,
  },
  support_depth: {
    shallow_below_terminal_intents: 10,
    shallow_below_history_days: 30,
    moderate_below_terminal_intents: 50,
    moderate_below_history_days: 90,
  },
} satisfies SignalModelParams);

function assertIntegers(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new SignalModelError('invalid_model_params', `${path} must be a safe integer`, { path });
  } else if (Array.isArray(value)) value.forEach((v, i) => assertIntegers(v, `${path}[${i}]`));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) assertIntegers(v, `${path}.${k}`);
}

/** Refuse parameter sets the model cannot evaluate (a shadow version is stored data). */
export function validateModelParams(params: SignalModelParams): SignalModelParams {
  assertIntegers(params, 'params');
  const bad = (message: string) => new SignalModelError('invalid_model_params', message);
  if (!params.scoring_model || !params.score_version) throw bad('scoring_model and score_version are required');
  if (params.half_life_seconds <= 0) throw bad('half_life_seconds must be positive');
  if (params.amount_log10_divisor <= 0) throw bad('amount_log10_divisor must be positive');
  if (params.prior_alpha <= 0 || params.prior_beta <= 0) throw bad('priors must be positive');
  if (!(params.lower_quantile_bps > 0 && params.lower_quantile_bps < params.upper_quantile_bps && params.upper_quantile_bps < 10_000)) {
    throw bad('quantiles must satisfy 0 < lower < upper < 10000 bps');
  }
  for (const [name, pair] of Object.entries(params.outcome_half_units)) {
    if (pair.length !== 2 || pair.some((v) => v < 0)) throw bad(`outcome_half_units.${name} must be two non-negative integers`);
  }
  return params;
}

/** SHA-256 hex of the canonical JSON of the parameters: `model_params_sha256_hex`. */
export const modelParamsSha256 = (params: SignalModelParams): string => sha256Hex(canonicalJson(params));
