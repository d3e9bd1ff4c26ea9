import { SignalModelError } from './errors.ts';
import { parseTime, type SignalEvent, type Watermark } from './history.ts';
import { SIGNAL_V1_PARAMS, type SignalModelParams } from './params.ts';
import { METRIC_KEYS, OperatorAccumulator, posteriorFromSums, SCALE_BITS, scoreFromPosterior, type OperatorScore, type PosteriorSums, type TermDelta } from './score.ts';

/**
 * "Why did the score move?" between two watermarks of one operator, as an exact sequential
 * attribution: first the passage of time alone (the previous posterior decayed to the new
 * watermark), then each ledger event in seq order (its change of α and β, scored at the new
 * watermark). Each part is a difference of consecutive integer scores, so the parts sum exactly to
 * the score delta.
 */

export interface SignalExplanationMetricDelta {
  metric: string;
  previous: number;
  current: number;
  delta: number;
}

export interface SignalExplanationDelta {
  basis: 'previous_snapshot' | 'initial';
  previous_score: number;
  score_delta: number;
  previous_ledger_watermark_seq: number;
  changed_metrics: SignalExplanationMetricDelta[];
  reason_codes_added: string[];
  reason_codes_removed: string[];
  summary: string;
}

export type AttributionPart =
  | { cause: 'time_decay'; from_ledger_watermark_seq: number; to_ledger_watermark_seq: number; score_delta: number }
  | { cause: 'ledger_event'; seq: number; intent_id: string; type: string; alpha_delta_micros: number; beta_delta_micros: number; score_delta: number };

export interface ScoreExplanation {
  previous: OperatorScore | null;
  current: OperatorScore;
  delta: SignalExplanationDelta;
  attribution: AttributionPart[];
  /** The accumulator at the current watermark (to persist or continue from). */
  accumulator: OperatorAccumulator;
}

const isZero = (d: TermDelta) => d.s2 === 0n && d.f2 === 0n && d.w === 0n;

/** Δα and Δβ of an event as seen at time T, in millionths (integers for signed payloads). */
function posteriorDeltaMicros(params: SignalModelParams, d: TermDelta, timeMs: number): { alpha: number; beta: number } {
  const factor = 2 ** -(SCALE_BITS + 1) * 2 ** (-(timeMs - params.weight_epoch_ms) / (params.half_life_seconds * 1000));
  return { alpha: Math.round(Number(d.s2) * factor * 1e6), beta: Math.round(Number(d.f2) * factor * 1e6) };
}

/** A posterior change of one ledger event (what the attribution lists). */
export interface PosteriorStep {
  seq: number;
  intentId: string;
  type: string;
  delta: TermDelta;
}

/**
 * The attribution and delta of a move from `previous` (its score object and exact sums, or null
 * for an operator's first snapshot) to `current`, given the posterior steps between them in seq
 * order. Incremental callers keep the steps since their last snapshot instead of the events.
 */
