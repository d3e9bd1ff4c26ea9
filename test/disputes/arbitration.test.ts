import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg, type TestUser } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedEvidence, fundedIntent, type HarborActor } from '../helpers/harbor.ts';
import { ARBITRATION_PACKAGE_KIND, verifyBundle } from '../../src/evidence/index.ts';
import { entryDataRange, flipByte, readZip } from '../evidence/zip-tools.ts';
import { createPat } from '../helpers/agent.ts';
import { tempFile } from '../compliance/helpers.ts';
import { casePath, newCase } from './helpers.ts';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** paybond-verify as a child process, pinned to the gateway's key. */
async function cli(file: string, key: string): Promise<{ code: number; report: { ok: boolean; failures: Array<{ check: string }> } }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(root, 'bin/paybond-verify.mjs'), file, '--key', key, '--json'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    return { code: 0, report: JSON.parse(stdout) };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, report: JSON.parse(e.stdout) };
  }
}

let gw: TestGateway;
let org: TestOrg;
let other: TestOrg;
let actor: HarborActor;
let reader: TestUser;
let intentId: string;
let caseId: string;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  other = await createOrg(gw);
  actor = await harborActor(gw, org);
  reader = await addMember(gw, org, 'read_only');
  // Unrelated events before and after, so the package proves a subset of the tenant's ledger.
  await fundedIntent(gw, actor);
  ({ intentId } = await fundedIntent(gw, actor, { amountCents: 4000 }));
  await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'failed' }));
  await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/open`, { reason: 'tool output did not match' });
  await fundedIntent(gw, actor);
  const admin = { token: org.admin.token.sandbox };
  const linked = await rest(gw, 'POST', '/v1/disputes/cases/link-disputed-intent', { intent_id: intentId, title: 'Booking never confirmed' }, admin);
  caseId = linked.body.case_id;
  await rest(gw, 'POST', casePath(caseId, '/notes'), { body: 'Payee says the vendor was down; contact ops@payee.example.com' }, admin);
  const opened = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: actor.tenantId, intentId, type: 'dispute.opened' } });
  await rest(gw, 'POST', casePath(caseId, '/evidence'), { ledger_seq: opened.seq, sha256: opened.hash }, admin);
  await rest(gw, 'POST', casePath(caseId, '/evidence'), { uri: 'https://files.example.com/log.txt', sha256: 'cd'.repeat(32), media_type: 'text/plain' }, admin);
  await rest(gw, 'POST', casePath(caseId, '/assign'), { assignee_id: org.admin.userId }, admin);
  await rest(gw, 'POST', casePath(caseId, '/resolve'), { outcome: 'payer_wins', rationale: 'No delivery evidence' }, admin);
});
afterAll(() => gw.close());

const key = () => gw.runtime.keys.signing.publicKeyHex;

async function download(id: string, token: string, query = '') {
  const response = await gw.app.fetch(`http://gateway${casePath(id, '/export/arbitration')}${query}`, { headers: { authorization: `Bearer ${token}` } });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(bytes.toString('utf8')) : undefined };
}

