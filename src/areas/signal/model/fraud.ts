import { betaQuantile } from './beta.ts';
import { isoTime, type SignalEvent } from './history.ts';
import { bps } from './score.ts';

/**
 * Fraud signals: deterministic functions of a ledger prefix (plus the operator's appeal/replay
 * requests), evaluated at a point in time T with windows (T − W, T]. They never change the score
 * (`affects_score: false`); they feed review and the release gate. Because nothing after T is
 * read, a backtest that evaluates at past points sees exactly what the live system saw.
 */

export const FRAUD_SIGNAL_VERSION = '1.0.0';

export type FraudSeverity = 'elevated' | 'high' | 'critical';
export const SEVERITY_RANK: Record<'none' | FraudSeverity, number> = { none: 0, elevated: 1, high: 2, critical: 3 };

export type FraudSignalCode = 'VELOCITY_SPIKE' | 'AMOUNT_ANOMALY' | 'REFUND_BURST' | 'DISPUTE_CLUSTER' | 'REPEATED_FAILED_PREDICATES' | 'REPLAY_APPEAL_ABUSE';
/** Families the model itself emits, in listing order; provider webhooks would add `PROVIDER`. */
export const MODEL_SIGNAL_FAMILIES: readonly FraudSignalCode[] = ['VELOCITY_SPIKE', 'AMOUNT_ANOMALY', 'REFUND_BURST', 'DISPUTE_CLUSTER', 'REPEATED_FAILED_PREDICATES', 'REPLAY_APPEAL_ABUSE'];
/** Families whose rules can reach `critical` (and so can hold a release). */
export const CRITICAL_CAPABLE_FAMILIES: readonly string[] = ['VELOCITY_SPIKE', 'DISPUTE_CLUSTER', 'PROVIDER'];

/** A signal code's family: model codes are their own family; `PROVIDER_*` codes share one. */
export const signalFamilyOf = (code: string): string => (code.startsWith('PROVIDER_') ? 'PROVIDER' : code);

export interface FraudSignal {
  code: string;
  severity: FraudSeverity;
  category: string;
  window: string;
  evidence_count: number;
  summary: string;
  affects_score: false;
  signal_source: 'signal_model' | 'provider';
  first_seen_at: string;
  last_seen_at: string;
  evidence_binding_strength: 'intent_bound' | 'operator_aggregate';
  provider_event_refs?: string[];
  intent_refs: string[];
}

export interface FraudParams {
  velocity: { window_seconds: number; trailing_seconds: number; min_count: number; elevated_z: number; high_z: number; critical_z: number };
  amount: { lookback_seconds: number; window_seconds: number; min_samples: number; mad_floor: number; elevated_z: number; high_z: number; max_ratio: number; max_ratio_min_samples: number };
  refund_burst: { window_seconds: number; baseline_seconds: number; min_count: number; rate_multiple: number };
  dispute_cluster: { window_seconds: number; min_count: number; rate_rule_min_count: number; baseline_seconds: number; baseline_quantile: number; baseline_min_base: number; critical_min_count: number; critical_rate_bps: number };
  failed_predicates: { window_seconds: number; min_count: number };
  replay_appeal: { window_seconds: number; max_per_window: number };
  /** Tolerated clock skew between ledger timestamps when scanning windows backwards. */
  skew_seconds: number;
  /** At most this many intent refs are listed per signal (evidence_count stays exact). */
  max_refs: number;
}

const H = 3600;
const D = 86_400;
export const FRAUD_V1_PARAMS: Readonly<FraudParams> = Object.freeze({
  velocity: { window_seconds: H, trailing_seconds: 7 * D, min_count: 10, elevated_z: 4, high_z: 6, critical_z: 8 },
  amount: { lookback_seconds: 90 * D, window_seconds: D, min_samples: 20, mad_floor: 0.05, elevated_z: 3.5, high_z: 5, max_ratio: 10, max_ratio_min_samples: 3 },
  refund_burst: { window_seconds: D, baseline_seconds: 30 * D, min_count: 3, rate_multiple: 3 },
  dispute_cluster: { window_seconds: 7 * D, min_count: 3, rate_rule_min_count: 2, baseline_seconds: 90 * D, baseline_quantile: 0.99, baseline_min_base: 50, critical_min_count: 5, critical_rate_bps: 2000 },
  failed_predicates: { window_seconds: 7 * D, min_count: 3 },
  replay_appeal: { window_seconds: D, max_per_window: 3 },
  skew_seconds: H,
  max_refs: 50,
} satisfies FraudParams);

