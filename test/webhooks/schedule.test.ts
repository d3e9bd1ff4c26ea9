import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  endpointStatus,
  FAILING_RULE,
  formatDuration,
  HEALTHY,
  nominalSchedule,
  planNextAttempt,
  recordOutcome,
  renderScheduleTable,
  RETRY_POLICY,
  type EndpointHealth,
} from '../../src/areas/webhooks/schedule.ts';

const HOUR = 3600_000;
const now = new Date('2026-01-15T10:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);

describe('retry schedule', () => {
  it('backs off 30 s × 4ⁿ up to 12 h, twelve attempts over about three days', () => {
    const rows = nominalSchedule();
    expect(rows).toHaveLength(12);
    expect(rows.map((r) => r.delayMs / 1000)).toEqual([0, 30, 120, 480, 1920, 7680, 30720, 43200, 43200, 43200, 43200, 43200]);
    const total = rows.at(-1)!.elapsedMs;
    expect(total).toBe(256_950_000);
    expect(total / (24 * HOUR)).toBeGreaterThan(2.9);
    expect(total / (24 * HOUR)).toBeLessThan(3.1);
  });

  it('the table in the schedule.ts comment is the one the code produces', () => {
    const source = fs.readFileSync(new URL('../../src/areas/webhooks/schedule.ts', import.meta.url), 'utf8');
    const comment = source
      .split('\n')
      .filter((line) => line.startsWith(' * |'))
      .map((line) => line.slice(3))
      .join('\n');
    expect(comment).toBe(renderScheduleTable());
  });

  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(150_000)).toBe('2 min 30 s');
    expect(formatDuration(256_950_000)).toBe('2 d 23 h 22 min 30 s');
  });

  it('jitters each delay within ±20 %', () => {
    const low = planNextAttempt({ attempt: 1, outcome: 'retry', now, random: () => 0 });
    const high = planNextAttempt({ attempt: 1, outcome: 'retry', now, random: () => 0.999999 });
    const mid = planNextAttempt({ attempt: 3, outcome: 'retry', now, random: () => 0.5 });
    expect(low).toEqual({ status: 'retry', delayMs: 24_000, nextAttemptAt: at(24_000) });
    expect(high.status === 'retry' && high.delayMs).toBe(36_000);
    expect(mid.status === 'retry' && mid.delayMs).toBe(480_000);
    const spread = new Set(Array.from({ length: 50 }, () => (planNextAttempt({ attempt: 2, outcome: 'retry', now }) as { delayMs: number }).delayMs));
    expect(spread.size).toBeGreaterThan(1);
    for (const d of spread) expect(d >= 96_000 && d < 144_000).toBe(true);
  });

  it('Retry-After lengthens a delay up to the 12 h cap and never shortens it', () => {
    const plan = (retryAfterMs: number) => planNextAttempt({ attempt: 1, outcome: 'retry', now, retryAfterMs, random: () => 0.5 }) as { delayMs: number };
    expect(plan(5_000).delayMs).toBe(30_000);
    expect(plan(600_000).delayMs).toBe(600_000);
    expect(plan(7 * 24 * HOUR).delayMs).toBe(12 * HOUR);
  });

  it('gives up after the last attempt; delivered and gone end at once', () => {
    expect(planNextAttempt({ attempt: RETRY_POLICY.maxAttempts - 1, outcome: 'retry', now }).status).toBe('retry');
    expect(planNextAttempt({ attempt: RETRY_POLICY.maxAttempts, outcome: 'retry', now })).toEqual({ status: 'exhausted' });
    expect(planNextAttempt({ attempt: 1, outcome: 'delivered', now })).toEqual({ status: 'delivered' });
    expect(planNextAttempt({ attempt: 1, outcome: 'gone', now })).toEqual({ status: 'endpoint_gone' });
  });
});

describe('endpoint health', () => {
  const fail = (health: EndpointHealth, times: number, stepMs: number, from = now) => {
    let h = health;
    for (let i = 0; i < times; i++) h = recordOutcome(h, 'retry', new Date(from.getTime() + i * stepMs));
    return h;
  };

  it('a burst of failures during a short outage does not mark the endpoint failing', () => {
    const h = fail(HEALTHY, 50, 1000);
    expect(h.consecutiveFailures).toBe(50);
    expect(endpointStatus(h)).toBe('active');
  });

  it(`${FAILING_RULE.consecutiveFailures} failures in a row over at least an hour mark it failing; the first success clears it`, () => {
    const nine = fail(HEALTHY, 9, 10 * 60_000);
    expect(endpointStatus(nine)).toBe('active');
    const ten = recordOutcome(nine, 'retry', at(2 * HOUR));
    expect(endpointStatus(ten)).toBe('failing');
    expect(ten.failingSince).toEqual(at(2 * HOUR));
    const still = recordOutcome(ten, 'retry', at(3 * HOUR));
    expect(still.failingSince).toEqual(at(2 * HOUR));
    const healed = recordOutcome(still, 'delivered', at(4 * HOUR));
    expect(healed).toEqual(HEALTHY);
  });

  it('a success in the middle restarts the count', () => {
    const h = recordOutcome(fail(HEALTHY, 9, 10 * 60_000), 'delivered', at(2 * HOUR));
    expect(endpointStatus(fail(h, 9, 10 * 60_000, at(3 * HOUR)))).toBe('active');
  });

  it('410 Gone disables the endpoint and a late success does not re-enable it', () => {
    const gone = recordOutcome(HEALTHY, 'gone', now);
    expect(gone.disabledReason).toBe('gone');
    expect(endpointStatus(gone)).toBe('disabled');
    expect(endpointStatus(recordOutcome(gone, 'delivered', at(1000)))).toBe('disabled');
  });
});
