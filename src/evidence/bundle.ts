import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { canonicalJson } from '../crypto/canonical-json.ts';
import {
  formatVerifierKey,
  noteVerifier,
  parseCheckpoint,
  parseNote,
  verifyCheckpoint,
  type Checkpoint,
  type Ed25519Signer,
  type NoteVerifier,
} from './checkpoint.ts';
import { EvidenceError, FailureList, LineSplitter, type VerifyFailure, type VerifyReport } from './errors.ts';
import {
  checkPreviousCheckpoint,
  LedgerChecker,
  ledgerRow,
  previousCheckpointEntry,
  type LedgerEventRecord,
  type ProofMode,
} from './ledger-format.ts';
import {
  AUDIT_EXPORT_KIND,
  checkManifestShape,
  checkManifestSignature,
  isSafeArtifactPath,
  MANIFEST_PATH,
  MANIFEST_SCHEMA_VERSION,
  serializeManifest,
  signManifest,
  type ManifestArtifact,
  type SignedManifest,
} from './manifest.ts';
import { consistencyProof, inclusionProof, subtreeHash, verifyConsistency, type SubtreeSource } from './merkle.ts';

/*
 * Evidence bundles: a ZIP of JSONL artifacts and a signed manifest.json, written as a stream (no
 * artifact is ever held in memory whole) and verified offline. See docs/evidence-format.md.
 */

export const JSONL_MEDIA_TYPE = 'application/jsonl';
export const NOTE_MEDIA_TYPE = 'text/plain; charset=utf-8';
export const DEFAULT_LEDGER_PATHS = {
  events: 'ledger/events.jsonl',
  checkpoint: 'ledger/checkpoint.txt',
  history: 'ledger/previous_checkpoints.jsonl',
} as const;

/** A JSONL artifact whose rows come from any (async) iterable, e.g. a Prisma cursor loop. */
export interface RecordsArtifactInput {
  path: string;
  rows: AsyncIterable<unknown> | Iterable<unknown>;
}

export interface LedgerExportInput {
  /** The signed checkpoint (signCheckpoint) the events are proven against; signed by the bundle's signer. */
  checkpoint: string;
  /** Ledger events in ascending seq, all ≤ the checkpoint's tree size (a filtered subset, or all of them). */
  events: AsyncIterable<LedgerEventRecord> | Iterable<LedgerEventRecord>;
  /** `inclusion` (default): an RFC 9162 audit path per event; `full`: the events are the whole tree 1…n. */
  proofMode?: ProofMode;
  /** Subtree hashes of the tenant's tree (e.g. a MerkleTree over every event hash): needed for inclusion proofs and history. */
  tree?: SubtreeSource;
  /** Older signed checkpoints to prove consistent with `checkpoint` (proofs are computed from `tree`). */
  previousCheckpoints?: readonly string[];
  paths?: Partial<typeof DEFAULT_LEDGER_PATHS>;
}

export interface BundleInput {
  /** AUDIT_EXPORT_KIND (default) or ARBITRATION_PACKAGE_KIND. */
  kind?: string;
  tenantRealmId: string;
  jobId: string;
  generatedAt: Date;
  gatewayBuildVersion: string;
  scoreModelVersion: string;
  disclosureTier: string;
  redactionProfile: string;
  exportFilter: Record<string, unknown>;
  artifacts: readonly RecordsArtifactInput[];
  ledger?: LedgerExportInput;
  signer: Ed25519Signer;
  /** zlib level for the entries (default 6). */
  compressionLevel?: number;
}

export interface BundleSummary {
  manifest: SignedManifest;
  /** SHA-256 of the manifest.json bytes. */
  manifestSha256: string;
  bundleSha256: string;
  bundleSizeBytes: number;
}

interface ArtifactStats {
  hash: ReturnType<typeof createHash>;
  size: number;
  rows: number;
}

const newStats = (): ArtifactStats => ({ hash: createHash('sha256'), size: 0, rows: 0 });
const CHUNK = 64 * 1024;

