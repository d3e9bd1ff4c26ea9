import { expect } from 'vitest';
import { rest, type TestGateway } from '../helpers/gateway.ts';

/** Where the gateway says it lives (PUBLIC_BASE_URL): the redirect URI / ACS the IdPs know. */
export const BASE = 'https://gateway.test';
export const CALLBACK = `${BASE}/v1/auth/sso/callback`;
export const RETURN_TO = 'https://console.acme.test/sso/done';
export const SSO_ENV = { PUBLIC_BASE_URL: BASE, SSO_ALLOW_INSECURE_LOOPBACK: 'true' };
const COOKIE = '__Host-paybond-sso';

export interface Started {
  location: URL;
  cookie: string;
  attemptId: string;
}

/** GET /v1/auth/sso/initiate as a browser: 302 to the IdP plus the binding cookie. */
export async function initiate(gw: TestGateway, query: Record<string, string>): Promise<Started> {
  const res = await rest(gw, 'GET', `/v1/auth/sso/initiate?${new URLSearchParams({ return_to: RETURN_TO, ...query })}`, undefined, { headers: { accept: 'text/html' } });
  expect(res.status, JSON.stringify(res.body)).toBe(302);
  const setCookie = res.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/Secure; HttpOnly; SameSite=None/);
  const cookie = new RegExp(`${COOKIE}=([^;]+)`).exec(setCookie)![1]!;
  const location = new URL(res.headers.get('location')!);
  const attemptId = location.searchParams.get('state') ?? location.searchParams.get('RelayState')!;
  return { location, cookie, attemptId };
}

/** The OIDC callback as the browser makes it (the cookie back, HTML accepted). */
export const oidcCallback = (gw: TestGateway, callback: URL, cookie: string | undefined, accept = 'text/html') =>
  rest(gw, 'GET', `${callback.pathname}${callback.search}`, undefined, { headers: { accept, ...(cookie ? { cookie: `${COOKIE}=${cookie}` } : {}) } });

/** The SAML callback: the IdP's auto-submitted form. */
export const samlCallback = (gw: TestGateway, form: Record<string, string>, cookie: string | undefined, accept = 'text/html') =>
  rest(gw, 'POST', '/v1/auth/sso/callback', undefined, {
    raw: new URLSearchParams(form).toString(),
    headers: { accept, 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie: `${COOKIE}=${cookie}` } : {}) },
  });

/** 303 → return_to?sso_code=…, then the code for tokens. */
export async function exchange(gw: TestGateway, redirect: { status: number; headers: Headers; body: unknown }) {
  expect(redirect.status, JSON.stringify(redirect.body)).toBe(303);
  const location = new URL(redirect.headers.get('location')!);
  expect(location.origin + location.pathname).toBe(RETURN_TO);
  const code = location.searchParams.get('sso_code')!;
  const tokens = await rest(gw, 'POST', '/v1/auth/sso/exchange', { code });
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  return { code, tokens: tokens.body as { access_token: string; refresh_token: string; tenant_id: string; environment: string } };
}

/** Create, test and activate a connection as the org's admin. */
export async function activeConnection(gw: TestGateway, adminToken: string, body: Record<string, unknown>): Promise<string> {
  const created = await rest(gw, 'POST', '/v1/admin/sso/connections', { name: 'IdP', return_to_allowlist: [RETURN_TO], ...body }, { token: adminToken });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.connection_id as string;
  const tested = await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/test`, undefined, { token: adminToken });
  expect(tested.body.ok, JSON.stringify(tested.body)).toBe(true);
  const activated = await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/activate`, undefined, { token: adminToken });
  expect(activated.status, JSON.stringify(activated.body)).toBe(200);
  return id;
}

/** Counts that must not move on a refused login. */
export async function snapshot(gw: TestGateway) {
  const db = gw.runtime.db;
  return { users: await db.user.count(), sessions: await db.session.count(), identities: await db.userIdentity.count(), memberships: await db.membership.count() };
}

export async function loginAudits(gw: TestGateway, connectionId: string) {
  return gw.runtime.db.auditEvent.findMany({ where: { eventType: 'auth.sso_login', resourceId: connectionId }, orderBy: { createdAt: 'asc' } });
}