interface Stamp {
  seq: number;
  t: number;
  intentId: string;
}
interface Created extends Stamp {
  amountCents: number;
  anomaly: { severity: FraudSeverity; z: number | null; ratio: number | null } | null;
}

/** Tenant-wide dispute baseline over (T − 90 d, T]: the Beta upper bound an operator's rate is compared to. */
export interface DisputeBaseline {
  disputes: number;
  base: number;
  upper_bound: number;
}

export function disputeBaselineFrom(disputes: number, base: number, params: FraudParams = FRAUD_V1_PARAMS): DisputeBaseline {
  const d = Math.min(disputes, base);
  return { disputes: d, base, upper_bound: betaQuantile(params.dispute_cluster.baseline_quantile, 1 + d, 1 + base - d) };
}

/** Baseline at T from a bound tenant prefix (every operator). */
export function disputeBaselineAt(events: readonly SignalEvent[], atMs: number, params: FraudParams = FRAUD_V1_PARAMS): DisputeBaseline {
  const from = atMs - params.dispute_cluster.baseline_seconds * 1000;
  let disputes = 0;
  const base = new Set<string>();
  for (const e of events) {
    if (e.timeMs <= from || e.timeMs > atMs || !e.intentId) continue;
    if (e.type === 'dispute.opened') disputes += 1;
    if (e.type === 'dispute.opened' || e.type === 'settlement.settled' || e.type === 'settlement.refunded') base.add(e.intentId);
  }
  return disputeBaselineFrom(disputes, base.size, params);
}

/** Appeal or replay requests of one operator (accepted or throttled), for REPLAY_APPEAL_ABUSE. */
export interface ReviewRequestStamp {
  timeMs: number;
  intentId?: string;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  return n % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Entries of `list` (seq order, times nearly ordered) with t in (from, to]. */
function windowOf<T extends { t: number }>(list: readonly T[], from: number, to: number, skewMs: number): T[] {
  const out: T[] = [];
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i]!;
    if (item.t <= from - skewMs) break;
    if (item.t > from && item.t <= to) out.push(item);
  }
  return out.reverse();
}

const maxSeverity = (a: FraudSeverity | null, b: FraudSeverity | null): FraudSeverity | null => (!a ? b : !b ? a : SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b);

/**
 * Per-operator signal state, fed the operator's bound events in seq order. `evaluate(T)` lists the
 * signals active at T. Ingesting is O(1) except for the amount test, done once per created intent.
 */
export class OperatorSignalTracker {
  readonly operatorDid: string;
  readonly params: FraudParams;
  private readonly created: Created[] = [];
  private readonly refunds: Stamp[] = [];
  private readonly outcomes: Stamp[] = [];
  private readonly disputes: Stamp[] = [];
  private readonly failedPredicates: Stamp[] = [];
  lastSeq = 0;

  constructor(operatorDid: string, params: FraudParams = FRAUD_V1_PARAMS) {
    this.operatorDid = operatorDid;
    this.params = params;
  }

