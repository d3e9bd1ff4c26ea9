import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalJson } from '../crypto/canonical-json.ts';
import { readHead, UnreadableInputError, type VerifyOptions } from './bundle.ts';
import { formatVerifierKey, noteVerifier, parseCheckpoint, parseNote, parseVerifierKey, verifyCheckpoint, type Checkpoint, type NoteVerifier } from './checkpoint.ts';
import { EvidenceError, FailureList, LineSplitter, type VerifyReport } from './errors.ts';
import { checkPreviousCheckpoint, LedgerChecker, ledgerRow, previousCheckpointEntry, type LedgerEventRecord, type ProofMode } from './ledger-format.ts';
import { consistencyProof, inclusionProof, subtreeHash, type SubtreeSource } from './merkle.ts';

/*
 * The verifier pack: one JSONL file that lets anyone check a tenant's ledger against a signed
 * checkpoint with nothing but the file (and, ideally, the gateway's key obtained separately).
 * Line 1 is the header; every further line is one ledger event row. See docs/evidence-format.md.
 */

export const PACK_FORMAT = 'paybond.verifier_pack';
export const PACK_FORMAT_VERSION = 1;

export const PACK_FORMAT_DESCRIPTION = [
  'Paybond verifier pack, version 1 (JSONL, UTF-8, one JSON object per LF-terminated line).',
  'Line 1 is this header; every other line is one ledger event row: {"event":<body>,"hash":<hex>,"prev_hash":<hex>[,"proof":[<hex>,...]]}.',
  'hash = SHA-256(bytes of prev_hash || UTF-8 bytes of <body>), where <body> is the JCS (RFC 8785) form of the event, exactly as it appears in the row; prev_hash of seq 1 is 64 zeros.',
  'checkpoint is a C2SP signed note (tlog-checkpoint) signed with verifier_key (C2SP vkey, Ed25519); its tree is the RFC 9162 Merkle tree whose leaf i is the 32-byte hash of the event with seq i+1.',
  'proof_mode "full": the rows are seq 1..tree size in order and their Merkle root must equal the checkpoint root. proof_mode "inclusion": each row carries an RFC 9162 inclusion proof of leaf seq-1 in the checkpoint tree.',
  'Rows with consecutive seq must link: prev_hash equals the previous row\'s hash. previous_checkpoints lists older signed checkpoints with RFC 9162 consistency proofs to checkpoint.',
  'Obtain the gateway\'s verifier key independently of this file: the key inside only shows who claims to have signed it.',
].join(' ');

export interface PackHeader {
  format: typeof PACK_FORMAT;
  format_version: number;
  format_description: string;
  tenant_id: string;
  generated_at: string;
  verifier_key: string;
  checkpoint: string;
  previous_checkpoints: Array<{ checkpoint: string; consistency_proof: string[] }>;
  proof_mode: ProofMode;
  /** Rows that follow the header. */
  event_count: number;
}

export interface PackInput {
  tenantId: string;
  generatedAt: Date;
  /** The gateway's public key (32 bytes); the checkpoint must be signed with it under its origin. */
  publicKey: Uint8Array;
  checkpoint: string;
  events: AsyncIterable<LedgerEventRecord> | Iterable<LedgerEventRecord>;
  /** `full` (default): every event 1…tree size; `inclusion`: a subset, each with its audit path. */
  proofMode?: ProofMode;
  /** Rows to come; required in `inclusion` mode (in `full` mode it is the tree size). */
  eventCount?: number;
  /** Needed for `inclusion` mode and for previous checkpoints. */
  tree?: SubtreeSource;
  previousCheckpoints?: readonly string[];
}

export interface PackSummary {
  header: PackHeader;
  sizeBytes: number;
}

