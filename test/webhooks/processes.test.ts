import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createApiKey } from '../../src/areas/identity/api-keys.ts';
import { createOrganization } from '../../src/areas/identity/organizations.ts';
import { createEndpoint } from '../../src/areas/webhooks/endpoints.ts';
import { loadConfig } from '../../src/config.ts';
import type { Runtime } from '../../src/context.ts';
import { createRuntime } from '../../src/runtime.ts';
import { adminPrincipal } from '../helpers/factories.ts';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { startReceiver, type Receiver } from './receiver.ts';

/*
 * Real gateway processes (the build in dist/) delivering to a real receiver that verifies every
 * delivery with the standardwebhooks library: deliveries survive kill -9 of the node sending them,
 * and on PostgreSQL several nodes deliver each attempt once.
 */

const dirs: string[] = [];
const servers: RunningServer[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const r of receivers) await r.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-webhooks-e2e-'));
  dirs.push(dir);
  return dir;
};
const start = async (env: Record<string, string>) => {
  const server = await startServer(env);
  servers.push(server);
  return server;
};

/** The gateway's own services on the nodes' database: an organization, an endpoint to `url`, and API key events. */
async function openSeed(env: Record<string, string>) {
  const runtime: Runtime = await createRuntime(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env }));
  const created = await runtime.db.$transaction((tx) =>
    createOrganization(tx, { name: 'Hooks Co', admin: { email: `hooks-${Date.now()}@e2e.test`, passwordHash: 'not-used' } }, runtime.clock.now()),
  );
  const ctx = { runtime, principal: adminPrincipal(created, created.userId, 'sandbox'), requestId: 'req_seed' };
  return {
    runtime,
    tenantId: created.tenants.sandbox,
    endpoint: (url: string) => createEndpoint(ctx, { url }),
    /** `n` committed changes, each with one event for every endpoint. */
    events: async (n: number) => {
      for (let i = 0; i < n; i++) await createApiKey(ctx, { name: `key ${i}` });
    },
    eventIds: async () => (await runtime.db.webhookEvent.findMany({ where: { tenantId: created.tenants.sandbox }, select: { id: true } })).map((e) => e.id).sort(),
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, output: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const receivedIds = (r: Receiver) => r.received.map((x) => String(x.headers['webhook-id']));

const database = inject('testDatabase');

if (database.kind === 'pglite') {
  describe('webhook deliveries across real gateway processes (embedded database)', () => {
    it('kill -9 while deliveries are in flight and pending: after a restart every event is delivered at least once', async () => {
      const env = { DATA_DIR: dataDir(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_LEASE_SECONDS: '2' };
      // The receiver first holds every request open: the node dies with attempts in flight.
      let holding = true;
      const r = await startReceiver({ reply: () => (holding ? { raw: () => undefined } : { status: 200, body: 'ok' }) });
      receivers.push(r);
      const seed = await openSeed(env);
      const { secret } = await seed.endpoint(`${r.url}/hooks`);
      r.secrets.push(secret);
      await seed.events(20);
      const expected = await seed.eventIds();
      expect(expected).toHaveLength(20);
      await seed.runtime.close();

      const first = await start(env);
      await until('the first node sends', () => r.received.length >= 1, 30_000, first.output);
      first.child.kill('SIGKILL');
      expect(await first.stop()).toBeNull();
      const inFlightAtKill = new Set(receivedIds(r));
      expect(inFlightAtKill.size).toBeGreaterThanOrEqual(1);
      expect(inFlightAtKill.size).toBeLessThan(20);

      holding = false;
      const second = await start(env);
      await until('every event delivered', () => expected.every((id) => receivedIds(r).includes(id)), 60_000, second.output);
      expect(r.received.every((x) => x.verified[0] === true)).toBe(true);
      expect(await second.stop()).toBe(0);

      const check = await createRuntime(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env }));
      try {
        const deliveries = await check.db.webhookDelivery.findMany({ where: { tenantId: seed.tenantId } });
        expect(deliveries).toHaveLength(20);
        expect(deliveries.every((d) => d.status === 'delivered' && d.leaseOwner === null)).toBe(true);
        // Attempts cut off by the kill were not recorded: every recorded attempt is the delivered one.
        expect(await check.db.webhookAttempt.count({ where: { tenantId: seed.tenantId, status: 'delivered' } })).toBe(20);
      } finally {
        await check.close();
      }
    }, 240_000);
  });
}

