import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { ManualClock } from '../../src/clock.ts';
import { signToken } from '../../src/crypto/jwt.ts';
import { sweepExports } from '../../src/areas/compliance/runner.ts';
import { mintDownloadToken } from '../../src/areas/compliance/jobs.ts';
import { appendEvents, download, exportAndWait } from './helpers.ts';

let gw: TestGateway;
let org: TestOrg;
// Real time to start with: on PostgreSQL the sweeper sees every test file's jobs (they keep theirs for a day or more).
const clock = new ManualClock(Date.now());
beforeAll(async () => {
  gw = await createTestGateway({ clock });
  org = await createOrg(gw);
  await appendEvents(gw, org.tenants.live, 3);
});
afterAll(() => gw.close());

const token = () => org.apiKey.live;
const chunksOf = (jobId: string) => gw.runtime.db.complianceExportChunk.count({ where: { jobId } });
const auditOf = (jobId: string) => gw.runtime.db.auditEvent.findMany({ where: { resourceId: jobId }, orderBy: { createdAt: 'asc' } }).then((rows) => rows.map((r) => r.eventType));

describe('bundle downloads', () => {
  it('accepts the token as ?token= or as Authorization: Bearer (GET, POST and HEAD), answers If-None-Match with 304, and audits each download', async () => {
    const { job, created } = await exportAndWait(gw, token());
    const t = created.download_token!;
    const viaQuery = await download(gw, job.id, t);
    const viaBearer = await download(gw, job.id, t, { bearer: true, method: 'POST' });
    expect(viaQuery.status).toBe(200);
    expect(viaBearer.bytes.equals(viaQuery.bytes)).toBe(true);
    const head = await download(gw, job.id, t, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(job.bundle_size_bytes));
    const cached = await download(gw, job.id, t, { headers: { 'if-none-match': `"${job.bundle_sha256}"` } });
    expect(cached.status).toBe(304);
    expect(await auditOf(job.id)).toEqual(['compliance.export_created', 'compliance.export_completed', 'compliance.export_downloaded', 'compliance.export_downloaded']);
  });

  it('refuses missing, malformed, foreign-kind and expired tokens with 401, and tokens of another job or tenant with 404', async () => {
    const { job, created } = await exportAndWait(gw, token(), { filter: { includes: ['audit'] } });
    const other = await exportAndWait(gw, token(), { filter: { includes: ['audit'] } });
    const none = await download(gw, job.id, '');
    expect({ status: none.status, code: none.body.error.code }).toEqual({ status: 401, code: 'download_token_invalid' });
    expect((await download(gw, job.id, 'not-a-token')).body.error.code).toBe('download_token_invalid');
    // A session token of the same tenant is not a download token.
    expect((await download(gw, job.id, org.admin.token.live)).body.error.code).toBe('download_token_invalid');
    // A token of the right kind for another purpose.
    const wrongPurpose = await signToken(gw.runtime.keys, 'export_download', { sub: job.id, tid: org.tenants.live, pur: 'other' }, clock.now(), 60);
    expect((await download(gw, job.id, wrongPurpose.token)).status).toBe(401);

    const otherJob = await download(gw, job.id, other.created.download_token!);
    expect({ status: otherJob.status, code: otherJob.body.error.code }).toEqual({ status: 404, code: 'not_found' });
    const stranger = await createOrg(gw);
    const theirs = await exportAndWait(gw, stranger.apiKey.live, { filter: { includes: ['audit'] } });
    // Their token names their job: on our job's path it opens nothing; forged onto our job id it is still their tenant.
    expect((await download(gw, job.id, theirs.created.download_token!)).status).toBe(404);
    const forged = await signToken(gw.runtime.keys, 'export_download', { sub: job.id, tid: stranger.tenants.live, pur: 'compliance_bundle_download' }, clock.now(), 60);
    expect((await download(gw, job.id, forged.token)).status).toBe(404);

    clock.advance(601);
    const expired = await download(gw, job.id, created.download_token!);
    expect({ status: expired.status, code: expired.body.error.code }).toEqual({ status: 401, code: 'download_token_expired' });
    const fresh = await rest(gw, 'GET', `/v1/compliance/audit-exports/${job.id}?issue_download=1`, undefined, { token: token() });
    expect(fresh.body.job.download_token).toMatch(/^eyJ/);
    expect((await download(gw, job.id, fresh.body.job.download_token)).status).toBe(200);
  });

  it('DELETE revokes: the bundle rows go, tokens answer 410, no new token is minted, and a second DELETE answers the same', async () => {
    const { job, created } = await exportAndWait(gw, token());
    expect(await chunksOf(job.id)).toBeGreaterThan(0);
    const deleted = await rest(gw, 'DELETE', `/v1/compliance/audit-exports/${job.id}`, undefined, { token: token() });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id: job.id, status: 'deleted' });
    expect(await chunksOf(job.id)).toBe(0);
    const gone = await download(gw, job.id, created.download_token!);
    expect({ status: gone.status, code: gone.body.error.code }).toEqual({ status: 410, code: 'export_deleted' });
    const get = await rest(gw, 'GET', `/v1/compliance/audit-exports/${job.id}?issue_download=1`, undefined, { token: token() });
    expect(get.body.job).toMatchObject({ status: 'deleted', download_token: null });
    expectError(await rest(gw, 'POST', `/v1/compliance/audit-exports/${job.id}/verify`, undefined, { token: token() }), 410, 'export_deleted');
    expect((await rest(gw, 'DELETE', `/v1/compliance/audit-exports/${job.id}`, undefined, { token: token() })).body.status).toBe('deleted');
    expect(await auditOf(job.id)).toEqual(['compliance.export_created', 'compliance.export_completed', 'compliance.export_deleted']);
    expectError(await rest(gw, 'DELETE', '/v1/compliance/audit-exports/exp_missing', undefined, { token: token() }), 404, 'not_found');
  });

  it('expires after retention_hours: the sweeper deletes the bundle (audited) and tokens answer 410', async () => {
    const { job } = await exportAndWait(gw, token(), { filter: { includes: ['audit'] }, retention_hours: 1 });
    clock.advance(3599);
    await sweepExports(gw.runtime);
    const fresh = await rest(gw, 'GET', `/v1/compliance/audit-exports/${job.id}?issue_download=1`, undefined, { token: token() });
    expect(fresh.body.job.status).toBe('ready');
    clock.advance(1);
    expect(await sweepExports(gw.runtime)).toBeGreaterThanOrEqual(1);
    expect(await chunksOf(job.id)).toBe(0);
    const gone = await download(gw, job.id, fresh.body.job.download_token);
    expect({ status: gone.status, code: gone.body.error.code }).toEqual({ status: 410, code: 'export_expired' });
    expect((await rest(gw, 'GET', `/v1/compliance/audit-exports/${job.id}`, undefined, { token: token() })).body.job.status).toBe('expired');
    expect(await auditOf(job.id)).toContain('compliance.export_expired');
  });

  it('answers 409 while the job is not ready, or failed', async () => {
    for (const status of ['pending', 'running', 'failed']) {
      // A job as a node that has not finished it leaves it (inserted, so no node here picks it up).
      const job = await gw.runtime.db.complianceExportJob.create({
        data: { id: `exp_${status}_${Date.now()}`, tenantId: org.tenants.live, status, disclosureTier: 'standard', filter: {}, retentionHours: 1, requestedBy: 'test', expiresAt: new Date(clock.now().getTime() + 3600_000), ...(status === 'failed' ? { error: 'ledger_incomplete' } : {}) },
      });
      const res = await download(gw, job.id, (await mintDownloadToken({ runtime: gw.runtime }, job)).token);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'export_not_ready', details: { status } });
      expectError(await rest(gw, 'POST', `/v1/compliance/audit-exports/${job.id}/verify`, undefined, { token: token() }), 409, 'export_not_ready');
    }
  });
});

