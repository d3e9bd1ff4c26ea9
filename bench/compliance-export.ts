/**
 * A compliance export of EVENTS (default 100,000) audit events through a real gateway process:
 *
 *   npm run build && node --import tsx bench/compliance-export.ts     # EVENTS=…; DATABASE_URL=postgres://… for PostgreSQL
 *
 * The events are inserted with SQL before the server starts (PGlite) or beside it (PostgreSQL).
 * Measured: the build time the job records (started → completed) as events/s, and the server's
 * resident memory sampled from /proc every 25 ms while it builds, against its resident memory just
 * before the request (the target: growth < 200 MB). The bundle is then downloaded and verified.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openPglite } from '../src/db/adapters.ts';
import { verifyBundle } from '../src/evidence/index.ts';
import { backend, fmt, freshDatabase, root, startProcess } from './lib.ts';

const events = Number(process.env.EVENTS ?? 100_000);

const SEED_SQL = `INSERT INTO "AuditEvent" ("id", "tenantId", "eventType", "resource", "resourceId", "decision", "actorType", "requestId", "details", "createdAt")
  SELECT 'aud_seed_' || g, $1, 'bench.event', 'bench', 'r' || (g % 97), 'allowed', 'system', 'req_bench_' || g,
    jsonb_build_object('n', g, 'note', md5(g::text) || md5((g * 7)::text)), now() - interval '1 day' + g * interval '1 millisecond'
  FROM generate_series(1, $2::int) g`;

function bootstrap(env: Record<string, string>): Promise<{ apiKey: string; tenantId: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bootstrap.ts', '--org', 'Bench', '--email', 'bench@bench.test'], { cwd: root, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const apiKey = /paybond_sk_sandbox_\S+/.exec(out)?.[0];
      const tenantId = /sandbox (ten_\S+)/.exec(out)?.[1];
      if (code !== 0 || !apiKey || !tenantId) reject(new Error(`bootstrap failed:\n${out}`));
      else resolve({ apiKey, tenantId });
    });
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main() {
  const db = await freshDatabase('export');
  try {
    const { apiKey, tenantId } = await bootstrap(db.env);
    const seeded = performance.now();
    if (db.env.DATABASE_URL) {
      const client = new pg.Client({ connectionString: db.env.DATABASE_URL });
      await client.connect();
      await client.query(SEED_SQL, [tenantId, events]);
      await client.end();
    } else {
      const handle = await openPglite(path.join(db.env.DATA_DIR!, 'pglite'));
      await handle.pglite!.query(SEED_SQL, [tenantId, events]);
      await handle.close();
    }
    const seedMs = performance.now() - seeded;
    const server = await startProcess('dist/main.js', db.env, { readyPath: '/readyz', nodeArgs: process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench/.profiles')}`] : [] });
    try {
      const call = async (method: string, pathname: string, body?: unknown) => {
        const res = await fetch(`${server.url}${pathname}`, { method, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
        return (await res.json()) as { job: { id: string; status: string; started_at: string; completed_at: string; bundle_size_bytes: number; bundle_sha256: string; download_token: string; error: string | null } };
      };
      await call('GET', '/v1/compliance/audit-exports');
      const before = rssMb(server.pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.pid))), 25);
      const began = performance.now();
      const { job: created } = await call('POST', '/v1/compliance/audit-exports', { filter: {} });
      let job = created;
      while (job.status === 'pending' || job.status === 'running') {
        await new Promise((r) => setTimeout(r, Number(process.env.POLL_MS ?? 100)));
        ({ job } = await call('GET', `/v1/compliance/audit-exports/${created.id}?issue_download=1`));
      }
      const wallMs = performance.now() - began;
      clearInterval(sampler);
      if (job.status !== 'ready') throw new Error(`export ${job.status}: ${job.error}`);
      const buildMs = Date.parse(job.completed_at) - Date.parse(job.started_at);

      const file = path.join(db.env.DATA_DIR!, 'bundle.zip');
      const res = await fetch(`${server.url}/v1/compliance/audit-exports/${job.id}/bundle?token=${job.download_token}`);
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const key = /"signing_public_key_ed25519_hex": "([0-9a-f]{64})"/.exec(fs.readFileSync(file).toString('latin1'));
      const report = await verifyBundle(file, key ? { publicKey: new Uint8Array(Buffer.from(key[1]!, 'hex')) } : {});
      const result = {
        backend: backend(),
        events,
        seedSeconds: seedMs / 1000,
        buildSeconds: buildMs / 1000,
        wallSeconds: wallMs / 1000,
        eventsPerSecond: Math.round(events / (buildMs / 1000)),
        rssBeforeMb: Math.round(before),
        rssPeakMb: Math.round(peak),
        rssGrowthMb: Math.round(peak - before),
        bundleMb: job.bundle_size_bytes / 1024 / 1024,
        verified: report.ok,
      };
      console.log(
        [
          `${backend()}: export of ${fmt(events)} audit events built in ${fmt(result.buildSeconds, 2)} s (${fmt(result.eventsPerSecond)} events/s; ${fmt(result.wallSeconds, 2)} s request to ready)`,
          `server RSS ${result.rssBeforeMb} MB before, peak ${result.rssPeakMb} MB while building: growth ${result.rssGrowthMb} MB (target < 200 MB)`,
          `bundle ${fmt(result.bundleMb, 1)} MB, verified offline: ${report.ok}${report.ok ? '' : ` (${JSON.stringify(report.failures[0])})`}`,
        ].join('\n'),
      );
      console.log(JSON.stringify(result));
    } finally {
      await server.stop();
    }
  } finally {
    await db.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
