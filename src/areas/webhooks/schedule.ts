/**
 * When to try a delivery again, when to give up, and when an endpoint counts as failing.
 *
 * Retries back off exponentially (30 s × 4ⁿ, capped at 12 h) over about three days, as the Standard
 * Webhooks specification recommends ("a retry schedule spanning multiple days, with an exponential
 * backoff ... and some level of random jitter"). Nominal schedule (before jitter):
 *
 * | Attempt | Delay before it | Time since the first attempt |
 * | ------- | --------------- | ---------------------------- |
 * | 1 | immediately | 0 s |
 * | 2 | 30 s | 30 s |
 * | 3 | 2 min | 2 min 30 s |
 * | 4 | 8 min | 10 min 30 s |
 * | 5 | 32 min | 42 min 30 s |
 * | 6 | 2 h 8 min | 2 h 50 min 30 s |
 * | 7 | 8 h 32 min | 11 h 22 min 30 s |
 * | 8 | 12 h | 23 h 22 min 30 s |
 * | 9 | 12 h | 1 d 11 h 22 min 30 s |
 * | 10 | 12 h | 1 d 23 h 22 min 30 s |
 * | 11 | 12 h | 2 d 11 h 22 min 30 s |
 * | 12 | 12 h | 2 d 23 h 22 min 30 s |
 *
 * Each delay is multiplied by a random factor in [0.8, 1.2), so endpoints that failed together are
 * not retried together; a `Retry-After` answer (429, 503) can lengthen a delay, never shorten it, up
 * to the 12 h cap. After the 12th failed attempt the delivery is given up (it can still be redelivered
 * by hand). A test keeps this table equal to `renderScheduleTable()`.
 */

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** Delays are scaled by a factor drawn from [1 - jitter, 1 + jitter). */
  jitter: number;
}

export const RETRY_POLICY: RetryPolicy = { maxAttempts: 12, baseDelayMs: 30_000, factor: 4, maxDelayMs: 12 * 3600_000, jitter: 0.2 };

/** Nominal delay between attempt `attempt` (1-based, just failed) and the next one. */
export const nominalDelayMs = (attempt: number, policy: RetryPolicy = RETRY_POLICY): number =>
  Math.min(policy.baseDelayMs * policy.factor ** (attempt - 1), policy.maxDelayMs);

export interface ScheduleRow {
  attempt: number;
  delayMs: number;
  elapsedMs: number;
}

export function nominalSchedule(policy: RetryPolicy = RETRY_POLICY): ScheduleRow[] {
  const rows: ScheduleRow[] = [{ attempt: 1, delayMs: 0, elapsedMs: 0 }];
  for (let attempt = 2; attempt <= policy.maxAttempts; attempt++) {
    const delayMs = nominalDelayMs(attempt - 1, policy);
    rows.push({ attempt, delayMs, elapsedMs: rows[rows.length - 1]!.elapsedMs + delayMs });
  }
  return rows;
}

/** `2 d 23 h 22 min 30 s`; zero is `0 s`. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, seconds] of [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / seconds);
    rest -= n * seconds;
    if (n > 0) parts.push(`${n} ${unit}`);
  }
  return parts.length ? parts.join(' ') : '0 s';
}

/** The nominal schedule as a Markdown table (docs, and the comment above). */
export function renderScheduleTable(policy: RetryPolicy = RETRY_POLICY): string {
  const rows = nominalSchedule(policy).map(
    (row) => `| ${row.attempt} | ${row.delayMs === 0 ? 'immediately' : formatDuration(row.delayMs)} | ${formatDuration(row.elapsedMs)} |`,
  );
  return ['| Attempt | Delay before it | Time since the first attempt |', '| ------- | --------------- | ---------------------------- |', ...rows].join('\n');
}

export type AttemptOutcome = 'delivered' | 'retry' | 'gone';

export type NextStep =
  | { status: 'delivered' }
  /** 410 Gone: the receiver asked for no more deliveries; the endpoint is disabled. */
  | { status: 'endpoint_gone' }
  | { status: 'retry'; delayMs: number; nextAttemptAt: Date }
  /** Every attempt failed; kept for inspection and manual redelivery. */
  | { status: 'exhausted' };

/**
 * What follows attempt number `attempt` (1-based). `random` returns [0, 1) (Math.random by
 * default; tests pass a fixed one). `retryAfterMs` is the receiver's Retry-After, if any.
 */
export function planNextAttempt(input: {
  attempt: number;
  outcome: AttemptOutcome;
  now: Date;
  retryAfterMs?: number | null;
  random?: () => number;
  policy?: RetryPolicy;
}): NextStep {
  const policy = input.policy ?? RETRY_POLICY;
  if (input.outcome === 'delivered') return { status: 'delivered' };
  if (input.outcome === 'gone') return { status: 'endpoint_gone' };
  if (input.attempt >= policy.maxAttempts) return { status: 'exhausted' };
  const scale = 1 - policy.jitter + 2 * policy.jitter * (input.random ?? Math.random)();
  const jittered = Math.round(nominalDelayMs(input.attempt, policy) * scale);
  const delayMs = Math.max(jittered, Math.min(input.retryAfterMs ?? 0, policy.maxDelayMs));
  return { status: 'retry', delayMs, nextAttemptAt: new Date(input.now.getTime() + delayMs) };
}

/**
 * An endpoint is "failing" once at least `consecutiveFailures` attempts in a row failed over at
 * least `minDurationMs`: a burst of events during a one-minute outage does not mark it, a receiver
 * down for an hour does (and one event retried for two days does). Failing endpoints keep
 * receiving retries; the flag is for the tenant's admins, and the first success clears it.
 */
export interface FailingRule {
  consecutiveFailures: number;
  minDurationMs: number;
}

export const FAILING_RULE: FailingRule = { consecutiveFailures: 10, minDurationMs: 3600_000 };

export interface EndpointHealth {
  /** `gone` after a 410 answer, `admin` when switched off by hand; null while enabled. */
  disabledReason: 'gone' | 'admin' | null;
  consecutiveFailures: number;
  /** First failure of the current run of failures. */
  firstFailureAt: Date | null;
  failingSince: Date | null;
}

export type EndpointStatus = 'active' | 'failing' | 'disabled';

export const HEALTHY: EndpointHealth = { disabledReason: null, consecutiveFailures: 0, firstFailureAt: null, failingSince: null };

export const endpointStatus = (health: EndpointHealth): EndpointStatus =>
  health.disabledReason ? 'disabled' : health.failingSince ? 'failing' : 'active';

/** The endpoint's health after one attempt's outcome. */
export function recordOutcome(health: EndpointHealth, outcome: AttemptOutcome, now: Date, rule: FailingRule = FAILING_RULE): EndpointHealth {
  if (outcome === 'delivered') return { ...health, consecutiveFailures: 0, firstFailureAt: null, failingSince: null };
  const consecutiveFailures = health.consecutiveFailures + 1;
  const firstFailureAt = health.firstFailureAt ?? now;
  const failing = consecutiveFailures >= rule.consecutiveFailures && now.getTime() - firstFailureAt.getTime() >= rule.minDurationMs;
  return {
    disabledReason: outcome === 'gone' ? 'gone' : health.disabledReason,
    consecutiveFailures,
    firstFailureAt,
    failingSince: health.failingSince ?? (failing ? now : null),
  };
}
