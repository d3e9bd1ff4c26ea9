import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { TEST_PASSWORD, addMember, createOrg, type TestOrg, type TestUser } from '../helpers/factories.ts';
import { startTestOp, type TestOp } from '../helpers/idp/oidc-provider.ts';
import { generateIdpKeyPair, type IdpKeyPair } from '../helpers/idp/saml-idp.ts';
import { CALLBACK, RETURN_TO, SSO_ENV } from './gateway-helpers.ts';

/** The admin API of SSO connections (REST and GraphQL): who may call it, what it refuses, what it shows. */

let gw: TestGateway;
let op: TestOp;
let org: TestOrg;
let other: TestOrg;
let member: TestUser;
let idpKey: IdpKeyPair;

const oidc = () => ({
  name: 'Okta',
  protocol: 'oidc',
  issuer: op.issuer,
  client_id: op.clientId,
  client_secret: op.clientSecret,
  allowed_domains: ['Example.test'],
  jit_enabled: true,
  default_role: 'read_only',
  return_to_allowlist: [RETURN_TO],
});

const create = (body: Record<string, unknown>, token = org.admin.token.sandbox) => rest(gw, 'POST', '/v1/admin/sso/connections', body, { token });

beforeAll(async () => {
  op = await startTestOp({ redirectUri: CALLBACK });
  idpKey = await generateIdpKeyPair('idp.acme.test');
  gw = await createTestGateway({ env: SSO_ENV });
  org = await createOrg(gw, 'Acme');
  other = await createOrg(gw, 'Other');
  member = await addMember(gw, org, 'read_only');
});

afterAll(async () => {
  await gw?.close();
  await op?.close();
});

