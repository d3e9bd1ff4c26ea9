import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  MerkleAccumulator,
  merkleRoot,
  MerkleTree,
  nodeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../src/evidence/merkle.ts';

const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// The Certificate Transparency reference vectors (RFC 6962 test data, used by every CT log
// implementation): eight leaves and the tree heads of sizes 0..8.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// [leaf index (0-based), tree size, audit path]
const CT_INCLUSION: Array<[number, number, string[]]> = [
  [0, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [5, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
// [old size, new size, consistency proof]
const CT_CONSISTENCY: Array<[number, number, string[]]> = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];

/** The RFC's recursive definitions, written as literally as possible, as an independent oracle. */
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
function mth(d: Uint8Array[]): Hash {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Uint8Array.of(0), d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return sha(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}
function refPath(m: number, d: Uint8Array[]): Hash[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...refPath(m, d.slice(0, k)), mth(d.slice(k))] : [...refPath(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function refSubproof(m: number, d: Uint8Array[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [mth(d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m <= k ? [...refSubproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...refSubproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

const N = 21;
const DATA = Array.from({ length: N }, (_, i) => Uint8Array.of(i, (i * 37) & 0xff, 0x5a));
const TREE = MerkleTree.fromLeafHashes(DATA.map(leafHash));
const ROOTS = Array.from({ length: N + 1 }, (_, n) => mth(DATA.slice(0, n)));

function flip(h: Hash, byte = 0): Hash {
  const c = new Uint8Array(h);
  c[byte] = c[byte]! ^ 0x01;
  return c;
}

describe('RFC 9162 hashing', () => {
  it('empty tree is SHA-256 of nothing; leaf and node prefixes', () => {
    expect(hex(EMPTY_ROOT)).toBe(CT_ROOTS[0]);
    expect(hex(merkleRoot([]))).toBe(CT_ROOTS[0]);
    expect(hex(leafHash(new Uint8Array()))).toBe(CT_ROOTS[1]);
    const l = leafHash(Uint8Array.of(1));
    expect(hex(nodeHash(l, l))).toBe(hex(sha(Uint8Array.of(1), l, l)));
  });

  it('matches the CT reference roots for sizes 0..8, in batch, streaming and tree form', () => {
    const tree = new MerkleTree();
    const acc = new MerkleAccumulator();
    expect(hex(tree.root())).toBe(CT_ROOTS[0]);
    for (let n = 1; n <= 8; n++) {
      tree.append(leafHash(CT_LEAVES[n - 1]!));
      acc.appendData(CT_LEAVES[n - 1]!);
      expect(hex(merkleRoot(CT_LEAVES.slice(0, n))), `size ${n}`).toBe(CT_ROOTS[n]);
      expect(hex(acc.root())).toBe(CT_ROOTS[n]);
      expect(hex(tree.root())).toBe(CT_ROOTS[n]);
    }
    for (let n = 0; n <= 8; n++) expect(hex(tree.root(n))).toBe(CT_ROOTS[n]);
  });

  it('reproduces and verifies the CT reference inclusion proofs', () => {
    const tree = MerkleTree.fromLeafHashes(CT_LEAVES.map(leafHash));
    for (const [index, size, path] of CT_INCLUSION) {
      expect(tree.inclusionProof(index, size).map(hex)).toEqual(path);
      expect(verifyInclusion(tree.leafHash(index), index, size, path.map(unhex), unhex(CT_ROOTS[size]!))).toBe(true);
    }
  });

  it('reproduces and verifies the CT reference consistency proofs', () => {
    const tree = MerkleTree.fromLeafHashes(CT_LEAVES.map(leafHash));
    for (const [m, n, proof] of CT_CONSISTENCY) {
      expect(tree.consistencyProof(m, n).map(hex)).toEqual(proof);
      expect(verifyConsistency(m, n, unhex(CT_ROOTS[m]!), unhex(CT_ROOTS[n]!), proof.map(unhex))).toBe(true);
    }
  });
});

describe('every tree up to 21 leaves', () => {
  it('roots agree with the RFC definition, batch and streaming, and the accumulator state round-trips', () => {
    const acc = new MerkleAccumulator();
    for (let n = 0; n <= N; n++) {
      expect(hex(TREE.root(n))).toBe(hex(ROOTS[n]!));
      expect(hex(acc.root())).toBe(hex(ROOTS[n]!));
      expect(hex(MerkleAccumulator.fromState(acc.toState()).root())).toBe(hex(ROOTS[n]!));
      if (n < N) acc.appendData(DATA[n]!);
    }
  });

  it('inclusion: every (leaf, size) proof equals the RFC PATH and verifies; any tamper fails', () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(TREE, m, n);
        expect(proof.map(hex), `PATH(${m}, D[${n}])`).toEqual(refPath(m, DATA.slice(0, n)).map(hex));
        const leaf = TREE.leafHash(m);
        const root = ROOTS[n]!;
        expect(verifyInclusion(leaf, m, n, proof, root)).toBe(true);
        // wrong leaf, wrong root, each proof hash changed, wrong index, index = size, short, long
        expect(verifyInclusion(flip(leaf), m, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, m, n, proof, flip(root, 31))).toBe(false);
        proof.forEach((_, i) => expect(verifyInclusion(leaf, m, n, proof.map((p, j) => (i === j ? flip(p, 7) : p)), root)).toBe(false));
        if (n > 1) expect(verifyInclusion(leaf, (m + 1) % n, n, proof, root)).toBe(false);
        // (a different size with the same path shape computes the same root: the signed root binds the size)
        expect(verifyInclusion(leaf, n, n, proof, root)).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(leaf, m, n, proof.slice(0, -1), root)).toBe(false);
        expect(verifyInclusion(leaf, m, n, [...proof, root], root)).toBe(false);
      }
    }
  });

  it('consistency: every (m, n) proof equals the RFC PROOF and verifies; any tamper fails', () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(TREE, m, n);
        const expected = m === 0 || m === n ? [] : refSubproof(m, DATA.slice(0, n), true);
        expect(proof.map(hex), `PROOF(${m}, D[${n}])`).toEqual(expected.map(hex));
        expect(verifyConsistency(m, n, ROOTS[m]!, ROOTS[n]!, proof)).toBe(true);
        if (m > 0) {
          expect(verifyConsistency(m, n, flip(ROOTS[m]!), ROOTS[n]!, proof)).toBe(false);
          expect(verifyConsistency(m, n, ROOTS[m]!, flip(ROOTS[n]!, 3), proof)).toBe(false);
        }
        proof.forEach((_, i) => expect(verifyConsistency(m, n, ROOTS[m]!, ROOTS[n]!, proof.map((p, j) => (i === j ? flip(p, 9) : p)))).toBe(false));
        if (proof.length > 0) {
          expect(verifyConsistency(m, n, ROOTS[m]!, ROOTS[n]!, proof.slice(1))).toBe(false);
          expect(verifyConsistency(m, n, ROOTS[m]!, ROOTS[n]!, [...proof, ROOTS[n]!])).toBe(false);
        }
        if (m > 0 && m < n - 1) expect(verifyConsistency(m + 1, n, ROOTS[m + 1]!, ROOTS[n]!, proof)).toBe(false);
      }
    }
    // a different history of the same size is not consistent
    const other = MerkleTree.fromLeafHashes([leafHash(Uint8Array.of(99)), ...DATA.slice(1).map(leafHash)]);
    expect(verifyConsistency(5, 13, other.root(5), ROOTS[13]!, consistencyProof(TREE, 5, 13))).toBe(false);
    expect(verifyConsistency(0, 4, flip(EMPTY_ROOT), ROOTS[4]!, [])).toBe(false);
    expect(verifyConsistency(5, 4, ROOTS[5]!, ROOTS[4]!, [])).toBe(false);
  });

  it('rootFromInclusionProof refuses impossible shapes; proofs refuse sizes beyond the tree', () => {
    expect(rootFromInclusionProof(TREE.leafHash(0), 0, 0, [])).toBeNull();
    expect(rootFromInclusionProof(TREE.leafHash(0), -1, 4, [])).toBeNull();
    expect(rootFromInclusionProof(TREE.leafHash(0), 0, 2, [new Uint8Array(31)])).toBeNull();
    expect(() => TREE.inclusionProof(0, N + 1)).toThrow(/exceeds/);
    expect(() => TREE.inclusionProof(N, N)).toThrow(/outside/);
    expect(() => TREE.consistencyProof(4, 3)).toThrow(/larger/);
    expect(() => MerkleAccumulator.fromState({ size: 3, subtrees: [] })).toThrow(/does not match/);
  });

  it('the accumulator keeps O(log n) hashes for a large tree and agrees with the full tree', () => {
    const acc = new MerkleAccumulator();
    const tree = new MerkleTree();
    for (let i = 0; i < 5000; i++) {
      const h = leafHash(Uint8Array.of(i & 0xff, i >> 8));
      acc.append(h);
      tree.append(h);
    }
    expect(acc.toState().subtrees.length).toBe([...(5000).toString(2)].filter((b) => b === '1').length);
    expect(hex(acc.root())).toBe(hex(tree.root()));
    const proof = tree.inclusionProof(4321);
    expect(verifyInclusion(tree.leafHash(4321), 4321, 5000, proof, acc.root())).toBe(true);
    expect(verifyConsistency(3333, 5000, tree.root(3333), acc.root(), tree.consistencyProof(3333))).toBe(true);
  });
});
