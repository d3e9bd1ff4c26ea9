import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, addMember, TEST_PASSWORD, type TestOrg } from '../helpers/factories.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const codeFor = (email: string) => /Your code is (\d{8})/.exec(gw.mailer.lastTo(email)?.text ?? '')?.[1];

async function signIn(email = org.admin.email, environment?: string) {
  const start = await rest(gw, 'POST', '/v1/public/auth/login/start', { email, password: TEST_PASSWORD });
  expect(start.status).toBe(202);
  await new Promise((r) => setTimeout(r, 10)); // mail is sent without awaiting
  const verify = await rest(gw, 'POST', '/v1/public/auth/challenges/verify', {
    challenge_id: start.body.challenge_id,
    code: codeFor(email),
    ...(environment ? { environment } : {}),
  });
  expect(verify.status, JSON.stringify(verify.body)).toBe(200);
  return verify.body;
}

describe('password sign-in with email challenge', () => {
  it('issues a session for the right code, defaulting to the sandbox tenant', async () => {
    const session = await signIn();
    expect(session).toMatchObject({ token_type: 'Bearer', tenant_id: org.tenants.sandbox, environment: 'sandbox' });
    expect(session.refresh_token).toMatch(/^paybond_rt_/);
    const principal = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: session.access_token });
    expect(principal.status).toBe(200);
    expect(principal.body).toMatchObject({ tenant_id: org.tenants.sandbox, principal_type: 'user', roles: ['tenant_admin'], email: org.admin.email });
  });

  it('answers the same for a wrong password and an unknown email, and sends no mail', async () => {
    const before = gw.mailer.messages.length;
    const wrong = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: org.admin.email, password: 'nope' });
    const unknown = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: 'nobody@example.test', password: 'nope' });
    expect(wrong.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(Object.keys(wrong.body).sort()).toEqual(Object.keys(unknown.body).sort());
    await new Promise((r) => setTimeout(r, 10));
    expect(gw.mailer.messages.length).toBe(before);
    // The decoy challenge cannot be completed by any code.
    const verify = await rest(gw, 'POST', '/v1/public/auth/challenges/verify', { challenge_id: wrong.body.challenge_id, code: '12345678' });
    expectError(verify, 401, 'challenge_failed');
  });

  it('refuses a wrong code, then burns the challenge after five attempts', async () => {
    const start = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: org.admin.email, password: TEST_PASSWORD });
    await new Promise((r) => setTimeout(r, 10));
    const good = codeFor(org.admin.email)!;
    const bad = good === '00000000' ? '00000001' : '00000000';
    for (let i = 0; i < 5; i++) {
      expectError(await rest(gw, 'POST', '/v1/public/auth/challenges/verify', { challenge_id: start.body.challenge_id, code: bad }), 401, 'challenge_failed');
    }
    expectError(await rest(gw, 'POST', '/v1/public/auth/challenges/verify', { challenge_id: start.body.challenge_id, code: good }), 401, 'challenge_failed');
  });

  it('uses a code once', async () => {
    const start = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: org.admin.email, password: TEST_PASSWORD });
    await new Promise((r) => setTimeout(r, 10));
    const body = { challenge_id: start.body.challenge_id, code: codeFor(org.admin.email) };
    expect((await rest(gw, 'POST', '/v1/public/auth/challenges/verify', body)).status).toBe(200);
    expectError(await rest(gw, 'POST', '/v1/public/auth/challenges/verify', body), 401, 'challenge_failed');
  });

  it('rejects malformed input with 400 and a field', async () => {
    const bad = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: 'not-an-email', password: '' });
    expectError(bad, 400, 'invalid_request');
    expect(bad.body.error.details.issues.map((i: { field: string }) => i.field)).toEqual(expect.arrayContaining(['email', 'password']));
    expectError(await rest(gw, 'POST', '/v1/public/auth/challenges/verify', { challenge_id: 'x', code: 'abc' }), 400, 'invalid_request');
  });
});

