import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { EvidenceError } from '../../evidence/index.ts';

/*
 * Bundles live in the database, in 256 KiB bytea chunks (the embedded database writes larger values disproportionately slowly) keyed by (job, attempt, position), so any
 * node of a PostgreSQL deployment can serve any download and a bundle goes when its rows go.
 * A resumed job writes a new attempt; only the attempt that completed is ever read.
 */

export const CHUNK_BYTES = 256 * 1024;
/** bundle_size_bytes is a 32-bit integer on the wire (GraphQL Int). */
export const MAX_BUNDLE_BYTES = 2 ** 31 - 1;

export interface BundleRef {
  jobId: string;
  attempt: number;
}

/**
 * A sink that stores what is written as chunk rows. A full chunk is inserted while the next one
 * fills (at most one insert in flight), so the database write overlaps building the bundle.
 */
export function chunkWriter(db: PrismaClient, ref: BundleRef): Writable {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  let total = 0;
  let inflight: Promise<unknown> = Promise.resolve();
  const flush = async () => {
    await inflight;
    if (!pendingBytes) return;
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    inflight = db.complianceExportChunk.create({ data: { jobId: ref.jobId, attempt: ref.attempt, seq: seq++, data } });
    // Awaited by the next flush; handled now so a failure in between is not an unhandled rejection.
    inflight.catch(() => undefined);
  };
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > MAX_BUNDLE_BYTES) return done(new EvidenceError('bundle_too_large', `the bundle exceeds ${MAX_BUNDLE_BYTES} bytes: narrow the filter`));
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < CHUNK_BYTES) return done();
      flush().then(() => done(), done);
    },
    final(done) {
      flush()
        .then(() => inflight)
        .then(() => done(), done);
    },
    // An aborted build closes only once its last insert has landed, so cleanup after it sees every row.
    destroy(error, done) {
      inflight.then(
        () => done(error),
        () => done(error),
      );
    },
  });
}

/** The stored bundle as a stream, read one chunk row at a time. */
export function chunkReader(db: PrismaClient, ref: BundleRef): Readable {
  return Readable.from(
    (async function* () {
      for (let seq = 0; ; seq++) {
        const row = await db.complianceExportChunk.findUnique({ where: { jobId_attempt_seq: { ...ref, seq } }, select: { data: true } });
        if (!row) return;
        yield Buffer.from(row.data);
      }
    })(),
  );
}

/** Remove a job's chunks: every attempt, or every attempt but `keep`. */
export async function deleteChunks(db: PrismaClient, jobId: string, keep?: number): Promise<void> {
  await db.complianceExportChunk.deleteMany({ where: { jobId, ...(keep === undefined ? {} : { attempt: { not: keep } }) } });
}

/**
 * Run `use` on a private temporary copy of a stream (the ZIP verifier reads the central directory
 * first, so it needs a file), removed afterwards whatever happens.
 */
export async function withTempFile<T>(source: Readable, name: string, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'paybond-verify-'));
  const file = path.join(dir, name);
  try {
    await pipeline(source, fs.createWriteStream(file, { mode: 0o600 }));
    return await use(file);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
