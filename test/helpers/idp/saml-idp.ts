import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

/**
 * A SAML 2.0 identity provider for tests: an RSA-2048 key and self-signed certificate per run
 * (`selfsigned`), Responses built here and signed with `xml-crypto` (exclusive c14n, rsa-sha256),
 * and one builder per attack the service provider must refuse.
 */

export interface IdpKeyPair {
  privateKey: string;
  cert: string;
}

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
} as const;

const ALG = {
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

export async function generateIdpKeyPair(commonName = 'test-idp'): Promise<IdpKeyPair> {
  const pems = await generate([{ name: 'commonName', value: commonName }], { keySize: 2048, algorithm: 'sha256' });
  return { privateKey: pems.private, cert: pems.cert };
}

export const newId = () => `_${randomBytes(16).toString('hex')}`;
const iso = (date: Date) => date.toISOString();
const esc = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface SignOptions {
  key?: IdpKeyPair;
  signatureAlgorithm?: 'rsa-sha256' | 'rsa-sha1';
  digestAlgorithm?: 'sha256' | 'sha1';
}

export interface AssertionOptions {
  id?: string;
  issuer?: string;
  nameId?: string;
  /** Raw XML placed inside NameID instead of the escaped `nameId` (comment injection). */
  nameIdXml?: string;
  nameIdFormat?: string;
  /** `null` leaves InResponseTo out of SubjectConfirmationData. */
  inResponseTo?: string | null;
  recipient?: string;
  audience?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  subjectNotOnOrAfter?: Date;
  issueInstant?: Date;
  attributes?: Record<string, string[]>;
}

export interface ResponseOptions {
  id?: string;
  issuer?: string;
  /** `null`: unsolicited (no InResponseTo on the Response). */
  inResponseTo?: string | null;
  /** `null`: no Destination attribute. */
  destination?: string | null;
  status?: string;
  /** Raw XML of the assertion(s) and anything else inside the Response after Status. */
  body?: string;
}

export interface TestIdp {
  entityId: string;
  ssoUrl: string;
  key: IdpKeyPair;
  /** Defaults for the SP these responses are addressed to. */
  sp: { entityId: string; acsUrl: string };
  assertion(options?: AssertionOptions): { id: string; xml: string };
  response(options?: ResponseOptions): { id: string; xml: string };
  /** Sign the element with this ID, placing the enveloped signature after its Issuer. */
  sign(xml: string, id: string, options?: SignOptions): string;
  /** A valid signed Response (assertion signed) for the request `inResponseTo`. */
  validResponse(inResponseTo: string, assertion?: AssertionOptions, response?: ResponseOptions, sign?: SignOptions): string;
  /** The POST form value. */
  encode(xml: string): string;
}

export function createTestIdp(key: IdpKeyPair, sp: { entityId: string; acsUrl: string }, entityId = 'https://idp.acme.test/saml'): TestIdp {
  const idp: TestIdp = {
    entityId,
    ssoUrl: 'https://idp.acme.test/saml/sso',
    key,
    sp,
    assertion(o = {}) {
      const id = o.id ?? newId();
      const now = Date.now();
      const notBefore = o.notBefore ?? new Date(now - 30_000);
      const notOnOrAfter = o.notOnOrAfter ?? new Date(now + 5 * 60_000);
      const subjectNotOnOrAfter = o.subjectNotOnOrAfter ?? notOnOrAfter;
      const inResponseTo = o.inResponseTo === null ? '' : o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
      const format = o.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
      const nameId = o.nameIdXml ?? esc(o.nameId ?? 'alice@acme.test');
      const attributes = Object.entries(o.attributes ?? { email: ['alice@acme.test'], groups: ['engineering'] })
        .map(
          ([name, values]) =>
            `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
              .map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`)
              .join('')}</saml:Attribute>`,
        )
        .join('');
      const xml =
        `<saml:Assertion xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${iso(o.issueInstant ?? new Date(now))}">` +
        `<saml:Issuer>${esc(o.issuer ?? entityId)}</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="${esc(format)}">${nameId}</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
        `<saml:SubjectConfirmationData${inResponseTo} NotOnOrAfter="${iso(subjectNotOnOrAfter)}" Recipient="${esc(o.recipient ?? sp.acsUrl)}"/>` +
        `</saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}">` +
        `<saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? sp.entityId)}</saml:Audience></saml:AudienceRestriction>` +
        `</saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${iso(new Date(now))}" SessionIndex="${newId()}">` +
        `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
        `</saml:AuthnStatement>` +
        (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
        `</saml:Assertion>`;
      return { id, xml };
    },
    response(o = {}) {
      const id = o.id ?? newId();
      const inResponseTo = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
      const destination = o.destination === null ? '' : ` Destination="${esc(o.destination ?? sp.acsUrl)}"`;
      const xml =
        `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${iso(new Date())}"${destination}${inResponseTo}>` +
        `<saml:Issuer>${esc(o.issuer ?? entityId)}</saml:Issuer>` +
        `<samlp:Status><samlp:StatusCode Value="${esc(o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success')}"/></samlp:Status>` +
        (o.body ?? '') +
        `</samlp:Response>`;
      return { id, xml };
    },
    sign(xml, id, o = {}) {
      const signer = o.key ?? key;
      const sig = new SignedXml({
        privateKey: signer.privateKey,
        publicCert: signer.cert,
        signatureAlgorithm: ALG[o.signatureAlgorithm ?? 'rsa-sha256'],
        canonicalizationAlgorithm: ALG.excC14n,
      });
      sig.addReference({
        xpath: `//*[@ID='${id}']`,
        digestAlgorithm: ALG[o.digestAlgorithm ?? 'sha256'],
        transforms: [ALG.enveloped, ALG.excC14n],
      });
      sig.computeSignature(xml, {
        prefix: 'ds',
        location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: 'after' },
      });
      return sig.getSignedXml();
    },
    validResponse(inResponseTo, assertionOptions = {}, responseOptions = {}, signOptions = {}) {
      const assertion = idp.assertion({ inResponseTo, ...assertionOptions });
      const signed = idp.sign(assertion.xml, assertion.id, signOptions);
      return idp.response({ inResponseTo, ...responseOptions, body: signed }).xml;
    },
    encode: (xml) => Buffer.from(xml, 'utf8').toString('base64'),
  };
  return idp;
}