/** Batches newline-terminated lines into ~64 KiB chunks while hashing and counting them. */
async function* lines(source: AsyncIterable<string> | Iterable<string>, stats: ArtifactStats): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let pending = 0;
  for await (const text of source) {
    const line = Buffer.from(`${text}\n`, 'utf8');
    stats.hash.update(line);
    stats.size += line.length;
    stats.rows += 1;
    parts.push(line);
    pending += line.length;
    if (pending >= CHUNK) {
      yield Buffer.concat(parts, pending);
      parts = [];
      pending = 0;
    }
  }
  if (pending > 0) yield Buffer.concat(parts, pending);
}

/** A row as one JSONL line: JSON semantics (toJSON, e.g. Date → ISO string), then JCS. */
export function recordLine(row: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(row);
  } catch (error) {
    throw new EvidenceError('artifact_row_not_json', `a row cannot be written as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new EvidenceError('artifact_row_not_json', 'a row must be a JSON value');
  return canonicalJson(JSON.parse(json));
}

async function* recordLines(rows: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<string> {
  for await (const row of rows) yield recordLine(row);
}

function noteOrigin(note: string): string {
  return parseCheckpoint(parseNote(note).text).origin;
}

async function* ledgerLines(input: LedgerExportInput, checkpoint: Checkpoint, mode: ProofMode): AsyncGenerator<string> {
  let last = 0;
  for await (const event of input.events) {
    if (!Number.isSafeInteger(event.seq) || event.seq <= last) throw new EvidenceError('ledger_event_out_of_order', `ledger event seq ${event.seq} after ${last}: events must ascend`);
    if (event.seq > checkpoint.treeSize) throw new EvidenceError('ledger_event_beyond_checkpoint', `ledger event seq ${event.seq} is not covered by the checkpoint (tree size ${checkpoint.treeSize})`);
    if (mode === 'full' && event.seq !== last + 1) throw new EvidenceError('ledger_event_out_of_order', `a full ledger export needs every seq: ${last + 1} is missing`);
    const proof = mode === 'inclusion' ? inclusionProof(input.tree!, event.seq - 1, checkpoint.treeSize) : undefined;
    last = event.seq;
    yield ledgerRow(event, proof);
  }
  if (mode === 'full' && last !== checkpoint.treeSize) throw new EvidenceError('ledger_event_out_of_order', `a full ledger export ends at seq ${last}, the checkpoint at ${checkpoint.treeSize}`);
}

/**
 * Build a bundle as a stream. Entries: the checkpoint (when a ledger is exported), previous
 * checkpoints, ledger events, each records artifact in order, manifest.json last. Rows are pulled
 * from the iterables only as fast as `stream` is consumed. `summary` settles once the last byte has
 * passed through `stream`; it rejects (and `stream` errors) if a row source throws or a row is not
 * valid. Nothing is buffered beyond one ~64 KiB chunk per stage.
 */
export function createBundle(input: BundleInput): { stream: Readable; summary: Promise<BundleSummary> } {
  const zip = new yazl.ZipFile();
  const bundleHash = createHash('sha256');
  let bundleSize = 0;
  let manifest: SignedManifest | undefined;
  let manifestSha256 = '';
  let resolve!: (s: BundleSummary) => void;
  let reject!: (e: Error) => void;
  const summary = new Promise<BundleSummary>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  summary.catch(() => undefined); // callers may only watch `stream`
  const output = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bundleHash.update(chunk);
      bundleSize += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      if (!manifest) {
        done(new EvidenceError('bundle_incomplete', 'the bundle ended before its manifest was written'));
        return;
      }
      resolve({ manifest, manifestSha256, bundleSha256: bundleHash.digest('hex'), bundleSizeBytes: bundleSize });
      done();
    },
  });
  const fail = (error: Error) => {
    reject(error);
    output.destroy(error);
  };
  zip.on('error', fail);
  zip.outputStream.on('error', fail);
  zip.outputStream.pipe(output);

  try {
    const entryOptions = { mtime: input.generatedAt, mode: 0o100644, compressionLevel: input.compressionLevel ?? 6 };
    const listed: Array<{ meta: Omit<ManifestArtifact, 'sha256' | 'size_bytes' | 'row_count'>; stats: ArtifactStats }> = [];
    const addArtifact = (meta: Omit<ManifestArtifact, 'sha256' | 'size_bytes' | 'row_count'>, source: () => AsyncIterable<string> | Iterable<string>) => {
      if (!isSafeArtifactPath(meta.path)) throw new EvidenceError('artifact_path_invalid', `artifact path ${JSON.stringify(meta.path)} is not a safe relative path`);
      if (listed.some((a) => a.meta.path === meta.path)) throw new EvidenceError('artifact_path_invalid', `artifact path ${meta.path} is used twice`);
      const stats = newStats();
      listed.push({ meta, stats });
      zip.addReadStreamLazy(meta.path, entryOptions, (cb) => {
        const stream = Readable.from(lines(source(), stats));
        stream.on('error', fail);
        cb(null, stream);
      });
    };

    let checkpoint: Checkpoint | undefined;
    if (input.ledger) {
      const ledger = input.ledger;
      const paths = { ...DEFAULT_LEDGER_PATHS, ...ledger.paths };
      const verifier = noteVerifier(noteOrigin(ledger.checkpoint), input.signer.publicKey);
      checkpoint = verifyCheckpoint(ledger.checkpoint, verifier);
      const mode = ledger.proofMode ?? 'inclusion';
      if ((mode === 'inclusion' || ledger.previousCheckpoints?.length) && (!ledger.tree || ledger.tree.size < checkpoint.treeSize)) {
        throw new EvidenceError('ledger_tree_missing', 'inclusion and consistency proofs need the tree of at least the checkpoint size');
      }
      if (ledger.tree && !Buffer.from(subtreeHash(ledger.tree, 0, checkpoint.treeSize)).equals(checkpoint.rootHash)) {
        throw new EvidenceError('ledger_tree_mismatch', 'the tree given does not have the checkpoint root at the checkpoint size');
      }
      const cp = checkpoint;
      addArtifact(
        { path: paths.checkpoint, role: 'checkpoint', media_type: NOTE_MEDIA_TYPE, origin: cp.origin, tree_size: cp.treeSize, root_hash_b64: Buffer.from(cp.rootHash).toString('base64'), verifier_key: formatVerifierKey(verifier.name, verifier.publicKey) },
        () => ledger.checkpoint.slice(0, -1).split('\n'),
      );
      if (ledger.previousCheckpoints?.length) {
        const entries = ledger.previousCheckpoints.map((note) => {
          const old = verifyCheckpoint(note, verifier);
          if (old.treeSize > cp.treeSize) throw new EvidenceError('checkpoint_history_invalid', `a previous checkpoint (size ${old.treeSize}) is larger than the current one`);
          const proof = consistencyProof(ledger.tree!, old.treeSize, cp.treeSize);
          if (!verifyConsistency(old.treeSize, cp.treeSize, old.rootHash, cp.rootHash, proof)) {
            throw new EvidenceError('checkpoint_history_invalid', `the checkpoint of size ${old.treeSize} is not consistent with the current tree`);
          }
          return canonicalJson(previousCheckpointEntry(note, proof));
        });
        addArtifact({ path: paths.history, role: 'checkpoint_history', media_type: JSONL_MEDIA_TYPE, checkpoint_path: paths.checkpoint }, () => entries);
      }
      addArtifact({ path: paths.events, role: 'ledger_events', media_type: JSONL_MEDIA_TYPE, proof_mode: mode, checkpoint_path: paths.checkpoint }, () => ledgerLines(ledger, cp, mode));
    }
    for (const artifact of input.artifacts) {
      addArtifact({ path: artifact.path, role: 'records', media_type: JSONL_MEDIA_TYPE }, () => recordLines(artifact.rows));
    }

    zip.addReadStreamLazy(MANIFEST_PATH, entryOptions, (cb) => {
      try {
        manifest = signManifest(
          {
            schema_version: MANIFEST_SCHEMA_VERSION,
            kind: input.kind ?? AUDIT_EXPORT_KIND,
            tenant_realm_id: input.tenantRealmId,
            job_id: input.jobId,
            generated_at_rfc3339: input.generatedAt.toISOString(),
            gateway_build_version: input.gatewayBuildVersion,
            score_model_version: input.scoreModelVersion,
            disclosure_tier: input.disclosureTier,
            redaction_profile: input.redactionProfile,
            ...(checkpoint && checkpoint.treeSize > 0 ? { checkpoint_last_ledger_seq: checkpoint.treeSize } : {}),
            export_filter: input.exportFilter,
            artifacts: listed.map(({ meta, stats }) => ({ ...meta, sha256: stats.hash.digest('hex'), size_bytes: stats.size, row_count: stats.rows })),
          },
          input.signer,
        );
        const bytes = Buffer.from(serializeManifest(manifest), 'utf8');
        manifestSha256 = createHash('sha256').update(bytes).digest('hex');
        cb(null, Readable.from([bytes]));
      } catch (error) {
        fail(error as Error);
      }
    });
    zip.end();
  } catch (error) {
    fail(error as Error);
  }
  return { stream: output, summary };
}

/** createBundle() into a file or any writable; resolves once everything is flushed. */
export async function writeBundle(input: BundleInput, destination: string | Writable): Promise<BundleSummary> {
  const { stream, summary } = createBundle(input);
  const sink = typeof destination === 'string' ? fs.createWriteStream(destination, { mode: 0o600 }) : destination;
  await pipeline(stream, sink);
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Verification

export interface VerifyOptions {
  /** Expected signing key (32 bytes). Without it the key named inside the input is used and reported. */
  publicKey?: Uint8Array;
  /** Stop collecting after this many failures (default 100). */
  maxFailures?: number;
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const ZIP_LABEL = '(zip)';
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Thrown when the input cannot be read at all (missing, unreadable, not a ZIP): exit code 2. */
export class UnreadableInputError extends EvidenceError {
  constructor(message: string) {
    super('input_unreadable', message);
  }
}

export async function readHead(filePath: string, n: number): Promise<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(filePath, 'r');
  } catch (error) {
    throw new UnreadableInputError(`cannot open ${filePath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UnreadableInputError(`${filePath} is not a file`);
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } catch (error) {
    if (error instanceof UnreadableInputError) throw error;
    throw new UnreadableInputError(`cannot read ${filePath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    await handle.close();
  }
}

interface ZipEntryInfo {
  entry: yauzl.Entry;
  name: string;
}

/**
 * Verify a bundle: ZIP structure and CRC-32 of every entry, the manifest signature, every artifact's
 * digest, size and row count, every JSONL row, the checkpoint signature, consistency of previous
 * checkpoints, and the chain links and Merkle proofs of the ledger events. Throws
 * UnreadableInputError only when the file is not a ZIP at all; everything else is a failure in the
 * report.
 */
export async function verifyBundle(filePath: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const head = await readHead(filePath, 4);
  if (!head.equals(ZIP_MAGIC)) throw new UnreadableInputError(`${filePath} is not a ZIP file`);
  const failures = new FailureList(options.maxFailures ?? 100);
  const report: VerifyReport = { ok: false, format: 'bundle', input: filePath, failures: failures.items, checks: failures.checks, keyPinned: !!options.publicKey };

  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await yauzl.openPromise(filePath, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true, decodeStrings: true });
  } catch (error) {
    failures.add({ file: ZIP_LABEL, check: 'zip_structure', message: `not a readable ZIP: ${(error as Error).message}` });
    return report;
  }
  try {
    const entries: ZipEntryInfo[] = [];
    try {
      for await (const entry of zipfile.eachEntry()) entries.push({ entry, name: entry.fileName });
    } catch (error) {
      failures.add({ file: ZIP_LABEL, check: 'zip_structure', message: `central directory: ${(error as Error).message}` });
      return report;
    }
    failures.count('zip_structure');
    await checkZipLayout(filePath, zipfile, entries, failures);

    const byName = new Map<string, ZipEntryInfo>();
    for (const e of entries) {
      if (byName.has(e.name)) failures.add({ file: e.name, check: 'zip_duplicate_entry', message: 'the ZIP holds two entries with this name' });
      byName.set(e.name, e);
    }
    const manifestEntry = byName.get(MANIFEST_PATH);
    if (!manifestEntry) {
      failures.add({ file: MANIFEST_PATH, check: 'manifest_missing', message: 'the bundle has no manifest.json' });
      return report;
    }

    // manifest.json
    let manifestBytes: Buffer | null = null;
    await readEntry(zipfile, manifestEntry, failures, MAX_MANIFEST_BYTES, (chunk) => {
      manifestBytes = manifestBytes ? Buffer.concat([manifestBytes, chunk]) : Buffer.from(chunk);
    });
    if (!manifestBytes) manifestBytes = Buffer.alloc(0);
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse((manifestBytes as Buffer).toString('utf8')) as Record<string, unknown>;
    } catch (error) {
      failures.add({ file: MANIFEST_PATH, check: 'manifest_json', message: `manifest.json is not JSON: ${(error as Error).message}` });
      return report;
    }
    failures.count('manifest_json');
    const signature = checkManifestSignature(manifest, options.publicKey);
    failures.count('manifest_signature');
    if (signature) failures.add({ file: MANIFEST_PATH, ...signature });
    const shape = checkManifestShape(manifest);
    failures.count('manifest_schema');
    if (shape) {
      failures.add({ file: MANIFEST_PATH, ...shape });
      return report;
    }
    const m = manifest as unknown as SignedManifest;
    const publicKey = options.publicKey ?? new Uint8Array(Buffer.from(m.signing_public_key_ed25519_hex, 'hex'));
    report.signingPublicKeyHex = Buffer.from(publicKey).toString('hex');
    report.manifest = { kind: m.kind, tenantRealmId: m.tenant_realm_id, jobId: m.job_id, generatedAt: m.generated_at_rfc3339, disclosureTier: m.disclosure_tier };
    report.artifacts = [];

    // Checkpoints first (ledger rows are checked against them), then the rest in manifest order.
    const checkpoints = new Map<string, { checkpoint: Checkpoint; verifier: NoteVerifier } | null>();
    const ordered = [...m.artifacts].sort((a, b) => Number(b.role === 'checkpoint') - Number(a.role === 'checkpoint'));
    for (const artifact of ordered) {
      const info = byName.get(artifact.path);
      if (!info) {
        failures.add({ file: artifact.path, check: 'artifact_missing', message: 'listed in the manifest but not in the ZIP' });
        continue;
      }
      const stats = newStats();
      const splitter = new LineSplitter();
      let row = 0;
      let onLine: (line: Buffer) => void;
      let finish: () => void | Promise<void> = () => undefined;
      let noteText: Buffer[] = [];

      if (artifact.role === 'checkpoint') {
        onLine = (line) => noteText.push(line);
        finish = () => {
          const note = Buffer.concat(noteText.flatMap((l) => [l, Buffer.from('\n')])).toString('utf8');
          noteText = [];
          checkpoints.set(artifact.path, null);
          const verifier = checkCheckpointArtifact(artifact, note, publicKey, failures);
          if (verifier) {
            checkpoints.set(artifact.path, verifier);
            const cp = verifier.checkpoint;
            report.checkpoint = { origin: cp.origin, treeSize: cp.treeSize, rootHashBase64: Buffer.from(cp.rootHash).toString('base64'), ...(cp.time ? { time: cp.time.toISOString() } : {}), verifierKey: artifact.verifier_key! };
            if ((m.checkpoint_last_ledger_seq ?? 0) !== cp.treeSize && m.artifacts.filter((a) => a.role === 'checkpoint').length === 1) {
              failures.add({ file: MANIFEST_PATH, check: 'manifest_checkpoint_seq', message: `checkpoint_last_ledger_seq ${m.checkpoint_last_ledger_seq ?? 0} is not the checkpoint's tree size ${cp.treeSize}` });
            }
          }
        };
      } else if (artifact.role === 'ledger_events' || artifact.role === 'checkpoint_history') {
        const anchor = checkpoints.get(artifact.checkpoint_path!);
        if (!anchor) {
          failures.add({ file: artifact.path, check: 'ledger_checkpoint_unverified', message: `its checkpoint ${artifact.checkpoint_path} did not verify; rows are checked for digests only` });
          onLine = () => undefined;
        } else if (artifact.role === 'ledger_events') {
          const checker = new LedgerChecker(artifact.path, anchor.checkpoint, artifact.proof_mode!);
          onLine = (line) => {
            if (!failures.full) failures.add(checker.check(line, row));
          };
          finish = async () => {
            failures.add(checker.finish());
            failures.count(artifact.proof_mode === 'full' ? 'ledger_tree_root' : 'ledger_inclusion_proof', checker.rows);
            failures.count('ledger_chain_hash', checker.rows);
            report.ledger = { events: checker.rows, proofMode: artifact.proof_mode!, previousCheckpoints: report.ledger?.previousCheckpoints ?? 0 };
          };
        } else {
          onLine = (line) => {
            const parsed = parseJsonLine(line, artifact.path, row, failures);
            if (parsed === undefined) return;
            const problem = checkPreviousCheckpoint(parsed, anchor.checkpoint, anchor.verifier);
            failures.count('checkpoint_consistency_proof');
            if (problem) failures.add({ file: artifact.path, row, ...problem });
          };
          finish = () => {
            report.ledger = { events: report.ledger?.events ?? 0, proofMode: report.ledger?.proofMode ?? '', previousCheckpoints: row };
          };
        }
      } else {
        onLine = (line) => {
          parseJsonLine(line, artifact.path, row, failures);
        };
      }

      await readEntry(zipfile, info, failures, Number.MAX_SAFE_INTEGER, (chunk) => {
        stats.hash.update(chunk);
        stats.size += chunk.length;
        splitter.push(chunk, (line) => {
          row += 1;
          onLine(line);
        });
      });
      const rest = splitter.end();
      if (rest) {
        row += 1;
        failures.add({ file: artifact.path, row, check: 'artifact_trailing_newline', message: 'the last line has no newline' });
        onLine(rest);
      }
      await finish();
      const digest = stats.hash.digest('hex');
      failures.count('artifact_sha256');
      if (digest !== artifact.sha256) failures.add({ file: artifact.path, check: 'artifact_sha256', message: `SHA-256 is ${digest}, the manifest says ${artifact.sha256}` });
      if (stats.size !== artifact.size_bytes) failures.add({ file: artifact.path, check: 'artifact_size_bytes', message: `${stats.size} bytes, the manifest says ${artifact.size_bytes}` });
      if (row !== artifact.row_count) failures.add({ file: artifact.path, check: 'artifact_row_count', message: `${row} rows, the manifest says ${artifact.row_count}` });
      report.artifacts.push({ path: artifact.path, role: artifact.role, rows: row, sizeBytes: stats.size });
    }
    const listed = new Set([MANIFEST_PATH, ...m.artifacts.map((a) => a.path)]);
    for (const e of entries) {
      if (!listed.has(e.name)) failures.add({ file: e.name, check: 'zip_unlisted_entry', message: 'this ZIP entry is not listed in the manifest' });
    }
  } finally {
    zipfile.close();
    report.ok = failures.items.length === 0;
  }
  return report;
}

