import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Prisma, type ComplianceExportJob } from '../../generated/prisma/client.ts';
import type { Runtime, ServiceContext } from '../../context.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { registerBackgroundTask } from '../../kernel/background.ts';
import { AUDIT_EXPORT_KIND, createBundle, EvidenceError, type BundleSummary } from '../../evidence/index.ts';
import { GATEWAY_VERSION } from '../../version.ts';
import { checkpointLedger, checkpointSigner, extendCheckpoint, ledgerEventRows } from './checkpoints.ts';
import { discloser, exportArtifacts, filterFromJson, includedCategories, ledgerCondition, type DisclosureTier } from './artifacts.ts';
import { chunkWriter, deleteChunks } from './storage.ts';

/*
 * Export jobs are rows, not promises: a node claims one by taking its lease (a row update that
 * only one node can win), renews the lease while it builds the bundle, and completes it with a
 * guarded update that only the lease holder at that attempt can make. A node that dies (kill -9)
 * stops renewing; once the lease lapses any node claims the job again and rebuilds it as a new
 * attempt. After MAX_ATTEMPTS claims it fails with the reason `interrupted` instead of looping.
 * DELETE and expiry flip the status, which the builder notices at its next renewal.
 */

/** This process, as a lease holder. */
export const NODE_ID = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
const LEASE_SECONDS = 20;
const RENEW_MS = 5_000;
export const MAX_ATTEMPTS = 3;
/** Exports built at once per node. */
const CONCURRENCY = 2;
/** How often a serving node looks for jobs to resume, bundles to delete and checkpoints to sign. */
const TICK_MS = 5_000;

interface Runner {
  running: Map<string, { abort: AbortController; done: Promise<void> }>;
  claiming: Promise<void> | null;
  stopped: boolean;
}
const runners = new WeakMap<Runtime, Runner>();
const runnerOf = (rt: Runtime): Runner => {
  let runner = runners.get(rt);
  if (!runner) runners.set(rt, (runner = { running: new Map(), claiming: null, stopped: false }));
  return runner;
};

const systemCtx = (rt: Runtime, jobId: string): ServiceContext => ({ runtime: rt, principal: null, requestId: `job_${jobId}` });
const SYSTEM = { type: 'system', id: null };

/** Take the oldest claimable job: pending, or running under a lapsed lease. */
async function claimJob(rt: Runtime, now: Date): Promise<ComplianceExportJob | null> {
  const [job] = await rt.db.$queryRaw<ComplianceExportJob[]>`
    UPDATE "ComplianceExportJob" SET "status" = 'running', "leaseOwner" = ${NODE_ID}, "leaseExpiresAt" = now() + make_interval(secs => ${LEASE_SECONDS}),
      "attempts" = "attempts" + 1, "startedAt" = coalesce("startedAt", ${now})
    WHERE "id" = (
      SELECT "id" FROM "ComplianceExportJob"
      WHERE ("status" = 'pending' OR ("status" = 'running' AND "leaseExpiresAt" < now())) AND "expiresAt" > ${now}
      ORDER BY "createdAt" LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING *`;
  return job ?? null;
}

/** Claim and start jobs on this node, up to its concurrency. Returns at once; the jobs run on. */
export function startJobs(rt: Runtime): void {
  const runner = runnerOf(rt);
  if (runner.stopped || runner.claiming) return;
  runner.claiming = (async () => {
    while (!runner.stopped && runner.running.size < CONCURRENCY) {
      const job = await claimJob(rt, rt.clock.now());
      if (!job) break;
      const abort = new AbortController();
      const done = runJob(rt, job, abort.signal)
        .catch((error: unknown) => rt.log.error({ err: error, job_id: job.id }, 'export job bookkeeping failed'))
        .finally(() => {
          runner.running.delete(job.id);
          startJobs(rt);
        });
      runner.running.set(job.id, { abort, done });
    }
  })()
    .catch((error: unknown) => rt.log.error({ err: error }, 'claiming export jobs failed'))
    .finally(() => {
      runner.claiming = null;
    });
}

/** Stop building `jobId` on this node, if it is (its status already says why). */
export function abortLocalJob(rt: Runtime, jobId: string): void {
  runnerOf(rt).running.get(jobId)?.abort.abort('revoked');
}

/** Hand every job this node builds back (pending, attempt not counted) and stop claiming. */
export async function stopJobs(rt: Runtime): Promise<void> {
  const runner = runnerOf(rt);
  runner.stopped = true;
  await runner.claiming;
  const running = [...runner.running.values()];
  for (const r of running) r.abort.abort('shutdown');
  await Promise.all(running.map((r) => r.done));
}