// ---------------------------------------------------------------------------------------------
// Attacks. Each takes what an attacker could hold (a genuinely signed assertion for their own
// account, or a signed message) and returns the forged Response XML.

/** A legitimately signed assertion for `nameId` (the attacker's own login at the IdP). */
export function signedAssertion(idp: TestIdp, inResponseTo: string, options: AssertionOptions = {}): { id: string; xml: string } {
  const assertion = idp.assertion({ inResponseTo, ...options });
  return { id: assertion.id, xml: idp.sign(assertion.xml, assertion.id) };
}

/** XSW: an unsigned assertion for the victim on top, the signed original nested inside it (in Advice). */
export function xswWrappedAssertion(idp: TestIdp, inResponseTo: string, victim: string): string {
  const original = signedAssertion(idp, inResponseTo, { nameId: 'mallory@acme.test', attributes: { email: ['mallory@acme.test'] } });
  const evil = idp.assertion({ inResponseTo, nameId: victim, attributes: { email: [victim] } });
  const wrapped = evil.xml.replace('</saml:Conditions>', `</saml:Conditions><saml:Advice>${original.xml}</saml:Advice>`);
  return idp.response({ inResponseTo, body: wrapped }).xml;
}

/** XSW: the signed original and an unsigned assertion for the victim, side by side. */
export function xswTwoAssertions(idp: TestIdp, inResponseTo: string, victim: string): string {
  const original = signedAssertion(idp, inResponseTo, { nameId: 'mallory@acme.test', attributes: { email: ['mallory@acme.test'] } });
  const evil = idp.assertion({ inResponseTo, nameId: victim, attributes: { email: [victim] } });
  return idp.response({ inResponseTo, body: evil.xml + original.xml }).xml;
}

/**
 * XSW: one assertion for the victim carrying a valid signature whose Reference points at another
 * signed element (a genuinely signed status-only Response, kept in Extensions).
 */
export function xswForeignReference(idp: TestIdp, inResponseTo: string, victim: string): string {
  const donor = idp.response({ inResponseTo, status: 'urn:oasis:names:tc:SAML:2.0:status:Success' });
  const signedDonor = idp.sign(donor.xml, donor.id);
  const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signedDonor)![0];
  const evil = idp.assertion({ inResponseTo, nameId: victim, attributes: { email: [victim] } });
  const evilSigned = evil.xml.replace('</saml:Issuer>', `</saml:Issuer>${signature}`);
  return idp
    .response({ inResponseTo, body: evilSigned })
    .xml.replace('<samlp:Status>', `<samlp:Extensions>${signedDonor}</samlp:Extensions><samlp:Status>`);
}

/**
 * The IdP signed `alice@acme.test.evil` (an account the attacker registered); a comment after
 * `alice@acme.test` leaves the digest intact (c14n drops comments) while a naive text read stops there.
 */
export function commentInjectedNameId(idp: TestIdp, inResponseTo: string): string {
  const signed = signedAssertion(idp, inResponseTo, { nameId: 'alice@acme.test.evil', attributes: { email: ['alice@acme.test.evil'] } });
  const injected = signed.xml.replace('alice@acme.test.evil</saml:NameID>', 'alice@acme.test<!---->.evil</saml:NameID>');
  return idp.response({ inResponseTo, body: injected }).xml;
}

/** A valid response behind an internal DTD with an entity (the start of a billion-laughs expansion). */
export function withDoctype(xml: string): string {
  return `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>${xml.replace('<saml:Issuer>', '<saml:Issuer>&lol2;')}`;
}

/** Only the Response is signed; the assertion inside is not. */
export function responseOnlySigned(idp: TestIdp, inResponseTo: string): string {
  const assertion = idp.assertion({ inResponseTo });
  const response = idp.response({ inResponseTo, body: assertion.xml });
  return idp.sign(response.xml, response.id);
}