function packHeader(input: PackInput): { header: PackHeader; checkpoint: Checkpoint } {
  const origin = parseCheckpoint(parseNote(input.checkpoint).text).origin;
  const verifier = noteVerifier(origin, input.publicKey);
  const checkpoint = verifyCheckpoint(input.checkpoint, verifier);
  const mode = input.proofMode ?? 'full';
  const eventCount = mode === 'full' ? checkpoint.treeSize : input.eventCount;
  if (eventCount === undefined || !Number.isSafeInteger(eventCount) || eventCount < 0) throw new EvidenceError('pack_event_count_missing', 'an inclusion-mode pack needs eventCount');
  if ((mode === 'inclusion' || input.previousCheckpoints?.length) && (!input.tree || input.tree.size < checkpoint.treeSize)) {
    throw new EvidenceError('ledger_tree_missing', 'inclusion and consistency proofs need the tree of at least the checkpoint size');
  }
  if (input.tree && !Buffer.from(subtreeHash(input.tree, 0, checkpoint.treeSize)).equals(checkpoint.rootHash)) {
    throw new EvidenceError('ledger_tree_mismatch', 'the tree given does not have the checkpoint root at the checkpoint size');
  }
  const previous = (input.previousCheckpoints ?? []).map((note) => {
    const old = verifyCheckpoint(note, verifier);
    if (old.treeSize > checkpoint.treeSize) throw new EvidenceError('checkpoint_history_invalid', `a previous checkpoint (size ${old.treeSize}) is larger than the current one`);
    return previousCheckpointEntry(note, consistencyProof(input.tree!, old.treeSize, checkpoint.treeSize));
  });
  return {
    checkpoint,
    header: {
      format: PACK_FORMAT,
      format_version: PACK_FORMAT_VERSION,
      format_description: PACK_FORMAT_DESCRIPTION,
      tenant_id: input.tenantId,
      generated_at: input.generatedAt.toISOString(),
      verifier_key: formatVerifierKey(verifier.name, verifier.publicKey),
      checkpoint: input.checkpoint,
      previous_checkpoints: previous,
      proof_mode: mode,
      event_count: eventCount,
    },
  };
}

async function* packLines(input: PackInput, header: PackHeader, checkpoint: Checkpoint): AsyncGenerator<Buffer> {
  let parts: string[] = [`${canonicalJson(header)}\n`];
  let pending = parts[0]!.length;
  let last = 0;
  let count = 0;
  for await (const event of input.events) {
    if (!Number.isSafeInteger(event.seq) || event.seq <= last || event.seq > checkpoint.treeSize || (header.proof_mode === 'full' && event.seq !== last + 1)) {
      throw new EvidenceError('ledger_event_out_of_order', `ledger event seq ${event.seq} after ${last} (tree size ${checkpoint.treeSize}, mode ${header.proof_mode})`);
    }
    last = event.seq;
    count += 1;
    const line = `${ledgerRow(event, header.proof_mode === 'inclusion' ? inclusionProof(input.tree!, event.seq - 1, checkpoint.treeSize) : undefined)}\n`;
    parts.push(line);
    pending += line.length;
    if (pending >= 256 * 1024) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      pending = 0;
    }
  }
  if (count !== header.event_count) throw new EvidenceError('pack_event_count_mismatch', `${count} events written, the header announced ${header.event_count}`);
  if (parts.length) yield Buffer.from(parts.join(''), 'utf8');
}

/** The pack as a stream (header first, then one row per event, pulled as the stream is read). */
export function createVerifierPack(input: PackInput): { stream: Readable; header: PackHeader } {
  const { header, checkpoint } = packHeader(input);
  return { stream: Readable.from(packLines(input, header, checkpoint)), header };
}

export async function writeVerifierPack(input: PackInput, destination: string | Writable): Promise<PackSummary> {
  const { stream, header } = createVerifierPack(input);
  let sizeBytes = 0;
  stream.on('data', (chunk: Buffer) => {
    sizeBytes += chunk.length;
  });
  await pipeline(stream, typeof destination === 'string' ? fs.createWriteStream(destination, { mode: 0o600 }) : destination);
  return { header, sizeBytes };
}

function checkHeader(value: unknown): string | null {
  const h = value as Partial<PackHeader> | null;
  if (!h || typeof h !== 'object' || Array.isArray(h)) return 'the header is not a JSON object';
  if (h.format !== PACK_FORMAT) return `format is not ${PACK_FORMAT}`;
  if (h.format_version !== PACK_FORMAT_VERSION) return `format_version ${JSON.stringify(h.format_version)} is not supported`;
  if (typeof h.verifier_key !== 'string' || typeof h.checkpoint !== 'string' || typeof h.tenant_id !== 'string') return 'verifier_key, checkpoint and tenant_id must be strings';
  if (h.proof_mode !== 'full' && h.proof_mode !== 'inclusion') return 'proof_mode must be "full" or "inclusion"';
  if (!Number.isSafeInteger(h.event_count) || h.event_count! < 0) return 'event_count must be a non-negative integer';
  if (!Array.isArray(h.previous_checkpoints)) return 'previous_checkpoints must be an array';
  return null;
}

/**
 * Verify a pack file: header, checkpoint signature (by `options.publicKey` if given, else by the
 * header's verifier key), consistency of previous checkpoints, and every event row (chain hash,
 * links, inclusion proofs or the full tree root), streaming with O(log n) memory.
 */
