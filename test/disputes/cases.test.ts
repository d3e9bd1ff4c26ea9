import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg, type TestUser } from '../helpers/factories.ts';
import { agentSession } from '../helpers/agent.ts';
import { createIntent, harborActor, harborWrite, signedEvidence, fundedIntent, type HarborActor } from '../helpers/harbor.ts';
import { casePath, disputedIntent, newCase } from './helpers.ts';

let gw: TestGateway;
let org: TestOrg;
let other: TestOrg;
let actor: HarborActor;
let otherActor: HarborActor;
let reader: TestUser;
let reviewer: TestUser;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  other = await createOrg(gw);
  actor = await harborActor(gw, org);
  otherActor = await harborActor(gw, other);
  reader = await addMember(gw, org, 'read_only');
  reviewer = await addMember(gw, org, 'tenant_admin', ['tenant.admin']);
});
afterAll(() => gw.close());

const admin = () => ({ token: org.admin.token.sandbox });
const post = (path: string, body: unknown, options: { token: string; headers?: Record<string, string> } = admin()) => rest(gw, 'POST', path, body, options);
const audits = (caseId: string) => gw.runtime.db.auditEvent.findMany({ where: { resourceId: caseId }, orderBy: { createdAt: 'asc' } });
const underReview = async (body: Record<string, unknown> = {}) => {
  const created = await newCase(gw, org, body);
  const res = await post(casePath(created.case_id, '/assign'), { assignee_id: reviewer.userId });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

describe('POST /v1/disputes/cases', () => {
  it('creates an open case (201), audited in the same write', async () => {
    const res = await post('/v1/disputes/cases', { title: 'Vendor did not deliver', reason: 'No booking confirmation', amount_cents: 2500, currency: 'USD', priority: 'high' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: 'open', priority: 'high', amount_cents: 2500, currency: 'usd', intent_id: null, linked: false, assignee_id: null, notes: [], evidence: [], assignments: [], intent: null });
    expect(res.body.case_id).toMatch(/^dsc_/);
    expect(res.body.created_by).toBe(`user:${org.admin.userId}`);
    expect((await audits(res.body.case_id)).map((a) => a.eventType)).toEqual(['disputes.case_created']);
  });

  it('takes the intent’s amount and currency by default and refuses more than the intent holds', async () => {
    const { intent_id } = await createIntent(gw, actor, { amountCents: 4200 });
    const created = await newCase(gw, org, { intent_id: intent_id.toUpperCase() });
    expect(created).toMatchObject({ intent_id, amount_cents: 4200, currency: 'usd', intent: { intent_id, state: 'created', amount_cents: 4200 } });
    const partial = await newCase(gw, org, { intent_id, amount_cents: 1000 });
    expect(partial.amount_cents).toBe(1000);
    expectError(await post('/v1/disputes/cases', { title: 'Too much', reason: 'More than held', intent_id, amount_cents: 4201 }), 422, 'case_amount_invalid');
    expectError(await post('/v1/disputes/cases', { title: 'Wrong currency', reason: 'Not the intent currency', intent_id, currency: 'eur' }), 422, 'case_amount_invalid');
  });

  it('404 for an unknown intent and for another tenant’s intent', async () => {
    expectError(await post('/v1/disputes/cases', { title: 'Unknown', reason: 'No such intent', intent_id: '00000000-0000-4000-8000-000000000000' }), 404, 'not_found');
    const { intent_id } = await createIntent(gw, otherActor);
    expectError(await post('/v1/disputes/cases', { title: 'Foreign', reason: 'Another tenant', intent_id }), 404, 'not_found');
  });

  it('400 for bad input, with the REST field name', async () => {
    const short = await post('/v1/disputes/cases', { title: 'x', reason: 'No booking confirmation' });
    expectError(short, 400, 'invalid_request');
    expect(JSON.stringify(short.body)).toContain('title');
    expectError(await post('/v1/disputes/cases', { title: 'No currency', reason: 'Amount alone', amount_cents: 100 }), 400, 'invalid_request');
    expectError(await post('/v1/disputes/cases', { title: 'Priority', reason: 'Unknown priority', priority: 'asap' }), 400, 'invalid_request');
    expectError(await post('/v1/disputes/cases', { title: 'Negative', reason: 'Negative amount', amount_cents: -5, currency: 'usd' }), 400, 'invalid_request');
  });

  it('401 without a credential; 403 for read-only members, PATs and agents (before the body is read)', async () => {
    expectError(await rest(gw, 'POST', '/v1/disputes/cases', { title: 'Anonymous', reason: 'No credential' }), 401, 'unauthenticated');
    expectError(await post('/v1/disputes/cases', { title: 'x' }, { token: reader.token.sandbox }), 403, 'forbidden');
    const agent = await agentSession(gw, org, 'sandbox');
    expectError(await post('/v1/disputes/cases', { title: 'Agent case', reason: 'Agents do not manage cases' }, { token: agent.pat }), 403, 'forbidden');
    expectError(await post('/v1/disputes/cases', { title: 'Agent case', reason: 'Agents do not manage cases' }, { token: agent.token }), 403, 'forbidden');
  });

  it('accepts the tenant’s API key; x-tenant-id of another tenant is a 401', async () => {
    const res = await post('/v1/disputes/cases', { title: 'From a service', reason: 'Automated intake' }, { token: org.apiKey.sandbox });
    expect(res.status).toBe(201);
    expect(res.body.created_by).toBe(`api_key:${org.apiKeyId.sandbox}`);
    expectError(await post('/v1/disputes/cases', { title: 'Mismatch', reason: 'Header of another tenant' }, { token: org.apiKey.sandbox, headers: { 'x-tenant-id': other.tenants.sandbox } }), 401, 'tenant_mismatch');
  });

  it('replays an Idempotency-Key: one case, the same answer', async () => {
    const headers = { 'idempotency-key': `case-${Date.now()}` };
    const body = { title: 'Idempotent case', reason: 'Sent twice by a retrying client' };
    const first = await post('/v1/disputes/cases', body, { ...admin(), headers });
    const second = await post('/v1/disputes/cases', body, { ...admin(), headers });
    expect(first.status).toBe(201);
    expect(second.body.case_id).toBe(first.body.case_id);
    expect(await gw.runtime.db.disputeCase.count({ where: { tenantId: org.tenants.sandbox, title: 'Idempotent case' } })).toBe(1);
    expectError(await post('/v1/disputes/cases', { ...body, reason: 'Another body under the same key' }, { ...admin(), headers }), 422, 'idempotency_key_mismatch');
  });
});

describe('POST /v1/disputes/cases/link-disputed-intent', () => {
  it('creates a linked case for an open Harbor dispute, pointing at its dispute.opened event', async () => {
    const intentId = await disputedIntent(gw, actor, 3000);
    const res = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId, priority: 'urgent' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const opened = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: actor.tenantId, intentId, type: 'dispute.opened' } });
    expect(res.body).toMatchObject({ status: 'open', linked: true, intent_id: intentId, amount_cents: 3000, priority: 'urgent', dispute_ledger_seq: opened.seq, intent: { state: 'disputed' } });
    expect((await audits(res.body.case_id)).map((a) => a.eventType)).toEqual(['disputes.case_created', 'disputes.case_linked']);
  });

  it('one case per dispute: a second link is a 409, through either form', async () => {
    const intentId = await disputedIntent(gw, actor);
    const first = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    expect(first.status).toBe(200);
    const again = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    expectError(again, 409, 'dispute_already_linked');
    expect(again.body.error.details.case_id).toBe(first.body.case_id);
    const spare = await newCase(gw, org);
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId, case_id: spare.case_id }), 409, 'dispute_already_linked');
  });

  it('links an existing open case (adopting the intent), and refuses a case already linked or about another intent', async () => {
    const intentId = await disputedIntent(gw, actor, 1800);
    const spare = await newCase(gw, org, { priority: 'low' });
    const res = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId, case_id: spare.case_id });
    expect(res.body).toMatchObject({ case_id: spare.case_id, linked: true, intent_id: intentId, amount_cents: 1800, currency: 'usd', priority: 'low' });
    const second = await disputedIntent(gw, actor);
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: second, case_id: spare.case_id }), 409, 'case_already_linked');
    const { intent_id: otherIntent } = await createIntent(gw, actor);
    const about = await newCase(gw, org, { intent_id: otherIntent });
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: second, case_id: about.case_id }), 422, 'case_intent_mismatch');
  });

  it('409 dispute_not_open for an intent without an open dispute (never disputed, or resolved)', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const res = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    expectError(res, 409, 'dispute_not_open');
    expect(res.body.error.details.state).toBe('funded');
    const resolved = await disputedIntent(gw, actor);
    await harborWrite(gw, actor, `/harbor/operator/v1/intents/${resolved}/dispute/resolve`, { outcome: 'refund', rationale: 'resolved in Harbor' });
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: resolved }), 409, 'dispute_not_open');
  });

  it('404 for another tenant’s intent or case; 400 without intent_id; 403 for read-only members', async () => {
    const foreign = await disputedIntent(gw, otherActor);
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: foreign }), 404, 'not_found');
    const theirs = await newCase(gw, other);
    const mine = await disputedIntent(gw, actor);
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: mine, case_id: theirs.case_id }), 404, 'not_found');
    expectError(await post('/v1/disputes/cases/link-disputed-intent', {}), 400, 'invalid_request');
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: mine }, { token: reader.token.sandbox }), 403, 'forbidden');
    // Nothing was linked by the refused attempts.
    expect(await gw.runtime.db.disputeCase.count({ where: { disputeIntentId: mine } })).toBe(0);
  });
});

