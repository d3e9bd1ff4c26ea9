import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ManualClock } from '../../src/clock.ts';
import { createTestGateway, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg, type TestUser } from '../helpers/factories.ts';

/**
 * Support sessions: opened by a member holding support.agent, time-boxed, read-only unless a
 * permission opens a write, every request audited and flagged, listed for and revocable by the
 * tenant's admins.
 */

let gw: TestGateway;
let clock: ManualClock;
let org: TestOrg;
let other: TestOrg;
let staff: TestUser;
let reader: TestUser;
const reason = 'Customer ticket: settlement seems stuck since Monday';

beforeAll(async () => {
  clock = new ManualClock(new Date());
  gw = await createTestGateway({ clock });
  org = await createOrg(gw, 'Acme');
  other = await createOrg(gw, 'Other');
  staff = await addMember(gw, org, 'read_only', ['support.agent']);
  reader = await addMember(gw, org, 'read_only');
});

afterAll(async () => {
  await gw?.close();
});

async function open(body: Record<string, unknown> = {}, token = staff.token.sandbox) {
  const res = await rest(gw, 'POST', '/v1/auth/support-session', { reason, ...body }, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { access_token: string; support_session: { support_session_id: string; permissions: string[]; status: string }; expires_in: number; environment: string };
}

describe('opening a support session', () => {
  it('refuses without a credential (401), with bad input (400), and without the support.agent entitlement (403)', async () => {
    expect((await rest(gw, 'POST', '/v1/auth/support-session', { reason })).status).toBe(401);
    for (const body of [{}, { reason: 'too short' }, { reason, duration_seconds: 7200 }, { reason, duration_seconds: 10 }, { reason, permissions: ['admin'] }]) {
      const res = await rest(gw, 'POST', '/v1/auth/support-session', body, { token: staff.token.sandbox });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    const noEntitlement = await rest(gw, 'POST', '/v1/auth/support-session', { reason }, { token: reader.token.sandbox });
    expect(noEntitlement.status).toBe(403);
    expect(noEntitlement.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('support.agent') });
    // A tenant admin without support.agent is refused too; so is an API key.
    expect((await rest(gw, 'POST', '/v1/auth/support-session', { reason }, { token: org.admin.token.sandbox })).status).toBe(403);
    // The entitlement is read again from the membership: a token minted before it was withdrawn does not help.
    const withdrawn = await addMember(gw, org, 'read_only', ['support.agent']);
    await gw.runtime.db.membership.updateMany({ where: { userId: withdrawn.userId }, data: { entitlements: [] } });
    const stale = await rest(gw, 'POST', '/v1/auth/support-session', { reason }, { token: withdrawn.token.sandbox });
    expect(stale.status).toBe(403);
    expect(stale.body.error.code).toBe('support_agent_required');
    expect((await rest(gw, 'POST', '/v1/auth/support-session', { reason }, { token: org.apiKey.sandbox })).status).toBe(403);
  });

  it('issues a non-refreshable support token (typ support, act = the staff user), read-only by default, fixed to its tenant', async () => {
    const issued = await open();
    expect(issued.support_session).toMatchObject({ permissions: ['read'], status: 'active' });
    expect(issued.expires_in).toBe(1800);
    expect(issued).not.toHaveProperty('refresh_token');
    expect(decodeProtectedHeader(issued.access_token).typ).toBe('paybond-support+jwt');
    expect(decodeJwt(issued.access_token)).toMatchObject({ act: { sub: staff.userId }, tid: org.tenants.sandbox, env: 'sandbox', scope: 'read' });
    const created = await gw.runtime.db.auditEvent.findFirst({ where: { eventType: 'support_session.created', resourceId: issued.support_session.support_session_id } });
    expect(created?.actorId).toBe(staff.userId);
  });
});

describe('under a support session', () => {
  it('reads, with x-paybond-support-session on every response and an audit event per request', async () => {
    const issued = await open();
    const id = issued.support_session.support_session_id;
    const principal = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: issued.access_token });
    expect(principal.status).toBe(200);
    expect(principal.headers.get('x-paybond-support-session')).toBe(id);
    const keys = await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token: issued.access_token });
    expect(keys.status).toBe(200);
    const viaGraphql = await gql(gw, '{ viewer { tenantId } }', {}, { token: issued.access_token });
    expect(viaGraphql.headers.get('x-paybond-support-session')).toBe(id);

    const audit = await rest(gw, 'GET', '/v1/admin/audit-events?event_type=support_session.request&limit=100', undefined, { token: org.admin.token.sandbox });
    const mine = (audit.body.events as Array<{ resource_id: string; details: Record<string, unknown>; decision: string }>).filter((e) => e.resource_id === id);
    expect(mine.map((e) => e.details.route).sort()).toEqual(['/v1/admin/api-keys', '/v1/auth/principal', 'graphql anonymous'].sort());
    expect(mine.every((e) => e.details.status === 200 && e.details.method && e.details.support_session_id === id && e.decision === 'allowed')).toBe(true);
    const row = await gw.runtime.db.supportSession.findUniqueOrThrow({ where: { id } });
    expect(row.requestCount).toBe(3);
  });

  it('refuses writes outside its permissions with 403 support_session_read_only, audited as denied', async () => {
    const { access_token: token, support_session } = await open();
    const refusals: Array<[string, string, unknown, string]> = [
      ['POST', '/v1/auth/support-session', { reason }, 'forbidden'], // chaining: a support token holds no entitlement
      ['POST', '/v1/auth/environment/switch', { environment: 'live' }, 'support_session_read_only'],
      ['POST', '/v1/auth/refresh', { refresh_token: staff.refreshToken.sandbox }, 'support_session_read_only'],
      ['POST', '/v1/auth/logout', undefined, 'support_session_read_only'],
      ['POST', '/v1/admin/api-keys', { name: 'backdoor' }, 'forbidden'], // the read role cannot reach admin writes at all
    ];
    for (const [method, path, body, code] of refusals) {
      const res = await rest(gw, method, path, body, { token });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.error.code).toBe(code);
      expect(res.headers.get('x-paybond-support-session')).toBe(support_session.support_session_id);
    }
    const denied = await gw.runtime.db.auditEvent.count({ where: { eventType: 'support_session.request', resourceId: support_session.support_session_id, decision: 'denied' } });
    expect(denied).toBe(refusals.length);
    // The staff user's own refresh token was not used by the refused call.
    expect((await rest(gw, 'POST', '/v1/auth/refresh', { refresh_token: staff.refreshToken.sandbox })).status).toBe(200);
  });

  it('a write permission opens only its own fields: never API keys, PATs, SSO changes or other support sessions', async () => {
    const { access_token: token } = await open({ permissions: ['read', 'settlement.reconcile'] });
    for (const [method, path, body, code] of [
      ['POST', '/v1/admin/api-keys', { name: 'backdoor' }, 'support_session_read_only'],
      ['POST', '/v1/admin/sso/connections', { name: 'x', protocol: 'oidc', return_to_allowlist: ['https://x.test/'] }, 'support_session_read_only'],
      ['POST', '/v1/auth/support-session', { reason }, 'forbidden'],
    ] as const) {
      const res = await rest(gw, method, path, body, { token });
      expect(res.status, path).toBe(403);
      expect(res.body.error.code).toBe(code);
    }
    const chained = await gql(gw, `mutation { supportSessionCreate(input: { reason: "${reason}" }) { issued { accessToken } } }`, {}, { token });
    expect(chained.errors?.[0]?.extensions?.code).toMatch(/^(FORBIDDEN|SUPPORT_SESSION_READ_ONLY)$/);
    const gqlWrite = await gql(gw, 'mutation { apiKeyCreate(input: { name: "x" }) { secret } }', {}, { token });
    expect(gqlWrite.errors?.[0]?.extensions?.code).toBe('SUPPORT_SESSION_READ_ONLY');
    const reconcile = await gql(gw, 'mutation { stripeReconcile { checked userErrors { code } } }', {}, { token });
    expect(reconcile.errors?.map((e) => e.extensions?.code) ?? []).not.toContain('SUPPORT_SESSION_READ_ONLY');
    expect(await gw.runtime.db.apiKey.count({ where: { name: 'backdoor' } })).toBe(0);
  });

  it('cannot switch environment: the other tenant in x-tenant-id is 401', async () => {
    const { access_token: token } = await open();
    const res = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token, headers: { 'x-tenant-id': org.tenants.live } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('tenant_mismatch');
  });

  it('ends at its expiry (401 token_expired)', async () => {
    const { access_token: token } = await open({ duration_seconds: 60 });
    expect((await rest(gw, 'GET', '/v1/auth/principal', undefined, { token })).status).toBe(200);
    clock.advance(61);
    const res = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('token_expired');
  });

  it('stops working when the support.agent entitlement is withdrawn', async () => {
    const agent = await addMember(gw, org, 'read_only', ['support.agent']);
    const { access_token: token } = await open({}, agent.token.sandbox);
    await gw.runtime.db.membership.updateMany({ where: { userId: agent.userId }, data: { entitlements: [] } });
    expect((await rest(gw, 'GET', '/v1/auth/principal', undefined, { token })).status).toBe(401);
  });
});

