import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';
import { agentSession, signedRest } from '../helpers/agent.ts';
import { breakAuditWrites } from '../helpers/faults.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

const putPolicy = (org: TestOrg, body: Record<string, unknown>, token = org.admin.token.sandbox) => rest(gw, 'PUT', '/v1/admin/guardrails/policy', body, { token });
const raw = { version: 1, root: { op: 'eq', path: ['status'], value: 'completed' } };

async function tenant(): Promise<HarborActor> {
  return harborActor(gw, await createOrg(gw));
}

describe('guardrail policy versions', () => {
  it('starts unconfigured, then every save is a new immutable version with an audit event', async () => {
    const actor = await tenant();
    const org = actor.org;
    const initial = await rest(gw, 'GET', '/v1/admin/guardrails/policy', undefined, { token: actor.token });
    expect(initial.body).toMatchObject({ configured: false, version: 0, allow_raw_predicates: true, allowed_templates: [] });
    const v1 = await putPolicy(org, { mode: 'observe', max_intent_amount_cents: { usd: 1000 } });
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ configured: true, version: 1, mode: 'observe', max_intent_amount_cents: { usd: 1000 } });
    const v2 = await putPolicy(org, { mode: 'enforce', allow_raw_predicates: false });
    expect(v2.body.version).toBe(2);
    const history = await rest(gw, 'GET', '/v1/admin/guardrails/policy/history', undefined, { token: actor.token });
    expect(history.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: actor.tenantId, eventType: 'guardrail.policy_updated' } });
    expect(audit).toHaveLength(2);
  });

  it('needs tenant_admin or tenant.admin to write; reads need Harbor read access', async () => {
    const actor = await tenant();
    const reader = await addMember(gw, actor.org, 'read_only');
    expectError(await putPolicy(actor.org, { mode: 'enforce' }, reader.token.sandbox), 403, 'forbidden');
    expectError(await putPolicy(actor.org, { mode: 'enforce' }, actor.token), 403, 'forbidden');
    const entitled = await addMember(gw, actor.org, 'read_only', ['tenant.admin']);
    expect((await putPolicy(actor.org, { mode: 'enforce' }, entitled.token.sandbox)).status).toBe(200);
    expect((await rest(gw, 'GET', '/v1/admin/guardrails/policy', undefined, { token: reader.token.sandbox })).status).toBe(200);
  });

  it.each([
    ['an unknown mode', { mode: 'yolo' }],
    ['an unknown template', { mode: 'enforce', allowed_templates: ['nope_v9'] }],
    ['an upper-case currency', { mode: 'enforce', max_intent_amount_cents: { USD: 10 } }],
    ['limit above 1,000,000', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 1_000_001, window_seconds: 60 } } }],
    ['window above 86,400', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 10, window_seconds: 86_401 } } }],
    ['a zero limit', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 0, window_seconds: 60 } } }],
    ['an unknown route group', { mode: 'enforce', rate_limit_profile: { everything: { limit: 10, window_seconds: 60 } } }],
    ['extra fields in an override', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 10, window_seconds: 60, burst: 5 } } }],
  ])('rejects %s with 400', async (_name, body) => {
    const actor = await tenant();
    expectError(await putPolicy(actor.org, body), 400, 'invalid_request');
    expect(await gw.runtime.db.guardrailPolicyVersion.count({ where: { tenantId: actor.tenantId } })).toBe(0);
  });

  it('accepts the limiter scopes the API reference names as overridable', async () => {
    const actor = await tenant();
    const profile = Object.fromEntries(
      ['auth_support_session', 'compliance_export_create', 'compliance_bundle_download', 'dispute_arbitration_export', 'admin_webhook_endpoint_mutation', 'admin_webhook_endpoint_test'].map((g) => [
        g,
        { limit: 1_000_000, window_seconds: 86_400 },
      ]),
    );
    expect((await putPolicy(actor.org, { mode: 'enforce', rate_limit_profile: profile })).status).toBe(200);
  });
});

