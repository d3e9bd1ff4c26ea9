import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { ed25519Signer, signCheckpoint, parseCheckpoint, parseNote } from '../../src/evidence/index.ts';
import { repackZip } from '../evidence/zip-tools.ts';
import { appendEvents, download, exportAndWait, storeBundle, tempFile, writeTemp, type ExportJob } from './helpers.ts';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** paybond-verify as a child process, pinned to the gateway's key. */
async function cli(file: string, key: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(root, 'bin/paybond-verify.mjs'), file, '--key', key, '--json'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

let gw: TestGateway;
let org: TestOrg;
let job: ExportJob;
let original: Buffer;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  await appendEvents(gw, org.tenants.live, 6);
  const built = await exportAndWait(gw, org.apiKey.live, { filter: { includes: ['audit', 'ledger'] } });
  job = built.job;
  original = (await download(gw, job.id, built.created.download_token!)).bytes;
});
afterAll(() => gw.close());

const verify = () => rest(gw, 'POST', `/v1/compliance/audit-exports/${job.id}/verify`, undefined, { token: org.apiKey.live });
const key = () => gw.runtime.keys.signing.publicKeyHex;

/** Store a tampered copy, check the route and the CLI name the same failure, restore the original. */
async function tampered(bytes: Buffer, expected: { file: string; check: string; row?: number }) {
  await storeBundle(gw, job.id, bytes);
  try {
    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, status: 'fail', format: 'bundle' });
    expect(res.body.failures).toContainEqual(expect.objectContaining({ ...expected, row: expected.row ?? null }));
    expect(res.body.failures).toContainEqual(expect.objectContaining({ check: 'stored_bundle_sha256' }));
    const offline = await cli(writeTemp('tampered.zip', bytes), key());
    expect(offline.code).toBe(1);
    expect(JSON.parse(offline.stdout).failures).toContainEqual(expect.objectContaining(expected));
  } finally {
    await storeBundle(gw, job.id, original);
  }
}

async function repacked(edit: (name: string, data: Buffer) => Buffer | null): Promise<Buffer> {
  const src = writeTemp('original.zip', original);
  const dst = tempFile('repacked.zip');
  let changed = 0;
  await repackZip(src, dst, (name, data) => {
    const out = edit(name, data);
    if (!out || !out.equals(data)) changed += 1;
    return out;
  });
  expect(changed).toBe(1);
  return fs.readFileSync(dst);
}

