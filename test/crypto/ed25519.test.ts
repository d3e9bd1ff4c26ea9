import { describe, expect, it } from 'vitest';
import { ed, verifyEd25519, decodePublicKey, decodeSignature, toBase58 } from '../../src/crypto/ed25519.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const scalar = (bytes: Uint8Array) => bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);

// RFC 8032 §7.1 TEST 1–3.
const vectors = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** Strict noble (RFC 8032 branch, not ZIP-215), with its own argument checks turned into false. */
function nobleStrict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

describe('Ed25519: node:crypto hot path agrees with @noble/ed25519', () => {
  it.each(vectors)('RFC 8032 vector $publicKey', (v) => {
    expect(toBase58(ed.getPublicKey(hex(v.secret)))).toBe(toBase58(hex(v.publicKey)));
    expect(Buffer.from(ed.sign(hex(v.message), hex(v.secret))).toString('hex')).toBe(v.signature);
    expect(verifyEd25519(hex(v.publicKey), hex(v.message), hex(v.signature))).toBe(true);
    expect(nobleStrict(hex(v.signature), hex(v.message), hex(v.publicKey))).toBe(true);
  });

  it('agrees on malformed, tampered and non-canonical inputs', () => {
    const v = vectors[1]!;
    const pub = hex(v.publicKey);
    const msg = hex(v.message);
    const sig = hex(v.signature);
    const nonCanonical = sig.slice();
    nonCanonical.set(le(scalar(sig.slice(32)) + L), 32);
    const flipped = sig.slice();
    flipped[10]! ^= 0x01;
    const identity = hex('0100000000000000000000000000000000000000000000000000000000000000');
    const badR = sig.slice();
    badR.set(hex('ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 0);
    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array, boolean]> = [
      ['valid', sig, msg, pub, true],
      ['S + L (malleated)', nonCanonical, msg, pub, false],
      ['flipped signature bit', flipped, msg, pub, false],
      ['other message', sig, hex('73'), pub, false],
      ['other key', sig, msg, hex(vectors[0]!.publicKey), false],
      ['all-zero signature', new Uint8Array(64), msg, pub, false],
      ['small-order key with trivial signature', new Uint8Array([...identity, ...new Uint8Array(32)]), msg, identity, false],
      ['non-canonical R', badR, msg, pub, false],
      ['short signature', sig.slice(0, 63), msg, pub, false],
      ['short key', sig, msg, pub.slice(0, 31), false],
    ];
    for (const [name, s, m, p, expected] of cases) {
      const ours = verifyEd25519(p, m, s);
      expect({ name, ours }).toEqual({ name, ours: expected });
      expect({ name, noble: nobleStrict(s, m, p) }).toEqual({ name, noble: ours });
    }
  });

  it('agrees on random keys and messages', () => {
    for (let i = 0; i < 50; i++) {
      const secret = ed.utils.randomSecretKey();
      const pub = ed.getPublicKey(secret);
      const msg = crypto.getRandomValues(new Uint8Array(i * 7));
      const sig = ed.sign(msg, secret);
      const tampered = sig.slice();
      tampered[i % 64]! ^= 1 << (i % 8);
      expect(verifyEd25519(pub, msg, sig)).toBe(true);
      expect(verifyEd25519(pub, msg, tampered)).toBe(nobleStrict(tampered, msg, pub));
    }
  });

  it('decodes keys and signatures only in the accepted encodings', () => {
    const pub = hex(vectors[0]!.publicKey);
    for (const text of [vectors[0]!.publicKey, Buffer.from(pub).toString('base64'), toBase58(pub)]) {
      expect(decodePublicKey(text)).toEqual(pub);
    }
    expect(decodePublicKey('0100000000000000000000000000000000000000000000000000000000000000')).toBeNull(); // small order
    expect(decodePublicKey(toBase58(pub.slice(0, 31)))).toBeNull();
    expect(decodePublicKey('not a key')).toBeNull();
    const sig = hex(vectors[0]!.signature);
    expect(decodeSignature(Buffer.from(sig).toString('base64'), ['base64'])).toEqual(sig);
    expect(decodeSignature(Buffer.from(sig).toString('base64url'), ['base64'])).toBeNull();
    expect(decodeSignature(toBase58(sig), ['base58'])).toEqual(sig);
  });
});
