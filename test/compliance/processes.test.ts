import { createHash, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openPglite } from '../../src/db/adapters.ts';
import { verifyBundle } from '../../src/evidence/index.ts';
import { runScript, startServer, type RunningServer } from '../helpers/server.ts';
import { tempFile } from './helpers.ts';

/*
 * Real gateway processes (the build in dist/): a job survives kill -9 of the node building it, and
 * on PostgreSQL a bundle built by one node downloads through another.
 */

const dirs: string[] = [];
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-compliance-e2e-'));
  dirs.push(dir);
  return dir;
};
const start = async (env: Record<string, string>) => {
  const server = await startServer(env);
  servers.push(server);
  return server;
};

/** Enough audit events that building the bundle takes a few seconds, dated before the export. */
const SEED_SQL = `INSERT INTO "AuditEvent" ("id", "tenantId", "eventType", "resource", "resourceId", "decision", "actorType", "requestId", "details", "createdAt")
  SELECT 'aud_seed_' || g, $1, 'seed.event', 'seed', 'r' || (g % 97), 'allowed', 'system', 'req_seed_' || g,
    jsonb_build_object('n', g, 'note', md5(g::text) || md5((g * 7)::text)), now() - interval '1 day' + g * interval '1 millisecond'
  FROM generate_series(1, $2::int) g`;
const SEED_EVENTS = 20_000;

async function bootstrap(env: Record<string, string>): Promise<{ apiKey: string; tenantId: string }> {
  const boot = await runScript(['scripts/bootstrap.ts', '--org', 'Export Co', '--email', `exports-${Date.now()}@e2e.test`], env);
  expect(boot.code, boot.output).toBe(0);
  return { apiKey: /paybond_sk_sandbox_\S+/.exec(boot.output)![0], tenantId: /sandbox (ten_\S+)/.exec(boot.output)![1]! };
}

interface Job {
  id: string;
  status: string;
  attempts: number;
  bundle_sha256: string | null;
  error: string | null;
}

