import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { jobsSettled, MAX_ATTEMPTS, NODE_ID, startJobs, stopJobs } from '../../src/areas/compliance/runner.ts';
import { appendEvents, download, exportAndWait, tamper, waitUntilBuilt } from './helpers.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  await appendEvents(gw, org.tenants.live, 4);
});
afterAll(() => gw.close());

const jobOf = (id: string) => gw.runtime.db.complianceExportJob.findUniqueOrThrow({ where: { id } });
/** A job as a node that died (kill -9) mid-build leaves it: running, lease lapsed, a partial attempt stored. */
async function abandoned(attempts: number): Promise<string> {
  const id = `exp_dead_${attempts}_${Date.now()}`;
  await gw.runtime.db.complianceExportJob.create({
    data: {
      id,
      tenantId: org.tenants.live,
      status: 'running',
      disclosureTier: 'standard',
      filter: { includes: ['ledger', 'audit'] },
      retentionHours: 24,
      requestedBy: 'api_key:test',
      attempts,
      leaseOwner: 'dead-node:1:000000',
      leaseExpiresAt: new Date(Date.now() - 1000),
      startedAt: new Date(),
      expiresAt: new Date(Date.now() + 86400_000),
    },
  });
  await gw.runtime.db.complianceExportChunk.create({ data: { jobId: id, attempt: attempts, seq: 0, data: new Uint8Array([1, 2, 3]) } });
  return id;
}

describe('durable export jobs', () => {
  it('resumes a job whose node stopped renewing its lease: a new attempt, the partial one removed', async () => {
    const id = await abandoned(1);
    startJobs(gw.runtime);
    await waitUntilBuilt(gw, id);
    const job = await jobOf(id);
    expect(job).toMatchObject({ status: 'ready', attempts: 2, leaseOwner: null, error: null });
    expect(await gw.runtime.db.complianceExportChunk.count({ where: { jobId: id, attempt: 1 } })).toBe(0);
    const fresh = await rest(gw, 'GET', `/v1/compliance/audit-exports/${id}?issue_download=1`, undefined, { token: org.apiKey.live });
    expect((await download(gw, id, fresh.body.job.download_token)).status).toBe(200);
    expect((await rest(gw, 'POST', `/v1/compliance/audit-exports/${id}/verify`, undefined, { token: org.apiKey.live })).body.ok).toBe(true);
  });

  it(`fails with the reason "interrupted" after ${MAX_ATTEMPTS} interrupted attempts instead of retrying for ever`, async () => {
    const id = await abandoned(MAX_ATTEMPTS);
    startJobs(gw.runtime);
    await waitUntilBuilt(gw, id);
    expect(await jobOf(id)).toMatchObject({ status: 'failed', error: 'interrupted', attempts: MAX_ATTEMPTS + 1 });
    // The sweeper removes what a failed job left behind (its interrupted attempt's chunk).
    const { sweepExports } = await import('../../src/areas/compliance/runner.ts');
    await sweepExports(gw.runtime);
    expect(await gw.runtime.db.complianceExportChunk.count({ where: { jobId: id } })).toBe(0);
    const audit = await gw.runtime.db.auditEvent.findFirstOrThrow({ where: { resourceId: id } });
    expect(audit).toMatchObject({ eventType: 'compliance.export_failed', decision: 'denied', actorType: 'system', details: { error: 'interrupted' } });
  });

  it('does not take a job whose lease is still held by a live node', async () => {
    const id = await abandoned(1);
    await gw.runtime.db.complianceExportJob.update({ where: { id }, data: { leaseExpiresAt: new Date(Date.now() + 60_000) } });
    startJobs(gw.runtime);
    await jobsSettled(gw.runtime);
    expect(await jobOf(id)).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'dead-node:1:000000' });
    await gw.runtime.db.complianceExportJob.update({ where: { id }, data: { status: 'deleted' } });
  });

  it('fails with the evidence code when the ledger no longer matches its signed checkpoint', async () => {
    const victim = await createOrg(gw);
    await appendEvents(gw, victim.tenants.live, 3);
    expect((await exportAndWait(gw, victim.apiKey.live, { filter: { includes: ['ledger'] } })).job.status).toBe('ready');
    await tamper(gw, 'LedgerEvent', `UPDATE "LedgerEvent" SET "hash" = repeat('d', 64) WHERE "tenantId" = $1 AND "seq" = 1`, victim.tenants.live);
    const { job } = await exportAndWait(gw, victim.apiKey.live, { filter: { includes: ['ledger'] } });
    expect(job).toMatchObject({ status: 'failed', error: 'ledger_checkpoint_mismatch', bundle_sha256: null });
    expect(await gw.runtime.db.complianceExportChunk.count({ where: { jobId: job.id } })).toBe(0);
  });

  it('hands running jobs back at shutdown without counting the attempt', async () => {
    const other = await createTestGateway();
    try {
      const tenant = await createOrg(other);
      await appendEvents(other, tenant.tenants.live, 5);
      const id = `exp_stop_${Date.now()}`;
      await other.runtime.db.complianceExportJob.create({
        data: { id, tenantId: tenant.tenants.live, status: 'pending', disclosureTier: 'standard', filter: {}, retentionHours: 24, requestedBy: 'test', expiresAt: new Date(Date.now() + 86400_000) },
      });
      startJobs(other.runtime);
      // The claim is under way: stopping waits for it, then stops the build it started.
      await stopJobs(other.runtime);
      const job = await other.runtime.db.complianceExportJob.findUniqueOrThrow({ where: { id } });
      expect(job.leaseOwner).not.toBe(NODE_ID);
      // On PostgreSQL another test file's node may have claimed it first; otherwise it is back, uncounted.
      if (job.leaseOwner === null) {
        expect(job).toMatchObject({ status: 'pending', attempts: 0, leaseExpiresAt: null });
        expect(await other.runtime.db.complianceExportChunk.count({ where: { jobId: id } })).toBe(0);
      }
    } finally {
      await other.close();
    }
  });
});
