import { betaQuantile } from './beta.ts';
import { SignalModelError } from './errors.ts';
import { parseTime, type DisputeOutcome, type SignalEvent, type Watermark } from './history.ts';
import { SIGNAL_V1_PARAMS, type SignalModelParams } from './params.ts';

/**
 * Score of one operator (the payee of Harbor intents) as a pure function of a ledger prefix.
 *
 * Each intent with an outcome contributes w = a · 2^(−(T − t)/H), t = time of its outcome event,
 * T = time of the watermark event. Writing 2^(−(T − t)/H) = 2^((t − E)/H) · 2^(−(T − E)/H) for a
 * fixed epoch E splits w into a part fixed when the outcome happens and one common factor. The
 * fixed parts are kept as exact integers (fixed point, 2^−SCALE_BITS), so the sums are
 * order-independent and subtracting a term that a dispute takes back is exact: folding events one
 * by one gives bit-for-bit the same α and β as summing the final outcomes, and every update is O(1).
 */

export const SCALE_BITS = 256;
const SCALE = 2 ** SCALE_BITS;
/** Outcome units are halves (a split is s = f = 0.5), so the sums carry one extra bit. */
const HALF_SCALE = 2 ** -(SCALE_BITS + 1);

export interface SignalMetrics {
  terminal_intents: number;
  released: number;
  refunded: number;
  disputed: number;
  success_rate_bps: number;
  dispute_rate_bps: number;
  refund_rate_bps: number;
  mean_latency_nanos: number;
  latency_sample_count: number;
  receipted_volume_cents: number;
}

export const METRIC_KEYS: ReadonlyArray<keyof SignalMetrics> = [
  'terminal_intents',
  'released',
  'refunded',
  'disputed',
  'success_rate_bps',
  'dispute_rate_bps',
  'refund_rate_bps',
  'mean_latency_nanos',
  'latency_sample_count',
  'receipted_volume_cents',
];

export type ConfidenceBand = 'insufficient' | 'low' | 'medium' | 'high';
export interface SignalConfidence {
  band: ConfidenceBand;
  support_score: number;
  summary: string;
}

export type SupportDepthBand = 'none' | 'shallow' | 'moderate' | 'deep';
export interface SignalSupportDepth {
  band: SupportDepthBand;
  terminal_intents: number;
  receipted_volume_cents: number;
  history_depth: number;
  latency_sample_count: number;
}

