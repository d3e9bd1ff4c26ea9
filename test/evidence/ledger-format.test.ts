import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, ledgerChainHash, ledgerEventBody, ledgerRow, parseLedgerRow } from '../../src/evidence/ledger-format.ts';
import { makeLedger } from './helpers.ts';

describe('ledger event format', () => {
  const events = makeLedger(12);

  it('pins one body and hash', () => {
    const e = events[0]!;
    expect(ledgerEventBody(e)).toBe(
      '{"actor":{"id":"ags_1","type":"agent"},"amount_cents":1001,"currency":"usd","intent_id":"int_1","occurred_at":"2026-11-01T00:00:01.000Z","payload_digest_sha256_hex":"6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b","schema_version":1,"seq":1,"tenant_id":"ten_evidence","type":"funding.succeeded"}',
    );
    expect(e.hash).toBe(ledgerChainHash(GENESIS_HASH, ledgerEventBody(e)));
  });

  it('rows parse back to the verbatim body, hashes and proof; malformed rows are named', () => {
    const e = events[3]!;
    const row = Buffer.from(ledgerRow(e, [new Uint8Array(32).fill(0xab)]));
    const parsed = parseLedgerRow(row);
    expect(parsed).toMatchObject({ seq: 4, hashHex: e.hash, prevHashHex: e.prevHash });
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.body.toString()).toBe(ledgerEventBody(e));
    expect(Buffer.from(parsed.proof![0]!).toString('hex')).toBe('ab'.repeat(32));
    expect(parseLedgerRow(Buffer.from(ledgerRow(e)))).toMatchObject({ proof: null });
    expect(JSON.parse(row.toString())).toEqual({ event: JSON.parse(ledgerEventBody(e)), hash: e.hash, prev_hash: e.prevHash, proof: ['ab'.repeat(32)] });
    for (const bad of ['{"x":1}', ledgerRow(e).replace(e.hash, e.hash.toUpperCase()), ledgerRow(e).replace('"seq":4', '"seq":04'), `${ledgerRow(e).slice(0, -1)},"more":1}`]) {
      expect(typeof parseLedgerRow(Buffer.from(bad)), bad).toBe('string');
    }
    expect(() => ledgerRow({ ...e, amountCents: 5 })).toThrow(/does not match/);
  });
});

describe('the streaming root of full-mode checks', () => {
  it('computes the same RFC 9162 root as MerkleAccumulator, from bytes or hex', async () => {
    const { StreamingRoot } = await import('../../src/evidence/ledger-format.ts');
    const { MerkleAccumulator, leafHash } = await import('../../src/evidence/merkle.ts');
    const { createHash } = await import('node:crypto');
    for (const n of [0, 1, 2, 3, 7, 8, 9, 1000, 4097]) {
      const fromBytes = new StreamingRoot();
      const fromHex = new StreamingRoot();
      const reference = new MerkleAccumulator();
      for (let i = 0; i < n; i++) {
        const d = createHash('sha256').update(`${n}/${i}`).digest();
        fromBytes.append(d);
        fromHex.appendHex(d.toString('hex'));
        reference.append(leafHash(d));
      }
      const want = Buffer.from(reference.root()).toString('hex');
      expect(Buffer.from(fromBytes.root()).toString('hex'), `n=${n}`).toBe(want);
      expect(Buffer.from(fromHex.root()).toString('hex'), `n=${n}`).toBe(want);
      expect(fromHex.size).toBe(n);
    }
  });
});
