import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { harborActor, type HarborActor } from '../helpers/harbor.ts';
import { verifyBundle } from '../../src/evidence/index.ts';
import { readZip } from '../evidence/zip-tools.ts';
import { download, exportAndWait, writeTemp } from '../compliance/helpers.ts';
import { casePath, disputedIntent, newCase } from './helpers.ts';

/** The `disputes` category of compliance exports: cases with their history, narrowed by the export filter. */
let gw: TestGateway;
let org: TestOrg;
let actor: HarborActor;
let linkedId: string;
let plainId: string;
let intentId: string;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  actor = await harborActor(gw, org);
  intentId = await disputedIntent(gw, actor);
  const admin = { token: org.admin.token.sandbox };
  linkedId = (await rest(gw, 'POST', '/v1/disputes/cases/link-disputed-intent', { intent_id: intentId }, admin)).body.case_id;
  await rest(gw, 'POST', casePath(linkedId, '/notes'), { body: 'Reached the payee at payee@example.com' }, admin);
  await rest(gw, 'POST', casePath(linkedId, '/assign'), { assignee_id: org.admin.userId }, admin);
  await rest(gw, 'POST', casePath(linkedId, '/evidence'), { uri: 'https://files.example.com/a.pdf', sha256: 'ab'.repeat(32), media_type: 'application/pdf' }, admin);
  plainId = (await newCase(gw, org)).case_id;
  await rest(gw, 'POST', casePath(plainId, '/notes'), { body: 'Unrelated' }, admin);
  // Another tenant's case must never appear.
  await newCase(gw, await createOrg(gw));
});
afterAll(() => gw.close());

const lines = (data: Buffer | undefined) => (data ? data.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);

async function exported(filter: Record<string, unknown>) {
  const { job, created } = await exportAndWait(gw, org.apiKey.sandbox, { filter: { includes: ['disputes'], ...filter } });
  expect(job.status).toBe('ready');
  const bytes = (await download(gw, job.id, created.download_token!)).bytes;
  const file = writeTemp('disputes.zip', bytes);
  expect((await verifyBundle(file, { publicKey: new Uint8Array(Buffer.from(gw.runtime.keys.signing.publicKeyHex, 'hex')) })).failures).toEqual([]);
  return new Map((await readZip(file)).map((e) => [e.name, e.data]));
}

describe('compliance exports: the disputes category', () => {
  it('exports the tenant’s cases with notes, evidence references and assignments (standard tier redacts free text)', async () => {
    const files = await exported({});
    expect([...files.keys()].sort()).toEqual(['dispute_case_assignments.jsonl', 'dispute_case_evidence.jsonl', 'dispute_case_notes.jsonl', 'dispute_cases.jsonl', 'manifest.json']);
    expect(lines(files.get('dispute_cases.jsonl')).map((c) => c.id)).toEqual([linkedId, plainId]);
    expect(lines(files.get('dispute_case_notes.jsonl'))).toHaveLength(2);
    expect(files.get('dispute_case_notes.jsonl')!.toString('utf8')).not.toContain('payee@example.com');
    expect(lines(files.get('dispute_case_evidence.jsonl'))).toEqual([expect.objectContaining({ case_id: linkedId, kind: 'external' })]);
    expect(lines(files.get('dispute_case_assignments.jsonl'))).toEqual([expect.objectContaining({ case_id: linkedId })]);
  });

  it('narrows to one case (case_id) or to the cases of one intent (intent_id)', async () => {
    const byCase = await exported({ case_id: plainId });
    expect(lines(byCase.get('dispute_cases.jsonl')).map((c) => c.id)).toEqual([plainId]);
    expect(lines(byCase.get('dispute_case_notes.jsonl')).map((n) => n.case_id)).toEqual([plainId]);
    expect(lines(byCase.get('dispute_case_evidence.jsonl'))).toEqual([]);
    const byIntent = await exported({ intent_id: intentId });
    expect(lines(byIntent.get('dispute_cases.jsonl')).map((c) => c.id)).toEqual([linkedId]);
    expect(lines(byIntent.get('dispute_case_notes.jsonl')).map((n) => n.case_id)).toEqual([linkedId]);
    const future = await exported({ time_start: '2099-01-01T00:00:00Z' });
    expect(lines(future.get('dispute_cases.jsonl'))).toEqual([]);
  });
});