describe('POST /v1/compliance/audit-exports/{job_id}/verify', () => {
  it('re-verifies the stored bundle: every check passes and is reported', async () => {
    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: true,
      status: 'pass',
      format: 'bundle',
      failures: [],
      signing_public_key_hex: key(),
      manifest: { job_id: job.id, tenant_realm_id: org.tenants.live, disclosure_tier: 'standard' },
      checkpoint: { tree_size: 6 },
      ledger: { events: 6, proof_mode: 'inclusion', previous_checkpoints: 0 },
    });
    for (const check of ['zip_crc32', 'manifest_signature', 'artifact_sha256', 'ledger_inclusion_proof', 'ledger_chain_hash', 'stored_bundle_sha256', 'stored_manifest_sha256', 'manifest_job']) {
      expect(res.body.checks[check], check).toBeGreaterThan(0);
    }
    expect((await cli(writeTemp('export.zip', original), key())).code).toBe(0);
  });

  it('names one changed byte of the ZIP', async () => {
    const bytes = Buffer.from(original);
    bytes[40] = bytes[40]! ^ 0x01;
    await storeBundle(gw, job.id, bytes);
    try {
      const res = await verify();
      expect(res.body.ok).toBe(false);
      expect(res.body.failures[0]).toMatchObject({ check: expect.stringMatching(/^(zip_|stored_)/) });
      expect(res.body.failures).toContainEqual(expect.objectContaining({ check: 'stored_bundle_sha256' }));
      expect((await cli(writeTemp('flipped.zip', bytes), key())).code).toBe(1);
    } finally {
      await storeBundle(gw, job.id, original);
    }
  });

  it('names a changed manifest', async () => {
    await tampered(
      await repacked((name, data) => (name === 'manifest.json' ? Buffer.from(data.toString('utf8').replace(/"disclosure_tier": ?"standard"/, '"disclosure_tier":"extended"')) : data)),
      { file: 'manifest.json', check: 'manifest_signed_payload_sha256' },
    );
  });

  it('names a changed artifact row', async () => {
    await tampered(
      await repacked((name, data) => (name === 'audit_events.jsonl' ? Buffer.from(data.toString('utf8').replace('"decision":"allowed"', '"decision":"denied"')) : data)),
      { file: 'audit_events.jsonl', check: 'artifact_sha256' },
    );
  });

  it('names a changed inclusion proof, with its row', async () => {
    await tampered(
      await repacked((name, data) => {
        if (name !== 'ledger/events.jsonl') return data;
        const lines = data.toString('utf8').split('\n');
        lines[2] = lines[2]!.replace(/"proof":\["([0-9a-f])/, (_m, c: string) => `"proof":["${c === '0' ? '1' : '0'}`);
        return Buffer.from(lines.join('\n'));
      }),
      { file: 'ledger/events.jsonl', row: 3, check: 'ledger_inclusion_proof' },
    );
  });

  it('names a checkpoint signed by another key', async () => {
    const other = ed25519Signer(new Uint8Array(32).fill(7));
    await tampered(
      await repacked((name, data) => {
        if (name !== 'ledger/checkpoint.txt') return data;
        const cp = parseCheckpoint(parseNote(data.toString('utf8')).text);
        return Buffer.from(signCheckpoint({ origin: cp.origin, treeSize: cp.treeSize, rootHash: cp.rootHash, time: cp.time }, other));
      }),
      { file: 'ledger/checkpoint.txt', check: 'checkpoint_unknown_key' },
    );
  });

  it('is rate limited as a download and needs a credential that may read the tenant’s exports', async () => {
    expect((await verify()).headers.get('ratelimit-policy')).toBe('"compliance_bundle_download";q=30;w=3600');
    expectError(await rest(gw, 'POST', `/v1/compliance/audit-exports/${job.id}/verify`), 401, 'unauthenticated');
  });
});

describe('ledger verifier pack', () => {
  const getPack = async (token: string) => {
    const res = await gw.app.fetch('http://gateway/v1/compliance/ledger/verifier-pack', { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const upload = (text: string, token = org.apiKey.live) => rest(gw, 'POST', '/v1/compliance/ledger/verifier-pack/verify', undefined, { token, raw: text, headers: { 'content-type': 'application/jsonl' } });

  it('serves the current pack (signed at the head, older checkpoints proven consistent) that verifies offline and through the upload route', async () => {
    await appendEvents(gw, org.tenants.live, 2);
    const pack = await getPack(org.apiKey.live);
    expect(pack.status).toBe(200);
    expect(pack.headers.get('content-type')).toBe('application/jsonl');
    expect(pack.headers.get('content-disposition')).toBe(`attachment; filename="paybond-verifier-pack-${org.tenants.live}-8.jsonl"`);
    const lines = pack.text.split('\n').filter(Boolean);
    const header = JSON.parse(lines[0]!);
    expect(header).toMatchObject({ format: 'paybond.verifier_pack', tenant_id: org.tenants.live, proof_mode: 'full', event_count: 8 });
    expect(header.previous_checkpoints).toHaveLength(1);
    expect(lines).toHaveLength(9);
    expect((await cli(writeTemp('pack.jsonl', Buffer.from(pack.text)), key())).code).toBe(0);

    const res = await upload(pack.text);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, status: 'pass', format: 'pack', failures: [], ledger: { events: 8, proof_mode: 'full', previous_checkpoints: 1 }, checkpoint: { tree_size: 8 } });

    const edited = [...lines];
    edited[4] = edited[4]!.replace(/"amount_cents":(\d+)/, (_m, n: string) => `"amount_cents":${Number(n) + 1}`);
    const bad = await upload(`${edited.join('\n')}\n`);
    expect(bad.body).toMatchObject({ ok: false, status: 'fail' });
    expect(bad.body.failures[0]).toMatchObject({ file: 'verifier-pack.jsonl', row: 5, check: 'ledger_chain_hash' });
  });

  it('refuses an upload that is not a pack (422) and one above the body limit (413)', async () => {
    expectError(await upload('hello\n'), 422, 'verifier_input_unreadable');
    expectError(await upload(''), 422, 'verifier_input_unreadable');
    expectError(await upload('x'.repeat(gw.runtime.config.MAX_BODY_BYTES + 1)), 413, 'payload_too_large');
  });

  it('is a 401 without a credential, and each tenant gets a pack of its own ledger', async () => {
    expect((await getPack('')).status).toBe(401);
    const stranger = await createOrg(gw);
    const theirs = await getPack(stranger.apiKey.live);
    expect(theirs.status).toBe(200);
    expect(JSON.parse(theirs.text.split('\n')[0]!)).toMatchObject({ tenant_id: stranger.tenants.live, event_count: 0 });
  });
});
