/**
 * paybond-verify on a verifier pack of EVENTS (default 1,000,000) ledger events, against a raw
 * SHA-256 chain over the same bytes, in the same run:
 *
 *   node --import tsx bench/verify-pack.ts            # EVENTS=…, ROUNDS=… (default 3), PACK=<file>
 *
 * Both sides are child processes reading the same pack file from a temp dir: ours is the CLI as a
 * user runs it (`node bin/paybond-verify.mjs pack.jsonl --json`, tsx start-up included); the
 * baseline streams the file, splits lines and chains h = SHA-256(h || line) over the event rows.
 * Rounds alternate; medians are reported. Peak RSS is VmHWM read by the child at exit.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ed25519Signer, signCheckpoint } from '../src/evidence/checkpoint.ts';
import { ledgerChainHash, ledgerEventBody, ledgerLeafHash, GENESIS_HASH, type LedgerEventRecord } from '../src/evidence/ledger-format.ts';
import { MerkleAccumulator } from '../src/evidence/merkle.ts';
import { writeVerifierPack } from '../src/evidence/pack.ts';
import { LEDGER_TENANT, syntheticEvent } from './ledger-events.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const events = Number(process.env.EVENTS ?? 1_000_000);
const rounds = Number(process.env.ROUNDS ?? 3);
const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-verify-bench-'));
// PACK=<file> keeps the generated pack there and reuses it on the next run (generation takes ~1.5 min).
const pack = process.env.PACK ?? path.join(dir, 'pack.jsonl');

// Reports this process's peak RSS (VmHWM) on stderr when it exits.
const rssHook = path.join(dir, 'rss-hook.mjs');
fs.writeFileSync(rssHook, `import fs from 'node:fs';\nprocess.on('exit', () => { const m = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8')); process.stderr.write('\\nPEAK_RSS_KB=' + (m ? m[1] : 0) + '\\n'); });\n`);

// Baseline: the same bytes, a bare chain; no parsing, no Merkle tree.
const baseline = path.join(dir, 'raw-chain.mjs');
fs.writeFileSync(
  baseline,
  `import { createHash } from 'node:crypto';
import fs from 'node:fs';
let h = Buffer.alloc(32); let rows = 0; let rest = null; let header = true;
for await (let chunk of fs.createReadStream(process.argv[2], { highWaterMark: 1 << 20 })) {
  if (rest) { chunk = Buffer.concat([rest, chunk]); rest = null; }
  let start = 0;
  for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
    if (header) header = false; else { h = createHash('sha256').update(h).update(chunk.subarray(start, nl)).digest(); rows++; }
    start = nl + 1;
  }
  if (start < chunk.length) rest = Buffer.from(chunk.subarray(start));
}
console.log(JSON.stringify({ rows, head: h.toString('hex') }));
`,
);

function* chain(n: number): Generator<LedgerEventRecord> {
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = syntheticEvent(seq);
    const hash = ledgerChainHash(prev, ledgerEventBody(e));
    yield { ...e, prevHash: prev, hash };
    prev = hash;
  }
}

async function timed(args: string[]): Promise<{ ms: number; rssMb: number; stdout: string }> {
  const started = performance.now();
  const { stdout, stderr } = await run(process.execPath, ['--import', rssHook, ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout: string; stderr: string; code: number }) => {
    throw new Error(`child failed (${e.code}): ${e.stderr || e.stdout}`);
  });
  const ms = performance.now() - started;
  return { ms, rssMb: Number(/PEAK_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024, stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let sizeBytes: number;
if (process.env.PACK && fs.existsSync(pack)) {
  sizeBytes = fs.statSync(pack).size;
  console.error(`pack: reusing ${pack}`);
} else {
  const genStart = performance.now();
  const acc = new MerkleAccumulator();
  for (const e of chain(events)) acc.append(ledgerLeafHash(e.hash));
  const signer = ed25519Signer(new Uint8Array(32).fill(9));
  const checkpoint = signCheckpoint({ origin: `bench.example/paybond/ledger/${LEDGER_TENANT}`, treeSize: events, rootHash: acc.root(), time: new Date() }, signer);
  ({ sizeBytes } = await writeVerifierPack({ tenantId: LEDGER_TENANT, generatedAt: new Date(), publicKey: signer.publicKey, checkpoint, events: chain(events) }, pack));
  console.error(`pack: ${events.toLocaleString('en-US')} events, ${(sizeBytes / 1e6).toFixed(0)} MB, built in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);
}

const ours: Array<{ ms: number; rssMb: number }> = [];
const raw: Array<{ ms: number; rssMb: number }> = [];
for (let i = 0; i < rounds; i++) {
  for (const side of i % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours']) {
    if (side === 'ours') {
      const r = await timed(['bin/paybond-verify.mjs', pack, '--json']);
      const report = JSON.parse(r.stdout) as { ok: boolean; ledger?: { events: number } };
      if (!report.ok || report.ledger?.events !== events) throw new Error(`verification failed: ${r.stdout.slice(0, 500)}`);
      ours.push(r);
    } else {
      const r = await timed([baseline, pack]);
      if ((JSON.parse(r.stdout) as { rows: number }).rows !== events) throw new Error('baseline read the wrong number of rows');
      raw.push(r);
    }
  }
}
const oursMs = median(ours.map((r) => r.ms));
const rawMs = median(raw.map((r) => r.ms));
const result = {
  events,
  packMb: Math.round(sizeBytes / 1e6),
  rounds,
  paybondVerify: { ms: Math.round(oursMs), eventsPerSecond: Math.round(events / (oursMs / 1000)), peakRssMb: Math.round(Math.max(...ours.map((r) => r.rssMb))) },
  rawSha256Chain: { ms: Math.round(rawMs), eventsPerSecond: Math.round(events / (rawMs / 1000)), peakRssMb: Math.round(Math.max(...raw.map((r) => r.rssMb))) },
  ratio: Number((rawMs / oursMs).toFixed(2)),
  perRound: { paybondVerifyMs: ours.map((r) => Math.round(r.ms)), rawMs: raw.map((r) => Math.round(r.ms)) },
  targets: { ratio: '≥ 0.5×', peakRssMb: '< 200' },
};
console.log(JSON.stringify(result, null, 2));
fs.rmSync(dir, { recursive: true, force: true });
