import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId } from '../../src/areas/identity/organizations.ts';
import { TENANT_ID } from '../../src/areas/protocol/wire.ts';
import { verifyLedgerChain } from '../../src/areas/harbor/ledger.ts';
import { prismaSql } from '../../src/db.ts';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { fundedIntent, harborActor, type HarborActor } from '../helpers/harbor.ts';

/**
 * The wire differences found by driving the Paybond Kit SDK against the gateway
 * (/work/shared/reference/paybond-kit-contracts.md, "Differences found…"): each test sends the
 * SDK's request shape and checks what its parser reads.
 */
let gw: TestGateway;
let org: TestOrg;
let actor: HarborActor;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  actor = await harborActor(gw, org);
});
afterAll(() => gw.close());

const harbor = (a: HarborActor = actor) => ({ token: a.token, headers: { 'x-tenant-id': a.tenantId } });

describe('tenant ids', () => {
  it('are generated in the SDK charset', () => {
    for (let i = 0; i < 200; i++) expect(newTenantId()).toMatch(TENANT_ID);
    expect(org.tenants.live).toMatch(/^ten_[a-z2-7]{24}$/);
  });

  it('a tenant with an older (mixed-case) id keeps its id and a verifiable ledger; protocol v2 refuses it with a clear code', async () => {
    // An id in the pre-protocol form: the ledger hashes it into every event, so it is kept as is.
    const legacy = `ten_Legacy${randomUUID().slice(0, 8)}`;
    const orgId = `org_legacy${randomUUID().slice(0, 8)}`;
    await gw.runtime.db.organization.create({ data: { id: orgId, name: 'Legacy' } });
    await gw.runtime.db.tenant.create({ data: { id: legacy, organizationId: orgId, environment: 'sandbox', name: 'legacy' } });
    const { appendLedgerEvent } = await import('../../src/areas/harbor/ledger.ts');
    await gw.runtime.db.$transaction((tx) =>
      appendLedgerEvent(tx, { runtime: gw.runtime, principal: null, requestId: 't' }, { tenantId: legacy, intentId: null, type: 'legacy.event', payload: { a: 1 } }),
    );
    expect(legacy).not.toMatch(TENANT_ID);
    expect((await verifyLedgerChain(prismaSql(gw.runtime.db), legacy)).ok).toBe(true);
    const { createApiKey } = await import('../../src/areas/identity/api-keys.ts');
    const { adminPrincipal } = await import('../helpers/factories.ts');
    const issued = await createApiKey(
      { runtime: gw.runtime, principal: { ...adminPrincipal({ organizationId: orgId, tenants: { live: legacy, sandbox: legacy } }, 'usr_legacy', 'sandbox') }, requestId: 't' },
      { name: 'legacy' },
    );
    const res = await rest(gw, 'POST', '/protocol/v2/mandates', { signed_mandate: {}, intent_id: randomUUID(), transport_binding: {}, recognition_proof: {} }, { token: issued.secret, headers: { 'x-tenant-id': legacy } });
    expectError(res, 409, 'protocol_tenant_id_unsupported');
  });
});

describe('POST /verify returns audit_id', () => {
  it('names the audit event of the decision, allowed or denied', async () => {
    const { intentId, capabilityToken } = await fundedIntent(gw, actor, { amountCents: 1000 });
    const allowed = await rest(gw, 'POST', '/verify', { intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 100 }, harbor());
    expect(allowed.body).toMatchObject({ tenant: actor.tenantId, intent_id: intentId, allow: true });
    const event = await gw.runtime.db.auditEvent.findUnique({ where: { id: allowed.body.audit_id } });
    expect(event).toMatchObject({ tenantId: actor.tenantId, eventType: 'capability.allowed', resourceId: intentId });
    const denied = await rest(gw, 'POST', '/verify', { intent_id: intentId, token: `${capabilityToken}x`, operation: 'vendor.lookup', requested_spend_cents: 1 }, harbor());
    expect(denied.body.allow).toBe(false);
    expect(await gw.runtime.db.auditEvent.findUnique({ where: { id: denied.body.audit_id } })).toMatchObject({ eventType: 'capability.denied', decision: 'denied' });
    // A replayed decision (same idempotency key) names the same audit event.
    const body = { intent_id: intentId, token: capabilityToken, operation: 'vendor.lookup', requested_spend_cents: 50, idempotency_key: 'tc-1' };
    const first = await rest(gw, 'POST', '/verify', body, harbor());
    const again = await rest(gw, 'POST', '/verify', body, harbor());
    expect(again.body.audit_id).toBe(first.body.audit_id);
    expect(first.body.audit_id).not.toBe(allowed.body.audit_id);
  });
});

