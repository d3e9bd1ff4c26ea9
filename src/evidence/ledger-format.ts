import { hash as oneShotHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.ts';
import { EvidenceError, type VerifyFailure } from './errors.ts';
import { verifyCheckpoint, type Checkpoint, type NoteVerifier } from './checkpoint.ts';
import { EMPTY_ROOT, equalHash, leafHash, rootFromInclusionProof, verifyConsistency, type Hash } from './merkle.ts';

/**
 * The ledger event as exported: its hashed body, its chain hash and, in bundles, its Merkle proof.
 *
 * DUPLICATION NOTE: ledgerEventBody() and ledgerChainHash() define the same bytes as eventBody() and
 * chainHash() in src/areas/harbor/ledger.ts. This file is the format's definition (an offline
 * verifier must not depend on the gateway), so ledger.ts should import these two instead of
 * keeping its own copies; test/evidence/ledger-format.test.ts pins both to the same vectors.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** A stored ledger event (the LedgerEvent row; extra columns such as id are ignored). */
export interface LedgerEventRecord {
  tenantId: string;
  seq: number;
  intentId: string | null;
  type: string;
  amountCents: number | null;
  currency: string | null;
  actorType: string;
  actorId: string | null;
  payloadDigest: string;
  occurredAt: string;
  prevHash: string;
  hash: string;
}

/** The exact bytes that are hashed: JCS (RFC 8785) of these fields. */
export function ledgerEventBody(e: Omit<LedgerEventRecord, 'prevHash' | 'hash'>): string {
  return canonicalJson({
    schema_version: 1,
    tenant_id: e.tenantId,
    seq: e.seq,
    intent_id: e.intentId,
    type: e.type,
    amount_cents: e.amountCents,
    currency: e.currency,
    actor: { type: e.actorType, id: e.actorId },
    payload_digest_sha256_hex: e.payloadDigest,
    occurred_at: e.occurredAt,
  });
}

/** hash = SHA-256(prev_hash bytes || body bytes), hex. */
export function ledgerChainHash(prevHashHex: string, body: string | Uint8Array): string {
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return oneShotHash('sha256', Buffer.concat([Buffer.from(prevHashHex, 'hex'), bodyBytes]), 'hex');
}

/** The Merkle leaf of an event: its 32-byte chain hash is the leaf data (leaf hash = SHA-256(0x00 || hash)). */
export const ledgerLeafHash = (hashHex: string): Hash => leafHash(Buffer.from(hashHex, 'hex'));

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * One JSONL line (no newline): {"event":<body>,"hash":"…","prev_hash":"…"[,"proof":["…",…]]}.
 * The `event` member is the hashed body verbatim, so the line is also the JCS form of the row.
 */
export function ledgerRow(e: LedgerEventRecord, proof?: readonly Hash[]): string {
  if (!HEX64.test(e.hash) || !HEX64.test(e.prevHash)) throw new EvidenceError('ledger_event_malformed', `ledger event ${e.seq}: hash and prev_hash must be 64 lowercase hex digits`);
  const body = ledgerEventBody(e);
  if (ledgerChainHash(e.prevHash, body) !== e.hash) {
    throw new EvidenceError('ledger_event_hash_mismatch', `ledger event ${e.seq}: stored hash does not match its content (the stored ledger is damaged)`);
  }
  const proofPart = proof ? `,"proof":[${proof.map((h) => `"${Buffer.from(h).toString('hex')}"`).join(',')}]` : '';
  return `{"event":${body},"hash":"${e.hash}","prev_hash":"${e.prevHash}"${proofPart}}`;
}

export type ProofMode = 'full' | 'inclusion';

const ROW_HEAD = Buffer.from('{"event":{');
const HASH_KEY = Buffer.from(',"hash":"');
const PREV_KEY = Buffer.from('","prev_hash":"');
const PROOF_KEY = Buffer.from('","proof":[');
const SEQ_KEY = Buffer.from(',"seq":');
/** Bytes after the body in a row without proof: ,"hash":"<64>","prev_hash":"<64>"} */
const PLAIN_TAIL = HASH_KEY.length + 64 + PREV_KEY.length + 64 + 2;

// Nibble values of lowercase hex digits; -1 for anything else (upper case is not canonical).
const NIBBLE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;

function isHexAt(buf: Buffer, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (NIBBLE[buf[i]!]! < 0) return false;
  return true;
}

/** Byte comparison of a short needle at a position (a JS loop beats a native call for ≤ 16 bytes). */
function matchesAt(buf: Buffer, at: number, what: Buffer): boolean {
  if (at < 0 || at + what.length > buf.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[at + i] !== what[i]) return false;
  return true;
}

interface RowLayout {
  seq: number;
  bodyStart: number;
  bodyEnd: number;
  hashAt: number;
  prevAt: number;
  /** Offsets of each proof hash's 64 hex digits; null when the row has no proof member. */
  proofAt: number[] | null;
}

/**
 * Locate the parts of a row without a full JSON parse: the verbatim body, the two hashes, the
 * proof. Sound because nothing read here is trusted until the body's chain hash is recomputed and
 * that hash is anchored in the signed tree: a body whose bytes hash to an anchored hash is the
 * gateway's JCS body, in which `,"seq":` occurs once, at top level.
 */
function locateRow(line: Buffer): RowLayout | string {
  if (!matchesAt(line, 0, ROW_HEAD)) return 'row does not start with {"event":{';
  let hashKey = line.length - PLAIN_TAIL;
  let proofAt: number[] | null = null;
  if (!(line[line.length - 1] === 0x7d && line[line.length - 2] === 0x22 && matchesAt(line, hashKey, HASH_KEY))) {
    // With a proof: ,"hash":"<64>","prev_hash":"<64>","proof":["<64>",…]}
    hashKey = line.lastIndexOf(HASH_KEY);
    const proofKey = hashKey + HASH_KEY.length + 64 + PREV_KEY.length + 64;
    if (hashKey < 0 || !matchesAt(line, proofKey, PROOF_KEY) || line[line.length - 1] !== 0x7d || line[line.length - 2] !== 0x5d) {
      return 'hash, prev_hash or proof is malformed (64 lowercase hex digits each; no other members)';
    }
    proofAt = [];
    let at = proofKey + PROOF_KEY.length;
    const end = line.length - 2;
    while (at < end) {
      if (line[at] !== 0x22 || line[at + 65] !== 0x22 || !isHexAt(line, at + 1, 64)) return 'proof is not a list of 64-hex-digit hashes';
      proofAt.push(at + 1);
      at += 66;
      if (at < end && line[at++] !== 0x2c) return 'proof is not a list of 64-hex-digit hashes';
    }
    if (at !== end) return 'proof is not a list of 64-hex-digit hashes';
  }
  const hashAt = hashKey + HASH_KEY.length;
  const prevAt = hashAt + 64 + PREV_KEY.length;
  // The two hashes' digits are validated only where the hot path does not already prove them:
  // hash by its comparison with the recomputed digest, prev_hash by equality with the previous row.
  if (hashKey <= ROW_HEAD.length || line[hashKey - 1] !== 0x7d || !matchesAt(line, hashAt + 64, PREV_KEY) || line[prevAt + 64] !== 0x22) {
    return 'hash, prev_hash or proof is malformed (64 lowercase hex digits each; no other members)';
  }
  const bodyStart = ROW_HEAD.length - 1;
  // In a JCS body "seq" comes after "schema_version", near the end: search backwards.
  const at = line.lastIndexOf(SEQ_KEY, hashKey - SEQ_KEY.length);
  if (at < bodyStart) return 'event has no valid "seq"';
  let i = at + SEQ_KEY.length;
  let seq = 0;
  if (line[i] === 0x30) return 'event has no valid "seq"';
  for (; line[i]! >= 0x30 && line[i]! <= 0x39; i++) seq = seq * 10 + (line[i]! - 0x30);
  if (seq === 0 || !Number.isSafeInteger(seq)) return 'event has no valid "seq"';
  return { seq, bodyStart, bodyEnd: hashKey, hashAt, prevAt, proofAt };
}

export interface ParsedLedgerRow {
  seq: number;
  body: Buffer;
  hashHex: string;
  prevHashHex: string;
  proof: Hash[] | null;
}

/** Split a row into its verbatim body bytes, hashes and proof (see locateRow), or say what is wrong. */
export function parseLedgerRow(line: Buffer): ParsedLedgerRow | string {
  const r = locateRow(line);
  if (typeof r === 'string') return r;
  if (!isHexAt(line, r.hashAt, 64) || !isHexAt(line, r.prevAt, 64)) return 'hash, prev_hash or proof is malformed (64 lowercase hex digits each; no other members)';
  return {
    seq: r.seq,
    body: line.subarray(r.bodyStart, r.bodyEnd),
    hashHex: line.toString('latin1', r.hashAt, r.hashAt + 64),
    prevHashHex: line.toString('latin1', r.prevAt, r.prevAt + 64),
    proof: r.proofAt && r.proofAt.map((at) => new Uint8Array(Buffer.from(line.toString('latin1', at, at + 64), 'hex'))),
  };
}

/**
 * The streaming RFC 9162 root of `full` mode (MerkleAccumulator's algorithm, which the tests
 * compare it with), tuned for a million leaves: digests are kept as latin1 strings, not Buffers.
 * hash() returning a string is about twice as fast as returning a Buffer for 33/65-byte inputs and
 * allocates no ArrayBuffer per hash (a million of those inflate the resident memory). A second
 * thread for the tree hashes was tried: on a loaded 2-core machine it gained nothing and cost 15 MB.
 */
export class StreamingRoot {
  readonly #leafIn = Buffer.alloc(33);
  readonly #nodeIn = Buffer.alloc(65).fill(1, 0, 1);
  readonly #stack: string[] = [];
  size = 0;
  // ('binary' is Node's name for latin1 in hash() output.)

  #node(l: string, r: string): string {
    this.#nodeIn.write(l, 1, 'latin1');
    this.#nodeIn.write(r, 33, 'latin1');
    return oneShotHash('sha256', this.#nodeIn, 'binary');
  }

  /** Append one leaf's data (an event hash, 32 bytes). */
  append(data: Uint8Array): void {
    this.#leafIn.set(data, 1);
    let h = oneShotHash('sha256', this.#leafIn, 'binary');
    let s = this.size;
    while (s % 2 === 1) {
      h = this.#node(this.#stack.pop()!, h);
      s = (s - 1) / 2;
    }
    this.#stack.push(h);
    this.size += 1;
  }

  /** Append one leaf's data given as 64 hex digits. */
  appendHex(hex: string): void {
    this.#leafIn.write(hex, 1, 'hex');
    this.append(this.#leafIn.subarray(1));
  }

  root(): Hash {
    if (this.size === 0) return EMPTY_ROOT;
    let r = this.#stack[this.#stack.length - 1]!;
    for (let i = this.#stack.length - 2; i >= 0; i--) r = this.#node(this.#stack[i]!, r);
    return new Uint8Array(Buffer.from(r, 'latin1'));
  }
}

/**
 * Checks ledger rows one by one against a verified checkpoint:
 * - each row's hash is SHA-256(prev_hash || event bytes) (`ledger_chain_hash`);
 * - seq strictly increases; in `full` mode it runs 1, 2, … (`ledger_seq_order`);
 * - consecutive seqs link: prev_hash = the previous row's hash, genesis for seq 1 (`ledger_chain_link`);
 * - `inclusion` mode: every row's proof leads from its leaf (index seq − 1) to the checkpoint root
 *   (`ledger_inclusion_proof`); `full` mode: the rows are leaves 0 … n − 1 and their root is the
 *   checkpoint root (`ledger_tree_root`, checked by finish()).
 * Memory is O(log n) whatever the number of rows.
 */
export class LedgerChecker {
  readonly #file: string;
  readonly #checkpoint: Checkpoint;
  readonly #mode: ProofMode;
  readonly #acc: StreamingRoot | null;
  #lastSeq = 0;
  // The previous row's hash as it is written (a view into that row; the genesis hash at first).
  #lastHashHex: Buffer = Buffer.from(GENESIS_HASH, 'latin1');
  #rows = 0;
  #scratch = Buffer.alloc(4096);

  constructor(file: string, checkpoint: Checkpoint, mode: ProofMode) {
    this.#file = file;
    this.#checkpoint = checkpoint;
    this.#mode = mode;
    this.#acc = mode === 'full' ? new StreamingRoot() : null;
  }

  get rows(): number {
    return this.#rows;
  }

  #fail(row: number, check: string, message: string): VerifyFailure {
    return { file: this.#file, row, check, message };
  }

  /**
   * Check one row (its bytes without the newline); `row` is its 1-based line number. After a
   * failure the row's claimed hash and seq still advance the state, so one bad row yields one
   * failure rather than a cascade. This runs once per event of a pack (a million times), hence
   * the byte-level code: no JSON parse, no hex strings.
   */
  check(line: Buffer, row: number): VerifyFailure | null {
    this.#rows += 1;
    const r = locateRow(line);
    if (typeof r === 'string') return this.#fail(row, 'ledger_row_malformed', r);
    const seq = r.seq;
    let failure: VerifyFailure | null = null;

    const linked = line.compare(this.#lastHashHex, 0, 64, r.prevAt, r.prevAt + 64) === 0;
    const needed = 32 + r.bodyEnd - r.bodyStart;
    if (needed > this.#scratch.length) this.#scratch = Buffer.alloc(needed * 2);
    if (this.#scratch.write(linked ? this.#lastHashHex.toString('latin1', 0, 64) : line.toString('latin1', r.prevAt, r.prevAt + 64), 0, 'hex') !== 32 || (!linked && !isHexAt(line, r.prevAt, 64))) {
      return this.#fail(row, 'ledger_row_malformed', 'prev_hash is not 64 lowercase hex digits');
    }
    line.copy(this.#scratch, 32, r.bodyStart, r.bodyEnd);
    // A hex string, not a Buffer: see LatinRoot.
    const digestHex = oneShotHash('sha256', this.#scratch.subarray(0, needed), 'hex');
    const claimedHex = line.toString('latin1', r.hashAt, r.hashAt + 64);
    if (digestHex !== claimedHex) {
      if (!isHexAt(line, r.hashAt, 64)) return this.#fail(row, 'ledger_row_malformed', 'hash is not 64 lowercase hex digits');
      failure = this.#fail(row, 'ledger_chain_hash', `event seq ${seq}: hash is not SHA-256(prev_hash || event) — the event or its hash was changed`);
    }

    const expectedSeq = this.#lastSeq + 1;
    if (this.#mode === 'full' ? seq !== expectedSeq : seq < expectedSeq) {
      failure ??= this.#fail(row, 'ledger_seq_order', this.#mode === 'full' ? `expected seq ${expectedSeq}, found ${seq} (a full ledger has every event in order)` : `seq ${seq} does not follow seq ${this.#lastSeq}`);
    } else if (seq === expectedSeq && !linked) {
      failure ??= this.#fail(row, 'ledger_chain_link', seq === 1 ? 'the first event does not start from the genesis hash' : `prev_hash of seq ${seq} is not the hash of seq ${seq - 1}`);
    }
    if (seq > this.#checkpoint.treeSize) {
      failure ??= this.#fail(row, 'ledger_inclusion_proof', `seq ${seq} is beyond the checkpoint (tree size ${this.#checkpoint.treeSize})`);
    } else if (this.#mode === 'inclusion') {
      if (!r.proofAt) failure ??= this.#fail(row, 'ledger_inclusion_proof', `event seq ${seq} has no inclusion proof`);
      else {
        const proof = r.proofAt.map((at) => new Uint8Array(Buffer.from(line.toString('latin1', at, at + 64), 'hex')));
        const root = rootFromInclusionProof(leafHash(Buffer.from(claimedHex, 'hex')), seq - 1, this.#checkpoint.treeSize, proof);
        if (!root || !equalHash(root, this.#checkpoint.rootHash)) {
          failure ??= this.#fail(row, 'ledger_inclusion_proof', `inclusion proof of seq ${seq} does not lead to the checkpoint root (tree size ${this.#checkpoint.treeSize})`);
        }
      }
    } else {
      if (r.proofAt) failure ??= this.#fail(row, 'ledger_row_malformed', 'a full ledger carries no per-event proofs');
      this.#acc!.appendHex(claimedHex);
    }
    this.#lastSeq = Math.max(seq, this.#lastSeq);
    this.#lastHashHex = line.subarray(r.hashAt, r.hashAt + 64);
    return failure;
  }

  /** After the last row: in `full` mode the rows must be exactly the checkpoint's tree. */
  finish(): VerifyFailure | null {
    if (!this.#acc) return null;
    const size = this.#acc.size;
    const root = this.#acc.root();
    if (size !== this.#checkpoint.treeSize) {
      return { file: this.#file, check: 'ledger_tree_root', message: `${size} events, but the checkpoint covers ${this.#checkpoint.treeSize}` };
    }
    if (!equalHash(root, this.#checkpoint.rootHash)) {
      return { file: this.#file, check: 'ledger_tree_root', message: 'the Merkle root of the events is not the checkpoint root' };
    }
    return null;
  }
}

/** An older checkpoint with the proof that the current one extends it (bundle history rows, pack header). */
export interface PreviousCheckpoint {
  checkpoint: string;
  consistency_proof: string[];
}

export const previousCheckpointEntry = (note: string, proof: readonly Hash[]): PreviousCheckpoint => ({
  checkpoint: note,
  consistency_proof: proof.map((h) => Buffer.from(h).toString('hex')),
});

/**
 * Check one previous checkpoint: signed by the same key, not larger than the current one, and
 * consistent with it (RFC 9162 consistency proof). Returns the failed check, or null.
 */
export function checkPreviousCheckpoint(entry: unknown, current: Checkpoint, verifier: NoteVerifier): { check: string; message: string } | null {
  const e = entry as Partial<PreviousCheckpoint> | null;
  if (!e || typeof e !== 'object' || typeof e.checkpoint !== 'string' || !Array.isArray(e.consistency_proof) || !e.consistency_proof.every((h) => typeof h === 'string' && HEX64.test(h))) {
    return { check: 'checkpoint_history_malformed', message: 'expected {"checkpoint": <signed note>, "consistency_proof": [<64 hex digits>, …]}' };
  }
  let old: Checkpoint;
  try {
    old = verifyCheckpoint(e.checkpoint, verifier);
  } catch (error) {
    if (error instanceof EvidenceError) return { check: error.code, message: `previous checkpoint: ${error.message}` };
    throw error;
  }
  const proof = e.consistency_proof.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
  if (old.treeSize > current.treeSize || !verifyConsistency(old.treeSize, current.treeSize, old.rootHash, current.rootHash, proof)) {
    return { check: 'checkpoint_consistency_proof', message: `checkpoint of size ${old.treeSize} is not proven to be a prefix of the checkpoint of size ${current.treeSize}` };
  }
  return null;
}
