import { hash as oneShotHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.ts';
import { EvidenceError, type VerifyFailure } from './errors.ts';
import { verifyCheckpoint, type Checkpoint, type NoteVerifier } from './checkpoint.ts';
import { equalHash, leafHash, MerkleAccumulator, rootFromInclusionProof, verifyConsistency, type Hash } from './merkle.ts';

/**
 * The ledger event as exported: its hashed body, its chain hash and, in bundles, its Merkle proof.
 *
 * DUPLICATION NOTE: ledgerEventBody() and ledgerChainHash() define the same bytes as eventBody() and
 * chainHash() in src/domain/harbor/ledger.ts. This file is the format's definition (an offline
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
const BODY_END = Buffer.from('},"hash":"');
const SEQ_KEY = Buffer.from(',"seq":');
const TAIL = /^,"hash":"([0-9a-f]{64})","prev_hash":"([0-9a-f]{64})"(,"proof":\[((?:"[0-9a-f]{64}")(?:,"[0-9a-f]{64}")*)?\])?\}$/;

export interface ParsedLedgerRow {
  seq: number;
  body: Buffer;
  hashHex: string;
  prevHashHex: string;
  proof: Hash[] | null;
}

/**
 * Split a row into its verbatim body bytes, hashes and proof without a full JSON parse. Sound
 * because nothing read here is trusted until the body's chain hash is recomputed and that hash is
 * anchored in the signed tree: a body whose bytes hash to an anchored hash is the gateway's JCS
 * body, in which `,"seq":` occurs once, at top level.
 */
export function parseLedgerRow(line: Buffer): ParsedLedgerRow | string {
  if (line.length < ROW_HEAD.length || !line.subarray(0, ROW_HEAD.length).equals(ROW_HEAD)) return 'row does not start with {"event":{';
  const end = line.lastIndexOf(BODY_END);
  if (end < ROW_HEAD.length) return 'row has no "hash" member after the event';
  const tail = TAIL.exec(line.toString('latin1', end + 1));
  if (!tail) return 'hash, prev_hash or proof is malformed (64 lowercase hex digits each; no other members)';
  const body = line.subarray(ROW_HEAD.length - 1, end + 1);
  const at = body.indexOf(SEQ_KEY);
  let seq = 0;
  let i = at + SEQ_KEY.length;
  if (at < 0 || body[i] === 0x30) return 'event has no valid "seq"';
  for (; i < body.length && body[i]! >= 0x30 && body[i]! <= 0x39; i++) seq = seq * 10 + (body[i]! - 0x30);
  if (seq === 0 || !Number.isSafeInteger(seq)) return 'event has no valid "seq"';
  const proof = tail[3] === undefined ? null : tail[4] === undefined ? [] : tail[4].split(',').map((h) => new Uint8Array(Buffer.from(h.slice(1, -1), 'hex')));
  return { seq, body, hashHex: tail[1]!, prevHashHex: tail[2]!, proof };
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
  readonly #acc = new MerkleAccumulator();
  #lastSeq = 0;
  #lastHash: Buffer | null = null;
  #lastHashHex = GENESIS_HASH;
  #rows = 0;
  #scratch = Buffer.alloc(4096);

  constructor(file: string, checkpoint: Checkpoint, mode: ProofMode) {
    this.#file = file;
    this.#checkpoint = checkpoint;
    this.#mode = mode;
  }

  get rows(): number {
    return this.#rows;
  }

  /**
   * Check one row (its bytes without the newline); `row` is its 1-based line number. After a
   * failure the row's claimed hash and seq still advance the state, so one bad row yields one
   * failure rather than a cascade.
   */
  check(line: Buffer, row: number): VerifyFailure | null {
    this.#rows += 1;
    const fail = (check: string, message: string): VerifyFailure => ({ file: this.#file, row, check, message });
    const parsed = parseLedgerRow(line);
    if (typeof parsed === 'string') return fail('ledger_row_malformed', parsed);
    const { seq, body, hashHex, prevHashHex } = parsed;
    let failure: VerifyFailure | null = null;

    const prevBytes = prevHashHex === this.#lastHashHex && this.#lastHash ? this.#lastHash : Buffer.from(prevHashHex, 'hex');
    const needed = 32 + body.length;
    if (needed > this.#scratch.length) this.#scratch = Buffer.alloc(needed * 2);
    prevBytes.copy(this.#scratch, 0);
    body.copy(this.#scratch, 32);
    let digest = oneShotHash('sha256', this.#scratch.subarray(0, needed), 'buffer');
    if (digest.toString('hex') !== hashHex) {
      failure = fail('ledger_chain_hash', `event seq ${seq}: hash is not SHA-256(prev_hash || event) — the event or its hash was changed`);
      digest = Buffer.from(hashHex, 'hex');
    }

    const expectedSeq = this.#lastSeq + 1;
    if (this.#mode === 'full' ? seq !== expectedSeq : seq < expectedSeq) {
      failure ??= fail('ledger_seq_order', this.#mode === 'full' ? `expected seq ${expectedSeq}, found ${seq} (a full ledger has every event in order)` : `seq ${seq} does not follow seq ${this.#lastSeq}`);
    } else if (seq === expectedSeq && prevHashHex !== this.#lastHashHex) {
      failure ??= fail('ledger_chain_link', seq === 1 ? 'the first event does not start from the genesis hash' : `prev_hash of seq ${seq} is not the hash of seq ${seq - 1}`);
    }
    if (seq > this.#checkpoint.treeSize) {
      failure ??= fail('ledger_inclusion_proof', `seq ${seq} is beyond the checkpoint (tree size ${this.#checkpoint.treeSize})`);
    } else if (this.#mode === 'inclusion') {
      if (!parsed.proof) failure ??= fail('ledger_inclusion_proof', `event seq ${seq} has no inclusion proof`);
      else {
        const root = rootFromInclusionProof(leafHash(digest), seq - 1, this.#checkpoint.treeSize, parsed.proof);
        if (!root || !equalHash(root, this.#checkpoint.rootHash)) {
          failure ??= fail('ledger_inclusion_proof', `inclusion proof of seq ${seq} does not lead to the checkpoint root (tree size ${this.#checkpoint.treeSize})`);
        }
      }
    } else {
      if (parsed.proof) failure ??= fail('ledger_row_malformed', 'a full ledger carries no per-event proofs');
      this.#acc.append(leafHash(digest));
    }
    this.#lastSeq = Math.max(seq, this.#lastSeq);
    this.#lastHash = digest;
    this.#lastHashHex = hashHex;
    return failure;
  }

  /** After the last row: in `full` mode the rows must be exactly the checkpoint's tree. */
  finish(): VerifyFailure | null {
    if (this.#mode !== 'full') return null;
    if (this.#acc.size !== this.#checkpoint.treeSize) {
      return { file: this.#file, check: 'ledger_tree_root', message: `${this.#acc.size} events, but the checkpoint covers ${this.#checkpoint.treeSize}` };
    }
    if (!equalHash(this.#acc.root(), this.#checkpoint.rootHash)) {
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