describe('enforcement before Harbor writes', () => {
  it('enforce mode: a raw predicate, a max-amount breach and a disallowed template are 403 and nothing is written', async () => {
    const actor = await tenant();
    await putPolicy(actor.org, { mode: 'enforce', allow_raw_predicates: false, max_intent_amount_cents: { usd: 1000 }, allowed_templates: ['true_v1'] });
    const before = await gw.runtime.db.harborIntent.count({ where: { tenantId: actor.tenantId } });
    const res = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { amountCents: 5000, predicate: raw }));
    expectError(res, 403, 'guardrail_violation');
    expect(res.body.error.details.violations.map((v: { kind: string }) => v.kind).sort()).toEqual(['max_amount', 'raw_predicate']);
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: actor.tenantId } })).toBe(before);
    const denial = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: actor.tenantId, eventType: 'guardrail.violation', decision: 'denied' } });
    expect(denial).toHaveLength(1);

    const draft = await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'api_response_v1', parameters: { http_status_path: ['s'], expected_http_status: 200 } }, { token: actor.token });
    expectError(draft, 403, 'guardrail_violation');
    const rawDraft = await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'raw_predicate_v1', parameters: { predicate: raw } }, { token: actor.token });
    expectError(rawDraft, 403, 'guardrail_violation');
    expect((await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'true_v1' }, { token: actor.token })).status).toBe(201);
    expect(await gw.runtime.db.policyVersion.count({ where: { tenantId: actor.tenantId } })).toBe(1);
  });

  it('enforce mode applies to agent checkout too', async () => {
    const org = await createOrg(gw);
    await putPolicy(org, { mode: 'enforce', max_intent_amount_cents: { usd: 500 } });
    const agent = await agentSession(gw, org);
    const res = await signedRest(gw, agent, 'POST', '/api/agent/checkout/create', { amount_cents: 501, currency: 'usd', recipient: 'did:web:v', memo: 'too much' });
    expectError(res, 403, 'guardrail_violation');
  });

  it('observe mode: the write happens, after an audit event with decision=observed_violation', async () => {
    const actor = await tenant();
    await putPolicy(actor.org, { mode: 'observe', allow_raw_predicates: false, max_intent_amount_cents: { usd: 1000 } });
    const res = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { amountCents: 5000, predicate: raw }));
    expect(res.status).toBe(201);
    const observed = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: actor.tenantId, decision: 'observed_violation' } });
    expect(observed).toHaveLength(1);
    expect(observed[0]!.details).toMatchObject({ mode: 'observe', violations: ['raw_predicate', 'max_amount'] });
  });

  it('observe mode fails closed with 503 when the audit write fails, and writes nothing', async () => {
    const actor = await tenant();
    await putPolicy(actor.org, { mode: 'observe', max_intent_amount_cents: { usd: 1000 } });
    const body = signedIntentBody(actor, { amountCents: 5000 });
    const restore = breakAuditWrites(gw);
    try {
      expectError(await harborWrite(gw, actor, '/harbor/intents', body), 503, 'guardrail_audit_unavailable');
    } finally {
      restore();
    }
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: actor.tenantId } })).toBe(0);
    // Without a violation nothing needs auditing up front, and the write goes ahead.
    expect((await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { amountCents: 100 }))).status).toBe(201);
  });

  it('GraphQL twins share the rules', async () => {
    const actor = await tenant();
    const update = await gql(gw, 'mutation { guardrailPolicyUpdate(input: { mode: enforce, allowedTemplates: ["true_v1"] }) { policy { version allowedTemplates } userErrors { code } } }', {}, { token: actor.org.admin.token.sandbox });
    expect(update.data.guardrailPolicyUpdate.policy).toEqual({ version: 1, allowedTemplates: ['true_v1'] });
    const read = await gql(gw, '{ guardrailPolicy { mode version } guardrailPolicyHistory { version } }', {}, { token: actor.token });
    expect(read.data).toEqual({ guardrailPolicy: { mode: 'enforce', version: 1 }, guardrailPolicyHistory: [{ version: 1 }] });
    const draft = await gql(gw, 'mutation { policyDraftCreate(input: { templateId: "api_response_v1", parameters: { http_status_path: ["s"], expected_http_status: 200 } }) { version { seq } userErrors { code } } }', {}, { token: actor.token });
    expect(draft.data.policyDraftCreate.userErrors[0].code).toBe('GUARDRAIL_VIOLATION');
  });
});
