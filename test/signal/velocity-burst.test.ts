import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review, runIntent, signalGateway } from './flows.ts';

/**
 * A burst of intents to one payee raises VELOCITY_SPIKE once; while that case is open, further
 * creations do not re-read the operator's ledger window inside the write (it would add nothing to
 * the case). Once the case is reviewed, the next creation evaluates again and flags the spike anew.
 */
let env: Awaited<ReturnType<typeof signalGateway>>;
const BURSTY = 'did:example:bursty';
let statements: string[] = [];
const windowReads = () => statements.filter((s) => s.includes('FROM "LedgerEvent" e')).length;
const flagged = () => env.gw.runtime.db.auditEvent.count({ where: { tenantId: env.actor.tenantId, eventType: 'signal.review.signal_flagged' } });

beforeAll(async () => {
  env = await signalGateway();
  (env.gw.runtime.db as unknown as { $on(e: 'query', f: (e: { query: string }) => void): void }).$on('query', (e) => statements.push(e.query));
  for (let i = 0; i < 10; i++) await runIntent(env.gw, env.actor, { payeeDid: BURSTY, until: 'created' });
});
afterAll(() => env.gw.close());

describe('velocity re-check during a burst', () => {
  it('the tenth creation evaluated the window and flagged the spike once', async () => {
    expect(await flagged()).toBe(1);
    expect(windowReads()).toBe(1);
  });

  it('creations while the spike is in the open case skip the window read and flag nothing new', async () => {
    statements = [];
    for (let i = 0; i < 5; i++) await runIntent(env.gw, env.actor, { payeeDid: BURSTY, until: 'created' });
    expect(windowReads()).toBe(0);
    expect(await flagged()).toBe(1);
  });

  it('after the case is reviewed, the next creation evaluates again and flags the ongoing spike', async () => {
    const res = await review(env.gw, env.org, BURSTY, { event_type: 'false_positive', signal_code: 'VELOCITY_SPIKE', summary: 'expected load test' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    statements = [];
    await runIntent(env.gw, env.actor, { payeeDid: BURSTY, until: 'created' });
    expect(windowReads()).toBe(1);
    expect(await flagged()).toBe(2);
  });
});