async function call<T = any>(server: RunningServer, method: string, pathname: string, apiKey: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function waitFor(server: RunningServer, apiKey: string, jobId: string, until: (job: Job) => boolean, timeoutMs: number, pollMs = 50): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await call<{ job: Job }>(server, 'GET', `/v1/compliance/audit-exports/${jobId}`, apiKey);
    if (until(body.job)) return body.job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${JSON.stringify(body.job)} after ${timeoutMs} ms\n${server.output()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Download with a fresh token through `server`, check the bytes against the job, verify them offline with the gateway key. */
async function downloadAndVerify(server: RunningServer, apiKey: string, job: Job, publicKeyHex: string): Promise<void> {
  const issued = await call<{ job: { download_token: string } }>(server, 'GET', `/v1/compliance/audit-exports/${job.id}?issue_download=1`, apiKey);
  const res = await fetch(`${server.url}/v1/compliance/audit-exports/${job.id}/bundle?token=${issued.body.job.download_token}`);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(job.bundle_sha256);
  const file = tempFile('bundle.zip');
  fs.writeFileSync(file, bytes);
  const report = await verifyBundle(file, { publicKey: new Uint8Array(Buffer.from(publicKeyHex, 'hex')) });
  expect(report.failures).toEqual([]);
}

/** The gateway's signing public key (hex), from the secrets file the nodes share. */
function hexKey(dir: string): string {
  const secrets = JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8')) as { signing_private_key_pem: string };
  return Buffer.from(createPublicKey(secrets.signing_private_key_pem).export({ format: 'jwk' }).x!, 'base64url').toString('hex');
}

/**
 * kill -9 the node while it builds the bundle, start it again: the job is claimed again once its
 * lease lapses and finishes as a second attempt; the bundle verifies.
 */
async function killAndRestart(env: Record<string, string>, seed: (tenantId: string) => Promise<void>): Promise<void> {
  const { apiKey, tenantId } = await bootstrap(env);
  await seed(tenantId);
  const first = await start(env);
  const created = await call<{ job: Job }>(first, 'POST', '/v1/compliance/audit-exports', apiKey, { filter: { includes: ['audit'] } });
  expect(created.status).toBe(201);
  expect(await waitFor(first, apiKey, created.body.job.id, (j) => j.status !== 'pending', 30_000)).toMatchObject({ status: 'running', attempts: 1 });
  first.child.kill('SIGKILL');
  expect(await first.stop()).toBeNull();

  const second = await start(env);
  const job = await waitFor(second, apiKey, created.body.job.id, (j) => j.status !== 'running' && j.status !== 'pending', 120_000, 500);
  expect(job).toMatchObject({ status: 'ready', attempts: 2, error: null });
  await downloadAndVerify(second, apiKey, job, hexKey(env.DATA_DIR!));
  expect(await second.stop()).toBe(0);
}

const database = inject('testDatabase');
// Each project runs what is its own: the embedded database here, PostgreSQL below.
if (database.kind === 'pglite') {
  describe('export jobs across real gateway processes', () => {
  it('survive kill -9 on the embedded database: resumed after restart', async () => {
    const dir = dataDir();
    await killAndRestart({ DATA_DIR: dir }, async (tenantId) => {
      const db = await openPglite(path.join(dir, 'pglite'));
      try {
        await db.pglite!.query(SEED_SQL, [tenantId, SEED_EVENTS]);
      } finally {
        await db.close();
      }
    });
  }, 240_000);
  });
}

if (database.kind === 'postgres') {
  const serverUrl = database.url;
  describe('export jobs on PostgreSQL with several nodes', () => {
    /** A database of its own: the seeded rows stay out of the rest of the suite. */
    async function freshDatabase(): Promise<{ url: string; query: (sql: string, params: unknown[]) => Promise<unknown>; drop: () => Promise<void> }> {
      const pg = (await import('pg')).default;
      const name = `paybond_e2e_exports_${Date.now()}`;
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        query: async (sql, params) => {
          const client = new pg.Client({ connectionString: url.toString() });
          await client.connect();
          try {
            await client.query(sql, params);
          } finally {
            await client.end();
          }
        },
        drop: async () => {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await admin.end();
        },
      };
    }

    it('a job survives kill -9 of its node and a restart', async () => {
      const db = await freshDatabase();
      try {
        await killAndRestart({ DATA_DIR: dataDir(), DATABASE_URL: db.url, MIGRATE_ON_START: 'true' }, (tenantId) => db.query(SEED_SQL, [tenantId, SEED_EVENTS]).then(() => undefined));
      } finally {
        await db.drop();
      }
    }, 240_000);

    it('a bundle built by one node downloads through another, and a DELETE through either revokes it everywhere', async () => {
      const db = await freshDatabase();
      try {
        // Nodes share the database and the key material (here: one secrets file), as a deployment does.
        const env = { DATA_DIR: dataDir(), DATABASE_URL: db.url, MIGRATE_ON_START: 'true' };
        const { apiKey } = await bootstrap(env);
        const a = await start(env);
        const b = await start(env);
        const created = await call<{ job: Job & { download_token: string } }>(a, 'POST', '/v1/compliance/audit-exports', apiKey, { filter: {} });
        const job = await waitFor(a, apiKey, created.body.job.id, (j) => j.status === 'ready', 60_000);
        await downloadAndVerify(b, apiKey, job, hexKey(env.DATA_DIR));
        const viaB = await fetch(`${b.url}/v1/compliance/audit-exports/${job.id}/bundle?token=${created.body.job.download_token}`);
        expect(viaB.status).toBe(200);
        await viaB.arrayBuffer();
        expect((await call(b, 'DELETE', `/v1/compliance/audit-exports/${job.id}`, apiKey)).status).toBe(200);
        const viaA = await fetch(`${a.url}/v1/compliance/audit-exports/${job.id}/bundle?token=${created.body.job.download_token}`);
        expect(viaA.status).toBe(410);
        expect(await a.stop()).toBe(0);
        expect(await b.stop()).toBe(0);
      } finally {
        await db.drop();
      }
    }, 240_000);
  });
}
