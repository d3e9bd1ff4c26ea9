import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import {
  commentInjectedNameId,
  createTestIdp,
  generateIdpKeyPair,
  newId,
  responseOnlySigned,
  withDoctype,
  xswForeignReference,
  xswTwoAssertions,
  xswWrappedAssertion,
  type IdpKeyPair,
  type TestIdp,
} from '../helpers/idp/saml-idp.ts';
import { BASE, CALLBACK, SSO_ENV, activeConnection, exchange, initiate, loginAudits, samlCallback, snapshot } from './gateway-helpers.ts';

/**
 * SAML sign-in end to end through the gateway: initiate (a real AuthnRequest by HTTP-Redirect),
 * then Responses a test IdP builds and signs with its own RSA key (generated per run), POSTed to
 * the ACS the way the IdP's form does. Each refusal: no session, no user, one audit event.
 */

let gw: TestGateway;
let org: TestOrg;
let other: TestOrg;
let idpKey: IdpKeyPair;
let nextKey: IdpKeyPair;
let rogueKey: IdpKeyPair;
let spKey: IdpKeyPair;
let idp: TestIdp;
let conn: string;
const IDP_ENTITY = 'https://idp.acme.test/saml';

const samlBody = (certs: string[]) => ({
  protocol: 'saml',
  idp_entity_id: IDP_ENTITY,
  idp_sso_url: 'https://idp.acme.test/saml/sso',
  idp_certs_pem: certs,
  sp_private_key_pem: spKey.privateKey,
  sp_cert_pem: spKey.cert,
  allowed_domains: ['acme.test'],
  jit_enabled: true,
  role_mappings: [{ claim: 'groups', equals: 'admins', tenant: 'both', role: 'tenant_admin', entitlements: ['tenant.admin'] }],
  default_role: 'read_only',
});

beforeAll(async () => {
  [idpKey, nextKey, rogueKey, spKey] = await Promise.all([generateIdpKeyPair('idp.acme.test'), generateIdpKeyPair('idp.acme.test next'), generateIdpKeyPair('rogue'), generateIdpKeyPair('gateway.test')]);
  gw = await createTestGateway({ env: SSO_ENV });
  org = await createOrg(gw, 'Acme');
  other = await createOrg(gw, 'Other');
  conn = await activeConnection(gw, org.admin.token.sandbox, samlBody([idpKey.cert]));
  idp = createTestIdp(idpKey, { entityId: `${BASE}/v1/auth/sso/metadata?connection=${conn}`, acsUrl: CALLBACK }, IDP_ENTITY);
});

afterAll(async () => {
  await gw?.close();
});

