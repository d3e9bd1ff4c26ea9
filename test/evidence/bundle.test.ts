import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBundle, verifyBundle, writeBundle, type BundleInput } from '../../src/evidence/bundle.ts';
import { signCheckpoint } from '../../src/evidence/checkpoint.ts';
import { EvidenceError } from '../../src/evidence/errors.ts';
import type { LedgerEventRecord } from '../../src/evidence/ledger-format.ts';
import { ARBITRATION_PACKAGE_KIND, checkManifestSignature, manifestSignedPayload, serializeManifest, signManifest, type SignedManifest } from '../../src/evidence/manifest.ts';
import { auditRows, checkpointFor, GENERATED_AT, makeLedger, ORIGIN, otherSigner, signer, tempDir, TENANT, treeOf } from './helpers.ts';
import { entryDataRange, flipByte, readZip, repackZip, writeZip } from './zip-tools.ts';

const events = makeLedger(40);
const tree = treeOf(events);
const selected = events.filter((e) => e.seq % 3 !== 0); // a filtered export: runs of consecutive events with gaps
const dir = tempDir();
const good = path.join(dir, 'good.zip');

async function* slowly<T>(rows: readonly T[]): AsyncGenerator<T> {
  for (const row of rows) {
    await Promise.resolve();
    yield row;
  }
}

const input = (over: Partial<BundleInput> = {}): BundleInput => ({
  tenantRealmId: TENANT,
  jobId: 'exp_1',
  generatedAt: GENERATED_AT,
  gatewayBuildVersion: '0.1.0',
  scoreModelVersion: 'none',
  disclosureTier: 'standard',
  redactionProfile: 'standard_v1',
  exportFilter: { time_start: '2026-11-01T00:00:00Z', time_end: null, includes: ['audit', 'ledger'] },
  artifacts: [
    { path: 'audit_events.jsonl', rows: slowly(auditRows(25)) },
    { path: 'intents.jsonl', rows: [{ intent_id: 'int_1', state: 'released', history: [{ state: 'created' }, { state: 'released' }] }] },
  ],
  ledger: { checkpoint: checkpointFor(tree), events: slowly(selected), tree, previousCheckpoints: [checkpointFor(tree, 5), checkpointFor(tree, 32)] },
  signer,
  ...over,
});

const firstFailure = async (file: string, options = {}) => (await verifyBundle(file, options)).failures[0];
const variant = (name: string) => path.join(dir, name);

async function rebuildManifest(src: string, dst: string, edit: (m: SignedManifest) => SignedManifest, entryEdit: (name: string, data: Buffer) => Buffer = (_n, d) => d): Promise<void> {
  await repackZip(src, dst, (name, data) => (name === 'manifest.json' ? Buffer.from(serializeManifest(edit(JSON.parse(data.toString('utf8')) as SignedManifest))) : entryEdit(name, data)));
}

beforeAll(async () => {
  await writeBundle(input(), good);
});