describe('GET /v1/disputes/cases/{case_id}/export/arbitration', () => {
  let file: string;
  let bytes: Buffer;
  beforeAll(async () => {
    const res = await download(caseId, org.admin.token.sandbox);
    expect(res.status, res.bytes.toString('utf8').slice(0, 300)).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-length')).toBe(String(res.bytes.length));
    expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="paybond-arbitration-${caseId}-arb_[A-Za-z0-9]+\\.zip"$`));
    expect(res.headers.get('ratelimit-policy')).toBeTruthy();
    bytes = res.bytes;
    file = tempFile('arbitration.zip');
    fs.writeFileSync(file, bytes);
  });

  it('is a signed arbitration bundle with the case, its history, the intent and its ledger events with inclusion proofs', async () => {
    const report = await verifyBundle(file, { publicKey: new Uint8Array(Buffer.from(key(), 'hex')) });
    expect(report.failures).toEqual([]);
    expect(report.manifest).toMatchObject({ kind: ARBITRATION_PACKAGE_KIND, tenantRealmId: actor.tenantId, disclosureTier: 'standard' });
    const events = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: actor.tenantId, intentId }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['intent.created', 'funding.succeeded', 'evidence.submitted', 'dispute.opened', 'dispute.resolved']);
    expect(report.ledger).toMatchObject({ events: events.length, proofMode: 'inclusion' });
    const entries = Object.fromEntries((await readZip(file)).map((e) => [e.name, e.data.toString('utf8')]));
    expect(Object.keys(entries).sort()).toEqual(
      ['assignments.jsonl', 'case.jsonl', 'evidence_references.jsonl', 'intent.jsonl', 'intent_evidence.jsonl', 'ledger/checkpoint.txt', 'ledger/events.jsonl', 'manifest.json', 'notes.jsonl'].sort(),
    );
    const manifest = JSON.parse(entries['manifest.json']!);
    expect(manifest.export_filter).toEqual({ case_id: caseId });
    const caseRow = JSON.parse(entries['case.jsonl']!.trim());
    expect(caseRow).toMatchObject({ id: caseId, status: 'resolved', outcome: 'payer_wins', dispute_intent_id: intentId });
    expect(entries['notes.jsonl']!.trim().split('\n')).toHaveLength(1);
    // Standard tier: personal data in free text is replaced by keyed hashes.
    expect(entries['notes.jsonl']).not.toContain('ops@payee.example.com');
    expect(entries['evidence_references.jsonl']!.trim().split('\n').map((l) => JSON.parse(l).kind)).toEqual(['ledger_event', 'external']);
    expect(JSON.parse(entries['intent.jsonl']!.trim())).toMatchObject({ intent_id: intentId, state: 'resolved', dispute_outcome: 'refund' });
    expect(entries['intent_evidence.jsonl']!.trim().split('\n')).toHaveLength(1);
    expect(entries['ledger/events.jsonl']!.trim().split('\n').map((l) => JSON.parse(l).event.seq)).toEqual(events.map((e) => e.seq));
    const audit = await gw.runtime.db.auditEvent.findFirstOrThrow({ where: { resourceId: caseId, eventType: 'disputes.arbitration_exported' } });
    expect(audit.details).toMatchObject({ bundle_sha256: res256(bytes), disclosure_tier: 'standard' });
  });

  it('verifies with paybond-verify, and fails after a one-byte change in any entry', async () => {
    const good = await cli(file, key());
    expect(good.code, JSON.stringify(good.report.failures)).toBe(0);
    expect(good.report.ok).toBe(true);
    // One changed byte in the stored data of each entry (artifacts, checkpoint, ledger rows, manifest).
    for (const { name } of await readZip(file)) {
      const { start, length } = await entryDataRange(file, name);
      const tampered = tempFile(`tampered-${name.replace(/\//g, '_')}`);
      flipByte(file, tampered, start + Math.floor(length / 2));
      const bad = await cli(tampered, key());
      expect(bad.code, name).toBe(1);
      expect(bad.report.ok).toBe(false);
    }
    // Pinned to another key, the genuine package is refused too.
    expect((await cli(file, 'ab'.repeat(32))).code).toBe(1);
  });

  it('a case without an intent: a package without ledger, still signed and verifiable', async () => {
    const plain = await newCase(gw, org, { title: 'No intent', reason: 'Manual complaint' });
    const res = await download(plain.case_id, org.apiKey.sandbox);
    expect(res.status).toBe(200);
    const plainFile = tempFile('plain.zip');
    fs.writeFileSync(plainFile, res.bytes);
    expect((await cli(plainFile, key())).code).toBe(0);
    const names = (await readZip(plainFile)).map((e) => e.name);
    expect(names).not.toContain('ledger/events.jsonl');
    expect(names).toContain('case.jsonl');
  });

  it('read-only members may download; extended disclosure needs a tenant admin', async () => {
    expect((await download(caseId, reader.token.sandbox)).status).toBe(200);
    const denied = await download(caseId, reader.token.sandbox, '?disclosure_tier=extended');
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
    const extended = await download(caseId, org.admin.token.sandbox, '?disclosure_tier=extended');
    expect(extended.status).toBe(200);
    const extendedFile = tempFile('extended.zip');
    fs.writeFileSync(extendedFile, extended.bytes);
    const notes = (await readZip(extendedFile)).find((e) => e.name === 'notes.jsonl')!;
    expect(notes.data.toString('utf8')).toContain('ops@payee.example.com');
    expect((await cli(extendedFile, key())).code).toBe(0);
  });

  it('404 for another tenant’s case or an unknown one; 401 without a credential; 403 for agents; 400 for a bad tier', async () => {
    expectError(await rest(gw, 'GET', casePath(caseId, '/export/arbitration'), undefined, { token: other.admin.token.sandbox }), 404, 'not_found');
    expectError(await rest(gw, 'GET', casePath('dsc_unknown', '/export/arbitration'), undefined, { token: org.admin.token.sandbox }), 404, 'not_found');
    expectError(await rest(gw, 'GET', casePath(caseId, '/export/arbitration')), 401, 'unauthenticated');
    expectError(await rest(gw, 'GET', `${casePath(caseId, '/export/arbitration')}?disclosure_tier=everything`, undefined, { token: org.admin.token.sandbox }), 400, 'invalid_request');
    const pat = await createPat(gw, org, 'sandbox');
    expectError(await rest(gw, 'GET', casePath(caseId, '/export/arbitration'), undefined, { token: pat.token }), 403, 'forbidden');
  });

  it('is rate limited per tenant as dispute_arbitration_export (tenant override), 429 with Retry-After', async () => {
    const limited = await createOrg(gw);
    const created = await newCase(gw, limited);
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { dispute_arbitration_export: { limit: 1, window_seconds: 3600 } } }, { token: limited.admin.token.sandbox });
    expect((await download(created.case_id, limited.admin.token.sandbox)).status).toBe(200);
    const refused = await rest(gw, 'GET', casePath(created.case_id, '/export/arbitration'), undefined, { token: limited.admin.token.sandbox });
    expectError(refused, 429, 'rate_limited');
    expect(refused.headers.get('retry-after')).toBeTruthy();
  });
});

const res256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
