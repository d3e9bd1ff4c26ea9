import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { base58 } from '@scure/base';
import autocannon from 'autocannon';
import pg from 'pg';
import net from 'node:net';

export const root = path.resolve(import.meta.dirname, '..');

export interface LoadResult {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
  /** Responses by HTTP status (to name the errors). */
  statuses: Record<number, number>;
}

export interface RequestSpec {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);

/**
 * Drive load with autocannon for `seconds`. Requests come from `next()` (so pre-signed requests are
 * each used once). Latencies are recorded per successful response to get exact p50/p95/p99;
 * throughput counts successful responses only (an error answer is not work done).
 */
export async function load(baseUrl: string, options: { connections: number; seconds: number; next: () => RequestSpec }): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  let done!: (result: autocannon.Result) => void;
  const finished = new Promise<autocannon.Result>((resolve) => (done = resolve));
  const instance = autocannon({
    url: baseUrl,
    connections: options.connections,
    duration: options.seconds,
    timeout: 30,
    requests: [
      {
        setupRequest: (request) => {
          const spec = options.next();
          return { ...request, method: spec.method as autocannon.Request['method'], path: spec.path, headers: spec.headers, body: spec.body };
        },
      },
    ],
  }, (error, result) => (error ? done({ errors: 1, timeouts: 0 } as autocannon.Result) : done(result)));
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 400) errors++;
    else latencies.push(responseTime);
  });
  const result = await finished;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / options.seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    errors: errors + result.errors + result.timeouts,
    statuses,
  };
}

export interface Child {
  url: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Start a TypeScript entry point as a child process on a free port; ready when GET `readyPath` answers 200. */
export async function startProcess(entry: string, env: Record<string, string>, options: { nodeArgs?: string[]; readyPath?: string } = {}): Promise<Child & { startedMs: number }> {
  const port = await freePort();
  const began = performance.now();
  // Built JavaScript runs on plain node (as `npm start` does); TypeScript entries through tsx.
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, entry], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (dead) throw new Error(`${entry} exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`${entry} did not become ready:\n${output}`);
    const ok = await fetch(`http://127.0.0.1:${port}${options.readyPath ?? '/healthz'}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const startedMs = performance.now() - began;
  return {
    startedMs,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export { peakRssMb } from './rss.ts';

/** Run a TypeScript script to completion; returns its last stdout line parsed as JSON. */
export function runJson<T>(entry: string, env: Record<string, string> = {}, args: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${entry} failed (${code}):\n${err}\n${out}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${entry} printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

/** The gateway's PostgreSQL pool in every bench server (its admission limit defaults to the same). */
export const POOL_SIZE = 20;

/** A fresh database for one server: a PGlite data dir, or a new PostgreSQL database when DATABASE_URL is set. */
export async function freshDatabase(label: string): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `paybond-bench-${label}-`));
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    return { env: { DATA_DIR: dataDir }, dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `paybond_bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString(), MIGRATE_ON_START: 'true', DATABASE_POOL_SIZE: String(POOL_SIZE) },
    async dispose() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A second database with the same contents (a stopped PGlite data dir copied, or a PostgreSQL template copy). */
export async function copyDatabase(source: { env: Record<string, string> }, label: string): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `paybond-bench-${label}-`));
  if (!source.env.DATABASE_URL) {
    fs.cpSync(source.env.DATA_DIR!, dataDir, { recursive: true });
    fs.rmSync(path.join(dataDir, 'paybond.lock'), { force: true });
    return { env: { ...source.env, DATA_DIR: dataDir }, dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  fs.cpSync(source.env.DATA_DIR!, dataDir, { recursive: true });
  const from = new URL(source.env.DATABASE_URL);
  const name = `paybond_bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${from.pathname.slice(1)}`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    env: { ...source.env, DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    async dispose() {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const backend = () => (process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite');
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function agentKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, base58: base58.encode(raw) };
}

/**
 * An agent runtime on `url`: a PAT exchanged for a session bound to a fresh key, and a supply of
 * checkout requests each with its own Ed25519 signature and Idempotency-Key, all signed before the
 * clock starts (the replay cache accepts each exactly once).
 */
/**
 * One agent runtime per PAT (tenant), each on its own host of `network` (the PAT exchange is
 * limited per client IP; such a gateway trusts X-Forwarded-For), requests taken round-robin.
 */
export async function spreadWrites(url: string, pats: string[], network: string, count = 30_000): Promise<() => RequestSpec> {
  const each = await Promise.all(pats.map((p, n) => signedWrites(url, p, Math.ceil(count / pats.length), `${network}.${n + 1}`)));
  let n = 0;
  return () => each[n++ % each.length]!();
}

export async function signedWrites(url: string, pat: string, count = 30_000, clientIp?: string): Promise<() => RequestSpec> {
  const key = agentKey();
  const exchange = await fetch(`${url}/api/agent/auth/pat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(clientIp ? { 'x-forwarded-for': clientIp } : {}) },
    body: JSON.stringify({ token: pat, session_pubkey: key.base58, label: 'bench' }),
  }).then((r) => r.json() as Promise<{ access_token?: string }>);
  if (!exchange.access_token) throw new Error(`PAT exchange failed: ${JSON.stringify(exchange)}`);
  const path = '/api/agent/checkout/create';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const requests = Array.from({ length: count }, (): RequestSpec => {
    const body = JSON.stringify({ amount_cents: 1250, currency: 'usd', recipient: 'did:web:vendor.example', memo: 'bench', reference: randomUUID() });
    const digest = createHash('sha256').update(body).digest('hex');
    const signature = sign(null, Buffer.from(`POST\n${path}\n${timestamp}\n${digest}`), key.privateKey).toString('base64');
    return {
      method: 'POST',
      path,
      body,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${exchange.access_token}`,
        'x-agent-timestamp': timestamp,
        'x-agent-signature': signature,
        'idempotency-key': randomUUID(),
      },
    };
  });
  let i = 0;
  return () => {
    if (i >= requests.length) throw new Error('ran out of pre-signed requests');
    return requests[i++]!;
  };
}
