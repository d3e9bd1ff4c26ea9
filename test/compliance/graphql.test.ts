import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { appendEvents, waitUntilBuilt } from './helpers.ts';

/*
 * The dashboard's GraphQL twins of the compliance routes: the same operations the REST rows run,
 * called directly, with their refusals (no credential, another tenant, bad input, a tier the
 * caller may not use) as GraphQL reports them.
 */

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  await appendEvents(gw, org.tenants.live, 3);
});
afterAll(() => gw.close());

const CREATE = `mutation($input: AuditExportCreateInput!) {
  auditExportCreate(input: $input) { job { jobId status tenantRealmId disclosureTier filter retentionHours expiresAt downloadPath } downloadToken downloadTokenExpiresAt userErrors { code field message } } }`;
const DELETE = 'mutation($id: String!) { auditExportDelete(jobId: $id) { job { jobId status deletedAt } userErrors { code message } } }';
const VERIFY = 'query($id: String!) { auditExportVerification(jobId: $id) { ok status format failures { file check } checks manifest { jobId tenantRealmId } checkpoint { treeSize } } }';
const PACK = 'query($pack: String!) { ledgerVerifierPackVerification(pack: $pack) { ok status format failures { file row check } ledger { events proofMode } } }';

// GraphQL error codes are the REST codes in upper case.
const codeOf = (result: { errors?: Array<{ extensions?: { code?: string } }> }) => result.errors?.[0]?.extensions?.code?.toLowerCase();

describe('GraphQL twins of the compliance routes', () => {
  it('creates, reads, verifies and deletes an export', async () => {
    const created = await gqlOk(gw, CREATE, { input: { filter: { includes: ['audit', 'ledger'] }, retentionHours: 2 } }, { token: org.apiKey.live });
    const { job, downloadToken, userErrors } = created.auditExportCreate;
    expect(userErrors).toEqual([]);
    expect(job).toMatchObject({ status: 'pending', tenantRealmId: org.tenants.live, disclosureTier: 'standard', filter: { includes: ['audit', 'ledger'] }, retentionHours: 2 });
    expect(downloadToken).toMatch(/^eyJ/);
    await waitUntilBuilt(gw, job.jobId);

    const verified = await gqlOk(gw, VERIFY, { id: job.jobId }, { token: org.apiKey.live });
    expect(verified.auditExportVerification).toMatchObject({ ok: true, status: 'pass', format: 'bundle', failures: [], manifest: { jobId: job.jobId, tenantRealmId: org.tenants.live }, checkpoint: { treeSize: 3 } });
    expect(verified.auditExportVerification.checks).toMatchObject({ stored_bundle_sha256: 1, stored_manifest_sha256: 1 });

    const deleted = await gqlOk(gw, DELETE, { id: job.jobId }, { token: org.apiKey.live });
    expect(deleted.auditExportDelete).toMatchObject({ job: { jobId: job.jobId, status: 'deleted' }, userErrors: [] });
    const after = await gql(gw, VERIFY, { id: job.jobId }, { token: org.apiKey.live });
    expect(codeOf(after)).toBe('export_deleted');
  });

  it('verifies an uploaded verifier pack, and reports one that is not a pack', async () => {
    const pack = await gw.app.fetch('http://gateway/v1/compliance/ledger/verifier-pack', { headers: { authorization: `Bearer ${org.apiKey.live}` } });
    const text = await pack.text();
    const ok = await gqlOk(gw, PACK, { pack: text }, { token: org.apiKey.live });
    expect(ok.ledgerVerifierPackVerification).toMatchObject({ ok: true, status: 'pass', format: 'pack', ledger: { events: 3, proofMode: 'full' } });
    const lines = text.split('\n');
    lines[2] = lines[2]!.replace(/"seq":2,/, '"seq":3,');
    const bad = await gqlOk(gw, PACK, { pack: lines.join('\n') }, { token: org.apiKey.live });
    expect(bad.ledgerVerifierPackVerification).toMatchObject({ ok: false, status: 'fail' });
    expect(bad.ledgerVerifierPackVerification.failures[0]).toMatchObject({ row: 3 });
    expect(codeOf(await gql(gw, PACK, { pack: 'hello' }, { token: org.apiKey.live }))).toBe('verifier_input_unreadable');
  });

  it('refuses without a credential, hides another tenant’s jobs, and reports bad input and a forbidden tier', async () => {
    for (const [query, variables] of [
      [CREATE, { input: { filter: {} } }],
      [DELETE, { id: 'exp_x' }],
      [VERIFY, { id: 'exp_x' }],
      [PACK, { pack: 'x' }],
      ['{ auditExports(first: 5) { totalCount } }', {}],
      ['{ ledgerCheckpoints(first: 5) { edges { node { treeSize } } } }', {}],
    ] as const) {
      expect(codeOf(await gql(gw, query, variables)), query).toBe('unauthenticated');
    }

    const mine = await gqlOk(gw, CREATE, { input: { filter: { includes: ['guardrails'] } } }, { token: org.apiKey.live });
    const id = mine.auditExportCreate.job.jobId as string;
    await waitUntilBuilt(gw, id);
    const stranger = await createOrg(gw);
    const theirs = await gqlOk(gw, `query($id: String!) { auditExport(jobId: $id, issueDownload: true) { downloadToken } auditExports(first: 50) { edges { node { jobId } } } }`, { id }, { token: stranger.apiKey.live });
    expect(theirs).toEqual({ auditExport: null, auditExports: { edges: [] } });
    expect((await gqlOk(gw, VERIFY, { id }, { token: stranger.apiKey.live })).auditExportVerification).toBeNull();
    const notTheirs = await gqlOk(gw, DELETE, { id }, { token: stranger.apiKey.live });
    expect(notTheirs.auditExportDelete).toMatchObject({ job: null, userErrors: [{ code: 'NOT_FOUND' }] });

    const bad = await gql(gw, CREATE, { input: { filter: { timeStart: 'yesterday' }, retentionHours: 0 } }, { token: org.apiKey.live });
    expect(codeOf(bad)).toBe('invalid_request');
    const extended = await gql(gw, CREATE, { input: { filter: {}, disclosureTier: 'extended' } }, { token: org.apiKey.live });
    expect(codeOf(extended)).toBe('forbidden');
  });
});

describe('REST without a credential', () => {
  it('answers 401 on every compliance route', async () => {
    for (const [method, path] of [
      ['POST', '/v1/compliance/audit-exports'],
      ['GET', '/v1/compliance/audit-exports'],
      ['GET', '/v1/compliance/audit-exports/exp_x'],
      ['POST', '/v1/compliance/audit-exports/exp_x/verify'],
      ['DELETE', '/v1/compliance/audit-exports/exp_x'],
      ['GET', '/v1/compliance/ledger/verifier-pack'],
      ['POST', '/v1/compliance/ledger/verifier-pack/verify'],
    ] as const) {
      expectError(await rest(gw, method, path, method === 'POST' ? { filter: {} } : undefined), 401, 'unauthenticated');
    }
    // The bundle route's credential is the download token.
    expectError(await rest(gw, 'GET', '/v1/compliance/audit-exports/exp_x/bundle'), 401, 'download_token_invalid');
  });
});
