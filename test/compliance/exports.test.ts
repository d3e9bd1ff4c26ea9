import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, FORBIDDEN_IN_AUDIT, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg } from '../helpers/factories.ts';
import { fundedIntent, harborActor, type HarborActor } from '../helpers/harbor.ts';
import { AUDIT_EXPORT_KIND, verifyBundle } from '../../src/evidence/index.ts';
import { readZip } from '../evidence/zip-tools.ts';
import { download, exportAndWait, writeTemp, type ExportJob } from './helpers.ts';

let gw: TestGateway;
let actor: HarborActor;
let intents: string[];
const publicKey = () => new Uint8Array(Buffer.from(gw.runtime.keys.signing.publicKeyHex, 'hex'));

beforeAll(async () => {
  gw = await createTestGateway();
  actor = await harborActor(gw, await createOrg(gw));
  intents = [(await fundedIntent(gw, actor)).intentId, (await fundedIntent(gw, actor)).intentId];
});
afterAll(() => gw.close());

const jsonl = (data: Buffer) =>
  data
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);

async function entries(bytes: Buffer): Promise<Map<string, Buffer>> {
  return new Map((await readZip(writeTemp('bundle.zip', bytes))).map((e) => [e.name, e.data]));
}

describe('compliance audit exports over REST', () => {
  it('creates a job with a download token, builds it, lists it and serves a bundle that verifies offline with the gateway key', async () => {
    const { created, job } = await exportAndWait(gw, actor.token);
    expect(created).toMatchObject({ status: 'pending', tenant_realm_id: actor.tenantId, disclosure_tier: 'standard', download_path: `/v1/compliance/audit-exports/${created.id}/bundle` });
    expect(created.download_token).toMatch(/^eyJ/);
    expect(Date.parse(created.download_token_expires_at!) - Date.now()).toBeLessThanOrEqual(600_000);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(168 * 3600_000);
    expect(job).toMatchObject({ id: created.id, status: 'ready', attempts: 1, error: null, download_token: null });
    expect(job.bundle_sha256).toMatch(/^[0-9a-f]{64}$/);

    const list = await rest(gw, 'GET', '/v1/compliance/audit-exports?limit=10', undefined, { token: actor.token });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ tenant_realm_id: actor.tenantId, next_cursor: null });
    expect(list.body.jobs.map((j: ExportJob) => j.id)).toContain(job.id);
    // What the Paybond Kit SDK requires (paybond-kit-contracts.md, "Compliance audit exports"): strings, and a number when present.
    const str = expect.any(String);
    for (const body of [created, job]) expect(body).toMatchObject({ id: str, status: str, tenant_realm_id: str, disclosure_tier: str, expires_at: str, created_at: str });
    expect(created.download_token_expires_at).toEqual(str);
    for (const row of list.body.jobs) expect(row).toMatchObject({ id: str, status: str, disclosure_tier: str, created_at: str, expires_at: str });
    expect(typeof list.body.jobs.find((j: ExportJob) => j.id === job.id).bundle_size_bytes).toBe('number');

    const res = await download(gw, job.id, created.download_token!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-length')).toBe(String(job.bundle_size_bytes));
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="paybond-audit-export-${job.id}.zip"`);
    expect(res.headers.get('etag')).toBe(`"${job.bundle_sha256}"`);
    expect(res.headers.get('ratelimit-policy')).toBe('"compliance_bundle_download";q=30;w=3600');
    expect(createHash('sha256').update(res.bytes).digest('hex')).toBe(job.bundle_sha256);

    const report = await verifyBundle(writeTemp('export.zip', res.bytes), { publicKey: publicKey() });
    expect(report.failures).toEqual([]);
    expect(report.manifest).toMatchObject({ kind: AUDIT_EXPORT_KIND, tenantRealmId: actor.tenantId, jobId: job.id, disclosureTier: 'standard' });
    const files = await entries(res.bytes);
    expect([...files.keys()].sort()).toEqual(
      [
        'audit_events.jsonl',
        'dispute_case_assignments.jsonl',
        'dispute_case_evidence.jsonl',
        'dispute_case_notes.jsonl',
        'dispute_cases.jsonl',
        'guardrail_policy_versions.jsonl',
        'intent_evidence.jsonl',
        'intents.jsonl',
        'ledger/checkpoint.txt',
        'ledger/events.jsonl',
        'manifest.json',
        'policy_versions.jsonl',
        'settlement_config_versions.jsonl',
        'signal_review_events.jsonl',
        'signal_score_snapshots.jsonl',
        'simulator_events.jsonl',
        'stripe_payment_intents.jsonl',
      ].sort(),
    );
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(createHash('sha256').update(files.get('manifest.json')!).digest('hex')).toBe(job.manifest_sha256);
    expect(manifest.signing_public_key_ed25519_hex).toBe(gw.runtime.keys.signing.publicKeyHex);
    expect(manifest.export_filter).toEqual({ as_of: job.created_at });
    // Two funded intents: created + funding events each, every one proven against the checkpoint.
    const ledger = jsonl(files.get('ledger/events.jsonl')!);
    expect(ledger.map((r) => r.event.seq)).toEqual([1, 2, 3, 4]);
    expect(ledger.every((r) => Array.isArray(r.proof))).toBe(true);
    expect(manifest.checkpoint_last_ledger_seq).toBe(4);
    const intentRows = jsonl(files.get('intents.jsonl')!);
    expect(intentRows.map((r) => r.intent_id).sort()).toEqual([...intents].sort());
    expect(intentRows[0]!.state_history.map((s: { type: string }) => s.type)).toEqual(['intent.created', 'funding.succeeded']);
    const audit = jsonl(files.get('audit_events.jsonl')!);
    expect(audit.filter((r) => r.event_type === 'harbor.funding.succeeded').map((r) => r.resource_id).sort()).toEqual([...intents].sort());
    // Records up to the moment it was requested: not even its own creation event.
    expect(audit.every((r) => Date.parse(r.created_at) <= Date.parse(job.created_at))).toBe(true);
  });

  it('discloses no personal data in the standard tier (ledger events carry none, records are redacted)', async () => {
    const { job, created } = await exportAndWait(gw, actor.token);
    const text = (await download(gw, job.id, created.download_token!)).bytes;
    for (const [name, data] of await entries(text)) {
      const content = data.toString('utf8');
      for (const [what, pattern] of [...FORBIDDEN_IN_AUDIT, ['DID', /did:example/] as const]) {
        expect(pattern.test(content), `${name} holds an unredacted ${what}`).toBe(false);
      }
    }
    const intent = jsonl((await entries(text)).get('intents.jsonl')!)[0]!;
    expect(intent.principal_did).toMatch(/^h:[0-9a-f]{24}$/);
    expect(intent.payee_pubkey).toMatch(/^h:[0-9a-f]{24}$/);
  });

  it('gives the extended tier to tenant admins only: DIDs as stored', async () => {
    expectError(await rest(gw, 'POST', '/v1/compliance/audit-exports', { filter: {}, disclosure_tier: 'extended' }, { token: actor.token }), 403, 'forbidden');
    const admin = actor.org.admin.token.sandbox;
    const { job, created } = await exportAndWait(gw, admin, { filter: { includes: ['harbor'] }, disclosure_tier: 'extended' });
    expect(job).toMatchObject({ status: 'ready', disclosure_tier: 'extended' });
    const files = await entries((await download(gw, job.id, created.download_token!)).bytes);
    expect([...files.keys()].sort()).toEqual(['intent_evidence.jsonl', 'intents.jsonl', 'manifest.json', 'policy_versions.jsonl']);
    expect(jsonl(files.get('intents.jsonl')!)[0]).toMatchObject({ principal_did: 'did:example:principal', payee_did: 'did:example:payee' });
  });

  it('narrows by intent_id, operator_did, time and includes, and records the filter in the signed manifest', async () => {
    const [first] = intents;
    const { job, created } = await exportAndWait(gw, actor.token, { filter: { intent_id: first, includes: ['ledger', 'audit', 'harbor'] } });
    const files = await entries((await download(gw, job.id, created.download_token!)).bytes);
    const ledger = jsonl(files.get('ledger/events.jsonl')!);
    expect(ledger.map((r) => r.event.intent_id)).toEqual([first, first]);
    expect(jsonl(files.get('intents.jsonl')!).map((r) => r.intent_id)).toEqual([first]);
    const audit = jsonl(files.get('audit_events.jsonl')!);
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((r) => r.resource_id === first)).toBe(true);
    expect(files.has('guardrail_policy_versions.jsonl')).toBe(false);
    expect(JSON.parse(files.get('manifest.json')!.toString('utf8')).export_filter).toEqual({ intent_id: first, includes: ['ledger', 'audit', 'harbor'], as_of: job.created_at });

    const byOperator = await exportAndWait(gw, actor.token, { filter: { operator_did: 'did:example:payee', includes: ['harbor'] } });
    expect(jsonl((await entries((await download(gw, byOperator.job.id, byOperator.created.download_token!)).bytes)).get('intents.jsonl')!)).toHaveLength(2);
    const nobody = await exportAndWait(gw, actor.token, { filter: { operator_did: 'did:example:nobody', includes: ['harbor', 'ledger'] } });
    const empty = await entries((await download(gw, nobody.job.id, nobody.created.download_token!)).bytes);
    expect(empty.get('intents.jsonl')!.length).toBe(0);
    expect(empty.get('ledger/events.jsonl')!.length).toBe(0);

    const future = await exportAndWait(gw, actor.token, { filter: { time_start: '2099-01-01T00:00:00Z', includes: ['audit'] } });
    expect((await entries((await download(gw, future.job.id, future.created.download_token!)).bytes)).get('audit_events.jsonl')!.length).toBe(0);
  });

  it('refuses bad input in REST words, before anything is queued', async () => {
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await rest(gw, 'POST', '/v1/compliance/audit-exports', body, { token: actor.token });
      expectError(res, 400, 'invalid_request');
      expect(JSON.stringify(res.body.error.details.issues)).toContain(field);
    };
    await bad({ filter: { includes: ['everything'] } }, 'filter.includes');
    await bad({ filter: { time_start: '2026-02-01T00:00:00Z', time_end: '2026-01-01T00:00:00Z' } }, 'filter.time_end');
    await bad({ filter: { time_start: 'yesterday' } }, 'filter.time_start');
    await bad({ retention_hours: 0 }, 'retention_hours');
    await bad({ retention_hours: 721 }, 'retention_hours');
    await bad({ disclosure_tier: 'everything' }, 'disclosure_tier');
  });

  it('is closed to agents, PATs and read-only members; another tenant’s job is a 404 everywhere', async () => {
    const reader = await addMember(gw, actor.org, 'read_only');
    expectError(await rest(gw, 'POST', '/v1/compliance/audit-exports', { filter: {} }, { token: reader.token.sandbox }), 403, 'forbidden');
    const { job } = await exportAndWait(gw, actor.token, { filter: { includes: ['guardrails'] } });
    expect((await rest(gw, 'GET', `/v1/compliance/audit-exports/${job.id}`, undefined, { token: reader.token.sandbox })).status).toBe(200);

    const other = await createOrg(gw);
    for (const [method, path] of [
      ['GET', `/v1/compliance/audit-exports/${job.id}`],
      ['DELETE', `/v1/compliance/audit-exports/${job.id}`],
      ['POST', `/v1/compliance/audit-exports/${job.id}/verify`],
    ] as const) {
      expectError(await rest(gw, method, path, undefined, { token: other.apiKey.sandbox }), 404, 'not_found');
    }
    const list = await rest(gw, 'GET', '/v1/compliance/audit-exports', undefined, { token: other.apiKey.sandbox });
    expect(list.body).toEqual({ tenant_realm_id: other.tenants.sandbox, jobs: [], next_cursor: null });
  });

  it('pages the list with limit and cursor, newest first, and filters by status', async () => {
    const org = await createOrg(gw);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await exportAndWait(gw, org.apiKey.live, { filter: { includes: ['guardrails'] } })).job.id);
    const first = await rest(gw, 'GET', '/v1/compliance/audit-exports?limit=2', undefined, { token: org.apiKey.live });
    expect(first.body.jobs.map((j: ExportJob) => j.id)).toEqual([ids[2], ids[1]]);
    const second = await rest(gw, 'GET', `/v1/compliance/audit-exports?limit=2&cursor=${first.body.next_cursor}`, undefined, { token: org.apiKey.live });
    expect(second.body).toMatchObject({ jobs: [{ id: ids[0] }], next_cursor: null });
    await rest(gw, 'DELETE', `/v1/compliance/audit-exports/${ids[1]}`, undefined, { token: org.apiKey.live });
    const deleted = await rest(gw, 'GET', '/v1/compliance/audit-exports?status=deleted', undefined, { token: org.apiKey.live });
    expect(deleted.body.jobs.map((j: ExportJob) => j.id)).toEqual([ids[1]]);
    expectError(await rest(gw, 'GET', '/v1/compliance/audit-exports?limit=201', undefined, { token: org.apiKey.live }), 400, 'invalid_request');
  });

  it('has GraphQL twins: jobs as a connection with status, one job with a fresh token, and the signed checkpoints', async () => {
    const { job } = await exportAndWait(gw, actor.token, { filter: { includes: ['ledger'] } });
    const data = await gqlOk(
      gw,
      `query($id: String!) {
        auditExports(first: 50, status: ready) { tenantRealmId totalCount edges { node { jobId status bundleSha256 } } }
        auditExport(jobId: $id, issueDownload: true) { job { id jobId status checkpointTreeSize } downloadToken downloadTokenExpiresAt }
        ledgerCheckpoints(first: 1) { edges { node { treeSize origin signingPublicKeyHex verifierKey reason } } }
      }`,
      { id: job.id },
      { token: actor.token },
    );
    expect(data.auditExports.tenantRealmId).toBe(actor.tenantId);
    expect(data.auditExports.edges.map((e: any) => e.node.jobId)).toContain(job.id);
    expect(data.auditExports.edges.every((e: any) => e.node.status === 'ready')).toBe(true);
    expect(data.auditExport.job).toMatchObject({ jobId: job.id, status: 'ready', checkpointTreeSize: 4 });
    expect(data.auditExport.downloadToken).toMatch(/^eyJ/);
    expect(data.ledgerCheckpoints.edges[0].node).toMatchObject({ treeSize: 4, signingPublicKeyHex: gw.runtime.keys.signing.publicKeyHex, origin: `paybond-gateway/paybond/ledger/${actor.tenantId}` });
    expect(data.ledgerCheckpoints.edges[0].node.verifierKey).toMatch(new RegExp(`^paybond-gateway/paybond/ledger/${actor.tenantId}\\+[0-9a-f]{8}\\+`));

    const node = await gqlOk(gw, 'query($id: ID!) { node(id: $id) { ... on AuditExport { jobId } } }', { id: data.auditExport.job.id }, { token: actor.token });
    expect(node.node).toEqual({ jobId: job.id });
    const foreign = await gqlOk(gw, 'query($id: ID!) { node(id: $id) { id } }', { id: data.auditExport.job.id }, { token: (await createOrg(gw)).apiKey.sandbox });
    expect(foreign.node).toBeNull();
  });
});