  ingest(event: SignalEvent): void {
    if (event.operatorDid !== this.operatorDid || !event.intentId) return;
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    const stamp: Stamp = { seq: event.seq, t: event.timeMs, intentId: event.intentId };
    switch (event.type) {
      case 'intent.created':
        this.created.push({ ...stamp, amountCents: event.amountCents ?? 0, anomaly: this.amountAnomaly(event.timeMs, event.amountCents ?? 0) });
        break;
      case 'settlement.settled':
        this.outcomes.push(stamp);
        break;
      case 'settlement.refunded':
        this.outcomes.push(stamp);
        this.refunds.push(stamp);
        break;
      case 'dispute.opened':
        this.outcomes.push(stamp);
        this.disputes.push(stamp);
        break;
      case 'dispute.resolved':
        if (event.disputeOutcome === 'refund') this.refunds.push(stamp);
        break;
      case 'evidence.submitted':
        if (event.predicatePassed === false) this.failedPredicates.push(stamp);
        break;
      default:
    }
  }

  /** Robust z of log(amount) against the prior 90 days (median/MAD), or a jump over 10× the prior max. */
  private amountAnomaly(t: number, amountCents: number): Created['anomaly'] {
    const p = this.params.amount;
    const prior = windowOf(this.created, t - p.lookback_seconds * 1000, t, this.params.skew_seconds * 1000).map((c) => c.amountCents);
    let severity: FraudSeverity | null = null;
    let z: number | null = null;
    let ratio: number | null = null;
    if (prior.length >= p.min_samples) {
      const logs = prior.map((a) => Math.log(Math.max(1, a))).sort((a, b) => a - b);
      const med = median(logs);
      const mad = Math.max(p.mad_floor, median(logs.map((v) => Math.abs(v - med)).sort((a, b) => a - b)));
      z = (0.6745 * (Math.log(Math.max(1, amountCents)) - med)) / mad;
      if (Math.abs(z) >= p.high_z) severity = 'high';
      else if (Math.abs(z) >= p.elevated_z) severity = 'elevated';
    }
    if (prior.length >= p.max_ratio_min_samples) {
      const max = Math.max(...prior);
      ratio = max > 0 ? amountCents / max : null;
      if (amountCents > p.max_ratio * max) severity = maxSeverity(severity, 'elevated');
    }
    return severity ? { severity, z, ratio } : null;
  }