describe('policy preview, test and validate', () => {
  const parameters = { http_status_path: ['http_status'], expected_http_status: 200 };

  it('preview carries materialized_dsl and human_summary; test carries predicate_evaluation.passed (as the SDK CLI reads them)', async () => {
    const preview = await rest(gw, 'POST', '/harbor/policy/v1/preview', { template_id: 'api_response_v1', parameters }, harbor());
    expect(preview.status).toBe(200);
    expect(preview.body.materialized_dsl).toEqual({ version: 1, root: { op: 'eq', path: ['http_status'], value: 200 } });
    expect(preview.body.human_summary).toBe('API response OK: releases when http_status equals 200.');
    const body = { template_id: 'api_response_v1', parameters, evidence: { http_status: 200 }, evidence_schema: { type: 'object', required: ['http_status'] }, amount_cents: 500 };
    const test = await rest(gw, 'POST', '/harbor/policy/v1/test', body, harbor());
    expect(test.body.predicate_evaluation).toMatchObject({ passed: true, schema_valid: true, amount_cents: 500 });
    const failing = await rest(gw, 'POST', '/harbor/policy/v1/test', { ...body, evidence: { http_status: 500 } }, harbor());
    expect(failing.body.predicate_evaluation.passed).toBe(false);
    const noSchema = await rest(gw, 'POST', '/harbor/policy/v1/test', { ...body, evidence_schema: undefined, evidence: { nothing: 1 } }, harbor());
    expect(noSchema.body.predicate_evaluation).toMatchObject({ passed: false, schema_valid: null });
    expectError(await rest(gw, 'POST', '/harbor/policy/v1/preview', { template_id: 'api_response_v1', parameters: { nope: 1 } }, harbor()), 400, 'invalid_request');
  });

  const document = (tools: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ version: 1, name: 'travel-agent', default_deny: true, tools, ...extra });

  it('POST /v1/policy/validate checks the schema and the registry, with the SDK result fields', async () => {
    const ok = await rest(gw, 'POST', '/v1/policy/validate', document({ 'vendor.book': { side_effecting: true, evidence_preset: 'api_response_ok', max_spend_cents: 500 }, 'vendor.lookup': { side_effecting: false } }), harbor());
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ valid: true, local_valid: true, remote_valid: true, policy_name: 'travel-agent', tenant_id: actor.tenantId, errors: [], checks: [{ name: 'schema', passed: true }, { name: 'registry', passed: true }] });

    const schemaBad = await rest(gw, 'POST', '/v1/policy/validate', document({ 'vendor.book': { side_effecting: true } }), harbor());
    expect(schemaBad.body).toMatchObject({ valid: false, local_valid: false });
    expect(schemaBad.body.errors).toContainEqual(expect.objectContaining({ path: 'tools.vendor.book.evidence_preset', message: 'side-effecting tools must declare evidence_preset' }));

    const unknown = await rest(gw, 'POST', '/v1/policy/validate', document({ 'vendor.book': { side_effecting: true, evidence_preset: 'no_such_preset' } }, { intent: { policy_binding: { template_id: 'api_response_v1', version_seq: 9 } } }), harbor());
    expect(unknown.body).toMatchObject({ valid: false, local_valid: true, remote_valid: false });
    expect(unknown.body.errors.map((e: { code: string }) => e.code).sort()).toEqual(['policy_version_not_found', 'unknown_evidence_preset']);

    const strictDoc = document({ 'vendor.book': { side_effecting: true, evidence_preset: 'api_response_ok' } }, { intent: { allowed_tools: ['vendor.lookup'] } });
    expect((await rest(gw, 'POST', '/v1/policy/validate', strictDoc, harbor())).body.valid).toBe(true);
    const strict = await rest(gw, 'POST', '/v1/policy/validate?strict=1', strictDoc, harbor());
    expect(strict.body.errors).toContainEqual(expect.objectContaining({ code: 'side_effecting_tool_not_allowed' }));

    expectError(await rest(gw, 'POST', '/v1/policy/validate', document({})), 401, 'unauthenticated');
    expectError(await rest(gw, 'POST', '/v1/policy/validate?strict=maybe', document({}), harbor()), 400, 'invalid_request');
  });
});