describe('GET /v1/disputes/cases and /v1/disputes/cases/{case_id}', () => {
  let listOrg: TestOrg;
  let listActor: HarborActor;
  const ids: string[] = [];
  let intentId: string;
  beforeAll(async () => {
    listOrg = await createOrg(gw);
    listActor = await harborActor(gw, listOrg);
    intentId = (await createIntent(gw, listActor)).intent_id;
    for (let i = 0; i < 5; i++) ids.push((await newCase(gw, listOrg, { title: `Case ${i}`, ...(i % 2 ? { intent_id: intentId } : {}) })).case_id);
    await rest(gw, 'POST', casePath(ids[0]!, '/assign'), { assignee_id: listOrg.admin.userId }, { token: listOrg.admin.token.sandbox });
    await newCase(gw, other, { title: 'Another tenant’s case' });
  });
  const list = (query = '', token = listOrg.admin.token.sandbox) => rest(gw, 'GET', `/v1/disputes/cases${query}`, undefined, { token });

  it('lists the tenant’s cases newest first with total_count (never another tenant’s)', async () => {
    const res = await list();
    expect(res.status).toBe(200);
    expect(res.body.cases.map((c: { case_id: string }) => c.case_id)).toEqual([...ids].reverse());
    expect(res.body.total_count).toBe(5);
    expect(res.body.cases[0]).not.toHaveProperty('notes');
  });

  it('filters by status and intent_id', async () => {
    expect((await list('?status=under_review')).body.cases.map((c: { case_id: string }) => c.case_id)).toEqual([ids[0]]);
    const byIntent = await list(`?intent_id=${intentId}`);
    expect(byIntent.body.cases.map((c: { case_id: string }) => c.case_id)).toEqual([ids[3], ids[1]]);
    expect(byIntent.body.total_count).toBe(2);
    expect((await list('?status=resolved')).body.cases).toEqual([]);
  });

  it('pages with limit and offset, and with the cursor', async () => {
    const page = await list('?limit=2&offset=1');
    expect(page.body.cases.map((c: { case_id: string }) => c.case_id)).toEqual([ids[3], ids[2]]);
    expect(page.body.next_cursor).toBeTruthy();
    const first = await list('?limit=2');
    const next = await list(`?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(next.body.cases.map((c: { case_id: string }) => c.case_id)).toEqual([ids[2], ids[1]]);
    const last = await list('?limit=2&offset=4');
    expect(last.body.cases.map((c: { case_id: string }) => c.case_id)).toEqual([ids[0]]);
    expect(last.body.next_cursor).toBeNull();
  });

  it('400 for bad query parameters', async () => {
    expectError(await list('?status=closed'), 400, 'invalid_request');
    expectError(await list('?limit=0'), 400, 'invalid_request');
    expectError(await list('?offset=-1'), 400, 'invalid_request');
    const first = await list('?limit=1');
    expectError(await list(`?offset=2&cursor=${encodeURIComponent(first.body.next_cursor)}`), 400, 'invalid_request');
  });

  it('read-only members and API keys read; no credential is a 401', async () => {
    const members = await addMember(gw, listOrg, 'read_only');
    expect((await list('', members.token.sandbox)).body.total_count).toBe(5);
    expect((await list('', listOrg.apiKey.sandbox)).body.total_count).toBe(5);
    expect((await rest(gw, 'GET', casePath(ids[1]!), undefined, { token: members.token.sandbox })).status).toBe(200);
    expectError(await rest(gw, 'GET', '/v1/disputes/cases'), 401, 'unauthenticated');
  });

  it('detail: the case with notes, evidence, assignment history and the intent’s state', async () => {
    const res = await rest(gw, 'GET', casePath(ids[0]!), undefined, { token: listOrg.admin.token.sandbox });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ case_id: ids[0], status: 'under_review', assignee_id: listOrg.admin.userId, notes: [], evidence: [], intent: null });
    expect(res.body.assignments).toEqual([expect.objectContaining({ assignee_id: listOrg.admin.userId, previous_assignee_id: null, assigned_by: listOrg.admin.userId })]);
    const withIntent = await rest(gw, 'GET', casePath(ids[1]!), undefined, { token: listOrg.admin.token.sandbox });
    expect(withIntent.body.intent).toMatchObject({ intent_id: intentId, state: 'created' });
  });

  it('detail: 404 for another tenant’s case and for an unknown one', async () => {
    expectError(await rest(gw, 'GET', casePath(ids[0]!), undefined, { token: org.admin.token.sandbox }), 404, 'not_found');
    expectError(await rest(gw, 'GET', casePath(ids[0]!), undefined, { token: listOrg.admin.token.live }), 404, 'not_found');
    expectError(await rest(gw, 'GET', casePath('dsc_unknown'), undefined, { token: listOrg.admin.token.sandbox }), 404, 'not_found');
  });
});

describe('POST /v1/disputes/cases/{case_id}/assign', () => {
  it('assigns to a member: open → under_review, with the history; reassigning keeps it under review', async () => {
    const created = await newCase(gw, org);
    const first = await post(casePath(created.case_id, '/assign'), { assignee_id: reviewer.userId });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'under_review', assignee_id: reviewer.userId });
    // A read-only member may be assigned (they read the case); assignment itself needs write access.
    const second = await post(casePath(created.case_id, '/assign'), { assignee_id: reader.userId });
    expect(second.body).toMatchObject({ status: 'under_review', assignee_id: reader.userId });
    expect(second.body.assignments.map((a: { assignee_id: string; previous_assignee_id: string | null }) => [a.assignee_id, a.previous_assignee_id])).toEqual([
      [reviewer.userId, null],
      [reader.userId, reviewer.userId],
    ]);
    expect((await audits(created.case_id)).map((a) => a.eventType)).toEqual(['disputes.case_created', 'disputes.case_assigned', 'disputes.case_assigned']);
  });

  it('422 assignee_not_member for a user of another organization or an unknown user; nothing changes', async () => {
    const created = await newCase(gw, org);
    expectError(await post(casePath(created.case_id, '/assign'), { assignee_id: other.admin.userId }), 422, 'assignee_not_member');
    expectError(await post(casePath(created.case_id, '/assign'), { assignee_id: 'usr_nobody' }), 422, 'assignee_not_member');
    const after = await rest(gw, 'GET', casePath(created.case_id), undefined, admin());
    expect(after.body).toMatchObject({ status: 'open', assignee_id: null, assignments: [] });
  });

  it('404 for another tenant’s case, 400 without assignee_id, 403 for read-only members', async () => {
    const theirs = await newCase(gw, other);
    expectError(await post(casePath(theirs.case_id, '/assign'), { assignee_id: org.admin.userId }), 404, 'not_found');
    const created = await newCase(gw, org);
    expectError(await post(casePath(created.case_id, '/assign'), {}), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/assign'), { assignee_id: reader.userId }, { token: reader.token.sandbox }), 403, 'forbidden');
  });
});

describe('POST /v1/disputes/cases/{case_id}/notes', () => {
  it('appends notes with author and time (201), in order', async () => {
    const created = await newCase(gw, org);
    const first = await post(casePath(created.case_id, '/notes'), { body: 'Asked the vendor for the booking log.' });
    expect(first.status).toBe(201);
    expect(first.body.note).toMatchObject({ body: 'Asked the vendor for the booking log.', author_type: 'user', author_id: org.admin.userId });
    expect(first.body.note.note_id).toMatch(/^dsn_/);
    const second = await post(casePath(created.case_id, '/notes'), { body: 'Vendor answered: contact ops@vendor.example.com' }, { token: org.apiKey.sandbox });
    expect(second.body.notes.map((n: { author_type: string }) => n.author_type)).toEqual(['user', 'api_key']);
    expect(second.body.case_id).toBe(created.case_id);
    // The audit trail records the note, not its text (which may hold personal data).
    const audit = (await audits(created.case_id)).find((a) => a.eventType === 'disputes.note_added')!;
    expect(JSON.stringify(audit.details)).not.toContain('booking log');
  });

  it('is append-only: no edit or delete route, and the database refuses both', async () => {
    const created = await newCase(gw, org);
    const added = await post(casePath(created.case_id, '/notes'), { body: 'First note' });
    expectError(await rest(gw, 'DELETE', casePath(created.case_id, '/notes'), undefined, admin()), 405, 'method_not_allowed');
    expectError(await rest(gw, 'PUT', casePath(created.case_id, '/notes'), { body: 'Edited' }, admin()), 405, 'method_not_allowed');
    expectError(await rest(gw, 'DELETE', casePath(created.case_id, `/notes/${added.body.note.note_id}`), undefined, admin()), 404, 'route_not_found');
    await expect(gw.runtime.db.disputeCaseNote.update({ where: { id: added.body.note.note_id }, data: { body: 'Edited' } })).rejects.toThrow(/append-only/);
    await expect(gw.runtime.db.disputeCaseNote.delete({ where: { id: added.body.note.note_id } })).rejects.toThrow(/append-only/);
  });

  it('400 for an empty note, 404 for another tenant’s case, 403 for read-only members', async () => {
    const created = await newCase(gw, org);
    expectError(await post(casePath(created.case_id, '/notes'), { body: '   ' }), 400, 'invalid_request');
    const theirs = await newCase(gw, other);
    expectError(await post(casePath(theirs.case_id, '/notes'), { body: 'Not mine' }), 404, 'not_found');
    expectError(await post(casePath(created.case_id, '/notes'), { body: 'Read-only' }, { token: reader.token.sandbox }), 403, 'forbidden');
  });
});

describe('POST /v1/disputes/cases/{case_id}/evidence', () => {
  it('attaches a ledger event by seq, checking its hash when given', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const created = await newCase(gw, org, { intent_id: intentId });
    const event = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: actor.tenantId, intentId, type: 'funding.succeeded' } });
    const bySeq = await post(casePath(created.case_id, '/evidence'), { ledger_seq: event.seq, description: 'Funding' });
    expect(bySeq.status, JSON.stringify(bySeq.body)).toBe(201);
    expect(bySeq.body.evidence_reference).toMatchObject({ kind: 'ledger_event', ledger_seq: event.seq, sha256: event.hash, ledger_type: 'funding.succeeded', intent_id: intentId, description: 'Funding' });
    const byHash = await post(casePath(created.case_id, '/evidence'), { kind: 'ledger_event', ledger_seq: event.seq, sha256: event.hash.toUpperCase() });
    expect(byHash.status).toBe(201);
    expect(byHash.body.evidence).toHaveLength(2);
    expectError(await post(casePath(created.case_id, '/evidence'), { ledger_seq: event.seq, sha256: 'f'.repeat(64) }), 422, 'evidence_hash_mismatch');
    expectError(await post(casePath(created.case_id, '/evidence'), { ledger_seq: 1_000_000 }), 422, 'evidence_reference_not_found');
  });

  it('never finds another tenant’s ledger event', async () => {
    const { intentId } = await fundedIntent(gw, otherActor);
    const theirs = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: otherActor.tenantId, intentId }, orderBy: { seq: 'desc' } });
    const mine = await gw.runtime.db.ledgerHead.findUniqueOrThrow({ where: { tenantId: actor.tenantId } });
    const created = await newCase(gw, org);
    const res = await post(casePath(created.case_id, '/evidence'), { ledger_seq: theirs.seq, sha256: theirs.hash });
    // Either the seq does not exist here or it is another event: never theirs.
    expect([422]).toContain(res.status);
    expect(['evidence_reference_not_found', 'evidence_hash_mismatch']).toContain(res.body.error.code);
    expect(mine.seq).toBeGreaterThan(0);
  });

  it('attaches an evidence submission of the case’s intent by id or payload digest', async () => {
    const { intentId } = await fundedIntent(gw, actor);
    const submitted = await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed' }));
    expect(submitted.status).toBe(200);
    const row = await gw.runtime.db.intentEvidence.findFirstOrThrow({ where: { tenantId: actor.tenantId, payloadDigest: submitted.body.payload_digest } });
    const created = await newCase(gw, org, { intent_id: intentId });
    const byDigest = await post(casePath(created.case_id, '/evidence'), { kind: 'intent_evidence', sha256: submitted.body.payload_digest });
    expect(byDigest.body.evidence_reference).toMatchObject({ kind: 'intent_evidence', intent_evidence_id: row.id, sha256: submitted.body.payload_digest, intent_id: intentId });
    const byId = await post(casePath(created.case_id, '/evidence'), { evidence_id: row.id });
    expect(byId.body.evidence_reference).toMatchObject({ kind: 'intent_evidence', intent_evidence_id: row.id });
    expectError(await post(casePath(created.case_id, '/evidence'), { evidence_id: 'evd_nothing' }), 422, 'evidence_reference_not_found');
    const without = await newCase(gw, org);
    expectError(await post(casePath(without.case_id, '/evidence'), { evidence_id: row.id }), 422, 'evidence_reference_invalid');
  });

  it('attaches an external file by URI, SHA-256 and media type', async () => {
    const created = await newCase(gw, org);
    const sha = 'ab'.repeat(32);
    const res = await post(casePath(created.case_id, '/evidence'), { uri: 'https://files.example.com/receipt.pdf', sha256: sha.toUpperCase(), media_type: 'Application/PDF' });
    expect(res.status).toBe(201);
    expect(res.body.evidence_reference).toMatchObject({ kind: 'external', uri: 'https://files.example.com/receipt.pdf', sha256: sha, media_type: 'application/pdf', added_by: org.admin.userId });
  });

  it('400 for incomplete or malformed references', async () => {
    const created = await newCase(gw, org);
    const sha = 'ab'.repeat(32);
    expectError(await post(casePath(created.case_id, '/evidence'), {}), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { uri: 'https://files.example.com/a.pdf', media_type: 'application/pdf' }), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { uri: 'https://files.example.com/a.pdf', sha256: sha }), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { uri: 'javascript:alert(1)', sha256: sha, media_type: 'text/html' }), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { uri: 'https://files.example.com/a.pdf', sha256: 'xyz', media_type: 'application/pdf' }), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { uri: 'https://files.example.com/a.pdf', sha256: sha, media_type: 'pdf' }), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { kind: 'ledger_event' }), 400, 'invalid_request');
    expectError(await post(casePath(created.case_id, '/evidence'), { kind: 'photo', uri: 'https://x.example/a' }), 400, 'invalid_request');
  });

  it('404 for another tenant’s case, 403 for read-only members', async () => {
    const theirs = await newCase(gw, other);
    expectError(await post(casePath(theirs.case_id, '/evidence'), { uri: 'https://files.example.com/a.pdf', sha256: 'ab'.repeat(32), media_type: 'application/pdf' }), 404, 'not_found');
    const created = await newCase(gw, org);
    expectError(await post(casePath(created.case_id, '/evidence'), { ledger_seq: 1 }, { token: reader.token.sandbox }), 403, 'forbidden');
  });
});

describe('POST /v1/disputes/cases/{case_id}/resolve', () => {
  it('resolves a case under review; payee_wins gives the whole amount to the payee', async () => {
    const reviewed = await underReview({ amount_cents: 2000, currency: 'usd' });
    const res = await post(casePath(reviewed.case_id, '/resolve'), { outcome: 'payee_wins', rationale: 'The vendor delivered on time' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'resolved', outcome: 'payee_wins', payee_amount_cents: 2000, payer_amount_cents: 0, rationale: 'The vendor delivered on time', closed_by: `user:${org.admin.userId}`, resolution_ledger_seq: null });
    expect(res.body.closed_at).toBeTruthy();
  });

  it('split: the amounts must be positive and add up to the amount in dispute', async () => {
    const reviewed = await underReview({ amount_cents: 2000, currency: 'usd' });
    const path = casePath(reviewed.case_id, '/resolve');
    const wrong = await post(path, { outcome: 'split', rationale: 'Half delivered', payee_amount_cents: 1000, payer_amount_cents: 900 });
    expectError(wrong, 422, 'resolution_amounts_invalid');
    expect(wrong.body.error.details).toMatchObject({ amount_cents: 2000, payee_amount_cents: 1000, payer_amount_cents: 900 });
    expectError(await post(path, { outcome: 'split', rationale: 'Half delivered', payee_amount_cents: 2000 }), 422, 'resolution_amounts_invalid');
    expectError(await post(path, { outcome: 'split', rationale: 'All to payee', payee_amount_cents: 2000, payer_amount_cents: 0 }), 422, 'resolution_amounts_invalid');
    expectError(await post(path, { outcome: 'payer_wins', rationale: 'Refund', payee_amount_cents: 5 }), 422, 'resolution_amounts_invalid');
    const ok = await post(path, { outcome: 'split', rationale: 'Half delivered', payee_amount_cents: 1200, payer_amount_cents: 800 });
    expect(ok.body).toMatchObject({ status: 'resolved', outcome: 'split', payee_amount_cents: 1200, payer_amount_cents: 800 });
  });

  it('a case without an amount cannot be split, and takes no amounts', async () => {
    const reviewed = await underReview();
    const path = casePath(reviewed.case_id, '/resolve');
    expectError(await post(path, { outcome: 'split', rationale: 'Split it', payee_amount_cents: 1, payer_amount_cents: 1 }), 422, 'resolution_amounts_invalid');
    expectError(await post(path, { outcome: 'payer_wins', rationale: 'Refund', payer_amount_cents: 10 }), 422, 'resolution_amounts_invalid');
    const ok = await post(path, { outcome: 'payer_wins', rationale: 'Refund' });
    expect(ok.body).toMatchObject({ status: 'resolved', outcome: 'payer_wins', payee_amount_cents: null, payer_amount_cents: null });
  });

  it('409 invalid_state_transition for an open case (review comes first)', async () => {
    const created = await newCase(gw, org);
    const res = await post(casePath(created.case_id, '/resolve'), { outcome: 'payer_wins', rationale: 'Too early' });
    expectError(res, 409, 'invalid_state_transition');
    expect(res.body.error.details).toMatchObject({ status: 'open', allowed_from: ['under_review'] });
  });

  it('a resolved case is read-only: every later write is a 409 case_closed', async () => {
    const reviewed = await underReview();
    await post(casePath(reviewed.case_id, '/resolve'), { outcome: 'payer_wins', rationale: 'Refund' });
    const id = reviewed.case_id;
    expectError(await post(casePath(id, '/resolve'), { outcome: 'payee_wins', rationale: 'Changed my mind' }), 409, 'case_closed');
    expectError(await post(casePath(id, '/notes'), { body: 'Late note' }), 409, 'case_closed');
    expectError(await post(casePath(id, '/evidence'), { uri: 'https://files.example.com/late.pdf', sha256: 'ab'.repeat(32), media_type: 'application/pdf' }), 409, 'case_closed');
    expectError(await post(casePath(id, '/assign'), { assignee_id: reviewer.userId }), 409, 'case_closed');
    const intentId = await disputedIntent(gw, actor);
    expectError(await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId, case_id: id }), 409, 'case_closed');
    const detail = await rest(gw, 'GET', casePath(id), undefined, admin());
    expect(detail.body).toMatchObject({ status: 'resolved', notes: [], evidence: [] });
  });

  it('a linked case resolves its Harbor dispute in the same transaction, with the dispute.resolved ledger event', async () => {
    const intentId = await disputedIntent(gw, actor, 3000);
    const linked = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    await post(casePath(linked.body.case_id, '/assign'), { assignee_id: reviewer.userId });
    const res = await post(casePath(linked.body.case_id, '/resolve'), { outcome: 'split', rationale: 'Partial delivery', payee_amount_cents: 1000, payer_amount_cents: 2000 }, { token: reviewer.token.sandbox });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const event = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: actor.tenantId, intentId, type: 'dispute.resolved' } });
    expect(res.body).toMatchObject({ status: 'resolved', resolution_ledger_seq: event.seq, intent: { state: 'resolved', dispute_outcome: 'split' } });
    expect(event).toMatchObject({ actorType: 'user', actorId: reviewer.userId, amountCents: 3000 });
    const harborAudit = await gw.runtime.db.auditEvent.findFirstOrThrow({ where: { tenantId: actor.tenantId, resourceId: intentId, eventType: 'harbor.dispute.resolved' } });
    expect(harborAudit.details).toMatchObject({ from: 'disputed', to: 'resolved' });
    // The Harbor dispute is closed: Harbor's own resolve route now refuses it.
    expectError(await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/resolve`, { outcome: 'refund', rationale: 'again' }), 409, 'invalid_state_transition');
  });

  it('a refused resolution changes neither the case nor the Harbor dispute', async () => {
    const intentId = await disputedIntent(gw, actor, 3000);
    const linked = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    await post(casePath(linked.body.case_id, '/assign'), { assignee_id: reviewer.userId });
    const before = await gw.runtime.db.ledgerHead.findUniqueOrThrow({ where: { tenantId: actor.tenantId } });
    expectError(await post(casePath(linked.body.case_id, '/resolve'), { outcome: 'split', rationale: 'Bad split', payee_amount_cents: 1, payer_amount_cents: 1 }), 422, 'resolution_amounts_invalid');
    const intent = await gw.runtime.db.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId: actor.tenantId, intentId } } });
    expect(intent.state).toBe('disputed');
    expect((await gw.runtime.db.ledgerHead.findUniqueOrThrow({ where: { tenantId: actor.tenantId } })).seq).toBe(before.seq);
    expect((await rest(gw, 'GET', casePath(linked.body.case_id), undefined, admin())).body.status).toBe('under_review');
  });

  it('a Harbor dispute resolved elsewhere: the same outcome closes the case, another is a 409', async () => {
    const intentId = await disputedIntent(gw, actor);
    const linked = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    await post(casePath(linked.body.case_id, '/assign'), { assignee_id: reviewer.userId });
    await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/resolve`, { outcome: 'refund', rationale: 'Resolved by the operator' });
    const harborEvent = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: actor.tenantId, intentId, type: 'dispute.resolved' } });
    expectError(await post(casePath(linked.body.case_id, '/resolve'), { outcome: 'payee_wins', rationale: 'Disagree' }), 409, 'dispute_outcome_conflict');
    const ok = await post(casePath(linked.body.case_id, '/resolve'), { outcome: 'payer_wins', rationale: 'Agree with the operator' });
    expect(ok.body).toMatchObject({ status: 'resolved', resolution_ledger_seq: harborEvent.seq });
    expect(await gw.runtime.db.ledgerEvent.count({ where: { tenantId: actor.tenantId, intentId, type: 'dispute.resolved' } })).toBe(1);
  });

  it('400 for an unknown outcome or a missing rationale, 404 for another tenant’s case, 403 for read-only members', async () => {
    const reviewed = await underReview();
    expectError(await post(casePath(reviewed.case_id, '/resolve'), { outcome: 'nobody_wins', rationale: 'x y z' }), 400, 'invalid_request');
    expectError(await post(casePath(reviewed.case_id, '/resolve'), { outcome: 'payer_wins' }), 400, 'invalid_request');
    const theirs = await newCase(gw, other);
    expectError(await post(casePath(theirs.case_id, '/resolve'), { outcome: 'payer_wins', rationale: 'Not mine' }), 404, 'not_found');
    expectError(await post(casePath(reviewed.case_id, '/resolve'), { outcome: 'payer_wins', rationale: 'Read-only' }, { token: reader.token.sandbox }), 403, 'forbidden');
  });
});

describe('rate limits', () => {
  it('case writes count against dispute_case_mutation (tenant override), 429 with Retry-After', async () => {
    const limited = await createOrg(gw);
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { dispute_case_mutation: { limit: 2, window_seconds: 3600 } } }, { token: limited.admin.token.sandbox });
    const body = { title: 'Limited case', reason: 'Counting writes' };
    const first = await rest(gw, 'POST', '/v1/disputes/cases', body, { token: limited.admin.token.sandbox });
    expect(first.status).toBe(201);
    expect(first.headers.get('ratelimit-policy')).toContain('2');
    expect((await rest(gw, 'POST', casePath(first.body.case_id, '/notes'), { body: 'one' }, { token: limited.admin.token.sandbox })).status).toBe(201);
    const refused = await rest(gw, 'POST', casePath(first.body.case_id, '/notes'), { body: 'two' }, { token: limited.admin.token.sandbox });
    expectError(refused, 429, 'rate_limited');
    expect(refused.headers.get('retry-after')).toBeTruthy();
    // Reads are not counted against it.
    expect((await rest(gw, 'GET', casePath(first.body.case_id), undefined, { token: limited.admin.token.sandbox })).status).toBe(200);
  });
});

describe('GraphQL twins', () => {
  const CASE = 'caseId status priority linked amountCents assigneeId notes { noteId body authorId } evidence { evidenceId kind } assignments { assigneeId } intent { intentId state }';

  it('disputeCases is a connection with filters and totalCount; disputeCase has notes, evidence and intent', async () => {
    const gqlOrg = await createOrg(gw);
    const gqlActor = await harborActor(gw, gqlOrg);
    const intentId = await disputedIntent(gw, gqlActor);
    const token = { token: gqlOrg.admin.token.sandbox };
    const created = await gqlOk(gw, `mutation($input: DisputeCaseLinkInput!) { disputeCaseLinkDisputedIntent(input: $input) { case { id ${CASE} } userErrors { code } } }`, { input: { intentId } }, token);
    const caseId = created.disputeCaseLinkDisputedIntent.case.caseId;
    await gqlOk(gw, `mutation($id: String!, $input: DisputeCaseNoteInput!) { disputeCaseNoteAppend(caseId: $id, input: $input) { note { noteId } userErrors { code } } }`, { id: caseId, input: { body: 'From the dashboard' } }, token);
    await gqlOk(gw, `mutation { disputeCaseCreate(input: { title: "Second", reason: "Unlinked case", priority: low }) { case { caseId } userErrors { code } } }`, {}, token);
    const all = await gqlOk(gw, `{ disputeCases(first: 10) { totalCount edges { node { caseId } } } }`, {}, token);
    expect(all.disputeCases.totalCount).toBe(2);
    const filtered = await gqlOk(gw, `query($i: String) { disputeCases(first: 10, status: open, intentId: $i) { totalCount edges { node { ${CASE} } } } }`, { i: intentId }, token);
    expect(filtered.disputeCases.edges).toHaveLength(1);
    expect(filtered.disputeCases.edges[0].node).toMatchObject({ caseId, linked: true, notes: [{ body: 'From the dashboard', authorId: gqlOrg.admin.userId }], intent: { intentId, state: 'disputed' } });
    expect((await gqlOk(gw, `{ disputeCases(first: 10, priority: low) { totalCount } }`, {}, token)).disputeCases.totalCount).toBe(1);
    const one = await gqlOk(gw, `query($id: String!) { disputeCase(caseId: $id) { ${CASE} } }`, { id: caseId }, token);
    expect(one.disputeCase.caseId).toBe(caseId);
    // By global id too; another tenant sees null through either.
    const globalId = created.disputeCaseLinkDisputedIntent.case.id;
    expect((await gqlOk(gw, `query($id: String!) { disputeCase(caseId: $id) { caseId } }`, { id: globalId }, token)).disputeCase.caseId).toBe(caseId);
    expect((await gqlOk(gw, `query($id: String!) { disputeCase(caseId: $id) { caseId } }`, { id: caseId }, { token: other.admin.token.sandbox })).disputeCase).toBeNull();
    expect((await gqlOk(gw, `query($id: ID!) { node(id: $id) { id } }`, { id: globalId }, { token: other.admin.token.sandbox })).node).toBeNull();
  });

  it('business refusals are userErrors; authorization stays a top-level error', async () => {
    const created = await newCase(gw, org);
    const refused = await gqlOk(gw, `mutation($id: String!) { disputeCaseResolve(caseId: $id, input: { outcome: payer_wins, rationale: "too early" }) { case { caseId } userErrors { code details } } }`, { id: created.case_id }, admin());
    expect(refused.disputeCaseResolve).toMatchObject({ case: null, userErrors: [{ code: 'INVALID_STATE_TRANSITION' }] });
    const denied = await gql(gw, `mutation($id: String!) { disputeCaseNoteAppend(caseId: $id, input: { body: "read-only" }) { note { noteId } } }`, { id: created.case_id }, { token: reader.token.sandbox });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await gql(gw, `{ disputeCases(first: 5, offset: 1, after: "abc") { totalCount } }`, {}, admin());
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_REQUEST');
  });

  it('disputeCaseWithdraw: open → withdrawn (read-only after); a case under review or linked is not withdrawn', async () => {
    const withdraw = (id: string) =>
      gqlOk(gw, `mutation($id: String!) { disputeCaseWithdraw(caseId: $id, input: { reason: "Opened by mistake" }) { case { status rationale closedBy } userErrors { code } } }`, { id }, admin());
    const created = await newCase(gw, org);
    expect((await withdraw(created.case_id)).disputeCaseWithdraw).toMatchObject({ case: { status: 'withdrawn', rationale: 'Opened by mistake' }, userErrors: [] });
    expectError(await post(casePath(created.case_id, '/notes'), { body: 'After withdrawal' }), 409, 'case_closed');
    expect((await withdraw(created.case_id)).disputeCaseWithdraw.userErrors).toEqual([{ code: 'CASE_CLOSED' }]);
    const reviewed = await underReview();
    expect((await withdraw(reviewed.case_id)).disputeCaseWithdraw.userErrors).toEqual([{ code: 'INVALID_STATE_TRANSITION' }]);
    const intentId = await disputedIntent(gw, actor);
    const linked = await post('/v1/disputes/cases/link-disputed-intent', { intent_id: intentId });
    expect((await withdraw(linked.body.case_id)).disputeCaseWithdraw.userErrors).toEqual([{ code: 'CASE_LINKED_TO_DISPUTE' }]);
  });
});
