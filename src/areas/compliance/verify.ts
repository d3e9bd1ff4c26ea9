import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import yauzl from 'yauzl';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { MANIFEST_PATH, UnreadableInputError, verifyBundle, verifyPack, type VerifyFailure, type VerifyReport } from '../../evidence/index.ts';
import { chunkReader, withTempFile } from './storage.ts';
import { findExport } from './jobs.ts';

/*
 * Server-side re-verification with the gateway's own key pinned: a stored export (its bytes against
 * the job's record, then every check paybond-verify makes) or an uploaded verifier pack (checked
 * as a file; the live ledger is never read).
 */

const gatewayKey = (rt: Pick<Runtime, 'keys'>) => new Uint8Array(Buffer.from(rt.keys.signing.publicKeyHex, 'hex'));

function addFailure(report: VerifyReport, check: string, failure: VerifyFailure | null): void {
  report.checks[check] = (report.checks[check] ?? 0) + 1;
  if (failure) report.failures.push(failure);
  report.ok = report.failures.length === 0;
}

async function manifestSha256(file: string): Promise<string | null> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== MANIFEST_PATH) continue;
      const hash = createHash('sha256');
      for await (const chunk of (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) hash.update(chunk);
      return hash.digest('hex');
    }
    return null;
  } catch {
    return null; // verifyBundle reports what is wrong with the ZIP
  } finally {
    zip.close();
  }
}

/**
 * Re-verify a ready export as stored: its bytes hash to the job's bundle_sha256 and size, its
 * manifest to manifest_sha256 and names this job and tenant, and the bundle passes every offline
 * check with the gateway's key. Null for another tenant's or an unknown job.
 */
export async function verifyStoredExport(ctx: ServiceContext & { principal: Principal }, jobId: string): Promise<VerifyReport | null> {
  const job = await findExport(ctx, jobId);
  if (!job) return null;
  if (job.status !== 'ready') {
    if (job.status === 'deleted') throw new DomainError('export_deleted', 'This export was deleted');
    if (job.status === 'expired') throw new DomainError('export_expired', 'This export expired and its bundle was deleted');
    throw new DomainError('export_not_ready', `The export is ${job.status}`, { details: { status: job.status } });
  }
  const hash = createHash('sha256');
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const name = `${job.id}.zip`;
  return withTempFile(chunkReader(ctx.runtime.db, { jobId: job.id, attempt: job.attempts }).pipe(counted), name, async (file) => {
    const report = await verifyBundle(file, { publicKey: gatewayKey(ctx.runtime) }).catch((error: unknown): VerifyReport => {
      if (!(error instanceof UnreadableInputError)) throw error;
      return { ok: false, format: 'bundle', input: name, failures: [{ file: '(zip)', check: 'zip_structure', message: 'the stored bundle is not a ZIP file' }], checks: {}, keyPinned: true };
    });
    report.input = name;
    const digest = hash.digest('hex');
    addFailure(report, 'stored_bundle_sha256', digest === job.bundleSha256 && size === job.bundleSizeBytes ? null : { file: name, check: 'stored_bundle_sha256', message: `the stored bundle is ${size} bytes with SHA-256 ${digest}; the job recorded ${job.bundleSizeBytes} bytes with ${job.bundleSha256}` });
    const manifest = await manifestSha256(file);
    addFailure(report, 'stored_manifest_sha256', manifest === job.manifestSha256 ? null : { file: MANIFEST_PATH, check: 'stored_manifest_sha256', message: `manifest.json has SHA-256 ${manifest ?? '(unreadable)'}; the job recorded ${job.manifestSha256}` });
    if (report.manifest) {
      const names = report.manifest.jobId === job.id && report.manifest.tenantRealmId === job.tenantId;
      addFailure(report, 'manifest_job', names ? null : { file: MANIFEST_PATH, check: 'manifest_job', message: `the manifest names job ${report.manifest.jobId} of ${report.manifest.tenantRealmId}` });
    }
    return report;
  });
}

/** Verify an uploaded verifier pack against the gateway's key, from its bytes alone. */
export async function verifyUploadedPack(rt: Pick<Runtime, 'keys'>, bytes: Uint8Array): Promise<VerifyReport> {
  const name = 'verifier-pack.jsonl';
  return withTempFile(Readable.from([Buffer.from(bytes)]), name, async (file) => {
    try {
      const report = await verifyPack(file, { publicKey: gatewayKey(rt) });
      // The temporary path means nothing to the caller.
      report.input = name;
      for (const failure of report.failures) if (failure.file !== name) failure.file = name;
      return report;
    } catch (error) {
      if (error instanceof UnreadableInputError) throw new DomainError('verifier_input_unreadable', 'The upload is not a Paybond verifier pack (line 1 must be its JSON header)');
      throw error;
    }
  });
}