describe('bundle round trip', () => {
  it('writes every artifact and a signed manifest last, and verifies clean', async () => {
    const entries = await readZip(good);
    expect(entries.map((e) => e.name)).toEqual(['ledger/checkpoint.txt', 'ledger/previous_checkpoints.jsonl', 'ledger/events.jsonl', 'audit_events.jsonl', 'intents.jsonl', 'manifest.json']);
    const manifest = JSON.parse(entries.at(-1)!.data.toString('utf8')) as SignedManifest;
    expect(manifest.checkpoint_last_ledger_seq).toBe(40);
    expect(manifest.artifacts.find((a) => a.path === 'ledger/events.jsonl')).toMatchObject({ row_count: selected.length, proof_mode: 'inclusion' });
    expect(manifest.artifacts.find((a) => a.path === 'audit_events.jsonl')).toMatchObject({ row_count: 25 });
    expect(checkManifestSignature(manifest as unknown as Record<string, unknown>)).toBeNull();
    // Rows are JCS; Date became its ISO string
    const audit = entries.find((e) => e.name === 'audit_events.jsonl')!.data.toString('utf8').split('\n');
    expect(audit[0]).toBe('{"action":"intent.create","actor":{"id":"usr_1","kind":"user"},"created_at":"2026-11-01T00:00:00.000Z","details":{"note":"ünïcödé ✓"},"id":"aud_1"}');

    const report = await verifyBundle(good);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.ledger).toEqual({ events: selected.length, proofMode: 'inclusion', previousCheckpoints: 2 });
    expect(report.checkpoint).toMatchObject({ origin: ORIGIN, treeSize: 40 });
    expect(report.checks.ledger_inclusion_proof).toBe(selected.length);
    expect((await verifyBundle(good, { publicKey: signer.publicKey })).ok).toBe(true);
  });

  it('a full-ledger bundle and an arbitration package without ledger also verify', async () => {
    const full = variant('full.zip');
    const summary = await writeBundle(input({ ledger: { checkpoint: checkpointFor(tree), events, proofMode: 'full' } }), full);
    expect(summary.bundleSizeBytes).toBe(fs.statSync(full).size);
    expect(await verifyBundle(full)).toMatchObject({ ok: true, ledger: { events: 40, proofMode: 'full' } });
    const arb = variant('arbitration.zip');
    const s2 = await writeBundle(input({ kind: ARBITRATION_PACKAGE_KIND, jobId: 'arb_1', exportFilter: { case_id: 'dcase_1' }, ledger: undefined, artifacts: [{ path: 'case.jsonl', rows: [{ case_id: 'dcase_1' }] }] }), arb);
    expect(s2.manifest.checkpoint_last_ledger_seq).toBeUndefined();
    expect(await verifyBundle(arb)).toMatchObject({ ok: true, manifest: { kind: ARBITRATION_PACKAGE_KIND } });
  });

  it('the same content re-zipped by another writer (ZIP64, data descriptors or not) still verifies', async () => {
    const entries = await readZip(good);
    for (const options of [{ zip64: true, streamed: true }, { zip64: true, streamed: false }, { zip64: false, streamed: false }]) {
      const file = variant(`rezipped-${options.zip64}-${options.streamed}.zip`);
      await writeZip(file, entries, options);
      const report = await verifyBundle(file);
      expect(report.failures, JSON.stringify(options)).toEqual([]);
    }
  });

  it('streams 120,000 rows from an async source without holding them', async () => {
    async function* many() {
      for (let i = 0; i < 120_000; i++) yield { id: `aud_${i}`, action: 'x', n: i };
    }
    const big = variant('big.zip');
    const chunks: number[] = [];
    const { stream, summary } = createBundle(input({ artifacts: [{ path: 'audit_events.jsonl', rows: many() }], ledger: undefined }));
    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(big);
      stream.on('data', (c: Buffer) => chunks.push(c.length));
      stream.pipe(out).on('close', resolve).on('error', reject);
    });
    const s = await summary;
    expect(s.manifest.artifacts[0]!.row_count).toBe(120_000);
    expect(Math.max(...chunks)).toBeLessThan(1024 * 1024);
    expect(await verifyBundle(big)).toMatchObject({ ok: true });
  });
});