if (database.kind === 'postgres') {
  const serverUrl = database.url;
  async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
    const pg = (await import('pg')).default;
    const name = `paybond_e2e_webhooks_${Date.now()}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }

  describe('webhook deliveries on PostgreSQL with several nodes', () => {
    it('two gateway nodes deliver each event exactly once (counted at the receiver)', async () => {
      const db = await freshDatabase();
      try {
        const env = { DATA_DIR: dataDir(), DATABASE_URL: db.url, MIGRATE_ON_START: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
        // A short delay per answer keeps both nodes' workers busy at once.
        const r = await startReceiver({ reply: () => ({ status: 200, body: 'ok', delayMs: 20 }) });
        receivers.push(r);
        const seed = await openSeed(env);
        try {
          const { secret } = await seed.endpoint(`${r.url}/hooks`);
          r.secrets.push(secret);
          const a = await start(env);
          const b = await start(env);
          await Promise.all([seed.events(30), seed.events(30)]);
          const expected = await seed.eventIds();
          expect(expected).toHaveLength(60);
          await until(
            'every delivery recorded as delivered',
            async () => (await seed.runtime.db.webhookDelivery.count({ where: { tenantId: seed.tenantId, status: 'delivered' } })) === 60,
            120_000,
            () => a.output() + b.output(),
          );
          expect(receivedIds(r).sort()).toEqual(expected);
          expect(r.received.every((x) => x.verified[0] === true)).toBe(true);
          expect(await seed.runtime.db.webhookAttempt.count({ where: { tenantId: seed.tenantId } })).toBe(60);
          expect(await a.stop()).toBe(0);
          expect(await b.stop()).toBe(0);
        } finally {
          await seed.runtime.close();
        }
      } finally {
        await db.drop();
      }
    }, 240_000);

    it('a kill -9 of one node hands its claims to the other once their lease lapses; a dedicated `npm run worker` delivers too', async () => {
      const db = await freshDatabase();
      try {
        const env = { DATA_DIR: dataDir(), DATABASE_URL: db.url, MIGRATE_ON_START: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_LEASE_SECONDS: '2' };
        let holding = true;
        const r = await startReceiver({ reply: () => (holding ? { raw: () => undefined } : { status: 200, body: 'ok' }) });
        receivers.push(r);
        const seed = await openSeed(env);
        try {
          const { secret } = await seed.endpoint(`${r.url}/hooks`);
          r.secrets.push(secret);
          // The serving node does not deliver: the dedicated worker does.
          const gateway = await start({ ...env, WEBHOOK_WORKER: 'off' });
          const victim = await start(env);
          await seed.events(10);
          await until('the victim sends', () => r.received.length >= 1, 30_000, victim.output);
          victim.child.kill('SIGKILL');
          expect(await victim.stop()).toBeNull();
          holding = false;
          const worker = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
            cwd: path.resolve(import.meta.dirname, '../..'),
            env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let output = '';
          worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
          worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
          const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
          const expected = await seed.eventIds();
          await until('every event delivered by the worker', () => expected.every((id) => receivedIds(r).includes(id)), 60_000, () => output);
          expect(r.received.every((x) => x.verified[0] === true)).toBe(true);
          worker.kill('SIGTERM');
          expect(await exited).toBe(0);
          expect(await gateway.stop()).toBe(0);
        } finally {
          await seed.runtime.close();
        }
      } finally {
        await db.drop();
      }
    }, 240_000);
  });
}