  /** Signals active at T (ms). `baseline` enables the dispute-rate rule; `requests` the appeal rule. */
  evaluate(atMs: number, context: { baseline?: DisputeBaseline; requests?: readonly ReviewRequestStamp[] } = {}): FraudSignal[] {
    const p = this.params;
    const skew = p.skew_seconds * 1000;
    const signals: FraudSignal[] = [];
    const make = (
      code: FraudSignalCode,
      severity: FraudSeverity,
      category: string,
      window: string,
      items: readonly { t: number; intentId?: string }[],
      summary: string,
      strength: FraudSignal['evidence_binding_strength'],
    ): FraudSignal => ({
      code,
      severity,
      category,
      window,
      evidence_count: items.length,
      summary,
      affects_score: false,
      signal_source: 'signal_model',
      first_seen_at: isoTime(Math.min(...items.map((i) => i.t))),
      last_seen_at: isoTime(Math.max(...items.map((i) => i.t))),
      evidence_binding_strength: strength,
      intent_refs: [...new Set(items.flatMap((i) => (i.intentId ? [i.intentId] : [])))].slice(0, p.max_refs),
    });

    // VELOCITY_SPIKE: created in the last hour vs the trailing 7-day hourly mean.
    const v = p.velocity;
    const hour = windowOf(this.created, atMs - v.window_seconds * 1000, atMs, skew);
    if (hour.length >= v.min_count) {
      const trailing = windowOf(this.created, atMs - (v.window_seconds + v.trailing_seconds) * 1000, atMs - v.window_seconds * 1000, skew).length;
      const mu = trailing / (v.trailing_seconds / v.window_seconds);
      const z = (hour.length - mu) / Math.sqrt(mu + 1);
      const severity: FraudSeverity | null = z >= v.critical_z ? 'critical' : z >= v.high_z ? 'high' : z >= v.elevated_z ? 'elevated' : null;
      if (severity) {
        signals.push(make('VELOCITY_SPIKE', severity, 'velocity', '1h', hour, `${hour.length} intents created in 1h vs trailing hourly mean ${mu.toFixed(2)} (z=${z.toFixed(1)})`, 'operator_aggregate'));
      }
    }

    // AMOUNT_ANOMALY: intents created in the last 24h whose amount was anomalous when created.
    const anomalous = windowOf(this.created, atMs - p.amount.window_seconds * 1000, atMs, skew).filter((c) => c.anomaly);
    if (anomalous.length) {
      const severity = anomalous.reduce<FraudSeverity | null>((s, c) => maxSeverity(s, c.anomaly!.severity), null)!;
      const worst = anomalous.reduce((m, c) => Math.max(m, Math.abs(c.anomaly!.z ?? 0)), 0);
      signals.push(
        make('AMOUNT_ANOMALY', severity, 'amount', '24h', anomalous, `${anomalous.length} intent amount(s) far from the 90-day history (max robust |z|=${worst.toFixed(1)})`, 'intent_bound'),
      );
    }

    // REFUND_BURST: ≥3 refunds in 24h and the 24h rate ≥ 3× the 30-day rate.
    const r = p.refund_burst;
    const refunds24 = windowOf(this.refunds, atMs - r.window_seconds * 1000, atMs, skew);
    if (refunds24.length >= r.min_count) {
      const refunds30 = windowOf(this.refunds, atMs - r.baseline_seconds * 1000, atMs, skew).length;
      // rate24 ≥ k · rate30  ⇔  count24 · baseline ≥ k · count30 · window (integers).
      if (refunds24.length * r.baseline_seconds >= r.rate_multiple * refunds30 * r.window_seconds) {
        signals.push(make('REFUND_BURST', 'high', 'refund', '24h', refunds24, `${refunds24.length} refunds in 24h (${refunds30} in 30d)`, 'intent_bound'));
      }
    }

    // DISPUTE_CLUSTER: disputes opened in 7 days, by count or against the tenant baseline.
    const dc = p.dispute_cluster;
    const disputes7 = windowOf(this.disputes, atMs - dc.window_seconds * 1000, atMs, skew);
    if (disputes7.length > 0) {
      const base7 = new Set(windowOf(this.outcomes, atMs - dc.window_seconds * 1000, atMs, skew).map((s) => s.intentId)).size;
      const rateBps = bps(disputes7.length, Math.max(base7, disputes7.length));
      // The rate rule needs a tenant baseline with enough outcomes to mean something.
      const baseline = context.baseline && context.baseline.base >= dc.baseline_min_base ? context.baseline : undefined;
      const overBaseline = baseline !== undefined && disputes7.length >= dc.rate_rule_min_count && rateBps / 10_000 > baseline.upper_bound;
      if (disputes7.length >= dc.min_count || overBaseline) {
        const critical = disputes7.length >= dc.critical_min_count && rateBps >= dc.critical_rate_bps;
        const baselineText = baseline ? `; tenant 99% bound ${Math.round(baseline.upper_bound * 10_000)} bps` : '';
        signals.push(
          make('DISPUTE_CLUSTER', critical ? 'critical' : 'high', 'dispute', '7d', disputes7, `${disputes7.length} disputes opened in 7d, rate ${rateBps} bps${baselineText}`, 'intent_bound'),
        );
      }
    }

    // REPEATED_FAILED_PREDICATES: ≥3 failing evidence submissions in 7 days.
    const fp = p.failed_predicates;
    const failed7 = windowOf(this.failedPredicates, atMs - fp.window_seconds * 1000, atMs, skew);
    if (failed7.length >= fp.min_count) {
      signals.push(make('REPEATED_FAILED_PREDICATES', 'high', 'manipulation', '7d', failed7, `${failed7.length} evidence submissions failed their predicate in 7d`, 'intent_bound'));
    }

    // REPLAY_APPEAL_ABUSE: more than 3 appeal/replay requests in 24 hours.
    const ra = p.replay_appeal;
    const requests = (context.requests ?? []).map((q) => ({ t: q.timeMs, intentId: q.intentId })).filter((q) => q.t > atMs - ra.window_seconds * 1000 && q.t <= atMs);
    if (requests.length > ra.max_per_window) {
      signals.push(make('REPLAY_APPEAL_ABUSE', 'elevated', 'abuse', '24h', requests, `${requests.length} appeal/replay requests in 24h (limit ${ra.max_per_window})`, 'operator_aggregate'));
    }
    return signals;
  }
}

