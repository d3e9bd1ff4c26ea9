import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { fundedIntent, harborActor } from '../helpers/harbor.ts';
import { sdkBootstrap, sdkEvidence, sdkVerify } from './sdk-contract.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const BOOTSTRAP = '/v1/sandbox/guardrails/bootstrap';
const evidencePath = (intentId: string) => `/v1/sandbox/guardrails/${intentId}/evidence`;

/** The SDK's guardrail calls: bearer only, never x-tenant-id. */
const sdkPost = (path: string, body: unknown, options: { key?: string; idempotencyKey?: string; headers?: Record<string, string> } = {}) =>
  rest(gw, 'POST', path, body, {
    token: options.key ?? org.apiKey.sandbox,
    headers: { ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}), ...options.headers },
  });

/** The spend guard's capability check: Harbor headers (x-tenant-id) and the SDK's body. */
const verify = (intentId: string, token: string, operation: string, cents: number, o: TestOrg = org) =>
  rest(gw, 'POST', '/verify', { intent_id: intentId, token, operation, requested_spend_cents: cents }, { token: o.apiKey.sandbox, headers: { 'x-tenant-id': o.tenants.sandbox } });

const API_OK = { http_status: 200, vendor_ref_id: 'ch_3NxExample', response_digest: 'blake3:7f83' };

