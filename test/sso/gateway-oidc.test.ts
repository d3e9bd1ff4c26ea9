import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { newId } from '../../src/crypto/hash.ts';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { startTestOp, type TestOp } from '../helpers/idp/oidc-provider.ts';
import { CALLBACK, RETURN_TO, SSO_ENV, activeConnection, exchange, initiate, loginAudits, oidcCallback, snapshot } from './gateway-helpers.ts';

/**
 * OIDC sign-in end to end through the gateway's REST routes, against a real OpenID Provider
 * (oidc-provider) on loopback: initiate → the provider's login pages → callback → handoff code →
 * tokens; and every refusal leaves no session, no user and one audit event.
 */

let gw: TestGateway;
let op: TestOp;
let org: TestOrg;
let other: TestOrg;
let conn: string;

const oidcBody = () => ({
  protocol: 'oidc',
  issuer: op.issuer,
  client_id: op.clientId,
  client_secret: op.clientSecret,
  scopes: ['openid', 'email', 'profile', 'groups'],
  allowed_domains: ['acme.test'],
  jit_enabled: true,
  role_mappings: [
    { claim: 'groups', equals: 'admins', tenant: 'both', role: 'tenant_admin', entitlements: ['tenant.admin'] },
    { claim: 'groups', in: ['engineering'], tenant: 'sandbox', role: 'tenant_admin', entitlements: [] },
  ],
  default_role: 'read_only',
});

beforeAll(async () => {
  op = await startTestOp({
    redirectUri: CALLBACK,
    accounts: {
      alice: { email: 'alice@acme.test', email_verified: true, name: 'Alice', groups: ['admins'] },
      bob: { email: 'bob@acme.test', email_verified: false, groups: [] },
      carol: { email: 'carol@other.test', email_verified: true, groups: [] },
      dave: { email: 'dave@acme.test', email_verified: true, groups: ['engineering'] },
      erin: { email: 'erin@acme.test', email_verified: true, groups: ['admins'] },
      frank: { email: 'frank@acme.test', email_verified: true, groups: ['admins'] },
    },
  });
  gw = await createTestGateway({ env: SSO_ENV });
  org = await createOrg(gw, 'Acme');
  other = await createOrg(gw, 'Other');
  conn = await activeConnection(gw, org.admin.token.sandbox, oidcBody());
});

afterAll(async () => {
  await gw?.close();
  await op?.close();
});

async function browserLogin(account: string, query: Record<string, string> = { connection: conn }) {
  const started = await initiate(gw, query);
  const callback = await op.login(started.location, account);
  return { started, callback };
}

async function expectRefused(run: () => Promise<{ status: number; body: any }>, status: number, code: string, reason?: string, connectionId = conn) {
  const before = await snapshot(gw);
  const audits = (await loginAudits(gw, connectionId)).length;
  const res = await run();
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(await snapshot(gw)).toEqual(before);
  const after = await loginAudits(gw, connectionId);
  expect(after.length).toBe(audits + 1);
  const last = after.at(-1)!;
  expect(last.decision).toBe('denied');
  if (reason) expect((last.details as { reason: string }).reason).toBe(reason);
  return res;
}

