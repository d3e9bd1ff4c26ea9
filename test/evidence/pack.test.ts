import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/evidence/checkpoint.ts';
import { GENESIS_HASH, ledgerEventBody, parseLedgerRow } from '../../src/evidence/ledger-format.ts';
import { PACK_FORMAT, verifyPack, writeVerifierPack, type PackInput } from '../../src/evidence/pack.ts';
import { checkpointFor, GENERATED_AT, makeLedger, ORIGIN, otherSigner, signer, tempDir, TENANT, treeOf } from './helpers.ts';

const events = makeLedger(33);
const tree = treeOf(events);
const dir = tempDir();
const full = path.join(dir, 'full.jsonl');
const subset = path.join(dir, 'subset.jsonl');
const picked = events.filter((e) => [1, 2, 3, 9, 17, 18, 33].includes(e.seq));

const input = (over: Partial<PackInput> = {}): PackInput => ({
  tenantId: TENANT,
  generatedAt: GENERATED_AT,
  publicKey: signer.publicKey,
  checkpoint: checkpointFor(tree),
  events,
  tree,
  previousCheckpoints: [checkpointFor(tree, 1), checkpointFor(tree, 20)],
  ...over,
});

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n');
const variant = (name: string, edit: (rows: string[]) => string[], from = full) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, edit(lines(from)).join('\n'));
  return file;
};
const first = async (file: string, options = {}) => (await verifyPack(file, options)).failures[0];

beforeAll(async () => {
  await writeVerifierPack(input(), full);
  await writeVerifierPack(input({ proofMode: 'inclusion', events: picked, eventCount: picked.length }), subset);
});

