import { describe, expect, it } from 'vitest';
import {
  ed25519Signer,
  formatCheckpoint,
  formatSignerKey,
  formatVerifierKey,
  noteVerifier,
  openNote,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
} from '../../src/evidence/checkpoint.ts';
import { EvidenceError } from '../../src/evidence/errors.ts';
import { leafHash, MerkleTree } from '../../src/evidence/merkle.ts';

// The signed-note example of Go's golang.org/x/mod/sumdb/note package (also quoted by the C2SP
// implementations): a signer key, its verifier key, a text and the resulting signed note.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof EvidenceError) return error.code;
    throw error;
  }
  return 'no error';
};

const seed = (b: number) => new Uint8Array(32).fill(b);
const ORIGIN = 'gateway.example/paybond/ledger/ten_a';
const gateway = ed25519Signer(seed(7));
const other = ed25519Signer(seed(8));
const tree = MerkleTree.fromLeafHashes(Array.from({ length: 10 }, (_, i) => leafHash(Uint8Array.of(i))));

describe('signed notes (C2SP signed-note, Ed25519)', () => {
  it('reproduces the Go sumdb/note vector byte for byte: key ID, verifier key, signature', () => {
    const { name, signer, seed: s } = parseSignerKey(GO_SKEY);
    expect(formatVerifierKey(name, signer.publicKey)).toBe(GO_VKEY);
    expect(formatSignerKey(name, s)).toBe(GO_SKEY);
    expect(signNote(GO_TEXT, name, signer)).toBe(GO_NOTE);
    const opened = openNote(GO_NOTE, [parseVerifierKey(GO_VKEY)]);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.verifiedBy[0]!.name).toBe('PeterNeumann');
  });

  it('ignores unknown signers, rejects a failing known signature, requires one known signature', () => {
    const v = parseVerifierKey(GO_VKEY);
    const extra = signNote(GO_TEXT, 'someone.else', other).split('\n\n')[1]!;
    expect(openNote(GO_NOTE + extra, [v]).verifiedBy).toHaveLength(1);
    expect(code(() => openNote(GO_NOTE.replace('problem,', 'problem;'), [v]))).toBe('note_bad_signature');
    expect(code(() => openNote(signNote(GO_TEXT, 'PeterNeumann', other), [v]))).toBe('note_unknown_key');
  });

  it('refuses malformed envelopes and keys', () => {
    expect(code(() => parseNote(GO_TEXT))).toBe('note_malformed');
    expect(code(() => parseNote(GO_NOTE.replace('— ', '-- ')))).toBe('note_malformed');
    expect(code(() => parseNote(GO_NOTE.slice(0, -1)))).toBe('note_malformed');
    expect(code(() => parseNote(GO_NOTE.replace('x08go', 'x08g!')))).toBe('note_malformed');
    expect(code(() => parseNote(`a\tb\n${GO_NOTE}`))).toBe('note_malformed');
    expect(code(() => signNote('no newline', 'k', gateway))).toBe('note_malformed');
    expect(code(() => parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'))).toBe('verifier_key_malformed');
    expect(code(() => parseVerifierKey('PeterNeumann+c74f20a3'))).toBe('verifier_key_malformed');
    expect(code(() => parseSignerKey(GO_VKEY))).toBe('signer_key_malformed');
    expect(code(() => noteVerifier('has space', gateway.publicKey))).toBe('verifier_key_malformed');
  });
});

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  const time = new Date('2026-12-01T10:00:00.000Z');
  const note = signCheckpoint({ origin: ORIGIN, treeSize: 10, rootHash: tree.root(), time }, gateway);
  const vkey = formatVerifierKey(ORIGIN, gateway.publicKey);

  it('formats origin, size, base64 root and the time line, signed under the origin', () => {
    const lines = note.split('\n');
    expect(lines.slice(0, 4)).toEqual([ORIGIN, '10', Buffer.from(tree.root()).toString('base64'), 'time 2026-12-01T10:00:00.000Z']);
    expect(lines[4]).toBe('');
    expect(lines[5]!.startsWith(`— ${ORIGIN} `)).toBe(true);
    const cp = verifyCheckpoint(note, vkey);
    expect(cp).toMatchObject({ origin: ORIGIN, treeSize: 10, time });
    expect(Buffer.from(cp.rootHash).equals(tree.root())).toBe(true);
    expect(parseCheckpoint(formatCheckpoint({ origin: ORIGIN, treeSize: 0, rootHash: tree.root(0) }))).toMatchObject({ treeSize: 0, extensions: [] });
  });

  it('distinct codes: malformed, another key, altered text, another origin', () => {
    expect(code(() => verifyCheckpoint(note.replace('\n\n', '\n'), vkey))).toBe('checkpoint_malformed');
    expect(code(() => verifyCheckpoint('x\n\n— a AAAA\n', vkey))).toBe('checkpoint_malformed');
    const byOther = signCheckpoint({ origin: ORIGIN, treeSize: 10, rootHash: tree.root() }, other);
    expect(code(() => verifyCheckpoint(byOther, vkey))).toBe('checkpoint_unknown_key');
    expect(code(() => verifyCheckpoint(note.replace('\n10\n', '\n11\n'), vkey))).toBe('checkpoint_bad_signature');
    const otherOrigin = 'gateway.example/paybond/ledger/ten_b';
    const bodyOk = signNote(formatCheckpoint({ origin: otherOrigin, treeSize: 1, rootHash: tree.root(1) }), ORIGIN, gateway);
    expect(code(() => verifyCheckpoint(bodyOk, vkey))).toBe('checkpoint_origin_mismatch');
    const badBody = signNote(`${ORIGIN}\n010\n${Buffer.from(tree.root()).toString('base64')}\n`, ORIGIN, gateway);
    expect(code(() => verifyCheckpoint(badBody, vkey))).toBe('checkpoint_malformed');
  });

  it('parse rejects each malformed body line', () => {
    const root = Buffer.from(tree.root()).toString('base64');
    expect(code(() => parseCheckpoint(`${ORIGIN}\n10\n`))).toBe('checkpoint_malformed');
    expect(code(() => parseCheckpoint(`\n10\n${root}\n`))).toBe('checkpoint_malformed');
    expect(code(() => parseCheckpoint(`${ORIGIN}\n-1\n${root}\n`))).toBe('checkpoint_malformed');
    expect(code(() => parseCheckpoint(`${ORIGIN}\n10\n${root.slice(0, -2)}\n`))).toBe('checkpoint_malformed');
    expect(code(() => parseCheckpoint(`${ORIGIN}\n10\n${root}\n\n`))).toBe('checkpoint_malformed');
    expect(code(() => parseCheckpoint(`${ORIGIN}\n10\n${root}\ntime yesterday\n`))).toBe('checkpoint_malformed');
    expect(code(() => parseCheckpoint(`${ORIGIN}\n10\n${root}`))).toBe('checkpoint_malformed');
  });
});
