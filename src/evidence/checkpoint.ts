import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { verifyEd25519 } from '../crypto/ed25519.ts';
import { EvidenceError } from './errors.ts';
import { HASH_SIZE, type Hash } from './merkle.ts';

/**
 * Signed notes (https://c2sp.org/signed-note) with Ed25519 signatures, and transparency-log
 * checkpoints (https://c2sp.org/tlog-checkpoint) carried in them:
 *
 *     <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n…]
 *     \n
 *     — <key name> <base64(key ID[4] || Ed25519 signature[64])>\n
 *
 * key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4]. The signature covers the note text
 * including its final newline, not the blank line. Verifier keys travel as the usual text form
 * `<name>+<hex key ID>+<base64(0x01 || public key)>`.
 */

/** Something that signs with an Ed25519 key: the gateway's KeyObject, or a raw seed in tests. */
export interface Ed25519Signer {
  /** Raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519Signer from a node:crypto private KeyObject (as loaded by the gateway) or a 32-byte seed. */
export function ed25519Signer(key: KeyObject | Uint8Array): Ed25519Signer {
  let privateKey: KeyObject;
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new EvidenceError('signer_key_malformed', 'an Ed25519 seed is 32 bytes');
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key]), format: 'der', type: 'pkcs8' });
  } else {
    privateKey = key;
  }
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new EvidenceError('signer_key_malformed', 'the signing key must be an Ed25519 private key');
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  return { publicKey, sign: (message) => new Uint8Array(nodeSign(null, message, privateKey)) };
}

const SIG_TYPE_ED25519 = 0x01;
const MAX_SIGNATURES = 100;
const MAX_NOTE_BYTES = 1 << 20;
const EM_DASH_PREFIX = '\u2014 ';

/** Key names: non-empty, no Unicode space, no '+'. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name);
}

export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, SIG_TYPE_ED25519)).update(publicKey).digest().subarray(0, 4));
}

export interface NoteVerifier {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

export function noteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw new EvidenceError('verifier_key_malformed', `invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32) throw new EvidenceError('verifier_key_malformed', 'an Ed25519 public key is 32 bytes');
  return { name, keyId: noteKeyId(name, publicKey), publicKey };
}

/** `<name>+<hex key ID>+<base64(0x01 || public key)>` */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const v = noteVerifier(name, publicKey);
  return `${name}+${Buffer.from(v.keyId).toString('hex')}+${Buffer.concat([Uint8Array.of(SIG_TYPE_ED25519), publicKey]).toString('base64')}`;
}

const strictBase64 = (text: string): Buffer | null => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const raw = Buffer.from(text, 'base64');
  return raw.toString('base64') === text ? raw : null;
};

