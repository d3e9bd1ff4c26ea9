import { describe, expect, it } from 'vitest';
import { BincodeWriter } from '../../src/crypto/bincode.ts';
import { canonicalJson, jsonDigest } from '../../src/crypto/canonical-json.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Vectors from the public Paybond SDK (nonameuserd/paybond-kit tests/bincode-wire.test.ts, json digests).
describe('bincode wire encoding', () => {
  it.each([
    ['varint 6', (w: BincodeWriter) => w.varint(6), '06'],
    ['string', (w: BincodeWriter) => w.str('tenant-golden'), '0d74656e616e742d676f6c64656e'],
    ['uuid', (w: BincodeWriter) => w.uuid('7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401'), '107f2a9b1e2f664f4f9c6e8f4b8e85c401'],
    ['i64 100', (w: BincodeWriter) => w.i64(100), 'c8'],
    ['i64 1000', (w: BincodeWriter) => w.i64(1000), 'fbd007'],
    ['i64 -1', (w: BincodeWriter) => w.i64(-1), '01'],
    ['u32 300', (w: BincodeWriter) => w.varint(300), 'fb2c01'],
    ['u32 70000', (w: BincodeWriter) => w.varint(70000), 'fc70110100'],
  ])('%s', (_name, write, expected) => {
    expect(hex(write(new BincodeWriter()).finish())).toBe(expected);
  });
});

describe('canonical JSON and digests', () => {
  it('sorts keys recursively, keeps arrays, writes numbers like ECMAScript (RFC 8785)', () => {
    expect(canonicalJson({ max: 100, a: 1, n: { z: [3, { b: 1, a: 2 }], y: 'é\n' } })).toBe('{"a":1,"max":100,"n":{"y":"é\\n","z":[3,{"a":2,"b":1}]}}');
    expect(canonicalJson({ x: 1e21, y: 5e-7, z: -0 })).toBe('{"x":1e+21,"y":5e-7,"z":0}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow();
  });

  it.each([
    [{ max: 100, a: 1 }, 'fe9931de397b3817d06aeeb9877163cea9964adc4609fd0f1d715542a7f9c657'],
    [{ type: 'object' }, '69b254eacefe89c7b9b29305b06ec5983871a03cc20db0b4747905ecdddd7f29'],
    [{ version: 1, root: { op: 'true' } }, 'c366a1c38aad99370b12e7197e0fe5590e2d20763c9b4550a738313f484757e5'],
    [['harbor.describe', 'harbor.evidence_submit'], '6ba1f5bfb6266e05ed626dd8a1a318e8f9a38272186eb855bf717cede2c5b104'],
    [{ status: 'completed', cost_cents: 100 }, '4e3c7197182858d4b7fe6df0259e336aab69a69190012f902d41a5b38dc86932'],
  ])('BLAKE3 digest of %j', (value, expected) => {
    expect(hex(jsonDigest(value))).toBe(expected);
  });
});
