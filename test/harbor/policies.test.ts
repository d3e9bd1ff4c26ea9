import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { breakAuditWrites } from '../helpers/faults.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

const params = (status: number) => ({ http_status_path: ['http_status'], expected_http_status: status });

async function twoPublished(org: TestOrg) {
  const token = org.apiKey.sandbox;
  for (const status of [200, 201]) {
    const draft = await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'api_response_v1', parameters: params(status) }, { token });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    expect((await rest(gw, 'POST', '/harbor/policy/v1/publish', { template_id: 'api_response_v1', seq: draft.body.seq }, { token })).body.status).toBe('published');
  }
  const versions = await rest(gw, 'GET', '/harbor/policy/v1/versions?template_id=api_response_v1', undefined, { token });
  expect(versions.body.head_seq).toBe(2);
  return versions.body.versions as Array<{ seq: number; digest_hex: string }>;
}

describe('policy lifecycle', () => {
  it('lists templates, previews and tests predicates', async () => {
    const org = await createOrg(gw);
    const token = org.apiKey.sandbox;
    const templates = await rest(gw, 'GET', '/harbor/policy/v1/templates', undefined, { token });
    expect(templates.body.templates.map((t: { template_id: string }) => t.template_id)).toContain('completion_budget_v1');
    const preview = await rest(gw, 'POST', '/harbor/policy/v1/preview', { template_id: 'api_response_v1', parameters: params(200) }, { token });
    expect(preview.body).toMatchObject({ template_id: 'api_response_v1', predicate: { version: 1, root: { op: 'eq', path: ['http_status'], value: 200 } } });
    expect(preview.body.digest_hex).toMatch(/^[0-9a-f]{64}$/);
    const pass = await rest(gw, 'POST', '/harbor/policy/v1/test', { template_id: 'completion_budget_v1', parameters: { status_path: ['status'], expected_status: 'completed', cost_path: ['cost'] }, evidence: { status: 'completed', cost: 90 }, amount_cents: 100 }, { token });
    expect(pass.body.passed).toBe(true);
    const fail = await rest(gw, 'POST', '/harbor/policy/v1/test', { template_id: 'completion_budget_v1', parameters: { status_path: ['status'], expected_status: 'completed', cost_path: ['cost'] }, evidence: { status: 'completed', cost: 190 }, amount_cents: 100 }, { token });
    expect(fail.body.passed).toBe(false);
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/preview', { template_id: 'api_response_v1', parameters: { wrong: 1 } }, { token }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/preview', { template_id: 'nope' }, { token }), 400, 'invalid_request');
  });

  it('moves versions through draft → published → deprecated → retired, and refuses other moves', async () => {
    const org = await createOrg(gw);
    const token = org.apiKey.sandbox;
    const draft = (await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'true_v1' }, { token })).body;
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/deprecate', { template_id: 'true_v1', seq: draft.seq }, { token }), 409, 'invalid_state_transition');
    expect((await rest(gw, 'POST', '/harbor/policy/v1/publish', { template_id: 'true_v1', seq: draft.seq }, { token })).body.status).toBe('published');
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/publish', { template_id: 'true_v1', seq: draft.seq }, { token }), 409, 'invalid_state_transition');
    expect((await rest(gw, 'POST', '/harbor/policy/v1/deprecate', { template_id: 'true_v1', seq: draft.seq }, { token })).body.status).toBe('deprecated');
    expect((await rest(gw, 'POST', '/harbor/policy/v1/retire', { template_id: 'true_v1', seq: draft.seq }, { token })).body.status).toBe('retired');
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/publish', { template_id: 'true_v1', seq: 99 }, { token }), 404, 'not_found');
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, resource: 'policy_version' } });
    expect(audit.map((a) => a.eventType).sort()).toEqual(['policy.deprecate', 'policy.draft_created', 'policy.publish', 'policy.retire']);
  });

  it('requires confirm when the guardrail policy says so (428)', async () => {
    const org = await createOrg(gw);
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', lifecycle_confirmations: { publish: true } }, { token: org.admin.token.sandbox });
    const draft = (await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'true_v1' }, { token: org.apiKey.sandbox })).body;
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/publish', { template_id: 'true_v1', seq: draft.seq }, { token: org.apiKey.sandbox }), 428, 'precondition_required');
    expect((await rest(gw, 'POST', '/harbor/policy/v1/publish', { template_id: 'true_v1', seq: draft.seq, confirm: true }, { token: org.apiKey.sandbox })).status).toBe(200);
  });
});

describe('rollback', () => {
  const rollbackEvents = (org: TestOrg) =>
    gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, eventType: 'guardrail.policy_rollback' }, orderBy: { createdAt: 'asc' } });

  it('428 without the confirmation preconditions, 400 for a short reason, 409 when head or digest moved — each audited', async () => {
    const org = await createOrg(gw);
    const token = org.apiKey.sandbox;
    const versions = await twoPublished(org);
    const target = versions.find((v) => v.seq === 1)!;
    const good = { template_id: 'api_response_v1', target_seq: 1, expected_current_head_seq: 2, expected_target_digest_hex: target.digest_hex, reason: 'v2 rejects valid responses', confirm: true };
    const send = (body: Record<string, unknown>) => rest(gw, 'POST', '/harbor/policy/v1/rollback', body, { token });
    expectError(await send({ ...good, confirm: false }), 428, 'precondition_required');
    const { expected_current_head_seq: _h, ...noHead } = good;
    const missing = await send(noHead);
    expectError(missing, 428, 'precondition_required');
    expect(missing.body.error.details.missing).toContain('expectedCurrentHeadSeq');
    expectError(await send({ ...good, reason: 'oops' }), 400, 'invalid_request');
    expectError(await send({ ...good, reason: undefined }), 400, 'invalid_request');
    expectError(await send({ ...good, expected_current_head_seq: 1 }), 409, 'conflict');
    expectError(await send({ ...good, expected_target_digest_hex: 'f'.repeat(64) }), 409, 'conflict');
    expect((await rollbackEvents(org)).map((e) => e.decision)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    expect(await gw.runtime.db.policyVersion.count({ where: { tenantId: org.tenants.sandbox } })).toBe(2);

    const done = await send(good);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ seq: 3, status: 'published', rolled_back_from_seq: 1, digest_hex: target.digest_hex, reason: 'v2 rejects valid responses' });
    expect((await rollbackEvents(org)).slice(-2).map((e) => e.decision)).toEqual(['confirmed', 'completed']);
    const head = await rest(gw, 'GET', '/harbor/policy/v1/versions?template_id=api_response_v1', undefined, { token });
    expect(head.body.head_seq).toBe(3);
  });

  it('503 when the pre-change audit event cannot be written; nothing changes', async () => {
    const org = await createOrg(gw);
    const versions = await twoPublished(org);
    const target = versions.find((v) => v.seq === 1)!;
    const restore = breakAuditWrites(gw);
    try {
      const res = await rest(
        gw,
        'POST',
        '/harbor/policy/v1/rollback',
        { template_id: 'api_response_v1', target_seq: 1, expected_current_head_seq: 2, expected_target_digest_hex: target.digest_hex, reason: 'audit is down today', confirm: true },
        { token: org.apiKey.sandbox },
      );
      expectError(res, 503, 'guardrail_audit_unavailable');
    } finally {
      restore();
    }
    expect(await gw.runtime.db.policyVersion.count({ where: { tenantId: org.tenants.sandbox } })).toBe(2);
  });
});