export function parseVerifierKey(vkey: string): NoteVerifier {
  // The base64 key may itself contain '+': only the first two separate fields.
  const parts = vkey.trim().split('+');
  const bad = (why: string) => new EvidenceError('verifier_key_malformed', `not a verifier key (${why})`);
  if (parts.length < 3) throw bad('expected <name>+<key id>+<key>');
  const [name, idHex] = parts as [string, string];
  const keyB64 = parts.slice(2).join('+');
  if (!isValidKeyName(name)) throw bad('invalid name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw bad('key id is not 8 lowercase hex digits');
  const raw = strictBase64(keyB64);
  if (!raw || raw.length !== 33 || raw[0] !== SIG_TYPE_ED25519) throw bad('not an Ed25519 key');
  const v = noteVerifier(name, new Uint8Array(raw.subarray(1)));
  if (Buffer.from(v.keyId).toString('hex') !== idHex) throw bad('key id does not match the key');
  return v;
}

/** `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`, the signer key text of Go's note package. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  const { publicKey } = ed25519Signer(seed);
  const v = noteVerifier(name, publicKey);
  return `PRIVATE+KEY+${name}+${Buffer.from(v.keyId).toString('hex')}+${Buffer.concat([Uint8Array.of(SIG_TYPE_ED25519), seed]).toString('base64')}`;
}

export function parseSignerKey(skey: string): { name: string; seed: Uint8Array; signer: Ed25519Signer; verifier: NoteVerifier } {
  const parts = skey.trim().split('+');
  const bad = (why: string) => new EvidenceError('signer_key_malformed', `not a signer key (${why})`);
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw bad('expected PRIVATE+KEY+<name>+<key id>+<key>');
  const [, , name, idHex] = parts as [string, string, string, string];
  const keyB64 = parts.slice(4).join('+');
  const raw = strictBase64(keyB64);
  if (!isValidKeyName(name) || !raw || raw.length !== 33 || raw[0] !== SIG_TYPE_ED25519) throw bad('invalid name or key');
  const seed = new Uint8Array(raw.subarray(1));
  const signer = ed25519Signer(seed);
  const verifier = noteVerifier(name, signer.publicKey);
  if (Buffer.from(verifier.keyId).toString('hex') !== idHex) throw bad('key id does not match the key');
  return { name, seed, signer, verifier };
}

function checkNoteText(text: string, code: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new EvidenceError(code, 'note text must be non-empty and end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new EvidenceError(code, 'note text contains a control character');
  if (/[\uD800-\uDFFF]/.test(text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) throw new EvidenceError(code, 'note text is not valid UTF-16/UTF-8');
}

/** Sign a note text with one key. The text must end with a newline. */
export function signNote(text: string, keyName: string, signer: Ed25519Signer): string {
  checkNoteText(text, 'note_malformed');
  const v = noteVerifier(keyName, signer.publicKey);
  const signature = signer.sign(Buffer.from(text, 'utf8'));
  return `${text}\n${EM_DASH_PREFIX}${keyName} ${Buffer.concat([v.keyId, signature]).toString('base64')}\n`;
}

export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

/** Split a signed note into its text and signature lines, checking the envelope only. */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const bytes = typeof note === 'string' ? Buffer.from(note, 'utf8') : Buffer.from(note);
  const bad = (why: string) => new EvidenceError('note_malformed', `malformed signed note: ${why}`);
  if (bytes.length > MAX_NOTE_BYTES) throw bad('larger than 1 MiB');
  const str = bytes.toString('utf8');
  if (!Buffer.from(str, 'utf8').equals(bytes)) throw bad('not valid UTF-8');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(str)) throw bad('contains a control character');
  const split = str.lastIndexOf('\n\n');
  if (split < 0) throw bad('no blank line before the signatures');
  const text = str.slice(0, split + 1);
  const sigBlock = str.slice(split + 2);
  if (!sigBlock.endsWith('\n')) throw bad('signature block does not end with a newline');
  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw bad('too many signatures');
  const signatures = lines.map((line) => {
    if (!line.startsWith(EM_DASH_PREFIX)) throw bad('signature line does not start with an em dash and a space');
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (space <= 0 || !isValidKeyName(name)) throw bad('invalid key name in a signature line');
    const raw = strictBase64(b64);
    if (!raw || raw.length < 5) throw bad('signature is not base64 of a key ID and a signature');
    return { name, keyId: new Uint8Array(raw.subarray(0, 4)), signature: new Uint8Array(raw.subarray(4)) };
  });
  return { text, signatures };
}

/**
 * Verify a signed note against trusted keys. Per the spec: lines from unknown keys are ignored; a
 * line from a known key that fails to verify rejects the note (`note_bad_signature`); a note with
 * no verified line from a known key is rejected (`note_unknown_key`).
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): { text: string; verifiedBy: NoteVerifier[] } {
  const { text, signatures } = parseNote(note);
  const message = Buffer.from(text, 'utf8');
  const verifiedBy: NoteVerifier[] = [];
  for (const sig of signatures) {
    const known = verifiers.find((v) => v.name === sig.name && Buffer.from(v.keyId).equals(sig.keyId));
    if (!known) continue;
    if (!verifyEd25519(known.publicKey, message, sig.signature)) {
      throw new EvidenceError('note_bad_signature', `the signature of ${known.name} does not verify over the note text`);
    }
    if (!verifiedBy.includes(known)) verifiedBy.push(known);
  }
  if (verifiedBy.length === 0) {
    const names = signatures.map((s) => `${s.name}+${Buffer.from(s.keyId).toString('hex')}`).join(', ');
    throw new EvidenceError('note_unknown_key', `no signature from a trusted key (signed by ${names || 'nobody'})`);
  }
  return { text, verifiedBy };
}

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Hash;
  /** When the log signed it, from the `time <RFC 3339>` extension line, if present. */
  time?: Date;
  /** Every extension line (including the time line), without newlines. */
  extensions: string[];
}

