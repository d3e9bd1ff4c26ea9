import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519Signer, signCheckpoint } from '../../src/evidence/checkpoint.ts';
import { GENESIS_HASH, ledgerChainHash, ledgerEventBody, ledgerLeafHash, type LedgerEventRecord } from '../../src/evidence/ledger-format.ts';
import { MerkleTree } from '../../src/evidence/merkle.ts';

export const TENANT = 'ten_evidence';
export const ORIGIN = `gateway.test/paybond/ledger/${TENANT}`;
export const gatewaySeed = new Uint8Array(32).fill(11);
export const signer = ed25519Signer(gatewaySeed);
export const otherSigner = ed25519Signer(new Uint8Array(32).fill(12));
export const GENERATED_AT = new Date('2026-12-01T12:00:00.000Z');

const TYPES = ['intent.created', 'funding.succeeded', 'evidence.submitted', 'settlement.released'];

/** A valid hash-chained ledger of n events. */
export function makeLedger(n: number): LedgerEventRecord[] {
  const events: LedgerEventRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body = {
      tenantId: TENANT,
      seq,
      intentId: seq % 3 === 0 ? null : `int_${Math.ceil(seq / 4)}`,
      type: TYPES[seq % TYPES.length]!,
      amountCents: seq % 2 ? 1000 + seq : null,
      currency: seq % 2 ? 'usd' : null,
      actorType: 'agent',
      actorId: seq % 5 ? 'ags_1' : null,
      payloadDigest: createHash('sha256').update(String(seq)).digest('hex'),
      occurredAt: new Date(Date.UTC(2026, 10, 1) + seq * 1000).toISOString(),
    };
    const hash = ledgerChainHash(prev, ledgerEventBody(body));
    events.push({ ...body, prevHash: prev, hash });
    prev = hash;
  }
  return events;
}

export function treeOf(events: readonly LedgerEventRecord[]): MerkleTree {
  return MerkleTree.fromLeafHashes(events.map((e) => ledgerLeafHash(e.hash)));
}

export function checkpointFor(tree: MerkleTree, size = tree.size, key = signer): string {
  return signCheckpoint({ origin: ORIGIN, treeSize: size, rootHash: tree.root(size), time: GENERATED_AT }, key);
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-evidence-'));
}

export const auditRows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `aud_${i + 1}`, action: 'intent.create', created_at: new Date(Date.UTC(2026, 10, 1, 0, 0, i)), actor: { kind: 'user', id: 'usr_1' }, details: { note: i % 7 ? 'ok' : 'ünïcödé ✓' } }));
