import { createVerify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSsoError, type SsoErrorCode } from '../../src/areas/sso/errors.ts';
import { createSamlServiceProvider, type SamlConnection } from '../../src/areas/sso/saml.ts';
import { createMemoryReplayStore, createMemoryRequestCache } from '../helpers/idp/memory-stores.ts';
import {
  commentInjectedNameId,
  createTestIdp,
  generateIdpKeyPair,
  newId,
  responseOnlySigned,
  signedAssertion,
  withDoctype,
  xswForeignReference,
  xswTwoAssertions,
  xswWrappedAssertion,
  type IdpKeyPair,
  type TestIdp,
} from '../helpers/idp/saml-idp.ts';

/**
 * The service provider against Responses a test IdP builds and signs (xml-crypto, RSA-2048 keys
 * generated per run), one per accepted shape and one per attack.
 */

const sp = { entityId: 'https://gateway.test/v1/auth/sso/metadata?connection=conn_saml', acsUrl: 'https://gateway.test/v1/auth/sso/callback' };

let idpKey: IdpKeyPair;
let nextKey: IdpKeyPair;
let rogueKey: IdpKeyPair;
let spKey: IdpKeyPair;
let idp: TestIdp;

beforeAll(async () => {
  [idpKey, nextKey, rogueKey, spKey] = await Promise.all([
    generateIdpKeyPair('idp.acme.test'),
    generateIdpKeyPair('idp.acme.test (next)'),
    generateIdpKeyPair('rogue'),
    generateIdpKeyPair('gateway.test'),
  ]);
  idp = createTestIdp(idpKey, sp);
});

function setup(change: Partial<SamlConnection> = {}) {
  const requestCache = createMemoryRequestCache();
  const replayStore = createMemoryReplayStore();
  const conn: SamlConnection = {
    id: 'conn_saml',
    spEntityId: sp.entityId,
    acsUrl: sp.acsUrl,
    idpEntityId: idp.entityId,
    idpSsoUrl: idp.ssoUrl,
    idpCertsPem: [idpKey.cert],
    ...change,
  };
  const provider = createSamlServiceProvider(conn, { requestCache, replayStore });
  /** A fresh AuthnRequest (a rejected response burns its request ID, so each case needs one). */
  const request = async () => (await provider.createLoginRequest(newId())).requestId;
  const submit = (xml: string, requestId: string) => provider.validatePostResponse({ SAMLResponse: idp.encode(xml) }, { requestId });
  return { conn, provider, requestCache, replayStore, request, submit };
}

async function expectCode(promise: Promise<unknown>, code: SsoErrorCode, detail?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSsoError(error)) throw new Error(`expected SsoError ${code}, got ${error === undefined ? 'success' : String(error)}`);
  expect({ code: error.code, detail: error.detail }).toEqual(detail === undefined ? { code, detail: error.detail } : { code, detail });
}

const minutes = (n: number) => new Date(Date.now() + n * 60_000);