describe('verifier pack', () => {
  it('full pack: header then every event; verifies, also with the key pinned', async () => {
    const rows = lines(full);
    expect(rows).toHaveLength(35); // header, 33 events, '' after the final newline
    const header = JSON.parse(rows[0]!);
    expect(header).toMatchObject({ format: PACK_FORMAT, format_version: 1, proof_mode: 'full', event_count: 33, tenant_id: TENANT });
    expect(header.format_description).toMatch(/RFC 9162/);
    expect(rows[1]!.startsWith(`{"event":${ledgerEventBody(events[0]!)},"hash":"${events[0]!.hash}","prev_hash":"${GENESIS_HASH}"}`)).toBe(true);
    expect(await verifyPack(full)).toMatchObject({ ok: true, failures: [], ledger: { events: 33, proofMode: 'full', previousCheckpoints: 2 } });
    expect((await verifyPack(full, { publicKey: signer.publicKey })).keyPinned).toBe(true);
  });

  it('inclusion pack: a subset with an audit path per row', async () => {
    const report = await verifyPack(subset);
    expect(report).toMatchObject({ ok: true, ledger: { events: picked.length, proofMode: 'inclusion' } });
    const row = parseLedgerRow(Buffer.from(lines(subset)[4]!));
    expect(typeof row === 'object' && row.seq === 9 && row.proof!.length > 0).toBe(true);
  });

  it('a changed event → its row, ledger_chain_hash', async () => {
    const bad = variant('changed.jsonl', (r) => r.map((l, i) => (i === 12 ? l.replace('"type":"', '"type":"x') : l)));
    expect(await first(bad)).toMatchObject({ file: 'changed.jsonl', row: 13, check: 'ledger_chain_hash' });
    expect((await verifyPack(bad)).failures).toHaveLength(1);
  });

  it('a removed event → ledger_seq_order; a truncated pack → the root and the count', async () => {
    expect(await first(variant('gap.jsonl', (r) => r.filter((_l, i) => i !== 10)))).toMatchObject({ row: 11, check: 'ledger_seq_order' });
    const truncated = await verifyPack(variant('short.jsonl', (r) => [...r.slice(0, -2), ''])); // drop the last event
    expect(truncated.failures.map((f) => f.check)).toEqual(['ledger_tree_root', 'pack_event_count']);
    expect(await first(variant('cut.jsonl', (r) => [r.slice(0, 10).join('\n').slice(0, -40)]))).toMatchObject({ check: 'ledger_row_malformed' });
  });

  it('a re-hashed event breaks the link to the next row', async () => {
    const rows = lines(full);
    const { ledgerChainHash } = await import('../../src/evidence/ledger-format.ts');
    const e = { ...events[4]!, amountCents: 1 };
    const forgedHash = ledgerChainHash(e.prevHash, ledgerEventBody(e));
    rows[5] = `{"event":${ledgerEventBody(e)},"hash":"${forgedHash}","prev_hash":"${e.prevHash}"}`;
    const file = path.join(dir, 'rehashed.jsonl');
    fs.writeFileSync(file, rows.join('\n'));
    const report = await verifyPack(file);
    expect(report.failures[0]).toMatchObject({ row: 7, check: 'ledger_chain_link' });
    expect(report.failures.map((f) => f.check)).toContain('ledger_tree_root');
  });

  it('one byte changed in a proof → its row, ledger_inclusion_proof', async () => {
    const bad = variant('proof.jsonl', (r) => r.map((l, i) => (i === 5 ? l.replace(/"proof":\["(.)/, (_m, c: string) => `"proof":["${c === 'f' ? 'e' : 'f'}`) : l)), subset);
    expect(await first(bad)).toMatchObject({ row: 6, check: 'ledger_inclusion_proof' });
  });

  it('a checkpoint signed by another key, or a key that did not sign it → row 1', async () => {
    const forged = signCheckpoint({ origin: ORIGIN, treeSize: 33, rootHash: tree.root() }, otherSigner);
    const bad = variant('forged.jsonl', (r) => [JSON.stringify({ ...JSON.parse(r[0]!), checkpoint: forged }), ...r.slice(1)]);
    expect(await first(bad)).toMatchObject({ file: 'forged.jsonl', row: 1, check: 'checkpoint_unknown_key' });
    expect(await first(full, { publicKey: otherSigner.publicKey })).toMatchObject({ row: 1, check: 'checkpoint_unknown_key' });
    const altered = variant('altered.jsonl', (r) => [JSON.stringify({ ...JSON.parse(r[0]!), checkpoint: checkpointFor(tree).replace('\n33\n', '\n32\n') }), ...r.slice(1)]);
    expect(await first(altered)).toMatchObject({ row: 1, check: 'checkpoint_bad_signature' });
  });

  it('a previous checkpoint that is not a prefix → checkpoint_consistency_proof', async () => {
    const bad = variant('history.jsonl', (r) => {
      const h = JSON.parse(r[0]!);
      h.previous_checkpoints[1].consistency_proof[0] = h.previous_checkpoints[1].consistency_proof[1];
      return [JSON.stringify(h), ...r.slice(1)];
    });
    expect(await first(bad)).toMatchObject({ row: 1, check: 'checkpoint_consistency_proof' });
  });

  it('not a pack at all → input_unreadable; a damaged header → pack_header', async () => {
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, '{"name":"x"}\n');
    await expect(verifyPack(other)).rejects.toMatchObject({ code: 'input_unreadable' });
    const damaged = variant('damaged.jsonl', (r) => [r[0]!.replace('"event_count":33,', '"event_count":33'), ...r.slice(1)]);
    expect(await first(damaged)).toMatchObject({ row: 1, check: 'pack_header' });
  });

  it('the writer refuses a pack that could not verify', async () => {
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    await expect(writeVerifierPack(input({ events: events.slice(0, 32) }), sink())).rejects.toMatchObject({ code: 'pack_event_count_mismatch' });
    await expect(writeVerifierPack(input({ proofMode: 'inclusion', events: picked }), sink())).rejects.toMatchObject({ code: 'pack_event_count_missing' });
    await expect(writeVerifierPack(input({ publicKey: otherSigner.publicKey }), sink())).rejects.toMatchObject({ code: 'checkpoint_unknown_key' });
  });
});