function parseJsonLine(line: Buffer, file: string, row: number, failures: FailureList): unknown {
  try {
    const value = JSON.parse(line.toString('utf8')) as unknown;
    failures.count('row_json');
    return value;
  } catch {
    failures.add({ file, row, check: 'row_json', message: 'the row is not valid JSON' });
    return undefined;
  }
}

function checkCheckpointArtifact(artifact: ManifestArtifact, note: string, publicKey: Uint8Array, failures: FailureList): { checkpoint: Checkpoint; verifier: NoteVerifier } | null {
  failures.count('checkpoint_signature');
  let verifier: NoteVerifier;
  try {
    verifier = noteVerifier(artifact.origin!, publicKey);
  } catch (error) {
    failures.add({ file: artifact.path, check: 'checkpoint_malformed', message: (error as Error).message });
    return null;
  }
  if (artifact.verifier_key !== formatVerifierKey(verifier.name, verifier.publicKey)) {
    failures.add({ file: MANIFEST_PATH, check: 'checkpoint_verifier_key', message: `the manifest's verifier_key for ${artifact.path} is not the signing key under the origin` });
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = verifyCheckpoint(note, verifier);
  } catch (error) {
    if (!(error instanceof EvidenceError)) throw error;
    failures.add({ file: artifact.path, check: error.code, message: error.message });
    return null;
  }
  if (checkpoint.treeSize !== artifact.tree_size || Buffer.from(checkpoint.rootHash).toString('base64') !== artifact.root_hash_b64) {
    failures.add({ file: artifact.path, check: 'checkpoint_manifest_mismatch', message: 'the signed checkpoint does not say the tree size and root the manifest lists' });
  }
  return { checkpoint, verifier };
}

