import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBundle } from '../../src/evidence/bundle.ts';
import { formatVerifierKey } from '../../src/evidence/checkpoint.ts';
import { writeVerifierPack } from '../../src/evidence/pack.ts';
import { auditRows, checkpointFor, GENERATED_AT, makeLedger, ORIGIN, otherSigner, signer, tempDir, TENANT, treeOf } from './helpers.ts';
import { entryDataRange, flipByte, repackZip } from './zip-tools.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const launcher = path.join(root, 'bin/paybond-verify.mjs');
const run = promisify(execFile);

/** Run the CLI as a child process; never throws on a non-zero exit. */
async function cli(args: string[], command: 'node' | 'npx' = 'node'): Promise<{ code: number; stdout: string; stderr: string }> {
  const [file, argv] = command === 'node' ? [process.execPath, [launcher, ...args]] : ['npx', ['--no-install', 'paybond-verify', ...args]];
  try {
    const { stdout, stderr } = await run(file, argv, { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const events = makeLedger(30);
const tree = treeOf(events);
const dir = tempDir();
const bundle = path.join(dir, 'export.zip');
const pack = path.join(dir, 'pack.jsonl');
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

beforeAll(async () => {
  await writeBundle(
    {
      tenantRealmId: TENANT,
      jobId: 'exp_cli',
      generatedAt: GENERATED_AT,
      gatewayBuildVersion: '0.1.0',
      scoreModelVersion: 'none',
      disclosureTier: 'standard',
      redactionProfile: 'standard_v1',
      exportFilter: {},
      artifacts: [{ path: 'audit_events.jsonl', rows: auditRows(10) }],
      ledger: { checkpoint: checkpointFor(tree), events: events.filter((e) => e.seq > 10), tree },
      signer,
    },
    bundle,
  );
  await writeVerifierPack({ tenantId: TENANT, generatedAt: GENERATED_AT, publicKey: signer.publicKey, checkpoint: checkpointFor(tree), events }, pack);
});

describe('paybond-verify (child process)', { timeout: 120_000 }, () => {
  it('exit 0 on a good bundle and pack, through npx as on a fresh clone', async () => {
    const viaNpx = await cli([bundle], 'npx');
    expect(viaNpx.code, viaNpx.stderr).toBe(0);
    expect(viaNpx.stdout).toMatch(/^paybond-verify: OK .*export\.zip \(bundle\)/);
    expect(viaNpx.stdout).toContain('20 ledger events');
    const p = await cli([pack, '--key', formatVerifierKey(ORIGIN, signer.publicKey)]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('pinned with --key');
    // npx resolves the package before it starts the CLI: seconds on a loaded machine.
  }, 180_000);

  it('exit 1 naming file, row and check: a changed row, a changed ZIP byte, another key', async () => {
    const row = path.join(dir, 'row.zip');
    await repackZip(bundle, row, (name, data) => (name === 'ledger/events.jsonl' ? Buffer.from(data.toString('utf8').replace('"seq":14,', '"seq":15,')) : data));
    const r = await cli([row]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ledger/events.jsonl row 4: ledger_chain_hash');

    const range = await entryDataRange(bundle, 'audit_events.jsonl');
    const flipped = path.join(dir, 'flipped.zip');
    flipByte(bundle, flipped, range.start + 3);
    const f = await cli([flipped]);
    expect(f.code).toBe(1);
    expect(f.stdout).toMatch(/audit_events\.jsonl: (zip_data|zip_crc32)/);

    const k = await cli([bundle, '--key', Buffer.from(otherSigner.publicKey).toString('hex')]);
    expect(k.code).toBe(1);
    expect(k.stdout).toContain('manifest.json: manifest_signing_key');

    const packRow = path.join(dir, 'pack-row.jsonl');
    fs.writeFileSync(packRow, fs.readFileSync(pack, 'utf8').replace('"amount_cents":1007', '"amount_cents":1008'));
    const pr = await cli([packRow]);
    expect(pr.code).toBe(1);
    expect(pr.stdout).toContain('pack-row.jsonl row 8: ledger_chain_hash');
  });

  it('--json prints the report with the first failure', async () => {
    const ok = await cli([pack, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, exit_code: 0, first_failure: null, format: 'pack', ledger: { events: 30 } });
    const packRow = path.join(dir, 'pack-row.jsonl');
    const bad = await cli([packRow, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, exit_code: 1, first_failure: { file: 'pack-row.jsonl', row: 8, check: 'ledger_chain_hash' } });
  });

  it('exit 2 without a stack trace: missing file, not a bundle or pack, bad arguments', async () => {
    const missing = await cli([path.join(dir, 'nope.zip')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot open .*ENOENT/);
    noStack(missing.stderr);
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello\n');
    const notPack = await cli([text]);
    expect(notPack.code).toBe(2);
    noStack(notPack.stderr);
    const json = await cli([text, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exit_code: 2, error: { code: 'input_unreadable' } });
    for (const args of [[], ['--bogus', bundle], [bundle, pack], [bundle, '--key', 'zzz']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('paybond-verify --help');
      noStack(r.stderr);
    }
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit status');
  });
});