describe('OIDC sign-in through the gateway', () => {
  it('runs the full code + PKCE flow: state, nonce and S256 challenge sent, JIT user created, 303 with a single-use code', async () => {
    const { started, callback } = await browserLogin('alice');
    expect(started.location.origin).toBe(op.issuer);
    expect(started.location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(started.location.searchParams.get('nonce')).toBeTruthy();
    expect(started.location.searchParams.get('redirect_uri')).toBe(CALLBACK);
    const redirect = await oidcCallback(gw, callback, started.cookie);
    expect(redirect.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(redirect.headers.get('location')).not.toMatch(/eyJ/); // no token in a URL
    const { code, tokens } = await exchange(gw, redirect);
    const claims = decodeJwt(tokens.access_token);
    expect(claims.amr).toEqual(['sso']);
    expect(claims.idp).toBe(conn);
    expect(claims.roles).toEqual(['tenant_admin']);
    expect(tokens.tenant_id).toBe(org.tenants.sandbox);

    const principal = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: tokens.access_token });
    expect(principal.status).toBe(200);
    const user = await gw.runtime.db.user.findUnique({ where: { email: 'alice@acme.test' } });
    expect(user?.passwordHash).toBeNull();
    expect(await gw.runtime.db.userIdentity.count({ where: { userId: user!.id, connectionId: conn } })).toBe(1);

    // The code works once.
    const again = await rest(gw, 'POST', '/v1/auth/sso/exchange', { code });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('sso_handoff_invalid');
    const audit = (await loginAudits(gw, conn)).at(-1)!;
    expect(audit.decision).toBe('allowed');
    expect(audit.actorId).toBe(user!.id);

    // The refresh keeps the SSO origin.
    const refreshed = await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
    expect(decodeJwt(refreshed.body.access_token).amr).toEqual(['sso']);
  });

  it('answers JSON clients with the tokens directly, and logs the same user in again by (iss, sub)', async () => {
    const { started, callback } = await browserLogin('alice');
    const res = await oidcCallback(gw, callback, started.cookie, 'application/json');
    expect(res.status).toBe(200);
    expect(res.body.access_token).toBeTruthy();
    expect(await gw.runtime.db.user.count({ where: { email: 'alice@acme.test' } })).toBe(1);
  });

  it('gives a console asking for JSON the provider URL instead of a redirect (the cookie set the same way)', async () => {
    const res = await rest(gw, 'GET', `/v1/auth/sso/initiate?${new URLSearchParams({ connection: conn, return_to: RETURN_TO })}`);
    expect(res.status).toBe(200);
    expect(new URL(res.body.redirect_url).origin).toBe(op.issuer);
    expect(res.headers.get('set-cookie')).toMatch(/^__Host-paybond-sso=[^;]+; Path=\/; Secure; HttpOnly; SameSite=None/);
  });

  it('starts from an email (domain) or an organization, and honours the environment preference and the live/sandbox mapping', async () => {
    const byEmail = await browserLogin('dave', { email: 'dave@acme.test', environment: 'live' });
    expect(byEmail.started.location.searchParams.get('login_hint')).toBe('dave@acme.test');
    const { tokens } = await exchange(gw, await oidcCallback(gw, byEmail.callback, byEmail.started.cookie));
    expect(tokens.environment).toBe('live');
    const dave = await gw.runtime.db.user.findUniqueOrThrow({ where: { email: 'dave@acme.test' } });
    const memberships = await gw.runtime.db.membership.findMany({ where: { userId: dave.id }, include: { tenant: true } });
    const roles = Object.fromEntries(memberships.map((m) => [m.tenant.environment, m.role]));
    // engineering → admin in sandbox only; live falls back to the default role.
    expect(roles).toEqual({ sandbox: 'tenant_admin', live: 'read_only' });

    const byOrg = await browserLogin('dave', { organization: org.organizationId });
    expect((await oidcCallback(gw, byOrg.callback, byOrg.started.cookie)).status).toBe(303);
  });

  it('demotes at the next login when a group is removed, and revokes the user’s other sessions', async () => {
    const first = await browserLogin('frank');
    const { tokens } = await exchange(gw, await oidcCallback(gw, first.callback, first.started.cookie));
    expect((await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: tokens.access_token })).status).toBe(200);

    op.accounts.set('frank', { email: 'frank@acme.test', email_verified: true, groups: [] });
    const second = await browserLogin('frank');
    const { tokens: demoted } = await exchange(gw, await oidcCallback(gw, second.callback, second.started.cookie));
    expect(decodeJwt(demoted.access_token).roles).toEqual(['read_only']);
    const old = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: tokens.access_token });
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe('credential_revoked');
    const frank = await gw.runtime.db.user.findUniqueOrThrow({ where: { email: 'frank@acme.test' } });
    expect(await gw.runtime.db.auditEvent.count({ where: { eventType: 'auth.sso_membership_changed', resourceId: frank.id } })).toBe(2);
  });

  it('keeps working after the provider rotates its signing key (unknown kid → JWKS refetch)', async () => {
    const warm = await browserLogin('alice');
    expect((await oidcCallback(gw, warm.callback, warm.started.cookie)).status).toBe(303);
    await op.rotateKeys();
    const { started, callback } = await browserLogin('alice');
    expect((await oidcCallback(gw, callback, started.cookie)).status).toBe(303);
  });
});

