import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, flattenedVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/crypto/canonical-json.ts';
import { signMandate } from '../../src/areas/protocol/mandate.ts';
import { TENANT_ID } from '../../src/areas/protocol/wire.ts';
import { startBootstrapped } from '../helpers/server.ts';

/**
 * The SDK's protocol-v2 and key/policy/trace calls against a freshly started gateway process
 * (`npm run build` first), with the SDK's exact request shapes and the fields its parsers need.
 */
const mandates = JSON.parse(fs.readFileSync(new URL('../fixtures/kit/mandates.json', import.meta.url), 'utf8'));
let server: Awaited<ReturnType<typeof startBootstrapped>>;
let apiKey: string;

beforeAll(async () => {
  server = await startBootstrapped('Protocol Co', 'admin@protocol.test');
  apiKey = server.apiKey;
}, 120_000);
afterAll(() => server?.dispose());

async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}, bearer: string | null = apiKey) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { accept: 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, any> };
}

describe('protocol v2 against a real gateway process', () => {
  it('Paybond.open gives a tenant id the SDK accepts in signed artifacts; the signed card verifies with the JWKS', async () => {
    const principal = await call('GET', '/v1/auth/principal');
    expect(principal.body.tenant_id).toMatch(TENANT_ID);

    const card = await call('GET', '/.well-known/agent-card.json', undefined, {}, null);
    expect(card.status).toBe(200);
    expect(card.headers.get('etag')).toBeTruthy();
    expect(card.headers.get('cache-control')).toContain('max-age');
    const jwks = await call('GET', '/.well-known/jwks.json', undefined, {}, null);
    const { signatures, ...unsigned } = card.body;
    await flattenedVerify({ protected: signatures[0].protected, signature: signatures[0].signature, payload: Buffer.from(canonicalJson(unsigned)).toString('base64url') }, createLocalJWKSet(jwks.body as any));

    const contracts = await call('GET', '/protocol/v2/a2a/task-contracts', undefined, {}, apiKey);
    expect(contracts.body.contracts.length).toBeGreaterThan(0);
    const one = await call('GET', `/protocol/v2/a2a/task-contracts/${encodeURIComponent(contracts.body.contracts[0].id)}`);
    expect(one.body.id).toBe(contracts.body.contracts[0].id);
  });

  it('verifies an SDK-signed mandate for the principal’s tenant, refuses a one-byte change', async () => {
    const tenantId = (await call('GET', '/v1/auth/principal')).body.tenant_id as string;
    const mandate = signMandate(
      {
        authorization: { kind: 'tenant', tenant_id: tenantId },
        agent: { subject: 'agent:1', key_id: 'kid-1' },
        allowed_actions: ['harbor.intent.fund'],
        allowed_tools: [],
        spend_ceiling: { amount_minor: 1000, currency: 'usd' },
        settlement: { default_rail: 'stripe_connect', allowed_rails: ['stripe_connect'] },
        constraint: { kind: 'policy', id: 'api_response_v1' },
        expires_at: '2032-01-01T00:00:00Z',
        nonce: randomUUID(),
        human_presence_mode: 'human_not_present',
      },
      new Uint8Array(Buffer.from(mandates.keys.principal.seed_hex, 'hex')),
    );
    const ok = await call('POST', '/protocol/v2/mandates/verify', mandate, { 'x-tenant-id': tenantId });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ valid: true, mandate_digest_sha256_hex: mandate.message_digest_sha256_hex });
    const bad = await call('POST', '/protocol/v2/mandates/verify', { ...mandate, nonce: `${mandate.nonce}x` }, { 'x-tenant-id': tenantId });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('mandate_digest_mismatch');
  });

  it('keys list/create, policy preview/test/validate and agent-run traces answer what the SDK reads', async () => {
    const tenantId = (await call('GET', '/v1/auth/principal')).body.tenant_id as string;
    const list = await call('GET', '/v1/admin/api-keys?limit=50');
    expect(Array.isArray(list.body.items)).toBe(true);
    expect(list.body.items[0]).toMatchObject({ key_id: expect.any(String), service_account_role: 'operator', key_kind: 'standard', mcp_scopes: [], revoked_at: null });

    const preview = await call('POST', '/harbor/policy/v1/preview', { template_id: 'true_v1', parameters: {} }, { 'x-tenant-id': tenantId });
    expect(preview.body).toMatchObject({ materialized_dsl: { version: 1, root: { op: 'true' } }, human_summary: expect.any(String) });
    const test = await call('POST', '/harbor/policy/v1/test', { template_id: 'true_v1', parameters: {}, evidence: {}, evidence_schema: { type: 'object' }, amount_cents: 100 }, { 'x-tenant-id': tenantId });
    expect(test.body.predicate_evaluation.passed).toBe(true);
    const validate = await call('POST', '/v1/policy/validate', { version: 1, name: 'p', default_deny: true, tools: { 'a.b': { side_effecting: false } } }, { 'x-tenant-id': tenantId });
    expect(validate.body).toMatchObject({ valid: true, tenant_id: tenantId });

    const runId = `run-${randomUUID()}`;
    expect((await call('PUT', `/v1/agent-runs/${runId}`, { intent_id: randomUUID(), operation: 'x', sandbox: true, allowed_tools: [], completion_preset: '' }, { 'x-tenant-id': tenantId })).status).toBe(200);
    const events = await call('POST', `/v1/agent-runs/${runId}/trace-events`, { events: [{ type: 'tool_selected', runId, toolName: 't', toolCallId: 'c', operation: 'x', recordedAt: new Date().toISOString() }] }, { 'x-tenant-id': tenantId });
    expect(events.body).toMatchObject({ accepted: 1, event_count: 1 });
  });
});