describe('sign-up through a challenge', () => {
  it('creates an organization with both tenants when sign-up is enabled', async () => {
    const open = await createTestGateway({ env: { ALLOW_SIGNUP: 'true' } });
    try {
      const email = 'founder@newco.test';
      const start = await rest(open, 'POST', '/v1/public/auth/login/start', { email, password: 'a long enough password', organization_name: 'NewCo' });
      expect(start.status).toBe(202);
      await new Promise((r) => setTimeout(r, 10));
      const code = /(\d{8})/.exec(open.mailer.lastTo(email)!.text)![1];
      const verify = await rest(open, 'POST', '/v1/public/auth/challenges/verify', { challenge_id: start.body.challenge_id, code });
      expect(verify.status).toBe(200);
      const envs = await rest(open, 'GET', '/v1/auth/environments', undefined, { token: verify.body.access_token });
      expect(envs.body.environments.map((e: { environment: string }) => e.environment).sort()).toEqual(['live', 'sandbox']);
      const principal = await rest(open, 'GET', '/v1/auth/principal', undefined, { token: verify.body.access_token });
      expect(principal.body.organization.name).toBe('NewCo');
    } finally {
      await open.close();
    }
  });
});

describe('refresh tokens', () => {
  it('rotate on every use; reusing an old one revokes the whole family', async () => {
    const first = await signIn();
    const second = await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: first.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    const third = await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: second.body.refresh_token });
    expect(third.status).toBe(200);

    expectError(await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: first.refresh_token }), 401, 'refresh_token_reused');
    // The newest refresh token and every access token of the family are now dead.
    expectError(await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: third.body.refresh_token }), 401, 'credential_revoked');
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: third.body.access_token }), 401, 'credential_revoked');
    const events = await gw.runtime.db.auditEvent.findMany({ where: { eventType: 'auth.refresh_token_reused', resourceId: first.session_id } });
    expect(events).toHaveLength(1);
  });

  it('rejects an unknown refresh token', async () => {
    expectError(await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: 'paybond_rt_nope' }), 401, 'invalid_credentials');
  });
});

describe('logout, environments and switching', () => {
  it('logout ends the session at once', async () => {
    const session = await signIn();
    const out = await rest(gw, 'POST', '/v1/auth/logout', undefined, { token: session.access_token });
    expect(out).toMatchObject({ status: 200, body: { logged_out: true } });
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: session.access_token }), 401, 'credential_revoked');
    expectError(await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: session.refresh_token }), 401, 'credential_revoked');
  });

  it('lists both environments and switches to live', async () => {
    const envs = await rest(gw, 'GET', '/v1/auth/environments', undefined, { token: org.admin.token.sandbox });
    expect(envs.body.environments).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ environment: 'live', tenant_id: org.tenants.live, current: false }),
        expect.objectContaining({ environment: 'sandbox', tenant_id: org.tenants.sandbox, current: true }),
      ]),
    );
    const switched = await rest(gw, 'POST', '/v1/auth/environment/switch', { environment: 'live' }, { token: org.admin.token.sandbox });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ environment: 'live', tenant_id: org.tenants.live });
    const viewer = await gqlOk(gw, '{ viewer { tenantId environment } }', {}, { token: switched.body.access_token });
    expect(viewer.viewer).toEqual({ tenantId: org.tenants.live, environment: 'live' });
  });

  it("cannot switch into another organization's tenant", async () => {
    const other = await createOrg(gw);
    const res = await rest(gw, 'POST', '/v1/auth/environment/switch', { tenant_id: other.tenants.live }, { token: org.admin.token.sandbox });
    expectError(res, 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/v1/auth/environment/switch', {}, { token: org.admin.token.sandbox }), 400, 'invalid_request');
  });

  it('needs a human session for environments', async () => {
    expectError(await rest(gw, 'GET', '/v1/auth/environments', undefined, { token: org.apiKey.sandbox }), 403, 'forbidden');
    const reader = await addMember(gw, org, 'read_only');
    expect((await rest(gw, 'GET', '/v1/auth/environments', undefined, { token: reader.token.live })).status).toBe(200);
  });
});

describe('machine credentials', () => {
  it('an API key finds its tenant through /v1/auth/principal (how SDKs bootstrap)', async () => {
    const res = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: org.apiKey.sandbox });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant_id: org.tenants.sandbox, environment: 'sandbox', principal_type: 'api_key' });
  });

  it('exchanges an API key for a short-lived Harbor token', async () => {
    const res = await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.apiKey.live });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', tenant_id: org.tenants.live, environment: 'live', expires_in: 300 });
    const principal = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: res.body.access_token });
    expect(principal.body).toMatchObject({ principal_type: 'harbor', tenant_id: org.tenants.live });
    // A session cannot use the machine exchange.
    expectError(await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.admin.token.live }), 403, 'forbidden');
  });
});