describe('sandbox guardrails: the SDK spend-guard flow', () => {
  it('bootstrap → /verify → complete → evidence after every call, the intent stays spendable', async () => {
    const boot = await sdkPost(BOOTSTRAP, { operation: 'vendor.lookup', requested_spend_cents: 500, currency: 'usd', completion_preset: 'api_response_ok' });
    expect(boot.status).toBe(201);
    const b = sdkBootstrap(boot.body, org.tenants.sandbox);
    expect(b).toMatchObject({ operation: 'vendor.lookup', requested_spend_cents: 500, sandbox_lifecycle_status: 'funded', currency: 'usd', settlement_rail: 'stripe_connect', settlement_mode: 'simulated' });
    expect(b.simulator_event).toMatchObject({ event_type: 'funding_succeeded', sequence: 1, livemode: false, environment: 'sandbox', steps: ['fund_succeeded'], intent_id: b.intent_id });
    expect((b.simulator_event as { idempotency_key: string }).idempotency_key).toMatch(/^sim_[0-9a-f]{64}$/);

    for (const call of [1, 2]) {
      const allowed = sdkVerify((await verify(b.intent_id, b.capability_token, 'vendor.lookup', 200)).body, org.tenants.sandbox, b.intent_id);
      expect(allowed.allow, JSON.stringify(allowed)).toBe(true);
      const done = await rest(gw, 'POST', `/v1/spend/decisions/${allowed.decision_id}/complete`, { outcome: 'consumed' }, { token: org.apiKey.sandbox });
      expect(done.status).toBe(200);
      const ev = await sdkPost(
        evidencePath(b.intent_id),
        {
          payload: API_OK,
          operation: 'vendor.lookup',
          requested_spend_cents: 200,
          metadata: { tool_name: 'vendor.lookup', tool_call_id: `call-${call}`, evidence_preset: 'api_response_ok', decision_id: allowed.decision_id, external_attestations: [] },
        },
        { idempotencyKey: `evidence:${b.intent_id}:call-${call}` },
      );
      expect(ev.status, JSON.stringify(ev.body)).toBe(200);
      const e = sdkEvidence(ev.body, org.tenants.sandbox, b.intent_id);
      expect(e).toMatchObject({ predicate_passed: true, sandbox_lifecycle_status: 'evidence_submitted', operation: 'vendor.lookup', requested_spend_cents: 200, settlement_mode: 'simulated' });
      expect(e.schema_validation).toEqual({ vendor_schema_ok: true, canonical_schema_ok: true, quality_fields_missing: [], pack_stale: false, drift_kinds: [], forbidden_fields_present: [] });
    }
    // The ceiling holds across calls; other operations are refused.
    expect((await verify(b.intent_id, b.capability_token, 'vendor.lookup', 101)).body).toMatchObject({ allow: false, code: 'budget_exceeded' });
    expect((await verify(b.intent_id, b.capability_token, 'wire.transfer', 1)).body).toMatchObject({ allow: false, code: 'operation_not_allowed' });

    // Everything went through Harbor: the intent, its ledger and its audit trail.
    const intent = await gw.runtime.db.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId: org.tenants.sandbox, intentId: b.intent_id } } });
    expect(intent).toMatchObject({ state: 'evidence_submitted', settlementMode: 'simulated', allowedTools: ['vendor.lookup'], amountCents: 500, spentCents: 400, source: 'principal_signed', signingVersion: 6 });
    expect(intent.principalDid).toMatch(/^did:key:z6Mk/);
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: org.tenants.sandbox, intentId: b.intent_id }, orderBy: { seq: 'asc' } });
    expect(ledger.map((l) => l.type)).toEqual(['intent.created', 'funding.succeeded', 'spend.reserved', 'spend.consumed', 'evidence.submitted', 'spend.reserved', 'spend.consumed', 'evidence.submitted']);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, resourceId: b.intent_id } });
    expect(audit.map((a) => a.eventType)).toEqual(expect.arrayContaining(['harbor.intent.created', 'harbor.funding.succeeded', 'sandbox.simulator.funding_succeeded', 'harbor.evidence.submitted']));
    expect(await gw.runtime.db.simulatorEvent.count({ where: { tenantId: org.tenants.sandbox, intentId: b.intent_id } })).toBe(1);
  });

  it('evidence that fails the predicate or the schema says so, and the next call may still spend', async () => {
    const b = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'vendor.lookup', requested_spend_cents: 500, completion_preset: 'api_response_ok' })).body, org.tenants.sandbox);
    const failing = sdkEvidence((await sdkPost(evidencePath(b.intent_id), { payload: { ...API_OK, http_status: 500 } })).body, org.tenants.sandbox, b.intent_id);
    expect(failing).toMatchObject({ predicate_passed: false, operation: 'vendor.lookup', requested_spend_cents: 500 });
    expect(failing.schema_validation).toMatchObject({ canonical_schema_ok: true, drift_kinds: [] });
    const wrongShape = sdkEvidence((await sdkPost(evidencePath(b.intent_id), { payload: { http_status: '200' } })).body, org.tenants.sandbox, b.intent_id);
    expect(wrongShape).toMatchObject({ predicate_passed: false, schema_validation: { canonical_schema_ok: false, drift_kinds: ['missing_field', 'type_mismatch'] } });
    expect((await verify(b.intent_id, b.capability_token, 'vendor.lookup', 100)).body.allow).toBe(true);
  });

  it('vendor packs: a vendor payload is mapped to canonical fields and checked; funding artefacts fail the evidence', async () => {
    const b = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'stripe.charge', requested_spend_cents: 500, completion_preset: 'stripe_charge' })).body, org.tenants.sandbox);
    expect(b.settlement_rail).toBe('stripe_connect');
    const mapped = sdkEvidence((await sdkPost(evidencePath(b.intent_id), { vendor_payload: { charge_id: 'ch_1', http_status: 200, response_digest: 'blake3:ab' } })).body, org.tenants.sandbox, b.intent_id);
    expect(mapped).toMatchObject({ predicate_passed: true, schema_validation: { vendor_schema_ok: true, canonical_schema_ok: true, drift_kinds: [] } });
    const forbidden = sdkEvidence(
      (await sdkPost(evidencePath(b.intent_id), { vendor_payload: { charge_id: 'ch_1', http_status: 200, response_digest: 'blake3:ab', payment_intent_id: 'pi_1' } })).body,
      org.tenants.sandbox,
      b.intent_id,
    );
    expect(forbidden).toMatchObject({
      predicate_passed: false,
      schema_validation: { vendor_schema_ok: false, canonical_schema_ok: false, forbidden_fields_present: ['payment_intent_id'], drift_kinds: ['forbidden_field_present'] },
    });
    const noQuality = sdkEvidence((await sdkPost(evidencePath(b.intent_id), { vendor_payload: { http_status: 200, response_digest: 'blake3:ab' } })).body, org.tenants.sandbox, b.intent_id);
    expect(noQuality.schema_validation).toMatchObject({ vendor_schema_ok: false, quality_fields_missing: ['charge_id'], drift_kinds: expect.arrayContaining(['missing_field', 'quality_field_missing']) });
    // x402 delivery receipt: a scalar digest becomes the one-element artifact list.
    const x402 = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'fetch', requested_spend_cents: 2500, completion_preset: 'x402_delivery_receipt' })).body, org.tenants.sandbox);
    expect(x402.settlement_rail).toBe('x402_usdc_base');
    const receipt = sdkEvidence(
      (await sdkPost(evidencePath(x402.intent_id), { vendor_payload: { receipt_digest: 'ab'.repeat(32), resource_url: 'https://api.vendor.example/job/1', operation: 'attested' } })).body,
      org.tenants.sandbox,
      x402.intent_id,
    );
    expect(receipt).toMatchObject({ predicate_passed: true, schema_validation: { canonical_schema_ok: true } });
  });

  it('template_id + parameters instead of a preset, and the MCP shape (neither: any evidence passes)', async () => {
    const t = sdkBootstrap(
      (await sdkPost(BOOTSTRAP, { operation: 'job', requested_spend_cents: 300, template_id: 'completion_budget_v1', parameters: { status_path: ['status'], expected_status: 'completed', cost_path: ['cost_cents'] } })).body,
      org.tenants.sandbox,
    );
    expect((await sdkPost(evidencePath(t.intent_id), { payload: { status: 'completed', cost_cents: 300 } })).body.predicate_passed).toBe(true);
    expect((await sdkPost(evidencePath(t.intent_id), { payload: { status: 'completed', cost_cents: 301 } })).body.predicate_passed).toBe(false);
    const mcp = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'search', requested_spend_cents: 100, currency: 'usd', metadata: { client: 'mcp' } })).body, org.tenants.sandbox);
    expect((await sdkPost(evidencePath(mcp.intent_id), { payload: { anything: true } })).body.predicate_passed).toBe(true);
  });

  it('a repeated Idempotency-Key returns the same intent with its capability token', async () => {
    const body = { operation: 'vendor.lookup', requested_spend_cents: 500, completion_preset: 'api_response_ok' };
    const first = await sdkPost(BOOTSTRAP, body, { idempotencyKey: 'boot-1' });
    const again = await sdkPost(BOOTSTRAP, body, { idempotencyKey: 'boot-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(sdkBootstrap(again.body, org.tenants.sandbox)).toEqual(first.body);
    expect(await gw.runtime.db.sandboxGuardrailIntent.count({ where: { tenantId: org.tenants.sandbox, operation: 'vendor.lookup', requestedSpendCents: 500, completionPresetId: 'api_response_ok' } })).toBeGreaterThanOrEqual(1);
  });

  it('uses the rail the sandbox settlement configuration allows (ACH: pending, then funded)', async () => {
    const own = await createOrg(gw);
    const put = await rest(gw, 'PUT', '/v1/admin/settlement/config', { allowed_rails: ['stripe_ach_debit'] }, { token: own.admin.token.sandbox });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const b = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'booking', requested_spend_cents: 20000, completion_preset: 'api_response_ok' }, { key: own.apiKey.sandbox })).body, own.tenants.sandbox);
    expect(b).toMatchObject({ settlement_rail: 'stripe_ach_debit', sandbox_lifecycle_status: 'funded', simulator_event: { steps: ['fund_started', 'fund_succeeded'] } });
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: own.tenants.sandbox, intentId: b.intent_id }, orderBy: { seq: 'asc' } });
    expect(ledger.map((l) => l.type)).toEqual(['intent.created', 'funding.pending', 'funding.succeeded']);
    await rest(gw, 'PUT', '/v1/admin/settlement/config', { allowed_rails: [] }, { token: own.admin.token.sandbox });
    expectError(await sdkPost(BOOTSTRAP, { operation: 'booking', requested_spend_cents: 100 }, { key: own.apiKey.sandbox }), 422, 'settlement_rail_not_allowed');
  });

  it('guardrail policies apply: the template is judged as a template, the amount as an amount', async () => {
    const own = await createOrg(gw);
    const policy = await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', allow_raw_predicates: false, allowed_templates: ['api_response_v1'], max_intent_amount_cents: { usd: 1000 } }, { token: own.admin.token.sandbox });
    expect(policy.status).toBe(200);
    expect((await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 500, completion_preset: 'api_response_ok' }, { key: own.apiKey.sandbox })).status).toBe(201);
    expectError(await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 5000, completion_preset: 'api_response_ok' }, { key: own.apiKey.sandbox }), 403, 'guardrail_violation');
    const template = await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100, completion_preset: 'cost_and_completion' }, { key: own.apiKey.sandbox });
    expectError(template, 403, 'guardrail_violation');
    expect(template.body.error.details.violations.map((v: { kind: string }) => v.kind)).toEqual(['template_not_allowed']);
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: own.tenants.sandbox } })).toBe(1);
  });
});

