import { SignalModelError } from './errors.ts';
import { SEVERITY_RANK, type FraudSignal } from './fraud.ts';
import { isoTime, parseTime } from './history.ts';

/**
 * Review workflow of one operator: an append-only list of review events folded into a case
 * (`none → open → in_review → closed`). Appeals and replays are throttled per operator; a
 * throttled request is still recorded (accepted: false) because REPLAY_APPEAL_ABUSE counts it.
 */

export type ReviewState = 'none' | 'open' | 'in_review' | 'closed';
export type ReviewOutcome = 'confirmed_risk' | 'false_positive' | 'needs_more_evidence';
export type RequestedReviewEventType = 'review_open_requested' | 'appeal_requested' | 'replay_requested' | 'review_outcome_recorded' | ReviewOutcome;
/** `signal_flagged` is written by the gateway itself when a new high or critical signal appears. */
export type ReviewEventType = Exclude<RequestedReviewEventType, ReviewOutcome> | 'signal_flagged';

export const REVIEW_OUTCOMES: readonly ReviewOutcome[] = ['confirmed_risk', 'false_positive', 'needs_more_evidence'];
export const REQUESTED_EVENT_TYPES: readonly RequestedReviewEventType[] = ['review_open_requested', 'appeal_requested', 'replay_requested', 'review_outcome_recorded', ...REVIEW_OUTCOMES];
export const REVIEW_STATES: readonly ReviewState[] = ['none', 'open', 'in_review', 'closed'];

export interface ReviewEventRecord {
  operatorDid: string;
  eventType: ReviewEventType;
  reviewOutcome?: ReviewOutcome;
  signalCode?: string;
  intentId?: string;
  providerEventId?: string;
  summary?: string;
  recordedAt: string;
  accepted: boolean;
}

export interface NormalizedReviewRequest {
  requestedEventType: RequestedReviewEventType;
  recordedEventType: Exclude<ReviewEventType, 'signal_flagged'>;
  reviewOutcome?: ReviewOutcome;
  signalCode?: string;
  intentId?: string;
  providerEventId?: string;
  summary: string;
  /** Outcome writes need tenant_admin or the `signal.review` entitlement. */
  requiresReviewer: boolean;
  /** Appeals and replays are rate limited per operator. */
  throttled: boolean;
}

const optionalText = (value: unknown, field: string, max: number): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SignalModelError('invalid_review_event', `${field} must be a string`, { field });
  const trimmed = value.trim();
  if (trimmed.length > max) throw new SignalModelError('invalid_review_event', `${field} is longer than ${max} characters`, { field });
  return trimmed || undefined;
};

/**
 * Validate a `POST …/review-events` body. Outcome-named event types become
 * `review_outcome_recorded` with that outcome; `review_outcome_recorded` needs an outcome.
 */
export function normalizeReviewRequest(body: Record<string, unknown>): NormalizedReviewRequest {
  const requested = typeof body.event_type === 'string' ? body.event_type.trim() : '';
  if (!(REQUESTED_EVENT_TYPES as readonly string[]).includes(requested)) {
    throw new SignalModelError('invalid_review_event', `event_type must be one of ${REQUESTED_EVENT_TYPES.join(', ')}`, { field: 'event_type' });
  }
  let outcome = optionalText(body.review_outcome, 'review_outcome', 64);
  let recorded = requested as RequestedReviewEventType;
  if ((REVIEW_OUTCOMES as readonly string[]).includes(requested)) {
    if (outcome !== undefined && outcome !== requested) throw new SignalModelError('invalid_review_event', 'review_outcome contradicts event_type', { field: 'review_outcome' });
    outcome = requested;
    recorded = 'review_outcome_recorded';
  }
  if (outcome !== undefined && !(REVIEW_OUTCOMES as readonly string[]).includes(outcome)) {
    throw new SignalModelError('invalid_review_event', `review_outcome must be one of ${REVIEW_OUTCOMES.join(', ')}`, { field: 'review_outcome' });
  }
  if (recorded === 'review_outcome_recorded' && outcome === undefined) {
    throw new SignalModelError('review_outcome_required', 'review_outcome_recorded needs a review_outcome', { field: 'review_outcome' });
  }
  if (recorded !== 'review_outcome_recorded' && outcome !== undefined) {
    throw new SignalModelError('invalid_review_event', 'review_outcome is only accepted with review_outcome_recorded', { field: 'review_outcome' });
  }
  const summary = optionalText(body.summary, 'summary', 2000);
  if (!summary) throw new SignalModelError('invalid_review_event', 'summary is required', { field: 'summary' });
  const recordedType = recorded as NormalizedReviewRequest['recordedEventType'];
  return {
    requestedEventType: requested as RequestedReviewEventType,
    recordedEventType: recordedType,
    ...(outcome ? { reviewOutcome: outcome as ReviewOutcome } : {}),
    ...(optionalText(body.signal_code, 'signal_code', 128) ? { signalCode: optionalText(body.signal_code, 'signal_code', 128) } : {}),
    ...(optionalText(body.intent_id, 'intent_id', 256) ? { intentId: optionalText(body.intent_id, 'intent_id', 256) } : {}),
    ...(optionalText(body.provider_event_id, 'provider_event_id', 256) ? { providerEventId: optionalText(body.provider_event_id, 'provider_event_id', 256) } : {}),
    summary,
    requiresReviewer: recordedType === 'review_outcome_recorded',
    throttled: recordedType === 'appeal_requested' || recordedType === 'replay_requested',
  };
}