describe('tenant admins see and revoke support sessions', () => {
  it('lists them (GraphQL and REST); members without admin cannot; other tenants see none', async () => {
    const { support_session } = await open({ ticket_ref: 'SUP-42' });
    const listed = await rest(gw, 'GET', '/v1/admin/support-sessions?limit=100', undefined, { token: org.admin.token.sandbox });
    expect(listed.status).toBe(200);
    const row = (listed.body.support_sessions as Array<Record<string, unknown>>).find((s) => s.support_session_id === support_session.support_session_id);
    expect(row).toMatchObject({ staff_user_id: staff.userId, reason, ticket_ref: 'SUP-42', status: 'active', permissions: ['read'] });
    const viaGraphql = await gql(gw, '{ supportSessions(first: 50) { totalCount edges { node { supportSessionId status } } } }', {}, { token: org.admin.token.sandbox });
    expect(viaGraphql.data.supportSessions.edges.some((e: { node: { supportSessionId: string } }) => e.node.supportSessionId === support_session.support_session_id)).toBe(true);
    expect((await rest(gw, 'GET', '/v1/admin/support-sessions', undefined, { token: staff.token.sandbox })).status).toBe(403);
    expect((await rest(gw, 'GET', '/v1/admin/support-sessions', undefined)).status).toBe(401);
    const elsewhere = await rest(gw, 'GET', '/v1/admin/support-sessions', undefined, { token: other.admin.token.sandbox });
    expect(elsewhere.body.support_sessions).toEqual([]);
    // The live tenant has its own list.
    const live = await rest(gw, 'GET', '/v1/admin/support-sessions', undefined, { token: org.admin.token.live });
    expect((live.body.support_sessions as Array<{ support_session_id: string }>).some((s) => s.support_session_id === support_session.support_session_id)).toBe(false);
  });

  it('revokes one: its next request is 401; another tenant’s admin gets 404; a member gets 403', async () => {
    // In the live tenant (each tenant has its own opening budget).
    const { access_token: token, support_session } = await open({}, staff.token.live);
    expect(support_session).toMatchObject({ status: 'active' });
    const id = support_session.support_session_id;
    expect((await rest(gw, 'POST', `/v1/admin/support-sessions/${id}/revoke`, undefined, { token: other.admin.token.live })).status).toBe(404);
    expect((await rest(gw, 'POST', `/v1/admin/support-sessions/${id}/revoke`, undefined, { token: org.admin.token.sandbox })).status).toBe(404);
    expect((await rest(gw, 'POST', `/v1/admin/support-sessions/${id}/revoke`, undefined, { token: staff.token.live })).status).toBe(403);
    expect((await rest(gw, 'POST', `/v1/admin/support-sessions/${id}/revoke`, undefined, { token })).status).toBe(403);
    const revoked = await rest(gw, 'POST', `/v1/admin/support-sessions/${id}/revoke`, undefined, { token: org.admin.token.live });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const after = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('credential_revoked');
    expect(await gw.runtime.db.auditEvent.count({ where: { eventType: 'support_session.revoked', resourceId: id } })).toBe(1);
    expect((await rest(gw, 'POST', '/v1/admin/support-sessions/sup_nope/revoke', undefined, { token: org.admin.token.live })).status).toBe(404);
  });

  it('limits opening to 10 an hour per tenant: the 11th is 429 with RateLimit headers', async () => {
    const team = await createOrg(gw, 'Rate');
    const agent = await addMember(gw, team, 'read_only', ['support.agent']);
    for (let i = 0; i < 10; i++) await open({}, agent.token.sandbox);
    const res = await rest(gw, 'POST', '/v1/auth/support-session', { reason }, { token: agent.token.sandbox });
    expect(res.status).toBe(429);
    expect(res.headers.get('ratelimit')).toMatch(/auth_support_session/);
    expect(res.headers.get('ratelimit-policy')).toMatch(/q=10/);
  });
});