describe('rate limits', () => {
  it('counts compliance_export_create and compliance_bundle_download per tenant, with tenant overrides', async () => {
    const limited = await createOrg(gw);
    const put = await rest(
      gw,
      'PUT',
      '/v1/admin/guardrails/policy',
      { mode: 'enforce', rate_limit_profile: { compliance_export_create: { limit: 1, window_seconds: 60 }, compliance_bundle_download: { limit: 2, window_seconds: 60 } } },
      { token: limited.admin.token.live },
    );
    expect(put.status).toBe(200);
    const { job, created } = await exportAndWait(gw, limited.apiKey.live, { filter: { includes: ['audit'] } });
    const second = await rest(gw, 'POST', '/v1/compliance/audit-exports', { filter: {} }, { token: limited.apiKey.live });
    expectError(second, 429, 'rate_limited');
    expect(second.headers.get('ratelimit-policy')).toBe('"compliance_export_create";q=1;w=60');
    expect((await download(gw, job.id, created.download_token!)).status).toBe(200);
    expect((await rest(gw, 'POST', `/v1/compliance/audit-exports/${job.id}/verify`, undefined, { token: limited.apiKey.live })).status).toBe(200);
    const third = await download(gw, job.id, created.download_token!);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBeTruthy();
    expect(third.body.error.code).toBe('rate_limited');
    expect((await rest(gw, 'GET', '/v1/compliance/ledger/verifier-pack', undefined, { token: limited.apiKey.live })).status).toBe(429);
    // Another tenant keeps its own counters.
    const theirs = await exportAndWait(gw, token(), { filter: { includes: ['audit'] } });
    expect((await download(gw, theirs.job.id, theirs.created.download_token!)).status).toBe(200);
  });

  it('replays a create under the same Idempotency-Key without a new job or the one-time token', async () => {
    const headers = { 'idempotency-key': `exp-${Date.now()}` };
    const first = await rest(gw, 'POST', '/v1/compliance/audit-exports', { filter: { includes: ['audit'] } }, { token: token(), headers });
    const again = await rest(gw, 'POST', '/v1/compliance/audit-exports', { filter: { includes: ['audit'] } }, { token: token(), headers });
    expect(again.status).toBe(201);
    expect(again.body.job.id).toBe(first.body.job.id);
    expect(first.body.job.download_token).toMatch(/^eyJ/);
    expect(again.body.job.download_token ?? null).toBeNull();
    // The same key with another export is refused, not a second job.
    const other = await rest(gw, 'POST', '/v1/compliance/audit-exports', { filter: { includes: ['ledger'] } }, { token: token(), headers });
    expectError(other, 422, 'idempotency_key_mismatch');
    expect(await gw.runtime.db.complianceExportJob.count({ where: { tenantId: org.tenants.live, filter: { equals: { includes: ['ledger'] } } } })).toBe(0);
    const data = await gqlOk(gw, '{ auditExports(first: 100) { totalCount } }', {}, { token: token() });
    expect(data.auditExports.totalCount).toBeGreaterThan(0);
  });
});
