import type { Readable } from 'node:stream';
import { Prisma, type LedgerCheckpoint, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Runtime } from '../../context.ts';
import { newId } from '../../crypto/hash.ts';
import {
  createVerifierPack,
  ed25519Signer,
  EvidenceError,
  ledgerLeafHash,
  MerkleAccumulator,
  MerkleTree,
  signCheckpoint,
  verifyCheckpoint,
  noteVerifier,
  type Hash,
  type LedgerEventRecord,
  type LedgerExportInput,
  type PackHeader,
} from '../../evidence/index.ts';

/*
 * Signed checkpoints of each tenant's ledger Merkle tree (RFC 9162 tree over the event hashes,
 * C2SP signed notes, docs/evidence-format.md §2–3), stored append-only in LedgerCheckpoint.
 * The gateway signs one when an export or a verifier pack is built, when another area asks for
 * ledger evidence, and on a schedule (src/areas/compliance/worker.ts). A checkpoint at the size of
 * the last stored one is reused, never re-signed; a stored checkpoint whose root the ledger no
 * longer produces is reported, not replaced.
 */

/** What checkpointing needs from the runtime (the whole Runtime satisfies it). */
export type CheckpointRuntime = Pick<Runtime, 'db' | 'keys' | 'clock' | 'config'>;

export type CheckpointReason = 'export' | 'verifier_pack' | 'evidence' | 'scheduled';

/** Older checkpoints a bundle or pack proves consistent with the new one (newest of them). */
const MAX_PREVIOUS = 32;
const PAGE = 5000;

/** The log name a tenant's checkpoints are signed under: `<host>/paybond/ledger/<tenant>`. */
export function checkpointOrigin(config: CheckpointRuntime['config'], tenantId: string): string {
  const host = config.PUBLIC_BASE_URL ? new URL(config.PUBLIC_BASE_URL).host : 'paybond-gateway';
  return `${host}/paybond/ledger/${tenantId}`;
}

export const checkpointSigner = (rt: Pick<Runtime, 'keys'>) => ed25519Signer(rt.keys.signing.privateKey);
const logVerifier = (rt: Pick<Runtime, 'keys'>, origin: string) => noteVerifier(origin, new Uint8Array(Buffer.from(rt.keys.signing.publicKeyHex, 'hex')));

async function headSeq(db: PrismaClient, tenantId: string): Promise<number> {
  const head = await db.ledgerHead.findUnique({ where: { tenantId }, select: { seq: true } });
  return head?.seq ?? 0;
}

/** Event hashes with after < seq ≤ upTo, in seq order; a missing seq is a damaged ledger. */
async function* ledgerHashes(db: PrismaClient, tenantId: string, after: number, upTo: number): AsyncGenerator<Hash> {
  let expected = after + 1;
  while (expected <= upTo) {
    const rows = await db.$queryRaw<Array<{ seq: number; hash: string }>>`
      SELECT "seq", "hash" FROM "LedgerEvent" WHERE "tenantId" = ${tenantId} AND "seq" >= ${expected} AND "seq" <= ${upTo} ORDER BY "seq" LIMIT ${PAGE}`;
    if (!rows.length) break;
    for (const row of rows) {
      if (row.seq !== expected) break;
      yield ledgerLeafHash(row.hash);
      expected += 1;
    }
    if (rows.at(-1)!.seq !== expected - 1) break;
  }
  if (expected !== upTo + 1) throw new EvidenceError('ledger_incomplete', `the ledger has no event ${expected} below its head ${upTo}`);
}

/**
 * A tenant's ledger events with seq ≤ upTo matching `where` (a SQL condition on LedgerEvent), in
 * seq order, a page at a time.
 */
export async function* ledgerEventRows(db: PrismaClient, tenantId: string, upTo: number, where: Prisma.Sql = Prisma.sql`TRUE`): AsyncGenerator<LedgerEventRecord> {
  let after = 0;
  for (;;) {
    const rows = await db.$queryRaw<LedgerEventRecord[]>`
      SELECT "tenantId", "seq", "intentId", "type", "amountCents", "currency", "actorType", "actorId", "payloadDigest", "occurredAt", "prevHash", "hash"
      FROM "LedgerEvent" WHERE "tenantId" = ${tenantId} AND "seq" > ${after} AND "seq" <= ${upTo} AND (${where})
      ORDER BY "seq" LIMIT ${PAGE}`;
    if (!rows.length) return;
    yield* rows;
    after = rows.at(-1)!.seq;
  }
}

/** The perfect subtree roots of the first `size` leaves (largest first): a MerkleAccumulator state. */
function subtreesOf(tree: MerkleTree, size: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (size - start >= width) {
      out.push(Buffer.from(tree.perfectSubtree(level, start / width)).toString('hex'));
      start += width;
    }
  }
  return out;
}

const sameLog = (rt: CheckpointRuntime, tenantId: string) => ({ tenantId, signingKey: rt.keys.signing.publicKeyHex, origin: checkpointOrigin(rt.config, tenantId) });

/** The newest stored checkpoint of the tenant under the current key and origin. */
export function latestCheckpoint(rt: CheckpointRuntime, tenantId: string): Promise<LedgerCheckpoint | null> {
  return rt.db.ledgerCheckpoint.findFirst({ where: sameLog(rt, tenantId), orderBy: { treeSize: 'desc' } });
}

