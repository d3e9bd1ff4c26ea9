import { SignalModelError } from './errors.ts';
import { parseTime, type SignalEvent, type Watermark } from './history.ts';
import { SIGNAL_V1_PARAMS, type SignalModelParams } from './params.ts';
import { METRIC_KEYS, OperatorAccumulator, SCALE_BITS, type OperatorScore, type TermDelta } from './score.ts';

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
  const T1 = parseTime(currentWatermark.occurredAt, 'watermark occurred_at');
  const acc = previous ? previous.accumulator.clone() : new OperatorAccumulator(operatorDid, params);
  if (acc.operatorDid !== operatorDid) throw new SignalModelError('operator_mismatch', 'the previous state belongs to another operator');
  const previousScore = previous ? previous.accumulator.scoreAt(previous.watermark) : null;
  const startScore = previousScore ? previousScore.score : acc.scoreOnlyAt(T1);
  const attribution: AttributionPart[] = [];
  let running = acc.scoreOnlyAt(T1);
  attribution.push({
    cause: 'time_decay',
    from_ledger_watermark_seq: previous?.watermark.seq ?? 0,
    to_ledger_watermark_seq: currentWatermark.seq,
    score_delta: running - startScore,
  });
  const lowerBound = previous?.watermark.seq ?? 0;
  for (const event of events) {
    if (event.operatorDid !== operatorDid || event.seq <= lowerBound) continue;
    if (event.seq > currentWatermark.seq) break;
    const delta = acc.apply(event);
    if (isZero(delta)) continue;
    const next = acc.scoreOnlyAt(T1);
    const micros = posteriorDeltaMicros(params, delta, T1);
    attribution.push({
      cause: 'ledger_event',
      seq: event.seq,
      intent_id: event.intentId ?? '',
      type: event.type,
      alpha_delta_micros: micros.alpha,
      beta_delta_micros: micros.beta,
      score_delta: next - running,
    });
    running = next;
  }
  const current = acc.scoreAt(currentWatermark);
  const scoreDelta = current.score - startScore;
  const sum = attribution.reduce((total, part) => total + part.score_delta, 0);
  if (sum !== scoreDelta || running !== current.score) throw new Error('attribution does not sum to the score delta');
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
    previous: previousScore,
    current,
    delta: {
      basis: previous ? 'previous_snapshot' : 'initial',
      previous_score: startScore,
      score_delta: scoreDelta,
      previous_ledger_watermark_seq: previous?.watermark.seq ?? 0,
      changed_metrics: changed,
      reason_codes_added: added,
      reason_codes_removed: removed,
      summary,
    },
    attribution,
    accumulator: acc,
  };
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