describe('AuthnRequest, options and metadata', () => {
  it('redirects to the IdP with a deflated AuthnRequest whose ID is cached', async () => {
    const { provider, requestCache, conn } = setup();
    const { url, requestId } = await provider.createLoginRequest('attempt_1');
    expect(url.origin + url.pathname).toBe(idp.ssoUrl);
    expect(url.searchParams.get('RelayState')).toBe('attempt_1');
    expect(url.searchParams.get('Signature')).toBeNull();
    const request = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    expect(request).toContain(`ID="${requestId}"`);
    expect(request).toContain(`AssertionConsumerServiceURL="${conn.acsUrl}"`);
    expect(request).toContain(`Destination="${conn.idpSsoUrl}"`);
    expect(request).toContain(`>${conn.spEntityId.replace(/&/g, '&amp;')}</saml:Issuer>`);
    expect(request).not.toContain('RequestedAuthnContext');
    expect(await requestCache.getAsync(requestId)).not.toBeNull();
  });

  it('signs the AuthnRequest with rsa-sha256 when the SP has a key', async () => {
    const { provider } = setup({ spPrivateKeyPem: spKey.privateKey, spCertPem: spKey.cert });
    const { url } = await provider.createLoginRequest('attempt_2');
    expect(url.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    // HTTP-Redirect binding §3.4.4.1: the signature covers the query parameters in this order.
    const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].map((k) => `${k}=${encodeURIComponent(url.searchParams.get(k)!)}`).join('&');
    const ok = createVerify('RSA-SHA256').update(signed).verify(spKey.cert, url.searchParams.get('Signature')!, 'base64');
    expect(ok).toBe(true);
  });

  it('gives node-saml explicit safe options instead of its defaults', () => {
    const { provider, requestCache } = setup();
    expect(provider.options).toMatchObject({
      validateInResponseTo: 'always',
      signatureAlgorithm: 'sha256',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      audience: sp.entityId,
      issuer: sp.entityId,
      idpIssuer: idp.entityId,
      acceptedClockSkewMs: 120_000,
      callbackUrl: sp.acsUrl,
    });
    expect(provider.options.cacheProvider).toBe(requestCache);
  });

  it('publishes SP metadata: entityID, HTTP-POST ACS, signing certificate', () => {
    const { provider } = setup({ spPrivateKeyPem: spKey.privateKey, spCertPem: spKey.cert });
    const xml = provider.metadata();
    expect(xml).toContain(`entityID="${sp.entityId.replace(/&/g, '&amp;')}"`);
    expect(xml).toMatch(/<AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="https:\/\/gateway.test\/v1\/auth\/sso\/callback"/);
    expect(xml).toContain('WantAssertionsSigned="true"');
    expect(xml).toContain('AuthnRequestsSigned="true"');
    const certBody = spKey.cert.replace(/-----[^-]+-----|\s/g, '');
    expect(xml.replace(/\s/g, '')).toContain(certBody);
    expect(xml).toMatch(/<KeyDescriptor use="signing">/);
  });

  it('refuses connection settings it cannot use safely', () => {
    const requestCache = createMemoryRequestCache();
    const replayStore = createMemoryReplayStore();
    const base = setup().conn;
    const bad: Array<[Partial<SamlConnection>, string]> = [
      [{ idpCertsPem: [] }, 'idp_certs'],
      [{ idpCertsPem: [idpKey.cert, nextKey.cert, rogueKey.cert] }, 'idp_certs'],
      [{ acsUrl: 'javascript:alert(1)' }, 'acs_url_scheme'],
      [{ spPrivateKeyPem: spKey.privateKey }, 'sp_cert'],
      [{ clockSkewSeconds: -1 }, 'clock_skew'],
    ];
    for (const [change, detail] of bad) {
      expect(() => createSamlServiceProvider({ ...base, ...change }, { requestCache, replayStore })).toThrow(expect.objectContaining({ code: 'sso_config_invalid', detail }));
    }
  });
});

describe('accepted responses', () => {
  it('accepts a valid response, returns the signed identity, burns the request ID and records the assertion', async () => {
    const { request, submit, requestCache, replayStore } = setup();
    const requestId = await request();
    const identity = await submit(idp.validResponse(requestId, { attributes: { email: ['Alice@Acme.test'], groups: ['admins', 'engineering'] } }), requestId);
    expect(identity).toMatchObject({
      issuer: idp.entityId,
      nameId: 'alice@acme.test',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      inResponseTo: requestId,
      email: 'Alice@Acme.test',
      groups: ['admins', 'engineering'],
    });
    expect(identity.sessionIndex).toMatch(/^_/);
    expect(identity.notOnOrAfter.getTime()).toBeGreaterThan(Date.now());
    expect(await requestCache.getAsync(requestId)).toBeNull();
    expect([...replayStore.seen.keys()]).toEqual([`conn_saml\n${identity.assertionId}`]);
  });

  it('falls back to an emailAddress NameID when no email attribute is sent', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const identity = await submit(idp.validResponse(requestId, { attributes: {} }), requestId);
    expect(identity).toMatchObject({ email: 'alice@acme.test', groups: [] });
  });

  it('accepts a response whose Response and Assertion are both signed', async () => {
    const { request, submit } = setup({ wantResponseSigned: true });
    const requestId = await request();
    const assertion = signedAssertion(idp, requestId);
    const response = idp.response({ inResponseTo: requestId, body: assertion.xml });
    await expect(submit(idp.sign(response.xml, response.id), requestId)).resolves.toMatchObject({ nameId: 'alice@acme.test' });
  });

  it('accepts timestamps within the 120 s skew', async () => {
    const { request, submit } = setup();
    const early = await request();
    await expect(submit(idp.validResponse(early, { notBefore: minutes(1) }), early)).resolves.toBeTruthy();
    const late = await request();
    await expect(submit(idp.validResponse(late, { notBefore: minutes(-10), notOnOrAfter: minutes(-1) }), late)).resolves.toBeTruthy();
  });

  it('IdP certificate rotation: with both certificates configured, responses signed by either key are accepted', async () => {
    const { request, submit } = setup({ idpCertsPem: [idpKey.cert, nextKey.cert] });
    const a = await request();
    await expect(submit(idp.validResponse(a), a)).resolves.toMatchObject({ nameId: 'alice@acme.test' });
    const b = await request();
    await expect(submit(idp.validResponse(b, {}, {}, { key: nextKey }), b)).resolves.toMatchObject({ nameId: 'alice@acme.test' });
    // After the rotation completes, only the new certificate is trusted.
    const after = setup({ idpCertsPem: [nextKey.cert] });
    const c = await after.request();
    await expectCode(after.submit(idp.validResponse(c), c), 'saml_signature_invalid');
  });
});