/** A fresh AuthnRequest: its ID (InResponseTo), the attempt (RelayState) and the browser cookie. */
async function start(connection = conn) {
  const started = await initiate(gw, { connection });
  expect(started.location.origin + started.location.pathname).toBe('https://idp.acme.test/saml/sso');
  expect(started.location.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  const request = inflateRawSync(Buffer.from(started.location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /ID="([^"]+)"/.exec(request)![1]!;
  return { ...started, requestId };
}

const post = (xml: string, s: { attemptId: string; cookie: string }) => samlCallback(gw, { SAMLResponse: idp.encode(xml), RelayState: s.attemptId }, s.cookie);

async function expectRefused(build: (requestId: string) => string, reason: string | RegExp, connection = conn) {
  const s = await start(connection);
  const before = await snapshot(gw);
  const audits = (await loginAudits(gw, connection)).length;
  const res = await post(build(s.requestId), s);
  expect(res.status, JSON.stringify(res.body)).toBe(401);
  expect(res.body.error.code).toBe('sso_login_failed');
  expect(res.body.error.details.reason).toMatch(reason);
  expect(await snapshot(gw)).toEqual(before);
  const after = await loginAudits(gw, connection);
  expect(after.length).toBe(audits + 1);
  expect(after.at(-1)!.decision).toBe('denied');
  expect((after.at(-1)!.details as { reason: string }).reason).toMatch(reason);
}

describe('SAML sign-in through the gateway', () => {
  it('publishes SP metadata for a configured connection; unknown and disabled ones are 404', async () => {
    const res = await rest(gw, 'GET', `/v1/auth/sso/metadata?connection=${conn}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    expect(res.body).toContain(`entityID="${idp.sp.entityId.replace(/&/g, '&amp;')}"`);
    expect(res.body).toMatch(/Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="https:\/\/gateway.test\/v1\/auth\/sso\/callback"/);
    expect(res.body.replace(/\s/g, '')).toContain(spKey.cert.replace(/-----[^-]+-----|\s/g, ''));
    expect((await rest(gw, 'GET', '/v1/auth/sso/metadata?connection=sso_nope')).status).toBe(404);
    expect((await rest(gw, 'GET', '/v1/auth/sso/metadata')).status).toBe(400);
    const draft = await rest(gw, 'POST', '/v1/admin/sso/connections', { name: 'x', return_to_allowlist: ['https://console.acme.test/sso/done'], ...samlBody([idpKey.cert]) }, { token: org.admin.token.sandbox });
    expect((await rest(gw, 'GET', `/v1/auth/sso/metadata?connection=${draft.body.connection_id}`)).status).toBe(200);
    await rest(gw, 'POST', `/v1/admin/sso/connections/${draft.body.connection_id}/disable`, undefined, { token: org.admin.token.sandbox });
    expect((await rest(gw, 'GET', `/v1/auth/sso/metadata?connection=${draft.body.connection_id}`)).status).toBe(404);
  });

  it('accepts a signed assertion: JIT user, 303 with a handoff code, SSO claims', async () => {
    const s = await start();
    const res = await post(idp.validResponse(s.requestId, { nameId: 'sam@acme.test', attributes: { email: ['sam@acme.test'], groups: ['admins'] } }), s);
    const { tokens } = await exchange(gw, res);
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ amr: ['sso'], idp: conn, roles: ['tenant_admin'] });
    const user = await gw.runtime.db.user.findUniqueOrThrow({ where: { email: 'sam@acme.test' } });
    expect(await gw.runtime.db.userIdentity.findFirst({ where: { userId: user.id } })).toMatchObject({ issuer: IDP_ENTITY, subject: 'sam@acme.test' });
  });

  it('refuses the same response posted again (the attempt is used) and an assertion ID seen before', async () => {
    const s = await start();
    const assertionId = newId();
    const xml = idp.validResponse(s.requestId, { id: assertionId, nameId: 'sam@acme.test', attributes: { email: ['sam@acme.test'] } });
    expect((await post(xml, s)).status).toBe(303);
    const again = await post(xml, s);
    expect(again.body.error.details.reason).toBe('attempt_reused');
    await expectRefused((requestId) => idp.validResponse(requestId, { id: assertionId, nameId: 'sam@acme.test', attributes: { email: ['sam@acme.test'] } }), 'saml_replay');
  });

  it('missing RelayState → 401 without touching anything', async () => {
    const before = await snapshot(gw);
    const res = await samlCallback(gw, { SAMLResponse: 'x' }, undefined);
    expect(res.status).toBe(401);
    expect(res.body.error.details.reason).toBe('relay_state_missing');
    expect(await snapshot(gw)).toEqual(before);
  });

  it('a response from another browser (no binding cookie)', async () => {
    const s = await start();
    const res = await samlCallback(gw, { SAMLResponse: idp.encode(idp.validResponse(s.requestId)), RelayState: s.attemptId }, undefined);
    expect(res.body.error.details.reason).toBe('browser_mismatch');
  });

  it('accepts both certificates during a rotation, and only those', async () => {
    const id = await activeConnection(gw, org.admin.token.sandbox, { ...samlBody([idpKey.cert]), allowed_domains: [] });
    const patched = await rest(gw, 'PATCH', `/v1/admin/sso/connections/${id}`, { idp_certs_pem: [idpKey.cert, nextKey.cert] }, { token: org.admin.token.sandbox });
    expect(patched.body.status).toBe('draft'); // a protocol change needs a new test
    expect(patched.body.idp_certificates).toHaveLength(2);
    await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/test`, undefined, { token: org.admin.token.sandbox });
    expect((await rest(gw, 'POST', `/v1/admin/sso/connections/${id}/activate`, undefined, { token: org.admin.token.sandbox })).status).toBe(200);
    const rotated = createTestIdp(idpKey, { entityId: `${BASE}/v1/auth/sso/metadata?connection=${id}`, acsUrl: CALLBACK }, IDP_ENTITY);
    // The organization's own admin (example.test) signs in: linked because already a member.
    await gw.runtime.db.ssoConnection.update({ where: { id }, data: { allowedDomains: ['example.test'] } });
    for (const key of [idpKey, nextKey]) {
      const s = await start(id);
      const xml = rotated.validResponse(s.requestId, { nameId: org.admin.email, attributes: { email: [org.admin.email] } }, {}, { key });
      const res = await samlCallback(gw, { SAMLResponse: rotated.encode(xml), RelayState: s.attemptId }, s.cookie);
      expect(res.status, JSON.stringify(res.body)).toBe(303);
    }
    const s = await start(id);
    const res = await samlCallback(gw, { SAMLResponse: rotated.encode(rotated.validResponse(s.requestId, { nameId: org.admin.email, attributes: { email: [org.admin.email] } }, {}, { key: rogueKey })), RelayState: s.attemptId }, s.cookie);
    expect(res.body.error.details.reason).toBe('saml_signature_invalid');
  });

  it('organization A’s connection never provisions into organization B', async () => {
    const s = await start();
    const res = await post(idp.validResponse(s.requestId, { nameId: other.admin.email, attributes: { email: [other.admin.email] } }), s);
    // other.admin's domain (example.test) is not in A's allowed domains, and the user belongs to B.
    expect(res.status).toBe(403);
    expect(await gw.runtime.db.membership.count({ where: { userId: other.admin.userId, tenant: { organizationId: org.organizationId } } })).toBe(0);
  });
});

describe('SAML refusals', () => {
  const victim = 'victim@acme.test';
  const cases: Array<[string, (requestId: string) => string, string | RegExp]> = [
    ['an unsigned assertion', (r) => idp.response({ inResponseTo: r, body: idp.assertion({ inResponseTo: r }).xml }).xml, 'saml_signature_invalid'],
    ['a response-only signature while the assertion must be signed', (r) => responseOnlySigned(idp, r), 'saml_signature_invalid'],
    ['the wrong IdP key (a certificate outside idp_certs_pem)', (r) => idp.validResponse(r, {}, {}, { key: rogueKey }), 'saml_signature_invalid'],
    ['an rsa-sha1 signature', (r) => idp.validResponse(r, {}, {}, { signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' }), 'saml_weak_algorithm'],
    ['XSW: the signed assertion wrapped inside an unsigned one', (r) => xswWrappedAssertion(idp, r, victim), /^saml_(multiple_assertions|signature_invalid)$/],
    ['XSW: two assertions side by side', (r) => xswTwoAssertions(idp, r, victim), /^saml_(multiple_assertions|signature_invalid)$/],
    ['XSW: a signature referencing another element', (r) => xswForeignReference(idp, r, victim), /^saml_(signature_invalid|multiple_assertions|malformed)$/],
    ['a comment-injected NameID', (r) => commentInjectedNameId(idp, r), 'saml_comment_forbidden'],
    ['a DOCTYPE with entities', (r) => withDoctype(idp.validResponse(r)), 'saml_doctype_forbidden'],
    ['the wrong Audience', (r) => idp.validResponse(r, { audience: 'https://someone-else.test/sp' }), 'saml_audience_mismatch'],
    ['the wrong Recipient', (r) => idp.validResponse(r, { recipient: 'https://evil.test/acs' }), 'saml_recipient_mismatch'],
    ['the wrong Destination', (r) => idp.validResponse(r, {}, { destination: 'https://evil.test/acs' }), 'saml_destination_mismatch'],
    ['NotBefore beyond the skew', (r) => idp.validResponse(r, { notBefore: new Date(Date.now() + 10 * 60_000) }), 'saml_not_yet_valid'],
    ['NotOnOrAfter beyond the skew', (r) => idp.validResponse(r, { notBefore: new Date(Date.now() - 20 * 60_000), notOnOrAfter: new Date(Date.now() - 10 * 60_000) }), 'saml_expired'],
    ['an unsolicited response', () => idp.validResponse('', { inResponseTo: null }, { inResponseTo: null }), 'saml_in_response_to_invalid'],
    ['an unknown InResponseTo', () => idp.validResponse(newId()), 'saml_in_response_to_invalid'],
    ['a non-Success status', (r) => idp.response({ inResponseTo: r, status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }).xml, 'saml_status_error'],
    ['an assertion from another issuer', (r) => idp.validResponse(r, { issuer: 'https://rogue-idp.test' }), /^saml_(issuer_mismatch|signature_invalid)$/],
  ];
  for (const [name, build, reason] of cases) {
    it(`refuses ${name}`, async () => {
      await expectRefused(build, reason);
      expect(await gw.runtime.db.user.count({ where: { email: victim } })).toBe(0);
    });
  }

  it('JIT off: an unknown identity is refused with 403 and nothing is created', async () => {
    const id = await activeConnection(gw, other.admin.token.sandbox, { ...samlBody([idpKey.cert]), jit_enabled: false });
    const forOther = createTestIdp(idpKey, { entityId: `${BASE}/v1/auth/sso/metadata?connection=${id}`, acsUrl: CALLBACK }, IDP_ENTITY);
    const s = await start(id);
    const before = await snapshot(gw);
    const res = await samlCallback(gw, { SAMLResponse: forOther.encode(forOther.validResponse(s.requestId)), RelayState: s.attemptId }, s.cookie);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('sso_user_not_provisioned');
    expect(await snapshot(gw)).toEqual(before);
    expect((await loginAudits(gw, id)).at(-1)!.details).toMatchObject({ reason: 'jit_disabled' });
  });
});