/** Every job this node is building has ended (tests, benchmarks). */
export async function jobsSettled(rt: Runtime): Promise<void> {
  const runner = runnerOf(rt);
  while (runner.claiming || runner.running.size) await Promise.all([runner.claiming, ...[...runner.running.values()].map((r) => r.done)]);
}

async function runJob(rt: Runtime, job: ComplianceExportJob, signal: AbortSignal): Promise<void> {
  const attempt = job.attempts;
  const owned = Prisma.sql`"id" = ${job.id} AND "leaseOwner" = ${NODE_ID} AND "attempts" = ${attempt} AND "status" = 'running'`;
  const dropAttempt = () => rt.db.complianceExportChunk.deleteMany({ where: { jobId: job.id, attempt } });
  if (attempt > MAX_ATTEMPTS) {
    await finish(rt, job, owned, { status: 'failed', error: 'interrupted' });
    return;
  }
  const lost = new AbortController();
  const renew = setInterval(() => {
    rt.db.$executeRaw`UPDATE "ComplianceExportJob" SET "leaseExpiresAt" = now() + make_interval(secs => ${LEASE_SECONDS}) WHERE ${owned}`.then(
      (n) => n === 1 || lost.abort('revoked'),
      (error: unknown) => rt.log.warn({ err: error, job_id: job.id }, 'export lease renewal failed'),
    );
  }, RENEW_MS);
  renew.unref();
  const aborted = AbortSignal.any([signal, lost.signal]);
  try {
    await deleteChunks(rt.db, job.id, attempt);
    const summary = await buildBundle(rt, job, aborted);
    if (!(await finish(rt, job, owned, { status: 'ready', summary }))) await dropAttempt();
  } catch (error) {
    await dropAttempt();
    if (aborted.aborted) {
      // Revoked (deleted, expired, or the lease went to another node): its status already says so.
      // At shutdown the job goes back to pending for any node, without counting the attempt.
      if (aborted.reason === 'shutdown') {
        await rt.db.$executeRaw`UPDATE "ComplianceExportJob" SET "status" = 'pending', "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "attempts" = "attempts" - 1 WHERE ${owned}`;
      }
      return;
    }
    if (!(error instanceof EvidenceError)) rt.log.error({ err: error, job_id: job.id }, 'export job failed');
    await finish(rt, job, owned, { status: 'failed', error: error instanceof EvidenceError ? error.code : 'internal_error' });
  } finally {
    clearInterval(renew);
  }
}

type Outcome = { status: 'ready'; summary: BundleSummary & { checkpointTreeSize: number | null } } | { status: 'failed'; error: string };

/** Record the outcome, if this node still holds the job at this attempt; audited in the same transaction. */
async function finish(rt: Runtime, job: ComplianceExportJob, owned: Prisma.Sql, outcome: Outcome): Promise<boolean> {
  const now = rt.clock.now();
  return rt.db.$transaction(async (tx) => {
    const changed =
      outcome.status === 'ready'
        ? await tx.$executeRaw`
            UPDATE "ComplianceExportJob" SET "status" = 'ready', "completedAt" = ${now}, "leaseOwner" = NULL, "leaseExpiresAt" = NULL,
              "manifestSha256" = ${outcome.summary.manifestSha256}, "bundleSha256" = ${outcome.summary.bundleSha256},
              "bundleSizeBytes" = ${outcome.summary.bundleSizeBytes}, "checkpointTreeSize" = ${outcome.summary.checkpointTreeSize}
            WHERE ${owned}`
        : await tx.$executeRaw`
            UPDATE "ComplianceExportJob" SET "status" = 'failed', "completedAt" = ${now}, "error" = ${outcome.error}, "leaseOwner" = NULL, "leaseExpiresAt" = NULL
            WHERE ${owned}`;
    if (changed !== 1) return false;
    await recordAudit(tx, systemCtx(rt, job.id), {
      tenantId: job.tenantId,
      eventType: outcome.status === 'ready' ? 'compliance.export_completed' : 'compliance.export_failed',
      resource: 'audit_export',
      resourceId: job.id,
      decision: outcome.status === 'ready' ? 'completed' : 'denied',
      actor: SYSTEM,
      details:
        outcome.status === 'ready'
          ? { attempt: job.attempts, bundle_sha256: outcome.summary.bundleSha256, bundle_size_bytes: outcome.summary.bundleSizeBytes, checkpoint_tree_size: outcome.summary.checkpointTreeSize }
          : { attempt: job.attempts, error: outcome.error },
    });
    return true;
  });
}