describe('signatures', () => {
  it('unsigned assertion → saml_signature_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const assertion = idp.assertion({ inResponseTo: requestId });
    await expectCode(submit(idp.response({ inResponseTo: requestId, body: assertion.xml }).xml, requestId), 'saml_signature_invalid');
  });

  it('only the Response signed while the assertion must be → saml_signature_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(responseOnlySigned(idp, requestId), requestId), 'saml_signature_invalid');
  });

  it('Response signature required but only the assertion signed → saml_signature_invalid', async () => {
    const { request, submit } = setup({ wantResponseSigned: true });
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId), requestId), 'saml_signature_invalid');
  });

  it('signed by another key that claims the IdP certificate in KeyInfo → saml_signature_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const xml = idp.validResponse(requestId, {}, {}, { key: { privateKey: rogueKey.privateKey, cert: idpKey.cert } });
    await expectCode(submit(xml, requestId), 'saml_signature_invalid');
  });

  it('signed by a certificate outside the configured set (embedded in KeyInfo) → saml_signature_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, {}, {}, { key: rogueKey }), requestId), 'saml_signature_invalid');
  });

  it('rsa-sha1 signature (which the library would accept) → saml_weak_algorithm', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, {}, {}, { signatureAlgorithm: 'rsa-sha1' }), requestId), 'saml_weak_algorithm', 'SignatureMethod:rsa-sha1');
  });

  it('sha1 digest → saml_weak_algorithm', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, {}, {}, { digestAlgorithm: 'sha1' }), requestId), 'saml_weak_algorithm', 'DigestMethod:sha1');
  });

  it('XML signature wrapping: signed assertion nested inside a forged one → refused', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(xswWrappedAssertion(idp, requestId, 'boss@acme.test'), requestId), 'saml_multiple_assertions');
  });

  it('XML signature wrapping: forged and signed assertions side by side → refused', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(xswTwoAssertions(idp, requestId, 'boss@acme.test'), requestId), 'saml_multiple_assertions');
  });

  it('XML signature wrapping: a valid signature whose Reference points at another element → saml_signature_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(xswForeignReference(idp, requestId, 'boss@acme.test'), requestId), 'saml_signature_invalid');
  });

  it('comment-injected NameID (alice@acme.test<!---->.evil) → saml_comment_forbidden', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const xml = commentInjectedNameId(idp, requestId);
    expect(xml).toContain('alice@acme.test<!---->.evil');
    await expectCode(submit(xml, requestId), 'saml_comment_forbidden');
  });
});

describe('document shape', () => {
  it('DOCTYPE with entities → saml_doctype_forbidden', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(withDoctype(idp.validResponse(requestId)), requestId), 'saml_doctype_forbidden');
    const lower = await request();
    await expectCode(submit(`<!doctype x>${idp.validResponse(lower)}`, lower), 'saml_doctype_forbidden');
  });

  it('not base64, not XML, or another root → saml_malformed', async () => {
    const { provider, request } = setup();
    const requestId = await request();
    await expectCode(provider.validatePostResponse({ SAMLResponse: '%%%' }, { requestId }), 'saml_malformed', 'encoding');
    await expectCode(provider.validatePostResponse({}, { requestId }), 'saml_malformed', 'encoding');
    await expectCode(provider.validatePostResponse({ SAMLResponse: idp.encode('<samlp:Response') }, { requestId }), 'saml_malformed', 'not_xml');
    await expectCode(provider.validatePostResponse({ SAMLResponse: idp.encode('<a xmlns="urn:x"/>') }, { requestId }), 'saml_malformed', 'root');
  });

  it('EncryptedAssertion (no decryption key configured) → saml_encrypted_unsupported', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const body = `<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>`;
    await expectCode(submit(idp.response({ inResponseTo: requestId, body }).xml, requestId), 'saml_encrypted_unsupported');
  });

  it('non-Success status → saml_status_error', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.response({ inResponseTo: requestId, status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }).xml, requestId), 'saml_status_error', 'Responder');
  });
});