export function attributeChange(input: {
  params: SignalModelParams;
  previous: { score: OperatorScore; sums: PosteriorSums } | null;
  steps: readonly PosteriorStep[];
  current: OperatorScore;
}): { delta: SignalExplanationDelta; attribution: AttributionPart[] } {
  const { params, previous, current } = input;
  const T1 = parseTime(current.watermark.occurredAt, 'watermark occurred_at');
  const scoreOf = (sums: PosteriorSums) => {
    const { alpha, beta } = posteriorFromSums(params, sums, T1);
    return scoreFromPosterior(params, alpha, beta);
  };
  const sums: PosteriorSums = previous ? { ...previous.sums } : { s2: 0n, f2: 0n, w: 0n };
  let running = scoreOf(sums);
  const startScore = previous ? previous.score.score : running;
  const attribution: AttributionPart[] = [
    { cause: 'time_decay', from_ledger_watermark_seq: previous?.score.watermark.seq ?? 0, to_ledger_watermark_seq: current.watermark.seq, score_delta: running - startScore },
  ];
  for (const step of input.steps) {
    if (isZero(step.delta)) continue;
    sums.s2 += step.delta.s2;
    sums.f2 += step.delta.f2;
    sums.w += step.delta.w;
    const next = scoreOf(sums);
    const micros = posteriorDeltaMicros(params, step.delta, T1);
    attribution.push({ cause: 'ledger_event', seq: step.seq, intent_id: step.intentId, type: step.type, alpha_delta_micros: micros.alpha, beta_delta_micros: micros.beta, score_delta: next - running });
    running = next;
  }
  const scoreDelta = current.score - startScore;
  const sum = attribution.reduce((total, part) => total + part.score_delta, 0);
  if (sum !== scoreDelta || running !== current.score) throw new Error('attribution does not sum to the score delta');
  const previousScore = previous?.score ?? null;
  const changed = METRIC_KEYS.flatMap((metric) => {
    const before = previousScore ? previousScore.metrics[metric] : 0;
    const after = current.metrics[metric];
    return before === after ? [] : [{ metric, previous: before, current: after, delta: after - before }];
  });
  const beforeCodes = new Set<string>(previousScore?.reasonCodes ?? []);
  const afterCodes = new Set<string>(current.reasonCodes);
  const added = current.reasonCodes.filter((c) => !beforeCodes.has(c));
  const removed = (previousScore?.reasonCodes ?? []).filter((c) => !afterCodes.has(c));
  const decay = attribution[0]!.score_delta;
  const eventParts = attribution.length - 1;
  const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);
  const summary = [
    `score ${startScore} → ${current.score} (${signed(scoreDelta)})`,
    `time decay ${signed(decay)}`,
    `${eventParts} ledger event${eventParts === 1 ? '' : 's'} ${signed(scoreDelta - decay)}`,
    added.length ? `reason codes added: ${added.join(', ')}` : '',
    removed.length ? `reason codes removed: ${removed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    delta: {
      basis: previous ? 'previous_snapshot' : 'initial',
      previous_score: startScore,
      score_delta: scoreDelta,
      previous_ledger_watermark_seq: previous?.score.watermark.seq ?? 0,
      changed_metrics: changed,
      reason_codes_added: added,
      reason_codes_removed: removed,
      summary,
    },
    attribution,
  };
}

/**
 * Explain the move from `previous` (an accumulator folded up to `previousWatermark`, or null for an
 * operator's first snapshot) to `currentWatermark`, folding `events` (this operator's events after
 * the previous watermark, up to the current one). The previous accumulator is not modified.
 */
export function explainChange(
  operatorDid: string,
  previous: { accumulator: OperatorAccumulator; watermark: Watermark } | null,
  events: readonly SignalEvent[],
  currentWatermark: Watermark,
  params: SignalModelParams = previous?.accumulator.params ?? SIGNAL_V1_PARAMS,
): ScoreExplanation {
  if (previous && previous.watermark.seq > currentWatermark.seq) {
    throw new SignalModelError('watermark_before_state', 'the previous watermark is after the current one');
  }
  const acc = previous ? previous.accumulator.clone() : new OperatorAccumulator(operatorDid, params);
  if (acc.operatorDid !== operatorDid) throw new SignalModelError('operator_mismatch', 'the previous state belongs to another operator');
  const previousScore = previous ? previous.accumulator.scoreAt(previous.watermark) : null;
  const previousSums = acc.sums();
  const steps: PosteriorStep[] = [];
  const lowerBound = previous?.watermark.seq ?? 0;
  for (const event of events) {
    if (event.operatorDid !== operatorDid || event.seq <= lowerBound) continue;
    if (event.seq > currentWatermark.seq) break;
    steps.push({ seq: event.seq, intentId: event.intentId ?? '', type: event.type, delta: acc.apply(event) });
  }
  const current = acc.scoreAt(currentWatermark);
  const { delta, attribution } = attributeChange({ params, previous: previousScore ? { score: previousScore, sums: previousSums } : null, steps, current });
  return { previous: previousScore, current, delta, attribution, accumulator: acc };
}

/** Replay to the previous watermark, then explain the move to the current one. */
export function explainFromHistory(
  events: readonly SignalEvent[],
  operatorDid: string,
  previousWatermark: Watermark | null,
  currentWatermark: Watermark,
  params: SignalModelParams = SIGNAL_V1_PARAMS,
): ScoreExplanation {
  let previous: { accumulator: OperatorAccumulator; watermark: Watermark } | null = null;
  if (previousWatermark) {
    const accumulator = new OperatorAccumulator(operatorDid, params);
    for (const event of events) {
      if (event.seq > previousWatermark.seq) break;
      if (event.operatorDid === operatorDid) accumulator.apply(event);
    }
    previous = { accumulator, watermark: previousWatermark };
  }
  return explainChange(operatorDid, previous, events, currentWatermark, params);
}