describe('sandbox guardrails: refusals', () => {
  it('needs a sandbox service-account API key', async () => {
    const body = { operation: 'x', requested_spend_cents: 100 };
    expectError(await sdkPost(BOOTSTRAP, body, { key: org.apiKey.live }), 403, 'sandbox_environment_required');
    expectError(await rest(gw, 'POST', BOOTSTRAP, body, { token: org.admin.token.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', BOOTSTRAP, body), 401, 'unauthenticated');
    const harbor = await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.apiKey.sandbox });
    expectError(await rest(gw, 'POST', BOOTSTRAP, body, { token: harbor.body.access_token }), 403, 'forbidden');
  });

  it('refuses caller-supplied tenant fields, including x-tenant-id, before anything is written', async () => {
    const before = await gw.runtime.db.harborIntent.count({ where: { tenantId: org.tenants.sandbox } });
    const body = { operation: 'x', requested_spend_cents: 100 };
    expectError(await sdkPost(BOOTSTRAP, body, { headers: { 'x-tenant-id': org.tenants.sandbox } }), 400, 'tenant_field_not_allowed');
    for (const field of ['tenant_id', 'tenant', 'organization_id']) {
      expectError(await sdkPost(BOOTSTRAP, { ...body, [field]: org.tenants.sandbox }, {}), 400, 'tenant_field_not_allowed');
    }
    // Another tenant's id in the header never gets that far.
    expectError(await sdkPost(BOOTSTRAP, body, { headers: { 'x-tenant-id': org.tenants.live } }), 401, 'tenant_mismatch');
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: org.tenants.sandbox } })).toBe(before);
  });

  it('refuses live provider material, naming where it is and never echoing it', async () => {
    const secret = `sk_live_${'9'.repeat(24)}`;
    const res = await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100, metadata: { stripe_key: secret } });
    expectError(res, 422, 'live_provider_material');
    expect(res.body.error.details.findings).toEqual([{ kind: 'stripe_live_secret_key', path: '/metadata/stripe_key', where: 'value', hint: 'sk_live_…' }]);
    expect(JSON.stringify(res.body)).not.toContain(secret);
    expectError(await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100, livemode: true }), 422, 'live_provider_material');
    const b = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100 })).body, org.tenants.sandbox);
    expectError(await sdkPost(evidencePath(b.intent_id), { payload: { key: `rk_live_${'1'.repeat(20)}` } }), 422, 'live_provider_material');
  });

  it.each([
    ['preset + evidence_schema', { completion_preset: 'api_response_ok', evidence_schema: { type: 'object' } }, 400, 'invalid_request'],
    ['preset + template_id', { completion_preset: 'api_response_ok', template_id: 'true_v1' }, 400, 'invalid_request'],
    ['an unknown preset', { completion_preset: 'nope' }, 422, 'completion_preset_unknown'],
    ['an unknown template', { template_id: 'nope_v1' }, 400, 'invalid_request'],
    ['bad template parameters', { template_id: 'api_response_v1', parameters: { http_status_path: 'x' } }, 400, 'invalid_request'],
    ['zero spend', { requested_spend_cents: 0 }, 400, 'invalid_request'],
    ['a fractional spend', { requested_spend_cents: 1.5 }, 400, 'invalid_request'],
    ['no operation', { operation: '' }, 400, 'invalid_request'],
  ])('refuses %s', async (_name, extra, status, code) => {
    expectError(await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100, ...extra }), status, code);
  });

  it('evidence: another tenant’s intent, an intent not made by bootstrap and a settled one are refused', async () => {
    const b = sdkBootstrap((await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100 })).body, org.tenants.sandbox);
    const other = await createOrg(gw);
    expectError(await sdkPost(evidencePath(b.intent_id), { payload: {} }, { key: other.apiKey.sandbox }), 404, 'not_found');
    const plain = await fundedIntent(gw, await harborActor(gw, org));
    expectError(await sdkPost(evidencePath(plain.intentId), { payload: {} }), 404, 'not_found');
    expectError(await sdkPost(evidencePath('not-a-uuid'), { payload: {} }), 404, 'not_found');
    const release = await rest(gw, 'POST', '/v1/sandbox/simulator/events', { event_type: 'release', intent_id: b.intent_id }, { token: org.apiKey.sandbox });
    expectError(release, 409, 'invalid_state_transition');
    await sdkPost(evidencePath(b.intent_id), { payload: {} });
    expect((await rest(gw, 'POST', '/v1/sandbox/simulator/events', { event_type: 'release', intent_id: b.intent_id }, { token: org.apiKey.sandbox })).status).toBe(201);
    expectError(await sdkPost(evidencePath(b.intent_id), { payload: {} }), 409, 'invalid_state_transition');
    expect((await verify(b.intent_id, b.capability_token, 'x', 1)).body).toMatchObject({ allow: false, code: 'intent_not_spendable' });
  });

  it('read-only members cannot call it; it counts against the Harbor intent mutation limit', async () => {
    const own = await createOrg(gw);
    const reader = await addMember(gw, own, 'read_only');
    expectError(await rest(gw, 'POST', BOOTSTRAP, { operation: 'x', requested_spend_cents: 100 }, { token: reader.token.sandbox }), 403, 'forbidden');
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 1, window_seconds: 60 } } }, { token: own.admin.token.sandbox });
    expect((await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100 }, { key: own.apiKey.sandbox })).status).toBe(201);
    expectError(await sdkPost(BOOTSTRAP, { operation: 'x', requested_spend_cents: 100 }, { key: own.apiKey.sandbox }), 429, 'rate_limited');
  });
});