describe('API keys as the SDK’s paybond keys manages them', () => {
  const create = (token: string, body: Record<string, unknown>) => rest(gw, 'POST', '/v1/admin/api-keys', body, { token });

  it('a tenant_admin service-account key lists, creates, rotates and revokes keys with the SDK fields, audited', async () => {
    const adminKey = await create(org.admin.token.sandbox, { service_account_name: 'ops-bot', service_account_role: 'tenant_admin', label: 'ci', key_kind: 'standard', mcp_scopes: [] });
    expect(adminKey.status).toBe(201);
    expect(adminKey.body.item).toMatchObject({ key_id: adminKey.body.api_key_id, service_account_role: 'tenant_admin', key_kind: 'standard', mcp_scopes: [], created_at: expect.any(String) });
    expect(adminKey.body.api_key).toMatch(/^paybond_sk_sandbox_/);
    const token = adminKey.body.api_key as string;

    const made = await create(token, { service_account_name: 'agent-1', service_account_role: 'operator', label: 'agent', key_kind: 'restricted', mcp_scopes: ['mcp.spend:write', 'mcp.a2a:read'] });
    expect(made.status).toBe(201);
    expect(made.body.item).toMatchObject({ service_account_role: 'operator', key_kind: 'restricted', mcp_scopes: ['mcp.a2a:read', 'mcp.spend:write'], revoked_at: null });
    const audit = await gw.runtime.db.auditEvent.findFirst({ where: { tenantId: org.tenants.sandbox, eventType: 'api_key.created', resourceId: made.body.item.key_id } });
    expect(audit).toMatchObject({ actorType: 'api_key', actorId: adminKey.body.item.key_id });

    const list = await rest(gw, 'GET', '/v1/admin/api-keys?limit=50', undefined, { token });
    expect(list.status).toBe(200);
    const row = list.body.items.find((i: { key_id: string }) => i.key_id === made.body.item.key_id);
    expect(row).toMatchObject({ service_account_role: 'operator', key_kind: 'restricted', mcp_scopes: ['mcp.a2a:read', 'mcp.spend:write'], revoked_at: null });
    expect(list.body.api_keys.map((k: { key_id: string }) => k.key_id)).toEqual(list.body.items.map((k: { key_id: string }) => k.key_id));

    const rotated = await rest(gw, 'POST', `/v1/admin/api-keys/${made.body.item.key_id}/rotate`, undefined, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.item).toMatchObject({ service_account_role: 'operator', key_kind: 'restricted', rotated_from_id: made.body.item.key_id });
    expect(rotated.body.api_key).toMatch(/^paybond_sk_sandbox_/);
    const revoked = await rest(gw, 'DELETE', `/v1/admin/api-keys/${rotated.body.item.key_id}`, undefined, { token });
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
  });

  it('a key never mints or manages more authority than its own; operator keys cannot manage keys', async () => {
    const restricted = await create(org.admin.token.sandbox, { service_account_name: 'r', service_account_role: 'tenant_admin', key_kind: 'restricted', mcp_scopes: ['mcp.spend:write'] });
    const rtoken = restricted.body.api_key as string;
    expectError(await create(rtoken, { service_account_name: 'x', service_account_role: 'operator', key_kind: 'standard', mcp_scopes: [] }), 403, 'forbidden');
    expectError(await create(rtoken, { service_account_name: 'x', service_account_role: 'operator', key_kind: 'restricted', mcp_scopes: ['mcp.settlement:write'] }), 403, 'forbidden');
    const narrower = await create(rtoken, { service_account_name: 'x', service_account_role: 'operator', key_kind: 'restricted', mcp_scopes: ['mcp.spend:write'] });
    expect(narrower.status).toBe(201);
    // Rotating a standard key would mint a standard key: refused.
    expectError(await rest(gw, 'POST', `/v1/admin/api-keys/${org.apiKeyId.sandbox}/rotate`, undefined, { token: rtoken }), 403, 'forbidden');
    expectError(await rest(gw, 'DELETE', `/v1/admin/api-keys/${org.apiKeyId.sandbox}`, undefined, { token: rtoken }), 403, 'forbidden');

    // The default (operator) key of the tenant cannot manage keys at all.
    expectError(await create(org.apiKey.sandbox, { service_account_name: 'x', service_account_role: 'operator' }), 403, 'forbidden');
    // Listing (metadata, never secrets) is open to the tenant's keys, as to its read-only members.
    expect((await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token: org.apiKey.sandbox })).status).toBe(200);
    // A read-only member cannot create keys; bad input is a 400.
    const reader = await addMember(gw, org, 'read_only');
    expectError(await create(reader.token.sandbox, { name: 'x' }), 403, 'forbidden');
    expectError(await create(org.admin.token.sandbox, { service_account_name: 'x', key_kind: 'restricted', mcp_scopes: [] }), 400, 'invalid_request');
    expectError(await create(org.admin.token.sandbox, { service_account_name: 'x', service_account_role: 'root' }), 400, 'invalid_request');
    // Another tenant's key is a 404.
    const other = await createOrg(gw, 'Other');
    expectError(await rest(gw, 'POST', `/v1/admin/api-keys/${other.apiKeyId.sandbox}/rotate`, undefined, { token: org.admin.token.sandbox }), 404, 'not_found');
  });
});