/** Signals of one operator at T from a bound prefix (events after T are ignored). */
export function detectFraudSignals(
  events: readonly SignalEvent[],
  operatorDid: string,
  atMs: number,
  context: { baseline?: DisputeBaseline; requests?: readonly ReviewRequestStamp[]; params?: FraudParams } = {},
): FraudSignal[] {
  const tracker = new OperatorSignalTracker(operatorDid, context.params);
  for (const e of events) {
    if (e.timeMs > atMs) continue;
    tracker.ingest(e);
  }
  const baseline = context.baseline ?? disputeBaselineAt(events, atMs, context.params);
  return tracker.evaluate(atMs, { baseline, requests: context.requests });
}

export type ReviewPriority = 'normal' | 'elevated' | 'high' | 'urgent';

export interface FraudAssessment {
  fraud_signal_version: string;
  level: 'none' | FraudSeverity;
  highest_severity: 'none' | FraudSeverity;
  review_priority: ReviewPriority;
  signal_count: number;
  severe_signal_count: number;
  summary: string;
}

const PRIORITY: Record<'none' | FraudSeverity, ReviewPriority> = { none: 'normal', elevated: 'elevated', high: 'high', critical: 'urgent' };

export function assessFraud(signals: readonly FraudSignal[]): FraudAssessment {
  const highest = signals.reduce<'none' | FraudSeverity>((h, s) => (SEVERITY_RANK[s.severity] > SEVERITY_RANK[h] ? s.severity : h), 'none');
  const severe = signals.filter((s) => SEVERITY_RANK[s.severity] >= SEVERITY_RANK.high).length;
  const codes = signals.map((s) => s.code).join(', ');
  return {
    fraud_signal_version: FRAUD_SIGNAL_VERSION,
    level: highest,
    highest_severity: highest,
    review_priority: PRIORITY[highest],
    signal_count: signals.length,
    severe_signal_count: severe,
    summary: signals.length ? `level=${highest}; ${signals.length} signal${signals.length === 1 ? '' : 's'} (${codes})` : 'level=none',
  };
}

/** A run of consecutive evaluations at which one code fired for one operator. */
export interface FraudEpisode {
  operatorDid: string;
  code: string;
  family: string;
  severity: FraudSeverity;
  /** Ledger seq and time of the evaluation at which it first fired. */
  openedSeq: number;
  openedMs: number;
  /** Last evaluation at which it still fired. */
  lastSeq: number;
  lastMs: number;
  /** Evidence span (first_seen_at of the first firing, last_seen_at of the last). */
  firstSeenMs: number;
  lastSeenMs: number;
  intentRefs: string[];
}

/**
 * Replay a whole tenant prefix, evaluating each operator's signals after each of its events (and
 * after each of its appeal/replay requests), and return the episodes. The tenant dispute baseline
 * is maintained over a sliding 90-day window, so the scan is linear in the prefix apart from the
 * windows each evaluation reads.
 */