describe('OIDC refusals: no session, no user, one audit event', () => {
  it('missing state → 401 (no attempt to attribute, so nothing is written)', async () => {
    const before = await snapshot(gw);
    const res = await oidcCallback(gw, new URL(`${CALLBACK}?code=abc`), undefined);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'sso_login_failed', details: { reason: 'state_missing' } });
    const unknown = await oidcCallback(gw, new URL(`${CALLBACK}?code=abc&state=ssa_${'x'.repeat(30)}`), undefined);
    expect(unknown.body.error.details.reason).toBe('state_mismatch');
    expect(await snapshot(gw)).toEqual(before);
  });

  it('a state from another browser (cookie missing or of another attempt)', async () => {
    const { callback } = await browserLogin('alice');
    await expectRefused(() => oidcCallback(gw, callback, undefined), 401, 'sso_login_failed', 'browser_mismatch');
    const a = await browserLogin('alice');
    const b = await initiate(gw, { connection: conn });
    await expectRefused(() => oidcCallback(gw, a.callback, b.cookie), 401, 'sso_login_failed', 'browser_mismatch');
  });

  it('an attempt used twice (the code replayed with it)', async () => {
    const { started, callback } = await browserLogin('alice');
    expect((await oidcCallback(gw, callback, started.cookie)).status).toBe(303);
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 401, 'sso_login_failed', 'attempt_reused');
  });

  it('a failed validation consumes the attempt too', async () => {
    const { started, callback } = await browserLogin('alice');
    const tampered = new URL(callback);
    tampered.searchParams.set('code', 'not-the-code');
    await expectRefused(() => oidcCallback(gw, tampered, started.cookie), 401, 'sso_login_failed', 'code_rejected');
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 401, 'sso_login_failed', 'attempt_reused');
  });

  it('an expired attempt', async () => {
    const { started, callback } = await browserLogin('alice');
    await gw.runtime.db.ssoLoginAttempt.update({ where: { id: started.attemptId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 401, 'sso_login_failed', 'attempt_expired');
  });

  it('a wrong nonce or PKCE verifier kept with the attempt (the ID token or the code no longer match)', async () => {
    const a = await browserLogin('alice');
    await gw.runtime.db.ssoLoginAttempt.update({ where: { id: a.started.attemptId }, data: { nonce: 'another-nonce' } });
    await expectRefused(() => oidcCallback(gw, a.callback, a.started.cookie), 401, 'sso_login_failed', 'nonce_mismatch');
    const b = await browserLogin('alice');
    await gw.runtime.db.ssoLoginAttempt.update({ where: { id: b.started.attemptId }, data: { pkceVerifier: 'x'.repeat(43) } });
    const res = await expectRefused(() => oidcCallback(gw, b.callback, b.started.cookie), 401, 'sso_login_failed');
    expect(res.body.error.details.reason).toMatch(/^(code_rejected|pkce_failed)$/);
  });

  it('a mix-up: the iss parameter of another issuer', async () => {
    const { started, callback } = await browserLogin('alice');
    const mixed = new URL(callback);
    mixed.searchParams.set('iss', 'https://evil.test');
    await expectRefused(() => oidcCallback(gw, mixed, started.cookie), 401, 'sso_login_failed', 'issuer_mismatch');
  });

  it('error=access_denied from the provider', async () => {
    const started = await initiate(gw, { connection: conn });
    const callback = await op.login(started.location, 'alice', { abort: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 401, 'sso_login_failed', 'access_denied');
  });

  it('email_verified false → 403 sso_user_not_provisioned', async () => {
    const { started, callback } = await browserLogin('bob');
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 403, 'sso_user_not_provisioned', 'email_unverified');
  });

  it('an email domain outside allowed_domains → 403', async () => {
    const { started, callback } = await browserLogin('carol');
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 403, 'sso_user_not_provisioned', 'domain_not_allowed');
  });

  it('an email that belongs to a user of another organization is never linked (same 403)', async () => {
    const erinId = newId('usr');
    await gw.runtime.db.user.create({ data: { id: erinId, email: 'erin@acme.test', passwordHash: null } });
    await gw.runtime.db.membership.create({ data: { id: newId('mem'), userId: erinId, tenantId: other.tenants.sandbox, role: 'tenant_admin', entitlements: [] } });
    const { started, callback } = await browserLogin('erin');
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 403, 'sso_user_not_provisioned', 'email_belongs_to_another_organization');
    expect(await gw.runtime.db.membership.count({ where: { userId: erinId } })).toBe(1);
  });

  it('return_to off the allowlist → 400 before any redirect', async () => {
    const before = await snapshot(gw);
    const res = await rest(gw, 'GET', `/v1/auth/sso/initiate?${new URLSearchParams({ connection: conn, return_to: 'https://evil.test/' })}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('sso_return_to_not_allowed');
    expect(res.headers.get('location')).toBeNull();
    expect(await snapshot(gw)).toEqual(before);
    expect((await loginAudits(gw, conn)).at(-1)!.details).toMatchObject({ reason: 'return_to_not_allowed' });
    const prefix = await rest(gw, 'GET', `/v1/auth/sso/initiate?${new URLSearchParams({ connection: conn, return_to: `${RETURN_TO}/../x` })}`);
    expect(prefix.status).toBe(400);
  });

  it('bad initiate input → 400; unknown connection, organization or domain → 404', async () => {
    expect((await rest(gw, 'GET', '/v1/auth/sso/initiate?return_to=https://x.test/')).status).toBe(400);
    expect((await rest(gw, 'GET', `/v1/auth/sso/initiate?connection=${conn}&organization=${org.organizationId}&return_to=${RETURN_TO}`)).status).toBe(400);
    for (const q of [{ connection: 'sso_nope' }, { organization: 'org_nope' }, { email: 'x@nowhere.test' }] as Array<Record<string, string>>) {
      const res = await rest(gw, 'GET', `/v1/auth/sso/initiate?${new URLSearchParams({ ...q, return_to: RETURN_TO })}`);
      expect(res.status).toBe(404);
    }
  });

  it('JIT off → 403 and nothing created', async () => {
    const id = await activeConnection(gw, other.admin.token.sandbox, { ...oidcBody(), allowed_domains: ['other.test'], jit_enabled: false });
    const started = await initiate(gw, { connection: id });
    const callback = await op.login(started.location, 'carol');
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 403, 'sso_user_not_provisioned', 'jit_disabled', id);
  });

  it('a disabled connection: initiate 404, and a login in flight is refused', async () => {
    const id = await activeConnection(gw, org.admin.token.sandbox, oidcBody());
    const started = await initiate(gw, { connection: id });
    const callback = await op.login(started.location, 'alice');
    expect((await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/disable`, undefined, { token: org.admin.token.sandbox })).status).toBe(200);
    await expectRefused(() => oidcCallback(gw, callback, started.cookie), 401, 'sso_login_failed', 'connection_disabled', id);
    expect((await rest(gw, 'GET', `/v1/auth/sso/initiate?${new URLSearchParams({ connection: id, return_to: RETURN_TO })}`)).status).toBe(404);
  });
});
