import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedIntentBody } from '../helpers/harbor.ts';
import { ManualClock } from '../../src/clock.ts';

let gw: TestGateway;
// Mid-minute, so a 60-second window has room on both sides.
const clock = new ManualClock(Date.UTC(2031, 0, 1, 12, 0, 20));
beforeAll(async () => {
  gw = await createTestGateway({ clock });
});
afterAll(() => gw.close());

const preview = (token: string) => rest(gw, 'POST', '/harbor/policy/v1/preview', { template_id: 'true_v1' }, { token });

describe('route-group rate limits', () => {
  it('lets exactly `limit` requests through per window; the next is 429 with Retry-After and RateLimit headers', async () => {
    const org = await createOrg(gw);
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { policy_sandbox_preview_test: { limit: 3, window_seconds: 60 } } }, { token: org.admin.token.sandbox });
    const token = org.apiKey.sandbox;
    for (let i = 0; i < 3; i++) {
      const ok = await preview(token);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ratelimit-policy')).toBe('"policy_sandbox_preview_test";q=3;w=60');
      expect(ok.headers.get('ratelimit')).toBe(`"policy_sandbox_preview_test";r=${2 - i};t=40`);
    }
    const limited = await preview(token);
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(limited.headers.get('ratelimit')).toBe('"policy_sandbox_preview_test";r=0;t=40');
    expect(limited.headers.get('ratelimit-policy')).toBe('"policy_sandbox_preview_test";q=3;w=60');
    clock.advance(40);
    expect((await preview(token)).status).toBe(200);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, eventType: 'rate_limit.exceeded' } });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.details)).toMatch(/"bucket":"h:[0-9a-f]{24}"/);
  });

  it('uses the documented defaults without an override', async () => {
    const org = await createOrg(gw);
    const res = await preview(org.apiKey.sandbox);
    expect(res.headers.get('ratelimit-policy')).toBe('"policy_sandbox_preview_test";q=120;w=60');
    const draft = await rest(gw, 'POST', '/harbor/policy/v1/drafts', { template_id: 'true_v1' }, { token: org.apiKey.sandbox });
    expect(draft.headers.get('ratelimit-policy')).toBe('"policy_lifecycle_mutation";q=30;w=60');
    const put = await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'observe' }, { token: org.admin.token.sandbox });
    expect(put.headers.get('ratelimit-policy')).toBe('"guardrail_policy_mutation";q=20;w=3600');
  });

  it('counts attempts that are refused later (no recognition proof), per tenant', async () => {
    const actor = await harborActor(gw, await createOrg(gw));
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { harbor_intent_mutation: { limit: 2, window_seconds: 60 } } }, { token: actor.org.admin.token.sandbox });
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { proof: false }), 401, 'recognition_proof_required');
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { proof: false }), 401, 'recognition_proof_required');
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor), { proof: { issuedAtMs: clock.now().getTime() - 60_000 } }), 429, 'rate_limited');
    // Another tenant has its own counter.
    const other = await harborActor(gw, await createOrg(gw));
    expect((await harborWrite(gw, other, '/harbor/intents', signedIntentBody(other), { proof: { issuedAtMs: clock.now().getTime() - 60_000 } })).status).toBe(201);
  });

  it('applies to GraphQL too: RATE_LIMITED with http.status 429 in the error and the same headers', async () => {
    const org = await createOrg(gw);
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { policy_sandbox_preview_test: { limit: 1, window_seconds: 30 } } }, { token: org.admin.token.sandbox });
    const query = '{ policyPreview(input: { templateId: "true_v1" }) { preview { digestHex } } }';
    expect((await gql(gw, query, {}, { token: org.apiKey.sandbox })).status).toBe(200);
    const limited = await gql(gw, query, {}, { token: org.apiKey.sandbox });
    expect(limited.status).toBe(429);
    expect(limited.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', http: { status: 429 } });
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect(limited.headers.get('ratelimit-policy')).toBe('"policy_sandbox_preview_test";q=1;w=30');
    // The REST route shares the counter.
    expectError(await preview(org.apiKey.sandbox), 429, 'rate_limited');
  });

  it('keeps auth routes on their own per-email and per-IP limits', async () => {
    const email = 'limited@example.test';
    let last;
    for (let i = 0; i < 11; i++) last = await rest(gw, 'POST', '/v1/public/auth/login/start', { email, password: 'x' });
    expectError(last!, 429, 'rate_limited');
    expect(last!.headers.get('ratelimit-policy')).toBe('"auth_login_start_email";q=10;w=900');
    // Another email is not affected.
    expect((await rest(gw, 'POST', '/v1/public/auth/login/start', { email: 'other@example.test', password: 'x' })).status).toBe(202);
  });
});