/** Build the job's bundle into its chunk rows. */
async function buildBundle(rt: Runtime, job: ComplianceExportJob, signal: AbortSignal) {
  const filter = filterFromJson(job.filter);
  const tier = job.disclosureTier as DisclosureTier;
  const scope = { db: rt.db, tenantId: job.tenantId, filter, asOf: job.createdAt, tier, disclose: discloser(tier, rt.keys.hmacSecret) };
  const withLedger = includedCategories(filter).has('ledger');
  const ledgerTree = withLedger ? await checkpointLedger(rt, job.tenantId, 'export') : null;
  signal.throwIfAborted();
  const { stream, summary } = createBundle({
    kind: AUDIT_EXPORT_KIND,
    tenantRealmId: job.tenantId,
    jobId: job.id,
    generatedAt: rt.clock.now(),
    gatewayBuildVersion: GATEWAY_VERSION,
    scoreModelVersion: 'none',
    disclosureTier: tier,
    redactionProfile: `${tier}_v1`,
    exportFilter: { ...(job.filter as Record<string, unknown>), as_of: job.createdAt.toISOString() },
    artifacts: exportArtifacts(scope),
    ledger: ledgerTree
      ? {
          checkpoint: ledgerTree.checkpoint.note,
          events: ledgerEventRows(rt.db, job.tenantId, ledgerTree.checkpoint.treeSize, ledgerCondition(scope)),
          tree: ledgerTree.tree,
          previousCheckpoints: ledgerTree.previousCheckpoints,
        }
      : undefined,
    signer: checkpointSigner(rt),
  });
  await pipeline(stream, chunkWriter(rt.db, { jobId: job.id, attempt: job.attempts }), { signal });
  return { ...(await summary), checkpointTreeSize: ledgerTree?.checkpoint.treeSize ?? null };
}

/**
 * Expire jobs past their retention (audited) and delete bundle rows nobody will read: those of
 * expired, deleted and failed jobs, and the unfinished attempts of ready ones.
 */
export async function sweepExports(rt: Runtime): Promise<number> {
  const now = rt.clock.now();
  const expired = await rt.db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ id: string; tenantId: string }>>`
      UPDATE "ComplianceExportJob" SET "status" = 'expired', "leaseOwner" = NULL, "leaseExpiresAt" = NULL
      WHERE "expiresAt" <= ${now} AND "status" NOT IN ('expired', 'deleted') RETURNING "id", "tenantId"`;
    for (const row of rows) {
      await recordAudit(tx, systemCtx(rt, row.id), { tenantId: row.tenantId, eventType: 'compliance.export_expired', resource: 'audit_export', resourceId: row.id, actor: SYSTEM });
    }
    return rows;
  });
  for (const row of expired) abortLocalJob(rt, row.id);
  await rt.db.$executeRaw`
    DELETE FROM "ComplianceExportChunk" c USING "ComplianceExportJob" j
    WHERE c."jobId" = j."id" AND (j."status" IN ('expired', 'deleted', 'failed') OR (j."status" = 'ready' AND c."attempt" <> j."attempts"))`;
  return expired.length;
}

/** Sign a checkpoint for every tenant whose ledger grew and whose newest checkpoint is older than the interval. */
export async function scheduledCheckpoints(rt: Runtime): Promise<number> {
  const interval = rt.config.LEDGER_CHECKPOINT_INTERVAL_SECONDS;
  if (!interval) return 0;
  const cutoff = new Date(rt.clock.now().getTime() - interval * 1000);
  const due = await rt.db.$queryRaw<Array<{ tenantId: string }>>`
    SELECT h."tenantId" FROM "LedgerHead" h
    LEFT JOIN LATERAL (
      SELECT "treeSize", "createdAt" FROM "LedgerCheckpoint" c
      WHERE c."tenantId" = h."tenantId" AND c."signingKey" = ${rt.keys.signing.publicKeyHex} ORDER BY "treeSize" DESC LIMIT 1) c ON TRUE
    WHERE h."seq" > coalesce(c."treeSize", 0) AND (c."createdAt" IS NULL OR c."createdAt" <= ${cutoff})
    LIMIT 100`;
  let signed = 0;
  for (const { tenantId } of due) {
    try {
      if (await extendCheckpoint(rt, tenantId, 'scheduled')) signed += 1;
    } catch (error) {
      // A ledger that no longer matches its signed checkpoint is an incident, not a retry.
      rt.log.error({ err: error, tenant_id: tenantId }, 'scheduled ledger checkpoint failed');
    }
  }
  return signed;
}

registerBackgroundTask({
  name: 'compliance',
  intervalMs: TICK_MS,
  async run(rt) {
    startJobs(rt);
    await sweepExports(rt);
    await scheduledCheckpoints(rt);
  },
  stop: stopJobs,
});