/** Sign and store a checkpoint (or return the one another node stored at the same size first). */
async function store(rt: CheckpointRuntime, tenantId: string, treeSize: number, root: Hash, subtrees: string[], reason: CheckpointReason): Promise<LedgerCheckpoint> {
  const log = sameLog(rt, tenantId);
  const note = signCheckpoint({ origin: log.origin, treeSize, rootHash: root, time: rt.clock.now() }, checkpointSigner(rt));
  const rootHash = Buffer.from(root).toString('base64');
  await rt.db.$executeRaw`
    INSERT INTO "LedgerCheckpoint" ("id", "tenantId", "treeSize", "rootHash", "origin", "signingKey", "note", "subtrees", "reason", "createdAt")
    VALUES (${newId('lcp')}, ${tenantId}, ${treeSize}, ${rootHash}, ${log.origin}, ${log.signingKey}, ${note}, ${subtrees}, ${reason}, ${rt.clock.now()})
    ON CONFLICT ("tenantId", "signingKey", "treeSize") DO NOTHING`;
  const stored = await rt.db.ledgerCheckpoint.findUniqueOrThrow({ where: { tenantId_signingKey_treeSize: { tenantId, signingKey: log.signingKey, treeSize } } });
  if (stored.rootHash !== rootHash) throw mismatch(treeSize);
  return stored;
}

const mismatch = (treeSize: number) =>
  new EvidenceError('ledger_checkpoint_mismatch', `the ledger no longer has the root signed at tree size ${treeSize}: events were changed after they were checkpointed`);

export interface LedgerTree {
  /** The signed checkpoint at the ledger's head. */
  checkpoint: LedgerCheckpoint;
  /** Every event hash of the tenant up to the checkpoint (about 64 bytes per event). */
  tree: MerkleTree;
  /** Older signed checkpoints (same key and log), oldest first, for consistency proofs. */
  previousCheckpoints: string[];
}

/**
 * The tenant's whole tree, read from the ledger up to its head, and a signed checkpoint at that
 * size: the stored one when the head has not moved since, else a new one.
 */
export async function checkpointLedger(rt: CheckpointRuntime, tenantId: string, reason: CheckpointReason): Promise<LedgerTree> {
  const size = await headSeq(rt.db, tenantId);
  const tree = await MerkleTree.fromLeafHashesAsync(ledgerHashes(rt.db, tenantId, 0, size));
  const latest = await latestCheckpoint(rt, tenantId);
  let checkpoint: LedgerCheckpoint;
  if (latest && latest.treeSize === size) {
    if (latest.rootHash !== Buffer.from(tree.root()).toString('base64')) throw mismatch(size);
    checkpoint = latest;
  } else {
    checkpoint = await store(rt, tenantId, size, tree.root(), subtreesOf(tree, size), reason);
  }
  const previous = await rt.db.ledgerCheckpoint.findMany({
    where: { ...sameLog(rt, tenantId), treeSize: { lt: checkpoint.treeSize } },
    orderBy: { treeSize: 'desc' },
    take: MAX_PREVIOUS,
    select: { note: true },
  });
  return { checkpoint, tree, previousCheckpoints: previous.map((p) => p.note).reverse() };
}

/**
 * Extend the tenant's newest checkpoint to the ledger's head from its stored subtree roots, reading
 * only the events appended since (the scheduled checkpoint). Null when the head has not moved.
 */
export async function extendCheckpoint(rt: CheckpointRuntime, tenantId: string, reason: CheckpointReason): Promise<LedgerCheckpoint | null> {
  const size = await headSeq(rt.db, tenantId);
  const latest = await latestCheckpoint(rt, tenantId);
  if (size <= (latest?.treeSize ?? 0)) return null;
  const acc = latest ? MerkleAccumulator.fromState({ size: latest.treeSize, subtrees: latest.subtrees }) : new MerkleAccumulator();
  // The stored subtree roots must fold to the signed root, or they are not what was signed.
  if (latest && !Buffer.from(verifyCheckpoint(latest.note, logVerifier(rt, latest.origin)).rootHash).equals(acc.root())) throw mismatch(latest.treeSize);
  for await (const leaf of ledgerHashes(rt.db, tenantId, acc.size, size)) acc.append(leaf);
  return store(rt, tenantId, size, acc.root(), acc.toState().subtrees, reason);
}

/**
 * Ledger evidence for one intent, as createBundle() takes it for its `ledger` input: a checkpoint
 * signed at the ledger's head (so the intent's latest events are covered), the intent's events in
 * seq order, each with its inclusion proof, and the tenant's older checkpoints with consistency
 * proofs. The disputes area builds arbitration packages with it.
 */
export async function ledgerEvidence(rt: CheckpointRuntime, tenantId: string, options: { intentId: string }): Promise<LedgerExportInput> {
  const { checkpoint, tree, previousCheckpoints } = await checkpointLedger(rt, tenantId, 'evidence');
  return {
    checkpoint: checkpoint.note,
    events: ledgerEventRows(rt.db, tenantId, checkpoint.treeSize, Prisma.sql`"intentId" = ${options.intentId}`),
    proofMode: 'inclusion',
    tree,
    previousCheckpoints,
  };
}

/**
 * The tenant's current verifier pack: a checkpoint at the ledger head, every event 1…head in
 * order (the verifier recomputes the root), and older checkpoints with consistency proofs.
 */
export async function verifierPack(rt: CheckpointRuntime, tenantId: string): Promise<{ stream: Readable; header: PackHeader }> {
  const { checkpoint, tree, previousCheckpoints } = await checkpointLedger(rt, tenantId, 'verifier_pack');
  return createVerifierPack({
    tenantId,
    generatedAt: rt.clock.now(),
    publicKey: checkpointSigner(rt).publicKey,
    checkpoint: checkpoint.note,
    events: ledgerEventRows(rt.db, tenantId, checkpoint.treeSize),
    proofMode: 'full',
    tree,
    previousCheckpoints,
  });
}