export function scanFraudEpisodes(
  events: readonly SignalEvent[],
  options: { requests?: ReadonlyMap<string, readonly ReviewRequestStamp[]>; params?: FraudParams; untilMs?: number } = {},
): FraudEpisode[] {
  const params = options.params ?? FRAUD_V1_PARAMS;
  const trackers = new Map<string, OperatorSignalTracker>();
  const open = new Map<string, Map<string, FraudEpisode>>();
  const episodes: FraudEpisode[] = [];
  // Sliding baseline: queue of (t, intentId, isDispute) for the 90-day window.
  const queue: Array<{ t: number; intentId: string; dispute: boolean }> = [];
  let head = 0;
  let disputes = 0;
  const baseCounts = new Map<string, number>();
  const baselineAt = (t: number): DisputeBaseline => {
    const from = t - params.dispute_cluster.baseline_seconds * 1000;
    while (head < queue.length && queue[head]!.t <= from) {
      const out = queue[head++]!;
      if (out.dispute) disputes -= 1;
      const n = (baseCounts.get(out.intentId) ?? 1) - 1;
      if (n === 0) baseCounts.delete(out.intentId);
      else baseCounts.set(out.intentId, n);
    }
    return disputeBaselineFrom(disputes, baseCounts.size, params);
  };
  const evaluate = (operatorDid: string, seq: number, t: number) => {
    const tracker = trackers.get(operatorDid)!;
    const firing = tracker.evaluate(t, { baseline: baselineAt(t), requests: options.requests?.get(operatorDid) });
    const current = open.get(operatorDid) ?? new Map<string, FraudEpisode>();
    const next = new Map<string, FraudEpisode>();
    for (const s of firing) {
      let episode = current.get(s.code);
      if (!episode) {
        episode = {
          operatorDid,
          code: s.code,
          family: signalFamilyOf(s.code),
          severity: s.severity,
          openedSeq: seq,
          openedMs: t,
          lastSeq: seq,
          lastMs: t,
          firstSeenMs: Date.parse(s.first_seen_at),
          lastSeenMs: Date.parse(s.last_seen_at),
          intentRefs: [...s.intent_refs],
        };
        episodes.push(episode);
      }
      episode.severity = SEVERITY_RANK[s.severity] > SEVERITY_RANK[episode.severity] ? s.severity : episode.severity;
      episode.lastSeq = seq;
      episode.lastMs = t;
      episode.lastSeenMs = Math.max(episode.lastSeenMs, Date.parse(s.last_seen_at));
      for (const ref of s.intent_refs) if (episode.intentRefs.length < params.max_refs && !episode.intentRefs.includes(ref)) episode.intentRefs.push(ref);
      next.set(s.code, episode);
    }
    open.set(operatorDid, next);
  };
  // Appeal/replay requests are evaluation points too (they can raise REPLAY_APPEAL_ABUSE alone).
  const requestPoints: Array<{ operatorDid: string; t: number }> = [];
  for (const [operatorDid, list] of options.requests ?? []) for (const q of list) requestPoints.push({ operatorDid, t: q.timeMs });
  requestPoints.sort((a, b) => a.t - b.t);
  let rp = 0;
  let lastSeq = 0;
  const flushRequests = (untilMs: number) => {
    while (rp < requestPoints.length && requestPoints[rp]!.t <= untilMs) {
      const { operatorDid, t } = requestPoints[rp++]!;
      if (!trackers.has(operatorDid)) trackers.set(operatorDid, new OperatorSignalTracker(operatorDid, params));
      evaluate(operatorDid, lastSeq, t);
    }
  };
  for (const e of events) {
    if (options.untilMs !== undefined && e.timeMs > options.untilMs) break;
    flushRequests(e.timeMs - 1);
    lastSeq = e.seq;
    if (e.intentId && (e.type === 'dispute.opened' || e.type === 'settlement.settled' || e.type === 'settlement.refunded')) {
      queue.push({ t: e.timeMs, intentId: e.intentId, dispute: e.type === 'dispute.opened' });
      if (e.type === 'dispute.opened') disputes += 1;
      baseCounts.set(e.intentId, (baseCounts.get(e.intentId) ?? 0) + 1);
    }
    if (!e.operatorDid) continue;
    let tracker = trackers.get(e.operatorDid);
    if (!tracker) {
      tracker = new OperatorSignalTracker(e.operatorDid, params);
      trackers.set(e.operatorDid, tracker);
    }
    tracker.ingest(e);
    evaluate(e.operatorDid, e.seq, e.timeMs);
  }
  flushRequests(options.untilMs ?? Number.POSITIVE_INFINITY);
  return episodes;
}
