import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGate } from '../../src/plugins/admission.ts';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { stallDatabase } from '../helpers/faults.ts';

const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 200 && !condition(); i++) await tick(10);
  expect(condition(), what).toBe(true);
}

describe('admission gate', () => {
  it('admits up to the limit, queues in order, sheds beyond the queue', async () => {
    const gate = createGate(2, 1);
    const a = (await gate.enter())!;
    const b = (await gate.enter())!;
    expect(gate.active).toBe(2);
    const order: string[] = [];
    const c = gate.enter().then((release) => {
      order.push('c');
      return release!;
    });
    expect(gate.queued).toBe(1);
    expect(await gate.enter()).toBeNull(); // queue full
    a();
    a(); // a second release of the same slot changes nothing
    const releaseC = await c;
    expect(order).toEqual(['c']);
    expect(gate.active).toBe(2);
    b();
    releaseC();
    expect(gate.active).toBe(0);
    expect(gate.queued).toBe(0);
  });
});

describe('admission control', () => {
  let gw: TestGateway;
  let org: TestOrg;
  beforeAll(async () => {
    // The per-node cache off: every request here must reach the (stalled) database to hold its slot.
    gw = await createTestGateway({ env: { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUED_REQUESTS: '1', CACHE: 'off' } });
    org = await createOrg(gw);
  });
  afterAll(() => gw.close());

  const principal = () => rest(gw, 'GET', '/v1/auth/principal', undefined, { token: org.apiKey.sandbox });

  it('queues what exceeds the limit, answers 503 overloaded with Retry-After beyond the queue, and never gates probes', async () => {
    const stall = stallDatabase(gw);
    const first = principal();
    await until(() => stall.waiting() > 0, 'the first request reached the database');
    const second = principal(); // waits for the slot
    await tick();
    const third = await principal();
    expectError(third, 503, 'overloaded');
    expect(third.headers.get('retry-after')).toBe('1');
    expect(stall.waiting()).toBe(1); // the queued request has not run

    expect((await rest(gw, 'GET', '/healthz')).status).toBe(200);
    expect((await rest(gw, 'GET', '/readyz')).status).toBe(200);

    stall.resume();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await principal()).status).toBe(200); // every slot was given back
  });

  it('gives the slot back when the client goes away, and drops a request whose client left while it waited', async () => {
    const server = createServer(gw.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const url = `${base}/v1/auth/principal`;
    const headers = { authorization: `Bearer ${org.apiKey.sandbox}` };
    const stall = stallDatabase(gw);
    try {
      const gone = new AbortController();
      const abandoned = fetch(url, { headers, signal: gone.signal }).catch(() => 'aborted');
      await until(() => stall.waiting() === 1, 'the first request holds the only slot');
      gone.abort();
      expect(await abandoned).toBe('aborted');
      // Its handler is still waiting on the database, but the slot is free for the next client.
      const next = fetch(url, { headers });
      await until(() => stall.waiting() === 2, 'the next request was admitted');
      // A write queued behind it whose client gives up is never run.
      const impatient = new AbortController();
      const write = fetch(`${base}/v1/admin/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.admin.token.sandbox}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'abandoned in the queue' }),
        signal: impatient.signal,
      }).catch(() => 'aborted');
      await tick();
      impatient.abort();
      expect(await write).toBe('aborted');
      await tick(); // the server notices the closed connection
      stall.resume();
      expect((await next).status).toBe(200);
      const listed = await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token: org.admin.token.sandbox });
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).not.toContain('abandoned in the queue');
      expect((await fetch(url, { headers })).status).toBe(200); // no slot was lost
    } finally {
      stall.resume();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