export interface ThrottleParams {
  window_seconds: number;
  max_per_window: number;
}
export const REVIEW_THROTTLE_V1: Readonly<ThrottleParams> = Object.freeze({ window_seconds: 86_400, max_per_window: 3 });

export type FrictionBand = 'normal' | 'elevated' | 'throttled';
export interface ThrottleDecision {
  accepted: boolean;
  nextEligibleAt?: string;
  recentCount: number;
  friction: { band: FrictionBand; recent_request_count: number; limit: number; window: string };
}

/**
 * Rolling-window throttle for appeals and replays: at most `max_per_window` accepted in any
 * window; the next one is eligible when the oldest of them leaves the window.
 */
export function throttleReviewRequest(prior: readonly ReviewEventRecord[], operatorDid: string, nowMs: number, params: ThrottleParams = REVIEW_THROTTLE_V1): ThrottleDecision {
  const windowMs = params.window_seconds * 1000;
  const recent = prior
    .filter((e) => e.operatorDid === operatorDid && e.accepted && (e.eventType === 'appeal_requested' || e.eventType === 'replay_requested'))
    .map((e) => parseTime(e.recordedAt, 'recorded_at'))
    .filter((t) => t > nowMs - windowMs && t <= nowMs)
    .sort((a, b) => a - b);
  const friction = (band: FrictionBand, count: number) => ({ band, recent_request_count: count, limit: params.max_per_window, window: `${params.window_seconds / 3600}h` });
  if (recent.length >= params.max_per_window) {
    const oldestCounted = recent[recent.length - params.max_per_window]!;
    return { accepted: false, nextEligibleAt: isoTime(oldestCounted + windowMs), recentCount: recent.length, friction: friction('throttled', recent.length) };
  }
  const count = recent.length + 1;
  return { accepted: true, recentCount: count, friction: friction(count >= params.max_per_window - 1 ? 'elevated' : 'normal', count) };
}

/** Body of `POST …/review-events` (also the 429 body, with accepted: false). */
export function reviewEventResponse(input: { tenantId: string; operatorDid: string; scoreModelVersion: string; request: NormalizedReviewRequest; throttle?: ThrottleDecision }) {
  const { request, throttle } = input;
  return {
    schema_version: 1,
    tenant_id: input.tenantId,
    operator_did: input.operatorDid,
    score_model_version: input.scoreModelVersion,
    requested_event_type: request.requestedEventType,
    recorded_event_type: request.recordedEventType,
    ...(request.reviewOutcome ? { review_outcome: request.reviewOutcome } : {}),
    ...(request.signalCode ? { signal_code: request.signalCode } : {}),
    ...(request.intentId ? { intent_id: request.intentId } : {}),
    ...(request.providerEventId ? { provider_event_id: request.providerEventId } : {}),
    accepted: throttle ? throttle.accepted : true,
    ...(throttle?.nextEligibleAt ? { next_eligible_at: throttle.nextEligibleAt } : {}),
    ...(throttle ? { friction: throttle.friction } : { friction: { band: 'normal' as FrictionBand } }),
  };
}

export interface ReviewCase {
  operator_did: string;
  review_state: ReviewState;
  /** The latest recorded outcome of the current case, or "none". */
  review_outcome: ReviewOutcome | 'none';
  review_reasons: string[];
  anomaly_flagged: boolean;
  /** RFC 3339, or "" when it never happened (the Kit types these as plain strings). */
  opened_at: string;
  reviewed_at: string;
  updated_at: string;
}