/** Fixed order in which reason codes are listed. */
export const REASON_CODES = ['THIN_HISTORY', 'DISPUTE_RATE_GT_500BPS', 'REFUND_RATE_GT_2000BPS', 'DISPUTE_LOST_90D', 'PREDICATE_FAILURES_7D', 'NO_ACTIVITY_30D'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface OperatorScore {
  operatorDid: string;
  scoringModel: string;
  scoreVersion: string;
  watermark: Watermark;
  score: number;
  alpha: number;
  beta: number;
  /** Σ w over intents with an outcome. */
  nEff: number;
  /** Width of the central credible interval, Q(upper) − Q(lower). */
  credibleWidth: number;
  metrics: SignalMetrics;
  confidence: SignalConfidence;
  supportDepth: SignalSupportDepth;
  reasonCodes: ReasonCode[];
  explanationSummary: string;
}

type Outcome = 'settled' | 'refunded' | 'dispute_release' | 'dispute_refund' | 'dispute_split';
const DISPUTE_OUTCOME: Record<DisputeOutcome, Outcome> = { release: 'dispute_release', refund: 'dispute_refund', split: 'dispute_split' };

interface IntentTrack {
  amountCents: number;
  outcome: Outcome | null;
  /** Fixed-point weight of the current outcome (a · 2^((t − E)/H) · 2^SCALE_BITS). */
  term: bigint;
  fundedMs: number | null;
  disputed: boolean;
  disputeOpen: boolean;
}

/** Change of the posterior sums caused by one event (fixed point, half units for s and f). */
export interface TermDelta {
  s2: bigint;
  f2: bigint;
  w: bigint;
}

/** Serialisable accumulator state (bigints as decimal strings). */
export interface AccumulatorState {
  operator_did: string;
  scoring_model: string;
  score_version: string;
  last_seq: number;
  s2: string;
  f2: string;
  w: string;
  first_event_ms: number | null;
  last_event_ms: number | null;
  last_predicate_failures_ms: number[];
  last_dispute_lost_ms: number | null;
  latency_sum_ms: number;
  latency_count: number;
  disputed: number;
  open_disputes: number;
  terminal: number;
  released: number;
  refunded: number;
  receipted_volume_cents: number;
  /** Per-intent tracks: all of them, or only those the next events touch (see toState). */
  intents: Record<string, { amount_cents: number; outcome: Outcome | null; term: string; funded_ms: number | null; disputed: boolean; dispute_open: boolean }>;
}

/** Events that can change the posterior; a snapshot is considered after each of them. */
export const SCORING_EVENT_TYPES: ReadonlySet<string> = new Set(['settlement.settled', 'settlement.refunded', 'dispute.opened', 'dispute.resolved']);

/** a · 2^((t − E)/H) in fixed point: the outcome's weight before the common decay factor. */
export function termUnits(params: SignalModelParams, amountCents: number, timeMs: number): bigint {
  const a = Math.min(1, Math.log10(1 + Math.max(0, amountCents)) / params.amount_log10_divisor);
  const growth = 2 ** ((timeMs - params.weight_epoch_ms) / (params.half_life_seconds * 1000));
  return BigInt(Math.round(a * growth * SCALE));
}

/** 2^(−(T − E)/H): turns the stored sums into weights at T. */
const decayFactor = (params: SignalModelParams, timeMs: number): number => 2 ** (-(timeMs - params.weight_epoch_ms) / (params.half_life_seconds * 1000));

/** Integer basis points, rounded half up; 0 when the base is 0. */
export function bps(numerator: number, denominator: number): number {
  if (denominator <= 0) return 0;
  return Math.floor((numerator * 20_000 + denominator) / (2 * denominator));
}

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const minus = (d: TermDelta): TermDelta => ({ s2: -d.s2, f2: -d.f2, w: -d.w });

export class OperatorAccumulator {
  readonly params: SignalModelParams;
  readonly operatorDid: string;
  lastSeq = 0;
  private s2 = 0n;
  private f2 = 0n;
  private w = 0n;
  private firstEventMs: number | null = null;
  private lastEventMs: number | null = null;
  /** The most recent failing evidence times, newest last (enough for the reason rule). */
  private lastPredicateFailuresMs: number[] = [];
  private lastDisputeLostMs: number | null = null;
  private latencySumMs = 0;
  private latencyCount = 0;
  private disputedCount = 0;
  private openDisputes = 0;
  private terminal = 0;
  private released = 0;
  private refunded = 0;
  private volume = 0;
  private readonly intents = new Map<string, IntentTrack>();

  constructor(operatorDid: string, params: SignalModelParams = SIGNAL_V1_PARAMS) {
    this.operatorDid = operatorDid;
    this.params = params;
  }

  private outcomeDelta(track: IntentTrack): TermDelta {
    if (!track.outcome) return { s2: 0n, f2: 0n, w: 0n };
    const [s, f] = this.params.outcome_half_units[track.outcome];
    return { s2: track.term * BigInt(s), f2: track.term * BigInt(f), w: track.term };
  }

  private add(d: TermDelta): void {
    this.s2 += d.s2;
    this.f2 += d.f2;
    this.w += d.w;
  }

  /** Keep the outcome counters in step with the outcome of one intent (sign = +1 add, −1 remove). */
  private count(track: IntentTrack, sign: 1 | -1): void {
    if (!track.outcome) return;
    this.terminal += sign;
    this.volume += sign * track.amountCents;
    if (track.outcome === 'settled' || track.outcome === 'dispute_release') this.released += sign;
    if (track.outcome === 'refunded' || track.outcome === 'dispute_refund') this.refunded += sign;
  }

  private setOutcome(track: IntentTrack, outcome: Outcome | null, timeMs: number): TermDelta {
    this.count(track, -1);
    const removed = minus(this.outcomeDelta(track));
    track.outcome = outcome;
    track.term = outcome ? termUnits(this.params, track.amountCents, timeMs) : 0n;
    const added = this.outcomeDelta(track);
    this.count(track, 1);
    const delta = { s2: removed.s2 + added.s2, f2: removed.f2 + added.f2, w: removed.w + added.w };
    this.add(delta);
    return delta;
  }

  /**
   * Fold one ledger event of this operator (in seq order). Returns the change of the posterior
   * sums. Events of other operators are refused; events without an operator are ignored.
   */
  apply(event: SignalEvent): TermDelta {
    const none: TermDelta = { s2: 0n, f2: 0n, w: 0n };
    if (event.operatorDid === null) return none;
    if (event.operatorDid !== this.operatorDid) {
      throw new SignalModelError('operator_mismatch', `event ${event.seq} belongs to another operator`, { seq: event.seq });
    }
    if (!(event.seq > this.lastSeq)) throw new SignalModelError('events_out_of_order', `event ${event.seq} is not after ${this.lastSeq}`, { seq: event.seq });
    this.lastSeq = event.seq;
    const t = event.timeMs;
    this.firstEventMs ??= t;
    this.lastEventMs = this.lastEventMs === null ? t : Math.max(this.lastEventMs, t);
    if (!event.intentId) return none;
    let track = this.intents.get(event.intentId);
    if (!track) {
      track = { amountCents: event.amountCents ?? 0, outcome: null, term: 0n, fundedMs: null, disputed: false, disputeOpen: false };
      this.intents.set(event.intentId, track);
    }
    switch (event.type) {
      case 'funding.succeeded':
        track.fundedMs = t;
        return none;
      case 'settlement.released':
        if (track.fundedMs !== null) {
          this.latencySumMs += Math.max(0, t - track.fundedMs);
          this.latencyCount += 1;
        }
        return none;
      case 'evidence.submitted':
        if (event.predicatePassed === false) {
          this.lastPredicateFailuresMs.push(t);
          const keep = Math.max(1, this.params.reason_rules.predicate_failures_min_count);
          if (this.lastPredicateFailuresMs.length > keep) this.lastPredicateFailuresMs.shift();
        }
        return none;
      case 'settlement.settled':
        return this.setOutcome(track, 'settled', t);
      case 'settlement.refunded':
        return this.setOutcome(track, 'refunded', t);
      case 'dispute.opened': {
        if (!track.disputed) this.disputedCount += 1;
        if (!track.disputeOpen) this.openDisputes += 1;
        track.disputed = true;
        track.disputeOpen = true;
        // A late flip: the settled (or refunded) outcome is taken back until the dispute resolves.
        return this.setOutcome(track, null, t);
      }
      case 'dispute.resolved': {
        if (track.disputeOpen) this.openDisputes -= 1;
        track.disputeOpen = false;
        if (!event.disputeOutcome) throw new SignalModelError('dispute_outcome_missing', `dispute.resolved at seq ${event.seq} carries no outcome`, { seq: event.seq });
        if (event.disputeOutcome === 'refund') this.lastDisputeLostMs = Math.max(this.lastDisputeLostMs ?? t, t);
        return this.setOutcome(track, DISPUTE_OUTCOME[event.disputeOutcome], t);
      }
      default:
        return none;
    }
  }

  /** α and β at time T. */
  posteriorAt(timeMs: number): { alpha: number; beta: number; nEff: number } {
    return posteriorFromSums(this.params, this.sums(), timeMs);
  }

  /** Only the integer score at T (what the attribution needs). */
  scoreOnlyAt(timeMs: number): number {
    const { alpha, beta } = this.posteriorAt(timeMs);
    return scoreFromPosterior(this.params, alpha, beta);
  }

  /** Raw (undecayed) metrics; O(1), from counters kept by apply(). */
  metrics(): SignalMetrics {
    const { terminal, released, refunded, volume } = this;
    // Open disputes are not outcomes but still count in the rates.
    const base = terminal + this.openDisputes;
    return {
      terminal_intents: terminal,
      released,
      refunded,
      disputed: this.disputedCount,
      success_rate_bps: bps(released, base),
      dispute_rate_bps: bps(this.disputedCount, base),
      refund_rate_bps: bps(refunded, base),
      // Capped at 2^53 − 1 (a mean latency over ~104 days) so signed payloads stay exact integers.
      mean_latency_nanos: this.latencyCount === 0 ? 0 : Number(minBig((BigInt(this.latencySumMs) * 1_000_000n) / BigInt(this.latencyCount), BigInt(Number.MAX_SAFE_INTEGER))),
      latency_sample_count: this.latencyCount,
      receipted_volume_cents: volume,
    };
  }

  /** The full score object at a watermark at or after the last folded event. */
  scoreAt(watermark: Watermark): OperatorScore {
    if (watermark.seq < this.lastSeq) {
      throw new SignalModelError('watermark_before_state', `watermark ${watermark.seq} is before the last folded event ${this.lastSeq}`);
    }
    const T = parseTime(watermark.occurredAt, 'watermark occurred_at');
    const { alpha, beta, nEff } = this.posteriorAt(T);
    const p = this.params;
    const lower = betaQuantile(p.lower_quantile_bps / 10_000, alpha, beta);
    const upper = betaQuantile(p.upper_quantile_bps / 10_000, alpha, beta);
    const score = Math.round(1000 * lower);
    const width = upper - lower;
    const metrics = this.metrics();
    const confidence = confidenceOf(p, nEff, width);
    const historyDays = this.firstEventMs === null ? 0 : Math.max(0, Math.floor((T - this.firstEventMs) / 86_400_000));
    const supportDepth = supportDepthOf(p, metrics, historyDays);
    const reasonCodes = this.reasonCodes(T, nEff, metrics);
    return {
      operatorDid: this.operatorDid,
      scoringModel: p.scoring_model,
      scoreVersion: p.score_version,
      watermark: { ...watermark },
      score,
      alpha,
      beta,
      nEff,
      credibleWidth: width,
      metrics,
      confidence,
      supportDepth,
      reasonCodes,
      explanationSummary: explanationSummaryOf(score, metrics, confidence, reasonCodes),
    };
  }

  private reasonCodes(T: number, nEff: number, m: SignalMetrics): ReasonCode[] {
    const r = this.params.reason_rules;
    const within = (ms: number | null | undefined, seconds: number) => ms !== null && ms !== undefined && T - ms <= seconds * 1000;
    const codes: ReasonCode[] = [];
    if (nEff * 1000 < r.thin_history_below_n_eff_milli) codes.push('THIN_HISTORY');
    if (m.dispute_rate_bps > r.dispute_rate_above_bps) codes.push('DISPUTE_RATE_GT_500BPS');
    if (m.refund_rate_bps > r.refund_rate_above_bps) codes.push('REFUND_RATE_GT_2000BPS');
    if (within(this.lastDisputeLostMs, r.dispute_lost_window_seconds)) codes.push('DISPUTE_LOST_90D');
    const failures = this.lastPredicateFailuresMs;
    const needed = Math.max(1, r.predicate_failures_min_count);
    if (failures.length >= needed && within(failures[failures.length - needed], r.predicate_failures_window_seconds)) codes.push('PREDICATE_FAILURES_7D');
    if (this.lastEventMs === null || !within(this.lastEventMs, r.no_activity_seconds)) codes.push('NO_ACTIVITY_30D');
    return codes;
  }

  /** Sums as exact integers (for tests and persistence). */
  sums(): PosteriorSums {
    return { s2: this.s2, f2: this.f2, w: this.w };
  }

  /**
   * Serialisable state. With `intentIds`, only those intents' tracks are included: enough to fold
   * events of those intents after restoring (an update then reads and writes O(1) rows).
   */
  toState(options: { intentIds?: readonly string[] } = {}): AccumulatorState {
    const intents: AccumulatorState['intents'] = {};
    const only = options.intentIds ? new Set(options.intentIds) : null;
    for (const [id, t] of this.intents) {
      if (only && !only.has(id)) continue;
      intents[id] = { amount_cents: t.amountCents, outcome: t.outcome, term: t.term.toString(), funded_ms: t.fundedMs, disputed: t.disputed, dispute_open: t.disputeOpen };
    }
    return {
      operator_did: this.operatorDid,
      scoring_model: this.params.scoring_model,
      score_version: this.params.score_version,
      last_seq: this.lastSeq,
      s2: this.s2.toString(),
      f2: this.f2.toString(),
      w: this.w.toString(),
      first_event_ms: this.firstEventMs,
      last_event_ms: this.lastEventMs,
      last_predicate_failures_ms: [...this.lastPredicateFailuresMs],
      last_dispute_lost_ms: this.lastDisputeLostMs,
      latency_sum_ms: this.latencySumMs,
      latency_count: this.latencyCount,
      disputed: this.disputedCount,
      open_disputes: this.openDisputes,
      terminal: this.terminal,
      released: this.released,
      refunded: this.refunded,
      receipted_volume_cents: this.volume,
      intents,
    };
  }

  static fromState(state: AccumulatorState, params: SignalModelParams = SIGNAL_V1_PARAMS): OperatorAccumulator {
    if (state.scoring_model !== params.scoring_model || state.score_version !== params.score_version) {
      throw new SignalModelError('invalid_model_params', 'accumulator state belongs to another model version');
    }
    const acc = new OperatorAccumulator(state.operator_did, params);
    acc.lastSeq = state.last_seq;
    acc.s2 = BigInt(state.s2);
    acc.f2 = BigInt(state.f2);
    acc.w = BigInt(state.w);
    acc.firstEventMs = state.first_event_ms;
    acc.lastEventMs = state.last_event_ms;
    acc.lastPredicateFailuresMs = [...state.last_predicate_failures_ms];
    acc.lastDisputeLostMs = state.last_dispute_lost_ms;
    acc.latencySumMs = state.latency_sum_ms;
    acc.latencyCount = state.latency_count;
    acc.disputedCount = state.disputed;
    acc.openDisputes = state.open_disputes;
    acc.terminal = state.terminal;
    acc.released = state.released;
    acc.refunded = state.refunded;
    acc.volume = state.receipted_volume_cents;
    for (const [id, t] of Object.entries(state.intents)) {
      acc.intents.set(id, { amountCents: t.amount_cents, outcome: t.outcome, term: BigInt(t.term), fundedMs: t.funded_ms, disputed: t.disputed, disputeOpen: t.dispute_open });
    }
    return acc;
  }

  clone(): OperatorAccumulator {
    return OperatorAccumulator.fromState(this.toState(), this.params);
  }
}

/** Exact posterior sums (fixed point; s and f in half units). */
export interface PosteriorSums {
  s2: bigint;
  f2: bigint;
  w: bigint;
}

/** α, β and the effective sample size at time T from exact sums. */
export function posteriorFromSums(params: SignalModelParams, sums: PosteriorSums, timeMs: number): { alpha: number; beta: number; nEff: number } {
  const decay = decayFactor(params, timeMs);
  return {
    alpha: params.prior_alpha + Number(sums.s2) * HALF_SCALE * decay,
    beta: params.prior_beta + Number(sums.f2) * HALF_SCALE * decay,
    nEff: (Number(sums.w) / SCALE) * decay,
  };
}

export function scoreFromPosterior(params: SignalModelParams, alpha: number, beta: number): number {
  return Math.round(1000 * betaQuantile(params.lower_quantile_bps / 10_000, alpha, beta));
}

function confidenceOf(p: SignalModelParams, nEff: number, width: number): SignalConfidence {
  const c = p.confidence;
  const band: ConfidenceBand =
    nEff * 1000 < c.insufficient_below_n_eff_milli ? 'insufficient' : width * 10_000 > c.low_above_width_bps ? 'low' : width * 10_000 > c.medium_above_width_bps ? 'medium' : 'high';
  const supportScore = Math.round(1000 * (1 - width));
  const widthBps = Math.round(width * 10_000);
  const summary =
    band === 'insufficient'
      ? `insufficient evidence: effective sample ${nEff.toFixed(2)} < ${c.insufficient_below_n_eff_milli / 1000}; credible interval width ${widthBps} bps`
      : `${band} confidence: effective sample ${nEff.toFixed(2)}, 80% credible interval width ${widthBps} bps`;
  return { band, support_score: supportScore, summary };
}

function supportDepthOf(p: SignalModelParams, m: SignalMetrics, historyDays: number): SignalSupportDepth {
  const d = p.support_depth;
  const band: SupportDepthBand =
    m.terminal_intents === 0
      ? 'none'
      : m.terminal_intents < d.shallow_below_terminal_intents || historyDays < d.shallow_below_history_days
        ? 'shallow'
        : m.terminal_intents < d.moderate_below_terminal_intents || historyDays < d.moderate_below_history_days
          ? 'moderate'
          : 'deep';
  return {
    band,
    terminal_intents: m.terminal_intents,
    receipted_volume_cents: m.receipted_volume_cents,
    history_depth: historyDays,
    latency_sample_count: m.latency_sample_count,
  };
}

function explanationSummaryOf(score: number, m: SignalMetrics, c: SignalConfidence, reasons: readonly string[]): string {
  const outcomes = `${m.terminal_intents} terminal intents (${m.released} released, ${m.refunded} refunded, ${m.disputed} disputed)`;
  return `score ${score} from ${outcomes}; confidence ${c.band}; reasons: ${reasons.length ? reasons.join(', ') : 'none'}`;
}

export const SCORING_NARRATIVE =
  'paybond.signal.v1: Beta(1,1) prior updated with the outcomes of the operator\'s Harbor intents (settled or dispute released = success; refunded = failure; dispute refunded = double failure; split = half each), each weighted by min(1, log10(1 + amount_cents)/4) and halved every 90 days before the ledger watermark; score = round(1000 × 10th percentile of the posterior). Fraud signals never change the score.';

/** Replay one operator from a bound ledger prefix (events after the watermark are ignored). */
export function replayOperator(events: readonly SignalEvent[], operatorDid: string, watermark: Watermark, params: SignalModelParams = SIGNAL_V1_PARAMS): { accumulator: OperatorAccumulator; score: OperatorScore } {
  const accumulator = new OperatorAccumulator(operatorDid, params);
  for (const event of events) {
    if (event.seq > watermark.seq) break;
    if (event.operatorDid === operatorDid) accumulator.apply(event);
  }
  return { accumulator, score: accumulator.scoreAt(watermark) };
}

/** Operators (payees) seen in a bound prefix, sorted. */
export function operatorsIn(events: readonly SignalEvent[]): string[] {
  return [...new Set(events.map((e) => e.operatorDid).filter((d): d is string => d !== null))].sort();
}

/** A snapshot row is written when the score or the reason codes change (or for the first one). */
export function snapshotNeeded(previous: { score: number; reasonCodes: readonly string[] } | null, current: OperatorScore): boolean {
  if (!previous) return true;
  return previous.score !== current.score || previous.reasonCodes.join(',') !== current.reasonCodes.join(',');
}