export async function verifyPack(filePath: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const head = await readHead(filePath, 1);
  if (head.length === 0 || head[0] !== 0x7b) throw new UnreadableInputError(`${filePath} is neither a ZIP bundle nor a JSONL verifier pack`);
  const file = filePath.split(/[\\/]/).pop()!;
  const failures = new FailureList(options.maxFailures ?? 100);
  const report: VerifyReport = { ok: false, format: 'pack', input: filePath, failures: failures.items, checks: failures.checks, keyPinned: !!options.publicKey };

  let header: PackHeader | null = null;
  let checker: LedgerChecker | null = null;
  let stop = false;
  let notAPack = false;
  let row = 0;
  const onHeader = (line: Buffer) => {
    let value: unknown;
    const text = line.toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      // A damaged pack still names its format; anything else is not a pack at all.
      if (!text.includes(`"format":"${PACK_FORMAT}"`)) notAPack = true;
      failures.add({ file, row: 1, check: 'pack_header', message: 'line 1 is not JSON' });
      stop = true;
      return;
    }
    if (!value || typeof value !== 'object' || (value as { format?: unknown }).format !== PACK_FORMAT) {
      notAPack = true;
      stop = true;
      return;
    }
    const problem = checkHeader(value);
    failures.count('pack_header');
    if (problem) {
      failures.add({ file, row: 1, check: 'pack_header', message: problem });
      stop = true;
      return;
    }
    header = value as PackHeader;
    let verifier: NoteVerifier;
    try {
      const declared = parseVerifierKey(header.verifier_key);
      verifier = options.publicKey ? noteVerifier(declared.name, options.publicKey) : declared;
    } catch (error) {
      failures.add({ file, row: 1, check: 'pack_header', message: (error as Error).message });
      stop = true;
      return;
    }
    report.signingPublicKeyHex = Buffer.from(verifier.publicKey).toString('hex');
    let checkpoint: Checkpoint;
    failures.count('checkpoint_signature');
    try {
      checkpoint = verifyCheckpoint(header.checkpoint, verifier);
    } catch (error) {
      if (!(error instanceof EvidenceError)) throw error;
      failures.add({ file, row: 1, check: error.code, message: error.message });
      stop = true;
      return;
    }
    report.checkpoint = { origin: checkpoint.origin, treeSize: checkpoint.treeSize, rootHashBase64: Buffer.from(checkpoint.rootHash).toString('base64'), ...(checkpoint.time ? { time: checkpoint.time.toISOString() } : {}), verifierKey: formatVerifierKey(verifier.name, verifier.publicKey) };
    for (const previous of header.previous_checkpoints) {
      failures.count('checkpoint_consistency_proof');
      const problem2 = checkPreviousCheckpoint(previous, checkpoint, verifier);
      if (problem2) failures.add({ file, row: 1, ...problem2 });
    }
    if (header.proof_mode === 'full' && header.event_count !== checkpoint.treeSize) {
      failures.add({ file, row: 1, check: 'pack_header', message: `a full pack holds every event: event_count ${header.event_count} is not the tree size ${checkpoint.treeSize}` });
    }
    checker = new LedgerChecker(file, checkpoint, header.proof_mode);
  };

  const splitter = new LineSplitter(32 * 1024 * 1024);
  const onLine = (line: Buffer) => {
    row += 1;
    if (stop) return;
    if (row === 1) onHeader(line);
    else if (!failures.full) failures.add(checker!.check(line, row));
  };
  try {
    for await (const chunk of fs.createReadStream(filePath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      splitter.push(chunk, onLine);
      if (stop) break;
      if (row === 0 && splitter.overlong) {
        notAPack = true;
        break;
      }
    }
  } catch (error) {
    throw new UnreadableInputError(`cannot read ${filePath}: ${(error as Error).message}`);
  }
  if (notAPack) throw new UnreadableInputError(`${filePath} is not a Paybond verifier pack (line 1 is not a ${PACK_FORMAT} header)`);
  const rest = splitter.end();
  if (rest && !stop) {
    onLine(rest);
    failures.add({ file, row, check: 'artifact_trailing_newline', message: 'the last line has no newline (truncated?)' });
  }
  if (header && checker && !stop) {
    const h = header as PackHeader;
    const c = checker as LedgerChecker;
    failures.add(c.finish());
    if (c.rows !== h.event_count) failures.add({ file, check: 'pack_event_count', message: `${c.rows} event rows, the header announces ${h.event_count}` });
    failures.count(h.proof_mode === 'full' ? 'ledger_tree_root' : 'ledger_inclusion_proof', c.rows);
    failures.count('ledger_chain_hash', c.rows);
    report.ledger = { events: c.rows, proofMode: h.proof_mode, previousCheckpoints: h.previous_checkpoints.length };
  }
  if (!header && !stop) {
    failures.add({ file, row: 1, check: 'pack_header', message: 'the file is empty' });
  }
  report.ok = failures.items.length === 0;
  return report;
}