describe('addressing and conditions', () => {
  it('wrong Audience → saml_audience_mismatch', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, { audience: 'https://other-sp.test' }), requestId), 'saml_audience_mismatch');
  });

  it('wrong Recipient → saml_recipient_mismatch', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, { recipient: 'https://other-sp.test/acs' }), requestId), 'saml_recipient_mismatch', 'mismatch');
  });

  it('wrong or missing Destination → saml_destination_mismatch', async () => {
    const { request, submit } = setup();
    const a = await request();
    await expectCode(submit(idp.validResponse(a, {}, { destination: 'https://other-sp.test/acs' }), a), 'saml_destination_mismatch', 'mismatch');
    const b = await request();
    await expectCode(submit(idp.validResponse(b, {}, { destination: null }), b), 'saml_destination_mismatch', 'missing');
  });

  it('assertion from another IdP entity, signed with the trusted key → saml_issuer_mismatch', async () => {
    const { request, submit } = setup();
    const a = await request();
    await expectCode(submit(idp.validResponse(a, { issuer: 'https://other-idp.test' }, { issuer: idp.entityId }), a), 'saml_issuer_mismatch', 'assertion');
    const b = await request();
    await expectCode(submit(idp.validResponse(b, {}, { issuer: 'https://other-idp.test' }), b), 'saml_issuer_mismatch', 'response');
  });

  it('NotBefore beyond the skew → saml_not_yet_valid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, { notBefore: minutes(5) }), requestId), 'saml_not_yet_valid');
  });

  it('NotOnOrAfter beyond the skew → saml_expired', async () => {
    const { request, submit } = setup();
    const a = await request();
    await expectCode(submit(idp.validResponse(a, { notBefore: minutes(-20), notOnOrAfter: minutes(-3) }), a), 'saml_expired', 'Conditions');
    const b = await request();
    await expectCode(submit(idp.validResponse(b, { subjectNotOnOrAfter: minutes(-3) }), b), 'saml_expired', 'SubjectConfirmationData');
  });

  it('transient NameID (no stable subject) → saml_subject_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const xml = idp.validResponse(requestId, { nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient', nameId: '_a1b2c3' });
    await expectCode(submit(xml, requestId), 'saml_subject_invalid', 'transient_name_id');
  });
});

describe('InResponseTo and replay', () => {
  it('unsolicited (IdP-initiated, no InResponseTo) → saml_in_response_to_invalid', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, { inResponseTo: null }, { inResponseTo: null }), requestId), 'saml_in_response_to_invalid', 'unsolicited');
  });

  it('answer to another attempt → saml_in_response_to_invalid', async () => {
    const { request, submit } = setup();
    const mine = await request();
    const theirs = await request();
    await expectCode(submit(idp.validResponse(theirs), mine), 'saml_in_response_to_invalid', 'attempt_mismatch');
  });

  it('answer to a request this SP never issued (or that expired) → saml_in_response_to_invalid', async () => {
    const { submit } = setup();
    const unknown = newId();
    await expectCode(submit(idp.validResponse(unknown), unknown), 'saml_in_response_to_invalid', 'unknown');
  });

  it('SubjectConfirmationData without InResponseTo (the library would accept it and keep the request ID) → refused', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, { inResponseTo: null }), requestId), 'saml_in_response_to_invalid', 'subject_confirmation');
  });

  it('the same response posted twice → the second is refused', async () => {
    const { request, submit } = setup();
    const requestId = await request();
    const xml = idp.validResponse(requestId);
    await submit(xml, requestId);
    await expectCode(submit(xml, requestId), 'saml_in_response_to_invalid', 'unknown');
  });

  it('an assertion ID seen before, under a fresh request → saml_replay', async () => {
    const { request, submit } = setup();
    const first = await request();
    const identity = await submit(idp.validResponse(first), first);
    const second = await request();
    await expectCode(submit(idp.validResponse(second, { id: identity.assertionId }), second), 'saml_replay');
  });

  it('a rejected response burns its request ID', async () => {
    const { request, submit, requestCache } = setup();
    const requestId = await request();
    await expectCode(submit(idp.validResponse(requestId, { audience: 'https://other-sp.test' }), requestId), 'saml_audience_mismatch');
    expect(await requestCache.getAsync(requestId)).toBeNull();
    await expectCode(submit(idp.validResponse(requestId), requestId), 'saml_in_response_to_invalid', 'unknown');
  });

  it('a request ID refused before the library runs is burnt too', async () => {
    const { request, submit, requestCache } = setup();
    const requestId = await request();
    await expectCode(submit(withDoctype(idp.validResponse(requestId)), requestId), 'saml_doctype_forbidden');
    expect(await requestCache.getAsync(requestId)).toBeNull();
  });
});