/** Stream one entry's uncompressed bytes to `onChunk`, checking its CRC-32 and size. */
async function readEntry(zipfile: yauzl.ZipFile, info: ZipEntryInfo, failures: FailureList, maxBytes: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  const { entry, name } = info;
  failures.count('zip_crc32');
  if (entry.isEncrypted() || (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)) {
    failures.add({ file: name, check: 'zip_structure', message: 'entry is encrypted or uses an unsupported compression method' });
    return;
  }
  if (entry.uncompressedSize > maxBytes) {
    failures.add({ file: name, check: 'zip_structure', message: `entry is larger than ${maxBytes} bytes` });
    return;
  }
  let crc = 0;
  try {
    const stream = await zipfile.openReadStreamPromise(entry);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      crc = crc32(chunk, crc);
      onChunk(chunk);
    }
  } catch (error) {
    failures.add({ file: name, check: 'zip_data', message: `entry data is damaged: ${(error as Error).message}` });
    return;
  }
  if (crc >>> 0 !== entry.crc32 >>> 0) failures.add({ file: name, check: 'zip_crc32', message: `CRC-32 of the data is ${(crc >>> 0).toString(16)}, the ZIP says ${(entry.crc32 >>> 0).toString(16)}` });
}

/**
 * Structure beyond what yauzl checks: every local header agrees with its central directory record
 * (name, method, flags, time, and CRC/sizes or the data descriptor), and the entries, central
 * directory and end record tile the file with no gap or overlap.
 */