const TIME_PREFIX = 'time ';

/** The checkpoint note text (unsigned). */
export function formatCheckpoint(cp: { origin: string; treeSize: number; rootHash: Hash; time?: Date; extensions?: readonly string[] }): string {
  if (cp.origin.length === 0 || /[\n]/.test(cp.origin)) throw new EvidenceError('checkpoint_malformed', 'origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.treeSize) || cp.treeSize < 0) throw new EvidenceError('checkpoint_malformed', 'tree size must be a non-negative integer');
  if (cp.rootHash.length !== HASH_SIZE) throw new EvidenceError('checkpoint_malformed', 'root hash must be 32 bytes');
  const extensions = [...(cp.time ? [`${TIME_PREFIX}${cp.time.toISOString()}`] : []), ...(cp.extensions ?? [])];
  if (extensions.some((e) => e.length === 0 || e.includes('\n'))) throw new EvidenceError('checkpoint_malformed', 'extension lines must be single non-empty lines');
  const text = [cp.origin, String(cp.treeSize), Buffer.from(cp.rootHash).toString('base64'), ...extensions].join('\n') + '\n';
  checkNoteText(text, 'checkpoint_malformed');
  return text;
}

/** Parse a checkpoint note text (already verified, or for display). */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new EvidenceError('checkpoint_malformed', `malformed checkpoint: ${why}`);
  if (!text.endsWith('\n')) throw bad('text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('fewer than three lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) throw bad('tree size is not a decimal number without leading zeroes');
  const rootHash = strictBase64(root);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw bad('root hash is not the base64 of 32 bytes');
  if (extensions.some((e) => e.length === 0)) throw bad('empty extension line');
  let time: Date | undefined;
  const timeLine = extensions.find((e) => e.startsWith(TIME_PREFIX));
  if (timeLine) {
    time = new Date(timeLine.slice(TIME_PREFIX.length));
    if (Number.isNaN(time.getTime()) || time.toISOString() !== timeLine.slice(TIME_PREFIX.length)) throw bad('time line is not an RFC 3339 UTC time');
  }
  return { origin, treeSize: Number(size), rootHash: new Uint8Array(rootHash), ...(time ? { time } : {}), extensions };
}

/** Sign a checkpoint; the key name is the origin, as tlog-checkpoint recommends. */
export function signCheckpoint(
  cp: { origin: string; treeSize: number; rootHash: Hash; time?: Date; extensions?: readonly string[] },
  signer: Ed25519Signer,
): string {
  return signNote(formatCheckpoint(cp), cp.origin, signer);
}

const CHECKPOINT_CODES: Record<string, string> = {
  note_malformed: 'checkpoint_malformed',
  note_unknown_key: 'checkpoint_unknown_key',
  note_bad_signature: 'checkpoint_bad_signature',
};

/**
 * Verify a signed checkpoint with a verifier key (object or vkey text) and parse it. Codes:
 * `checkpoint_malformed` (envelope or body), `checkpoint_unknown_key` (not signed by this key, e.g.
 * signed by another one), `checkpoint_bad_signature` (this key's signature fails: text altered),
 * `checkpoint_origin_mismatch` (signed by the key but for another log).
 */
export function verifyCheckpoint(note: string | Uint8Array, verifier: NoteVerifier | string): Checkpoint {
  const v = typeof verifier === 'string' ? parseVerifierKey(verifier) : verifier;
  let text: string;
  try {
    ({ text } = openNote(note, [v]));
  } catch (error) {
    if (error instanceof EvidenceError && CHECKPOINT_CODES[error.code]) {
      throw new EvidenceError(CHECKPOINT_CODES[error.code]!, error.message.replace('signed note', 'checkpoint'));
    }
    throw error;
  }
  const cp = parseCheckpoint(text);
  if (cp.origin !== v.name) throw new EvidenceError('checkpoint_origin_mismatch', `checkpoint origin ${JSON.stringify(cp.origin)} is not the key name ${JSON.stringify(v.name)}`);
  return cp;
}