describe('agent-run traces', () => {
  it('stores runs and trace events per tenant, as the SDK reporter sends them, and lists them in GraphQL', async () => {
    const runId = `run-${randomUUID()}`;
    // The SDK fires register and report without waiting: the event may arrive first.
    const event = { type: 'spend_authorized', runId, toolCallId: 'c1', operation: 'vendor.book', auditId: 'aud_x', amountCents: 300, recordedAt: '2026-11-30T01:02:03Z' };
    const appended = await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: [event] }, harbor());
    expect(appended.status, JSON.stringify(appended.body)).toBe(200);
    expect(appended.body).toMatchObject({ accepted: 1, run_id: runId, event_count: 1 });
    const put = await rest(gw, 'PUT', `/v1/agent-runs/${runId}`, { intent_id: randomUUID(), operation: 'vendor.book', sandbox: true, allowed_tools: ['vendor.book'], completion_preset: 'api_response_ok' }, harbor());
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ run_id: runId, operation: 'vendor.book', sandbox: true, allowed_tools: ['vendor.book'], event_count: 1 });
    // Secrets in an event are redacted before storage.
    await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: [{ type: 'tool_selected', runId, toolName: 'vendor.book', toolCallId: 'c2', operation: 'x', note: `key ${org.apiKey.sandbox}`, recordedAt: '2026-11-30T01:02:04Z' }] }, harbor());
    const data = await gqlOk(gw, 'query($id: String!) { agentRun(runId: $id) { runId eventCount events(first: 10) { edges { node { seq eventType data occurredAt } } } } agentRuns(first: 5) { totalCount } }', { id: runId }, { token: org.admin.token.sandbox });
    expect(data.agentRun.eventCount).toBe(2);
    const nodes = data.agentRun.events.edges.map((e: { node: any }) => e.node);
    expect(nodes.map((n: any) => [n.seq, n.eventType])).toEqual([[1, 'spend_authorized'], [2, 'tool_selected']]);
    expect(JSON.stringify(nodes[1].data)).not.toContain(org.apiKey.sandbox);
    expect(data.agentRuns.totalCount).toBeGreaterThanOrEqual(1);

    // Another tenant sees nothing of it.
    const other = await createOrg(gw, 'Other runs');
    const none = await gqlOk(gw, 'query($id: String!) { agentRun(runId: $id) { runId } }', { id: runId }, { token: other.admin.token.sandbox });
    expect(none.agentRun).toBeNull();
  });

  it('bounds what a run stores and refuses bad input', async () => {
    const runId = `run-${randomUUID()}`;
    expectError(await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: [{ type: 'x', blob: 'a'.repeat(9000) }] }, harbor()), 413, 'agent_run_event_too_large');
    expectError(await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: [] }, harbor()), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: Array.from({ length: 51 }, () => ({ type: 'x' })) }, harbor()), 400, 'invalid_request');
    expectError(await rest(gw, 'PUT', `/v1/agent-runs/${encodeURIComponent('bad id!')}`, { operation: 'x' }, harbor()), 400, 'invalid_request');
    expectError(await rest(gw, 'PUT', `/v1/agent-runs/${runId}`, { operation: 'x' }), 401, 'unauthenticated');
    const batch = Array.from({ length: 50 }, (_, i) => ({ type: 'tool_executed', runId, durationMs: i }));
    for (let i = 0; i < 20; i++) expect((await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: batch }, harbor())).status).toBe(200);
    expectError(await rest(gw, 'POST', `/v1/agent-runs/${runId}/trace-events`, { events: [{ type: 'x' }] }, harbor()), 409, 'agent_run_event_limit');
  });
});
