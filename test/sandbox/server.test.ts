import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBootstrapped } from '../helpers/server.ts';
import { sdkBootstrap, sdkEvidence, sdkVerify } from './sdk-contract.ts';

/**
 * The Paybond Kit SDK's first-integration flow against a freshly started gateway process, with
 * the SDK's exact request shapes: principal, guardrail bootstrap (bearer only), the spend guard's
 * capability check (Harbor headers), decision completion, then evidence after the tool call.
 */
let server: Awaited<ReturnType<typeof startBootstrapped>>;
let apiKey: string;

beforeAll(async () => {
  server = await startBootstrapped('Sandbox Co', 'admin@sandbox.test');
  apiKey = server.apiKey;
}, 120_000);
afterAll(() => server?.dispose());

async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { accept: 'application/json', authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  // The SDK throws on an empty or non-JSON success body.
  return { status: response.status, body: JSON.parse(text) as Record<string, any> };
}

describe('sandbox guardrails against a real gateway process', () => {
  it('bootstrap → capability check → completion → evidence, as the SDK sends them', async () => {
    const principal = await call('GET', '/v1/auth/principal');
    expect(principal.body).toMatchObject({ environment: 'sandbox' });
    const tenantId = principal.body.tenant_id as string;

    const boot = await call('POST', '/v1/sandbox/guardrails/bootstrap', { operation: 'search.web', requested_spend_cents: 500, currency: 'usd', completion_preset: 'api_response_ok' }, { 'idempotency-key': 'first-run' });
    expect(boot.status).toBe(201);
    const b = sdkBootstrap(boot.body, tenantId);

    // The interceptor caps the spend at min(tool cents, bootstrap ceiling).
    const verify = await call('POST', '/verify', { intent_id: b.intent_id, token: b.capability_token, operation: b.operation, requested_spend_cents: Math.min(250, b.requested_spend_cents) }, { 'x-tenant-id': tenantId });
    expect(verify.status).toBe(200);
    const decision = sdkVerify(verify.body, tenantId, b.intent_id);
    expect(decision.allow).toBe(true);

    const complete = await call('POST', `/v1/spend/decisions/${decision.decision_id}/complete`, { outcome: 'consumed' });
    expect(complete.status).toBe(200);

    const evidence = await call(
      'POST',
      `/v1/sandbox/guardrails/${encodeURIComponent(b.intent_id)}/evidence`,
      {
        payload: { http_status: 200, vendor_ref_id: 'req_1', response_digest: 'blake3:00' },
        operation: b.operation,
        requested_spend_cents: 250,
        metadata: { tool_name: 'search.web', tool_call_id: 'call_1', evidence_preset: 'api_response_ok', decision_id: decision.decision_id, external_attestations: [] },
      },
      { 'idempotency-key': `${b.intent_id}:call_1` },
    );
    expect(evidence.status).toBe(200);
    expect(sdkEvidence(evidence.body, tenantId, b.intent_id)).toMatchObject({ predicate_passed: true, sandbox_lifecycle_status: 'evidence_submitted' });

    // A released decision (the tool threw) gives its spend back.
    const second = sdkVerify((await call('POST', '/verify', { intent_id: b.intent_id, token: b.capability_token, operation: b.operation, requested_spend_cents: 250 }, { 'x-tenant-id': tenantId })).body, tenantId, b.intent_id);
    expect(second.allow).toBe(true);
    expect((await call('POST', `/v1/spend/decisions/${second.decision_id}/complete`, { outcome: 'released' })).status).toBe(200);
    expect(sdkVerify((await call('POST', '/verify', { intent_id: b.intent_id, token: b.capability_token, operation: b.operation, requested_spend_cents: 250 }, { 'x-tenant-id': tenantId })).body, tenantId, b.intent_id).allow).toBe(true);

    // The same bootstrap key replays the same intent, with a token the SDK can use.
    const replay = await call('POST', '/v1/sandbox/guardrails/bootstrap', { operation: 'search.web', requested_spend_cents: 500, currency: 'usd', completion_preset: 'api_response_ok' }, { 'idempotency-key': 'first-run' });
    expect(sdkBootstrap(replay.body, tenantId)).toEqual(b);
  }, 60_000);
});
