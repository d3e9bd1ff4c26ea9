import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, adminPrincipal, createOrg, type TestOrg } from '../helpers/factories.ts';
import { createApiKey } from '../../src/areas/identity/api-keys.ts';
import { routes } from '../../rest-compat/routes/index.ts';
import type { RestRoute } from '../../rest-compat/route.ts';
import { routePolicy } from '../../rest-compat/router.ts';
import { schema } from '../../src/graphql/schema.ts';
import { signToken } from '../../src/crypto/jwt.ts';
import { openSession } from '../../src/areas/identity/sessions.ts';
import { agentSession } from '../helpers/agent.ts';
import type { PrincipalKind } from '../../src/context.ts';
import { parseOperation } from '../../rest-compat/response.ts';

const isWrite = (route: RestRoute) => (route.kind === 'operation' ? parseOperation(route).definition.operation === 'mutation' : route.method !== 'GET');

/**
 * Generated from the route table: every route × every credential kind. Adding a route adds its
 * rows; a route whose GraphQL scopes disagree with its documented auth fails here.
 */
let gw: TestGateway;
let org: TestOrg;
let other: TestOrg;
const credentials: Record<string, { token?: string; headers?: Record<string, string> }> = {};
const valid: Array<{ name: string; kind: PrincipalKind; readOnly?: boolean; notAdmin?: boolean; token: () => Promise<string> | string }> = [];
// A fresh session per call: the logout row would otherwise end the session the next rows use.
const freshSession = (userId: string, tenantId: string) => async () =>
  (await gw.runtime.db.$transaction((tx) => openSession(gw.runtime, tx, userId, tenantId))).accessToken;

beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  other = await createOrg(gw);
  const reader = await addMember(gw, org, 'read_only');
  const revoked = await gw.runtime.db.apiKey.update({ where: { id: other.apiKeyId.live }, data: { revokedAt: new Date() } });
  const past = new Date(Date.now() - 3600_000);
  const expired = await signToken(
    gw.runtime.keys,
    'session',
    { sub: org.admin.userId, sid: 'ses_x', tid: org.tenants.live, org: org.organizationId, env: 'live', roles: ['tenant_admin'], ent: [] },
    past,
    60,
  );
  const [, , , , keyId, secret] = org.apiKey.sandbox.split('_');
  const harbor = await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.apiKey.live });
  const agent = await agentSession(gw, org, 'live');
  // A service-account key with the tenant_admin role (the SDK's `paybond keys` uses one).
  const adminKey = await createApiKey({ runtime: gw.runtime, principal: adminPrincipal(org, org.admin.userId, 'live'), requestId: 'matrix' }, { name: 'admin key', serviceAccountRole: 'tenant_admin' });

  credentials.none = {};
  credentials.malformed = { token: 'definitely-not-a-credential' };
  credentials.expired = { token: expired.token };
  credentials.revoked = { token: other.apiKey.live };
  credentials.wrong_tenant = { token: org.admin.token.live, headers: { 'x-tenant-id': other.tenants.live } };
  credentials.sandbox_key_on_live_tenant = { token: `paybond_sk_live_key_${keyId}_${secret}` };
  expect(revoked.revokedAt).not.toBeNull();

  valid.push(
    { name: 'admin session', kind: 'user', token: freshSession(org.admin.userId, org.tenants.live) },
    { name: 'read-only session', kind: 'user', readOnly: true, token: freshSession(reader.userId, org.tenants.live) },
    // The tenant's default key has the operator role: Harbor writes, but no admin operation.
    { name: 'API key', kind: 'api_key', notAdmin: true, token: () => org.apiKey.live },
    { name: 'tenant_admin API key', kind: 'api_key', token: () => adminKey.secret },
    { name: 'Harbor token', kind: 'harbor', token: () => harbor.body.access_token },
    { name: 'PAT', kind: 'pat', token: () => agent.pat },
    { name: 'agent JWT', kind: 'agent', token: () => agent.token },
  );
});
afterAll(() => gw.close());

function call(route: RestRoute, token?: string, headers?: Record<string, string>) {
  const path = route.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => route.example?.params?.[name] ?? 'x');
  const query = route.example?.query ? `?${new URLSearchParams(route.example.query)}` : '';
  const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : (route.example?.body ?? {});
  return rest(gw, route.method, path + query, body, { token, headers });
}

const label = (r: RestRoute) => `${r.method} ${r.path}`;
const authenticated = routes.filter((r) => r.kind === 'operation');

describe('route × credential matrix', () => {
  it.each(routes.map((r) => [label(r), r] as const))('%s: no credential', async (_l, route) => {
    const res = await call(route);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    // Public routes may still refuse the body's own secret (a bad code or refresh token), never the missing header.
    if (routePolicy(schema, route).principals === 'public') expect(res.body?.error?.code).not.toBe('unauthenticated');
    else expect(res.body.error.code).toBe('unauthenticated');
  });

  for (const kind of ['malformed', 'expired', 'revoked', 'wrong_tenant', 'sandbox_key_on_live_tenant']) {
    it.each(authenticated.map((r) => [label(r), r] as const))(`%s: ${kind} credential → 401`, async (_l, route) => {
      const { token, headers } = credentials[kind]!;
      const res = await call(route, token, headers);
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(res.body.error.request_id).toBe(res.headers.get('x-request-id'));
    });
  }

  it.each(authenticated.filter((r) => routePolicy(schema, r).principals !== 'public').map((r) => [label(r), r] as const))('%s: each valid credential kind', async (_l, route) => {
    const policy = routePolicy(schema, route);
    for (const credential of valid) {
      const res = await call(route, await credential.token());
      const allowedKind = policy.principals !== 'public' && policy.principals.includes(credential.kind);
      // Every valid credential here is a live one: sandbox-only routes refuse them all; none holds an entitlement a route requires.
      const expectForbidden = !allowedKind || ((policy.admin || policy.scope === 'harbor:write') && credential.readOnly) || (policy.admin && credential.notAdmin) || policy.sandboxOnly || Boolean(policy.entitlement);
      const context = `${credential.name}: ${res.status} ${JSON.stringify(res.body)}`;
      expect(res.status, context).toBeLessThan(500);
      // High-risk routes: agents and PATs that did not (or cannot) sign are unauthenticated for them.
      if (policy.signed && (credential.kind === 'agent' || credential.kind === 'pat')) expect(res.body.error.code, context).toBe('signature_missing');
      // Every agent write is proven (issue 11): an unsigned agent JWT on a write without a recognition path.
      else if (allowedKind && credential.kind === 'agent' && isWrite(route) && !policy.recognition) expect(res.body.error.code, context).toBe('signature_missing');
      else if (expectForbidden) expect(res.status, context).toBe(403);
      // Recognition-gated writes: a valid credential still needs a proof (none is sent here).
      else if (policy.recognition) expect(res.body.error.code, context).toBe('recognition_proof_required');
      else expect([401, 403], context).not.toContain(res.status);
    }
  });
});