/** Fold an operator's accepted review events (in recorded order) into its current case. */
export function foldReviewCase(operatorDid: string, events: readonly ReviewEventRecord[]): ReviewCase {
  const c: ReviewCase = { operator_did: operatorDid, review_state: 'none', review_outcome: 'none', review_reasons: [], anomaly_flagged: false, opened_at: '', reviewed_at: '', updated_at: '' };
  const reason = (r: string) => {
    if (!c.review_reasons.includes(r)) c.review_reasons.push(r);
  };
  const open = (at: string) => {
    c.review_state = 'open';
    c.review_outcome = 'none';
    c.review_reasons = [];
    c.anomaly_flagged = false;
    c.opened_at = at;
  };
  for (const e of events) {
    if (e.operatorDid !== operatorDid || !e.accepted) continue;
    const idle = c.review_state === 'none' || c.review_state === 'closed';
    switch (e.eventType) {
      case 'signal_flagged':
        if (idle) open(e.recordedAt);
        c.anomaly_flagged = true;
        reason('FRAUD_REVIEW');
        if (e.signalCode) reason(e.signalCode);
        break;
      case 'review_open_requested':
        if (idle) open(e.recordedAt);
        reason('MANUAL_REVIEW');
        break;
      case 'appeal_requested':
        if (idle) open(e.recordedAt);
        reason('APPEAL');
        break;
      case 'replay_requested':
        break;
      case 'review_outcome_recorded':
        if (!e.reviewOutcome) throw new SignalModelError('review_outcome_required', 'a recorded outcome event carries no outcome');
        if (c.review_state === 'none') c.opened_at = e.recordedAt;
        c.review_outcome = e.reviewOutcome;
        c.reviewed_at = e.recordedAt;
        c.review_state = e.reviewOutcome === 'needs_more_evidence' ? 'in_review' : 'closed';
        break;
      default:
        throw new SignalModelError('invalid_review_event', `unknown review event type ${String(e.eventType)}`);
    }
    c.updated_at = e.recordedAt;
  }
  return c;
}

/**
 * The `signal_flagged` events to append now: one per high or critical signal whose evidence is
 * newer than the last closed review (so a closed case is not reopened by evidence already seen),
 * skipping codes already flagged in the current case.
 */
export function flagsToRecord(current: ReviewCase, signals: readonly FraudSignal[], operatorDid: string, nowIso: string): ReviewEventRecord[] {
  const reviewedMs = current.reviewed_at ? Date.parse(current.reviewed_at) : Number.NEGATIVE_INFINITY;
  const active = current.review_state === 'open' || current.review_state === 'in_review';
  return signals
    .filter((s) => SEVERITY_RANK[s.severity] >= SEVERITY_RANK.high)
    .filter((s) => (active ? !current.review_reasons.includes(s.code) : Date.parse(s.last_seen_at) > reviewedMs))
    .map((s) => ({ operatorDid, eventType: 'signal_flagged' as const, signalCode: s.code, summary: s.summary, recordedAt: nowIso, accepted: true }));
}

/** A recorded review outcome, as the reliability and metrics computations read it. */
export interface ReviewLabel {
  operatorDid: string;
  outcome: ReviewOutcome;
  signalCode?: string;
  intentId?: string;
  recordedAt: string;
}

export const labelsFrom = (events: readonly ReviewEventRecord[]): ReviewLabel[] =>
  events
    .filter((e) => e.accepted && e.eventType === 'review_outcome_recorded' && e.reviewOutcome)
    .map((e) => ({
      operatorDid: e.operatorDid,
      outcome: e.reviewOutcome!,
      ...(e.signalCode ? { signalCode: e.signalCode } : {}),
      ...(e.intentId ? { intentId: e.intentId } : {}),
      recordedAt: e.recordedAt,
    }));

/** Appeal/replay attempts (accepted or not) as REPLAY_APPEAL_ABUSE reads them, per operator. */
export function requestStampsFrom(events: readonly ReviewEventRecord[]): Map<string, Array<{ timeMs: number; intentId?: string }>> {
  const out = new Map<string, Array<{ timeMs: number; intentId?: string }>>();
  for (const e of events) {
    if (e.eventType !== 'appeal_requested' && e.eventType !== 'replay_requested') continue;
    const list = out.get(e.operatorDid) ?? [];
    list.push({ timeMs: parseTime(e.recordedAt, 'recorded_at'), ...(e.intentId ? { intentId: e.intentId } : {}) });
    out.set(e.operatorDid, list);
  }
  return out;
}