describe('SSO connection admin API', () => {
  it('needs a tenant admin on a human session', async () => {
    expect((await rest(gw, 'POST', '/v1/admin/sso/connections', oidc())).status).toBe(401);
    expect((await create(oidc(), member.token.sandbox)).status).toBe(403);
    expect((await create(oidc(), org.apiKey.sandbox)).status).toBe(403);
    expect((await rest(gw, 'GET', '/v1/admin/sso/connections', undefined, { token: member.token.sandbox })).status).toBe(403);
  });

  it('creates a draft, shows the client secret only as a hint, stores it encrypted, and audits which fields changed', async () => {
    const res = await create(oidc());
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: 'draft', protocol: 'oidc', allowed_domains: ['example.test'], redirect_uri: CALLBACK, metadata_url: null });
    expect(res.body.client_secret_hint).toBe(`••••${op.clientSecret.slice(-4)}`);
    expect(JSON.stringify(res.body)).not.toContain(op.clientSecret);
    const row = await gw.runtime.db.ssoConnection.findUniqueOrThrow({ where: { id: res.body.connection_id } });
    expect(row.clientSecretEnc).toMatch(/^sb1\./);
    expect(row.clientSecretEnc).not.toContain(op.clientSecret);
    const audit = await gw.runtime.db.auditEvent.findFirstOrThrow({ where: { eventType: 'sso.connection_created', resourceId: row.id } });
    expect(JSON.stringify(audit.details)).not.toContain(op.clientSecret);
    expect((audit.details as { fields: string[] }).fields).toContain('clientSecret');
  });

  it('refuses bad input (400) and unusable configurations (422)', async () => {
    expect((await create({ ...oidc(), return_to_allowlist: [] })).status).toBe(400);
    expect((await create({ ...oidc(), protocol: 'ldap' })).status).toBe(400);
    expect((await create({ ...oidc(), allowed_domains: ['not a domain'] })).status).toBe(400);
    const cases: Array<[Record<string, unknown>, string, string?]> = [
      [{ idp_entity_id: 'x' }, 'sso_connection_invalid', 'idpEntityId_not_for_oidc'],
      [{ issuer: 'http://idp.example.com' }, 'sso_connection_invalid', 'issuer'],
      [{ scopes: ['email'] }, 'sso_connection_invalid', 'scopes_without_openid'],
      [{ id_token_alg: 'HS256' }, 'sso_connection_invalid', 'id_token_alg'],
      [{ break_glass_user_id: member.userId }, 'sso_connection_invalid', 'break_glass_user_not_an_admin'],
      [{ role_mappings: [{ claim: 'groups', equals: 'x', role: 'tenant_admin', entitlements: ['harbor.superuser'] }] }, 'sso_entitlement_not_allowed'],
    ];
    for (const [change, code, reason] of cases) {
      const res = await create({ ...oidc(), ...change });
      expect(res.status, JSON.stringify(change)).toBe(422);
      expect(res.body.error.code).toBe(code);
      if (reason) expect(res.body.error.details.reason).toBe(reason);
    }
    const both = await create({ ...oidc(), role_mappings: [{ claim: 'groups', equals: 'a', in: ['b'], role: 'read_only' }] });
    expect(both.status).toBe(400);
    const saml = await create({ name: 'x', protocol: 'saml', idp_entity_id: 'https://idp.test', idp_sso_url: 'https://idp.test/sso', idp_certs_pem: ['-----BEGIN CERTIFICATE-----\nnot a certificate at all, just text that is long enough\n-----END CERTIFICATE-----'], return_to_allowlist: [RETURN_TO] });
    expect(saml.status).toBe(422);
  });

  it('activates only after a passing test since the last change; a failing test says why', async () => {
    const id = (await create(oidc())).body.connection_id;
    const early = await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/activate`, undefined, { token: org.admin.token.sandbox });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('sso_connection_untested');

    const broken = await rest(gw, 'PATCH', `/v1/admin/sso/connections/${id}`, { issuer: 'http://127.0.0.1:9' }, { token: org.admin.token.sandbox });
    expect(broken.status).toBe(200);
    const failed = await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/test`, undefined, { token: org.admin.token.sandbox });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ ok: false, error: expect.stringMatching(/^discovery_failed/) });
    expect((await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/activate`, undefined, { token: org.admin.token.sandbox })).status).toBe(409);

    await rest(gw, 'PATCH', `/v1/admin/sso/connections/${id}`, { issuer: op.issuer }, { token: org.admin.token.sandbox });
    const passed = await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/test`, undefined, { token: org.admin.token.sandbox });
    expect(passed.body).toMatchObject({ ok: true, error: null });
    expect(passed.body.checks).toContain('discovery');
    const active = await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/activate`, undefined, { token: org.admin.token.sandbox });
    expect(active.body.status).toBe('active');
    // A non-protocol change keeps it active; a protocol change sends it back to draft.
    expect((await rest(gw, 'PATCH', `/v1/admin/sso/connections/${id}`, { jit_enabled: false }, { token: org.admin.token.sandbox })).body.status).toBe('active');
    expect((await rest(gw, 'PATCH', `/v1/admin/sso/connections/${id}`, { client_secret: 'another-secret-value-123' }, { token: org.admin.token.sandbox })).body.status).toBe('draft');
    const events = await gw.runtime.db.auditEvent.findMany({ where: { resourceId: id }, select: { eventType: true } });
    expect(new Set(events.map((e) => e.eventType))).toEqual(new Set(['sso.connection_created', 'sso.connection_updated', 'sso.connection_tested', 'sso.connection_activated']));
  });

  it('keeps organizations apart: another organization’s connection is 404 everywhere and absent from lists', async () => {
    const id = (await create(oidc())).body.connection_id;
    for (const [method, path, body] of [
      ['PATCH', `/v1/admin/sso/connections/${id}`, { name: 'taken' }],
      ['POST', `/v1/admin/sso/connections/${id}/test`, undefined],
      ['POST', `/v1/admin/sso/connections/${id}/activate`, undefined],
      ['POST', `/v1/admin/sso/connections/${id}/disable`, undefined],
    ] as const) {
      const res = await rest(gw, method, path, body, { token: other.admin.token.sandbox });
      expect(res.status, path).toBe(404);
    }
    const list = await rest(gw, 'GET', '/v1/admin/sso/connections', undefined, { token: other.admin.token.sandbox });
    expect(list.body.connections).toEqual([]);
    const mine = await rest(gw, 'GET', '/v1/admin/sso/connections?limit=100', undefined, { token: org.admin.token.live });
    expect((mine.body.connections as Array<{ connection_id: string }>).some((c) => c.connection_id === id)).toBe(true);
    const viaGraphql = await gql(gw, 'query($id: ID!) { node(id: $id) { id } }', { id: mine.body.connections[0].node_id }, { token: other.admin.token.sandbox });
    expect(viaGraphql.data.node).toBeNull();
    const gqlList = await gql(gw, '{ ssoConnections(first: 5) { totalCount edges { node { connectionId clientSecretHint } } } }', {}, { token: org.admin.token.sandbox });
    expect(gqlList.data.ssoConnections.totalCount).toBeGreaterThan(0);
  });

  it('SAML connections show certificate fingerprints and the SP metadata URL, never the SP key', async () => {
    const spKey = await generateIdpKeyPair('gateway.test');
    const res = await create({ name: 'ADFS', protocol: 'saml', idp_entity_id: 'https://idp.test', idp_sso_url: 'https://idp.test/sso', idp_certs_pem: [idpKey.cert], sp_private_key_pem: spKey.privateKey, sp_cert_pem: spKey.cert, return_to_allowlist: [RETURN_TO] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.idp_certificates[0].fingerprint_sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(res.body.sp_key_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.metadata_url).toBe(`https://gateway.test/v1/auth/sso/metadata?connection=${res.body.connection_id}`);
    expect(JSON.stringify(res.body)).not.toContain('PRIVATE KEY');
    const tested = await rest(gw, 'POST', `/v1/admin/sso/connections/${res.body.connection_id}/test`, undefined, { token: org.admin.token.sandbox });
    expect(tested.body.ok).toBe(true);
  });

  it('enforce_sso turns password sign-in off for the allowed domains, except for the break-glass admin', async () => {
    const team = await createOrg(gw, 'Enforcing');
    const colleague = await addMember(gw, team, 'tenant_admin');
    const id = (await create({ ...oidc(), enforce_sso: true, break_glass_user_id: team.admin.userId }, team.admin.token.sandbox)).body.connection_id;
    await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/test`, undefined, { token: team.admin.token.sandbox });
    expect((await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/activate`, undefined, { token: team.admin.token.sandbox })).status).toBe(200);
    const sent = (email: string) => gw.mailer.messages.filter((m) => m.to === email).length;
    for (const [user, delivered] of [[colleague, 0], [team.admin, 1]] as const) {
      const before = sent(user.email);
      const res = await rest(gw, 'POST', '/v1/public/auth/login/start', { email: user.email, password: TEST_PASSWORD });
      expect(res.status).toBe(202); // the same answer either way
      await new Promise((resolve) => setImmediate(resolve));
      expect(sent(user.email) - before).toBe(delivered);
    }
  });
});