describe('tampering is detected and named', () => {
  it('one byte changed in the ZIP (compressed ledger data) → fails naming the entry', async () => {
    const range = await entryDataRange(good, 'ledger/events.jsonl');
    const bad = variant('flip-data.zip');
    flipByte(good, bad, range.start + Math.floor(range.length / 2));
    const report = await verifyBundle(bad);
    expect(report.ok).toBe(false);
    expect(report.failures[0]!.file).toBe('ledger/events.jsonl');
    expect(report.failures.map((f) => f.check)).toEqual(expect.arrayContaining([expect.stringMatching(/^(zip_data|zip_crc32|ledger_row_malformed|ledger_chain_hash|artifact_sha256)$/)]));
  });

  it('one byte changed in a local header, or bytes inserted between entries → zip checks fail', async () => {
    const range = await entryDataRange(good, 'audit_events.jsonl');
    const bad = variant('flip-header.zip');
    flipByte(good, bad, range.start - 5); // inside the local header's file name
    expect(await firstFailure(bad)).toMatchObject({ file: 'audit_events.jsonl', check: 'zip_local_header' });
    const bytes = fs.readFileSync(good);
    const inserted = variant('inserted.zip');
    const at = range.start + range.length + 16;
    fs.writeFileSync(inserted, Buffer.concat([bytes.subarray(0, at), Buffer.from('junk'), bytes.subarray(at)]));
    const report = await verifyBundle(inserted);
    expect(report.ok).toBe(false);
    // the central directory's offsets no longer match: yauzl refuses it, or our layout check does
    expect(report.failures[0]!.check).toMatch(/^zip_(structure|layout)$/);
  });

  it('one byte changed in the manifest → manifest.json signed payload', async () => {
    const bad = variant('manifest.zip');
    await repackZip(good, bad, (name, data) => (name === 'manifest.json' ? Buffer.from(data.toString('utf8').replace(`"job_id": "exp_1"`, `"job_id": "exp_2"`)) : data));
    expect(await firstFailure(bad)).toMatchObject({ file: 'manifest.json', check: 'manifest_signed_payload_sha256' });
    const badSig = variant('manifest-sig.zip');
    await rebuildManifest(good, badSig, (m) => ({ ...m, ed25519_signature_hex: `${m.ed25519_signature_hex.slice(0, -2)}00` }));
    expect(await firstFailure(badSig)).toMatchObject({ file: 'manifest.json', check: 'manifest_ed25519_signature' });
    const unsigned = variant('manifest-extra.zip');
    await rebuildManifest(good, unsigned, (m) => ({ ...m, note: 'trust me' }) as SignedManifest);
    expect(await firstFailure(unsigned)).toMatchObject({ file: 'manifest.json', check: 'manifest_unsigned_field' });
  });

  it('one byte changed in an artifact row → the artifact (records) or the row (ledger)', async () => {
    const badRecords = variant('row-records.zip');
    await repackZip(good, badRecords, (name, data) => (name === 'audit_events.jsonl' ? Buffer.from(data.toString('utf8').replace('"aud_3"', '"aud_8"')) : data));
    expect(await firstFailure(badRecords)).toMatchObject({ file: 'audit_events.jsonl', check: 'artifact_sha256' });

    const badLedger = variant('row-ledger.zip');
    await repackZip(good, badLedger, (name, data) => {
      if (name !== 'ledger/events.jsonl') return data;
      const rows = data.toString('utf8').split('\n');
      rows[4] = rows[4]!.replace('"amount_cents":', '"amount_cents":9');
      return Buffer.from(rows.join('\n'));
    });
    expect(await firstFailure(badLedger)).toMatchObject({ file: 'ledger/events.jsonl', row: 5, check: 'ledger_chain_hash' });
    const r = await verifyBundle(badLedger);
    expect(r.failures.map((f) => f.check)).toEqual(['ledger_chain_hash', 'artifact_sha256', 'artifact_size_bytes']);
  });

  it('one byte changed in a proof → the row and ledger_inclusion_proof', async () => {
    const bad = variant('proof.zip');
    await repackZip(good, bad, (name, data) => {
      if (name !== 'ledger/events.jsonl') return data;
      const rows = data.toString('utf8').split('\n');
      const i = rows[7]!.indexOf('"proof":["') + 12;
      rows[7] = rows[7]!.slice(0, i) + (rows[7]![i] === '0' ? '1' : '0') + rows[7]!.slice(i + 1);
      return Buffer.from(rows.join('\n'));
    });
    expect(await firstFailure(bad)).toMatchObject({ file: 'ledger/events.jsonl', row: 8, check: 'ledger_inclusion_proof' });
  });

  it('a checkpoint signed by another key → the checkpoint file, checkpoint_unknown_key', async () => {
    const forged = signCheckpoint({ origin: ORIGIN, treeSize: 40, rootHash: tree.root() }, otherSigner);
    const swapped = variant('cp-swapped.zip');
    await repackZip(good, swapped, (name, data) => (name === 'ledger/checkpoint.txt' ? Buffer.from(forged) : data));
    expect(await firstFailure(swapped)).toMatchObject({ file: 'ledger/checkpoint.txt', check: 'checkpoint_unknown_key' });
    // Even with a manifest re-signed over the forged checkpoint (by the gateway key), the checkpoint fails.
    const resigned = variant('cp-resigned.zip');
    const { createHash } = await import('node:crypto');
    await rebuildManifest(good, resigned, (m) => {
      const { signed_payload_sha256_hex: _a, ed25519_signature_hex: _b, signing_public_key_ed25519_hex: _c, ...core } = m;
      const artifacts = core.artifacts.map((a) => (a.path === 'ledger/checkpoint.txt' ? { ...a, sha256: createHash('sha256').update(forged).digest('hex'), size_bytes: Buffer.byteLength(forged) } : a));
      return signManifest({ ...core, artifacts }, signer);
    }, (name, data) => (name === 'ledger/checkpoint.txt' ? Buffer.from(forged) : data));
    const report = await verifyBundle(resigned);
    expect(report.failures[0]).toMatchObject({ file: 'ledger/checkpoint.txt', check: 'checkpoint_unknown_key' });
    expect(report.failures.map((f) => f.check)).toContain('ledger_checkpoint_unverified');
  });

  it('a pinned key that did not sign, a tampered consistency proof, unlisted and missing entries', async () => {
    expect(await firstFailure(good, { publicKey: otherSigner.publicKey })).toMatchObject({ file: 'manifest.json', check: 'manifest_signing_key' });

    const history = variant('history.zip');
    await repackZip(good, history, (name, data) => (name === 'ledger/previous_checkpoints.jsonl' ? Buffer.from(data.toString('utf8').replace(/"consistency_proof":\["([0-9a-f])/, (_m, c: string) => `"consistency_proof":["${c === 'a' ? 'b' : 'a'}`)) : data));
    expect(await firstFailure(history)).toMatchObject({ file: 'ledger/previous_checkpoints.jsonl', row: 1, check: 'checkpoint_consistency_proof' });

    const extra = variant('extra.zip');
    await repackZip(good, extra, (_n, d) => d, [{ name: 'README.txt', data: Buffer.from('hi\n') }]);
    expect(await firstFailure(extra)).toMatchObject({ file: 'README.txt', check: 'zip_unlisted_entry' });

    const missing = variant('missing.zip');
    await repackZip(good, missing, (name, d) => (name === 'intents.jsonl' ? null : d));
    expect(await firstFailure(missing)).toMatchObject({ file: 'intents.jsonl', check: 'artifact_missing' });

    const noManifest = variant('no-manifest.zip');
    await repackZip(good, noManifest, (name, d) => (name === 'manifest.json' ? null : d));
    expect(await firstFailure(noManifest)).toMatchObject({ file: 'manifest.json', check: 'manifest_missing' });
  });

  it('input that is not a ZIP throws input_unreadable', async () => {
    const txt = variant('not.zip');
    fs.writeFileSync(txt, 'hello');
    await expect(verifyBundle(txt)).rejects.toMatchObject({ code: 'input_unreadable' });
    await expect(verifyBundle(variant('absent.zip'))).rejects.toMatchObject({ code: 'input_unreadable' });
  });
});

describe('the builder refuses what could not verify', () => {
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  const broken: LedgerEventRecord[] = events.map((e, i) => (i === 6 ? { ...e, amountCents: 1 } : e));

  it.each([
    ['events out of order', { ledger: { checkpoint: checkpointFor(tree), events: [events[3]!, events[2]!], tree } }, 'ledger_event_out_of_order'],
    ['an event beyond the checkpoint', { ledger: { checkpoint: checkpointFor(tree, 10), events: [events[12]!], tree } }, 'ledger_event_beyond_checkpoint'],
    ['a damaged stored event', { ledger: { checkpoint: checkpointFor(tree), events: broken, tree } }, 'ledger_event_hash_mismatch'],
    ['a full export with a gap', { ledger: { checkpoint: checkpointFor(tree), events: selected, proofMode: 'full' as const } }, 'ledger_event_out_of_order'],
    ['a checkpoint by another key', { ledger: { checkpoint: checkpointFor(tree, 40, otherSigner), events, tree } }, 'checkpoint_unknown_key'],
    ['inclusion proofs without a tree', { ledger: { checkpoint: checkpointFor(tree), events } }, 'ledger_tree_missing'],
    ['an unsafe artifact path', { artifacts: [{ path: '../etc/passwd', rows: [] }] }, 'artifact_path_invalid'],
    ['a row that is not JSON', { artifacts: [{ path: 'x.jsonl', rows: [{ n: 1n }] }] }, 'artifact_row_not_json'],
  ])('%s', async (_what, over, code) => {
    await expect(writeBundle(input(over as Partial<BundleInput>), sink())).rejects.toMatchObject({ code });
  });

  it('a failing row source fails the stream and the summary', async () => {
    async function* failing() {
      yield { ok: 1 };
      throw new Error('database went away');
    }
    await expect(writeBundle(input({ artifacts: [{ path: 'a.jsonl', rows: failing() }] }), sink())).rejects.toThrow('database went away');
  });

  it('the signed payload is the SDK core in its order, and survives a JSON round trip', () => {
    const m = signManifest(
      { schema_version: 1, kind: 'paybond.audit_export_manifest_v1', tenant_realm_id: 't', job_id: 'j', generated_at_rfc3339: 'g', gateway_build_version: 'v', score_model_version: 's', disclosure_tier: 'standard', redaction_profile: 'r', checkpoint_last_ledger_seq: 0, export_filter: { z: 1, a: [{ y: 2, b: 3 }] }, artifacts: [] },
      signer,
    );
    expect(manifestSignedPayload(JSON.parse(serializeManifest(m)))).toBe(
      '{"schema_version":1,"kind":"paybond.audit_export_manifest_v1","tenant_realm_id":"t","job_id":"j","generated_at_rfc3339":"g","gateway_build_version":"v","score_model_version":"s","disclosure_tier":"standard","redaction_profile":"r","export_filter":{"a":[{"b":3,"y":2}],"z":1},"artifacts":[]}',
    );
    expect(() => signManifest({ ...m, export_filter: { '10': 'a', '9': 'b' } }, signer)).toThrow(EvidenceError);
    expect(() => signManifest({ ...m, export_filter: { ratio: 0.5 } }, signer)).toThrow(/safe integers/);
  });
});