describe('sandbox guardrails over GraphQL', () => {
  it('bootstrap and evidence twins', async () => {
    const boot = await gql(
      gw,
      `mutation($input: SandboxGuardrailBootstrapInput!) { sandboxGuardrailBootstrap(input: $input) {
        tenantId intentId capabilityToken sandboxLifecycleStatus settlementRail simulatorEvent { eventType steps } userErrors { code } } }`,
      { input: { operation: 'vendor.lookup', requestedSpendCents: 500, completionPreset: 'api_response_ok' } },
      { token: org.apiKey.sandbox },
    );
    const b = boot.data.sandboxGuardrailBootstrap;
    expect(b).toMatchObject({ tenantId: org.tenants.sandbox, sandboxLifecycleStatus: 'funded', settlementRail: 'stripe_connect', simulatorEvent: { eventType: 'funding_succeeded', steps: ['fund_succeeded'] }, userErrors: [] });
    const ev = await gql(
      gw,
      `mutation($id: String!, $input: SandboxGuardrailEvidenceInput!) { sandboxGuardrailEvidenceSubmit(intentId: $id, input: $input) {
        predicatePassed sandboxLifecycleStatus schemaValidation { canonicalSchemaOk driftKinds } userErrors { code } } }`,
      { id: b.intentId, input: { payload: API_OK } },
      { token: org.apiKey.sandbox },
    );
    expect(ev.data.sandboxGuardrailEvidenceSubmit).toEqual({ predicatePassed: true, sandboxLifecycleStatus: 'evidence_submitted', schemaValidation: { canonicalSchemaOk: true, driftKinds: [] }, userErrors: [] });
    const refused = await gql(gw, 'mutation { sandboxGuardrailBootstrap(input: { operation: "x", requestedSpendCents: 1, completionPreset: "nope" }) { intentId userErrors { code } } }', {}, { token: org.apiKey.sandbox });
    expect(refused.data.sandboxGuardrailBootstrap).toEqual({ intentId: null, userErrors: [{ code: 'COMPLETION_PRESET_UNKNOWN' }] });
    const header = await gql(gw, 'mutation { sandboxGuardrailBootstrap(input: { operation: "x", requestedSpendCents: 1 }) { userErrors { code } } }', {}, { token: org.apiKey.sandbox, headers: { 'x-tenant-id': org.tenants.sandbox } });
    expect(header.data.sandboxGuardrailBootstrap.userErrors).toEqual([{ code: 'TENANT_FIELD_NOT_ALLOWED' }]);
    const live = await gql(gw, 'mutation { sandboxGuardrailBootstrap(input: { operation: "x", requestedSpendCents: 1 }) { intentId } }', {}, { token: org.apiKey.live });
    expect(live.errors?.[0]?.extensions?.code).toBe('SANDBOX_ENVIRONMENT_REQUIRED');
  });
});