async function checkZipLayout(filePath: string, zipfile: yauzl.ZipFile, entries: ZipEntryInfo[], failures: FailureList): Promise<void> {
  failures.count('zip_layout');
  const fh = await fs.promises.open(filePath, 'r');
  try {
    const size = (await fh.stat()).size;
    const read = async (pos: number, n: number) => {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, pos);
      return buf.subarray(0, bytesRead);
    };
    const eocd = await findEndOfCentralDirectory(read, size);
    if (!eocd) {
      failures.add({ file: ZIP_LABEL, check: 'zip_structure', message: 'no end of central directory record' });
      return;
    }
    const spans: Array<{ start: number; end: number; name: string }> = [];
    for (const { entry, name } of entries) {
      let local: yauzl.LocalFileHeader;
      try {
        local = await zipfile.readLocalFileHeaderPromise(entry);
      } catch (error) {
        failures.add({ file: name, check: 'zip_local_header', message: (error as Error).message });
        continue;
      }
      const mismatch: string[] = [];
      if (!local.fileName.equals(entry.fileNameRaw)) mismatch.push('file name');
      if (local.compressionMethod !== entry.compressionMethod) mismatch.push('compression method');
      if (local.generalPurposeBitFlag !== entry.generalPurposeBitFlag) mismatch.push('flags');
      if (local.lastModFileTime !== entry.lastModFileTime || local.lastModFileDate !== entry.lastModFileDate) mismatch.push('modification time');
      // APPNOTE 4.3.9.2: the data descriptor's sizes are 8 bytes when the local header has a ZIP64 extra field.
      const zip64 = hasZip64Extra(local.extraField);
      const hasDescriptor = (entry.generalPurposeBitFlag & 0x8) !== 0;
      const localSaysSizes = !(hasDescriptor && local.crc32 === 0 && local.compressedSize === 0 && local.uncompressedSize === 0);
      if (localSaysSizes && local.compressedSize !== 0xffffffff && (local.crc32 !== entry.crc32 || local.compressedSize !== entry.compressedSize || local.uncompressedSize !== entry.uncompressedSize)) {
        mismatch.push('CRC-32 or sizes');
      }
      let end = local.fileDataStart + entry.compressedSize;
      if (hasDescriptor) {
        // The descriptor's sizes are 4 bytes, or 8 in ZIP64 form (writers differ on when they use
        // which, e.g. yazl's ZIP64 descriptors come without a ZIP64 local extra field): accept the
        // form whose values equal the central record, preferring the one the extra field announces.
        const d = await read(end, 24);
        const sig = d.length >= 4 && d.readUInt32LE(0) === 0x08074b50 ? 4 : 0;
        const forms = zip64 ? [8, 4] : [4, 8];
        const width = forms.find((w) => {
          if (d.length < sig + 4 + 2 * w) return false;
          const comp = w === 8 ? Number(d.readBigUInt64LE(sig + 4)) : d.readUInt32LE(sig + 4);
          const uncomp = w === 8 ? Number(d.readBigUInt64LE(sig + 12)) : d.readUInt32LE(sig + 8);
          return d.readUInt32LE(sig) === entry.crc32 && comp === entry.compressedSize && uncomp === entry.uncompressedSize;
        });
        if (width === undefined) mismatch.push('data descriptor');
        end += sig + 4 + 2 * (width ?? forms[0]!);
      }
      if (mismatch.length) failures.add({ file: name, check: 'zip_local_header', message: `local header and central directory disagree: ${mismatch.join(', ')}` });
      spans.push({ start: entry.relativeOffsetOfLocalHeader, end, name });
    }
    spans.sort((a, b) => a.start - b.start);
    let cursor = 0;
    for (const span of spans) {
      if (span.start !== cursor) {
        failures.add({ file: span.name, check: 'zip_layout', message: span.start > cursor ? `${span.start - cursor} unaccounted bytes before this entry` : 'this entry overlaps the previous one' });
      }
      cursor = span.end;
    }
    if (cursor !== eocd.cdOffset) failures.add({ file: ZIP_LABEL, check: 'zip_layout', message: 'bytes between the last entry and the central directory' });
    if (eocd.cdOffset + eocd.cdSize !== eocd.cdEnd) failures.add({ file: ZIP_LABEL, check: 'zip_layout', message: 'bytes between the central directory and its end record' });
    if (eocd.entries !== entries.length) failures.add({ file: ZIP_LABEL, check: 'zip_layout', message: 'entry count of the end record differs from the central directory' });
  } finally {
    await fh.close();
  }
}

function hasZip64Extra(extra: Buffer): boolean {
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) === 0x0001) return true;
  }
  return false;
}

async function findEndOfCentralDirectory(read: (pos: number, n: number) => Promise<Buffer>, size: number): Promise<{ cdOffset: number; cdSize: number; cdEnd: number; entries: number } | null> {
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await read(size - tailLength, tailLength);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== 0x06054b50 || i + 22 + tail.readUInt16LE(i + 20) !== tail.length) continue;
    const eocdPos = size - tailLength + i;
    let entries = tail.readUInt16LE(i + 10);
    let cdSize = tail.readUInt32LE(i + 12);
    let cdOffset = tail.readUInt32LE(i + 16);
    let cdEnd = eocdPos;
    if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locator = await read(eocdPos - 20, 20);
      if (locator.length !== 20 || locator.readUInt32LE(0) !== 0x07064b50) return null;
      const z64Pos = Number(locator.readBigUInt64LE(8));
      const z64 = await read(z64Pos, 56);
      if (z64.length !== 56 || z64.readUInt32LE(0) !== 0x06064b50) return null;
      entries = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
      cdEnd = z64Pos;
    }
    return { cdOffset, cdSize, cdEnd, entries };
  }
  return null;
}

