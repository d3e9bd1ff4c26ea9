import { randomBytes } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SAML, SamlStatusError, ValidateInResponseTo, type CacheProvider, type SamlConfig } from '@node-saml/node-saml';
import { SsoError } from './errors.ts';

/**
 * SAML 2.0 service provider (Web Browser SSO, HTTP-Redirect AuthnRequest, HTTP-POST Response) on
 * top of `@node-saml/node-saml`.
 *
 * node-saml verifies the XML signature and returns only what was signed, checks InResponseTo
 * against the request cache, the Conditions/SubjectConfirmation time windows and the Audience.
 * Its defaults are unsafe (InResponseTo never checked, SHA-1, no clock skew, audience = our own
 * issuer), so every option is passed explicitly. It does not check the Response Destination, the
 * SubjectConfirmationData Recipient, the assertion Issuer (`idpIssuer` only applies to logout
 * messages), replayed assertion IDs, or which algorithms signed the document (xml-crypto accepts
 * rsa-sha1): those checks are here, together with refusals before any parsing (DTDs, comments,
 * several assertions).
 */

export interface SamlConnection {
  /** Connection id: scopes assertion-ID replay records. */
  id: string;
  /** Our entity ID, e.g. `${PUBLIC_BASE_URL}/v1/auth/sso/metadata?connection=<id>`. */
  spEntityId: string;
  /** Assertion Consumer Service URL (HTTP-POST), e.g. `${PUBLIC_BASE_URL}/v1/auth/sso/callback`. */
  acsUrl: string;
  idpEntityId: string;
  idpSsoUrl: string;
  /** Trusted IdP signing certificates (PEM or bare base64); two during a rotation. */
  idpCertsPem: readonly string[];
  /** Also require a signature over the whole Response (the Assertion must be signed regardless). */
  wantResponseSigned?: boolean;
  /** SP key and certificate: AuthnRequests are signed (rsa-sha256) and the cert is in metadata. */
  spPrivateKeyPem?: string;
  spCertPem?: string;
  /** Default 120. */
  clockSkewSeconds?: number;
  /** NameIDPolicy Format to request; default none (the IdP's choice). Transient NameIDs are refused. */
  nameIdFormat?: string;
  /** Attribute names to read email / groups from (first present wins). */
  emailAttributes?: readonly string[];
  groupsAttributes?: readonly string[];
}

/** node-saml's request-ID cache (`saveAsync/getAsync/removeAsync`); back it with the database when several nodes serve callbacks. */
export type SamlRequestCache = CacheProvider;

export interface AssertionReplayStore {
  /**
   * Record `(connectionId, assertionId)` until `expiresAt`. Must be atomic (a unique index):
   * resolves false when the pair was already recorded.
   */
  markSeen(connectionId: string, assertionId: string, expiresAt: Date): Promise<boolean>;
}

export interface SamlDependencies {
  requestCache: SamlRequestCache;
  replayStore: AssertionReplayStore;
}

export interface SamlIdentity {
  /** Assertion Issuer (equals the connection's IdP entity ID). */
  issuer: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  assertionId: string;
  inResponseTo: string;
  /** Until when the assertion ID is remembered. */
  notOnOrAfter: Date;
  email?: string;
  groups: string[];
  attributes: Record<string, string[]>;
}

export interface SamlServiceProvider {
  /** The options node-saml gets (for inspection; secrets included, do not log). */
  readonly options: Readonly<SamlConfig>;
  /** AuthnRequest via HTTP-Redirect. Keep `requestId` with the login attempt; `relayState` is the attempt id. */
  createLoginRequest(relayState: string): Promise<{ url: URL; requestId: string }>;
  /** Validate a POSTed `SAMLResponse` for the attempt that sent `requestId`. The request ID is burnt either way. */
  validatePostResponse(form: { SAMLResponse?: unknown }, expected: { requestId: string }): Promise<SamlIdentity>;
  /** SP metadata (entityID, ACS with HTTP-POST binding, signing cert when configured). */
  metadata(): string;
}

export const SAML_NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

const ALLOWED_SIGNATURE_METHODS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const ALLOWED_DIGEST_METHODS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const ALLOWED_TRANSFORMS = new Set(['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#']);
const ALLOWED_C14N = new Set(['http://www.w3.org/2001/10/xml-exc-c14n#']);
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const DEFAULT_EMAIL_ATTRIBUTES = ['email', 'mail', 'urn:oid:0.9.2342.19200300.100.1.3', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];
const DEFAULT_GROUPS_ATTRIBUTES = ['groups', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', 'memberOf'];

/** Login attempts live 10 minutes; a request ID older than that is not answered. */
export const SAML_REQUEST_TTL_MS = 10 * 60 * 1000;
const MAX_RESPONSE_BYTES = 256 * 1024;

export function createSamlServiceProvider(conn: SamlConnection, deps: SamlDependencies): SamlServiceProvider {
  validateSamlConnection(conn);
  const skewMs = (conn.clockSkewSeconds ?? 120) * 1000;
  const options = {
    // Who we are and where the IdP posts back.
    issuer: conn.spEntityId,
    audience: conn.spEntityId,
    callbackUrl: conn.acsUrl,
    // Who the IdP is.
    entryPoint: conn.idpSsoUrl,
    idpIssuer: conn.idpEntityId,
    idpCert: [...conn.idpCertsPem],
    // Signatures: the Assertion always, the Response when configured; our requests with SHA-256.
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: conn.wantResponseSigned ?? false,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    ...(conn.spPrivateKeyPem ? { privateKey: conn.spPrivateKeyPem, publicCert: conn.spCertPem } : {}),
    // Only answers to our own requests, each answerable once, within the attempt's lifetime.
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: SAML_REQUEST_TTL_MS,
    cacheProvider: deps.requestCache,
    acceptedClockSkewMs: skewMs,
    maxAssertionAgeMs: SAML_REQUEST_TTL_MS + skewMs,
    // Request shape. No RequestedAuthnContext: "exact PasswordProtectedTransport" makes IdPs
    // refuse MFA or passwordless logins.
    authnRequestBinding: 'HTTP-Redirect',
    identifierFormat: conn.nameIdFormat ?? null,
    allowCreate: true,
    disableRequestedAuthnContext: true,
    forceAuthn: false,
    passive: false,
    disableRequestAcsUrl: false,
    skipRequestCompression: false,
    signMetadata: false,
  } satisfies SamlConfig;

  const saml = (requestId?: string) => new SAML({ ...options, ...(requestId ? { generateUniqueId: () => requestId } : {}) });

  return {
    options,

    async createLoginRequest(relayState) {
      const requestId = `_${randomBytes(20).toString('hex')}`;
      const url = await saml(requestId).getAuthorizeUrlAsync(relayState, undefined, {});
      return { url: new URL(url), requestId };
    },

    async validatePostResponse(form, expected) {
      try {
        return await validate(conn, deps, saml(), form, expected.requestId, skewMs);
      } finally {
        // node-saml removes the ID on most paths; not on all (e.g. refusals before it runs).
        await deps.requestCache.removeAsync(expected.requestId);
      }
    },

    metadata() {
      return saml().generateServiceProviderMetadata(null, conn.spCertPem ?? null);
    },
  };
}

export function validateSamlConnection(conn: SamlConnection): void {
  const url = (value: string, what: string, httpsOnly: boolean) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new SsoError('sso_config_invalid', `${what}_not_a_url`);
    }
    if (httpsOnly ? parsed.protocol !== 'https:' : !/^https?:$/.test(parsed.protocol)) throw new SsoError('sso_config_invalid', `${what}_scheme`);
  };
  url(conn.acsUrl, 'acs_url', false);
  url(conn.idpSsoUrl, 'idp_sso_url', false);
  if (!conn.spEntityId || !conn.idpEntityId) throw new SsoError('sso_config_invalid', 'entity_id');
  if (conn.idpCertsPem.length < 1 || conn.idpCertsPem.length > 2) throw new SsoError('sso_config_invalid', 'idp_certs');
  if (conn.spPrivateKeyPem && !conn.spCertPem) throw new SsoError('sso_config_invalid', 'sp_cert');
  const skew = conn.clockSkewSeconds ?? 120;
  if (!Number.isInteger(skew) || skew < 0 || skew > 600) throw new SsoError('sso_config_invalid', 'clock_skew');
}

// ---------------------------------------------------------------------------------------------
// Validation

async function validate(
  conn: SamlConnection,
  deps: SamlDependencies,
  saml: SAML,
  form: { SAMLResponse?: unknown },
  requestId: string,
  skewMs: number,
): Promise<SamlIdentity> {
  const encoded = form.SAMLResponse;
  if (typeof encoded !== 'string' || !encoded || encoded.length > (MAX_RESPONSE_BYTES * 4) / 3 + 4) throw new SsoError('saml_malformed', 'encoding');
  if (!/^[A-Za-z0-9+/\s]+=*\s*$/.test(encoded)) throw new SsoError('saml_malformed', 'encoding');
  const xml = Buffer.from(encoded, 'base64').toString('utf8');

  const doc = precheck(xml);
  const response = doc.documentElement!;
  const now = Date.now();

  const responseInResponseTo = response.getAttribute('InResponseTo');
  if (!responseInResponseTo) throw new SsoError('saml_in_response_to_invalid', 'unsolicited');
  if (responseInResponseTo !== requestId) throw new SsoError('saml_in_response_to_invalid', 'attempt_mismatch');
  const destination = response.getAttribute('Destination');
  if (destination !== conn.acsUrl) throw new SsoError('saml_destination_mismatch', destination ? 'mismatch' : 'missing');
  const responseIssuer = children(response, SAML_NS.assertion, 'Issuer')[0];
  if (responseIssuer && text(responseIssuer) !== conn.idpEntityId) throw new SsoError('saml_issuer_mismatch', 'response');
  const rawAssertion = children(response, SAML_NS.assertion, 'Assertion')[0];
  // Classify time-window failures with their own code before node-saml (which checks them again
  // on the signed copy and reports a generic error for SubjectConfirmation windows).
  if (rawAssertion) checkTimeWindows(rawAssertion, now, skewMs);

  let verifiedXml: string;
  try {
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: encoded });
    if (!profile?.getAssertionXml) throw new SsoError('saml_malformed', 'no_assertion');
    verifiedXml = profile.getAssertionXml();
  } catch (error) {
    throw classifySamlError(error);
  }

  // From here on only the signed assertion is read.
  const assertion = parseXml(verifiedXml).documentElement!;
  if (assertion.localName !== 'Assertion' || assertion.namespaceURI !== SAML_NS.assertion) throw new SsoError('saml_malformed', 'signed_content');
  const assertionId = assertion.getAttribute('ID');
  if (!assertionId) throw new SsoError('saml_malformed', 'assertion_id');
  const issuerEl = children(assertion, SAML_NS.assertion, 'Issuer')[0];
  const issuer = issuerEl ? text(issuerEl) : '';
  if (issuer !== conn.idpEntityId) throw new SsoError('saml_issuer_mismatch', 'assertion');

  const subject = children(assertion, SAML_NS.assertion, 'Subject')[0];
  const nameIdEl = subject && children(subject, SAML_NS.assertion, 'NameID')[0];
  const nameId = nameIdEl ? text(nameIdEl).trim() : '';
  if (!nameIdEl || !nameId) throw new SsoError('saml_subject_invalid', 'name_id_missing');
  const nameIdFormat = nameIdEl.getAttribute('Format') || undefined;
  // A transient NameID changes at every login: it cannot key a UserIdentity.
  if (nameIdFormat === TRANSIENT) throw new SsoError('saml_subject_invalid', 'transient_name_id');

  const confirmation = bearerConfirmation(subject!, conn, requestId, now, skewMs);
  const conditions = children(assertion, SAML_NS.assertion, 'Conditions')[0];
  const ends = [confirmation.notOnOrAfter, dateAttr(conditions, 'NotOnOrAfter')].filter((d): d is number => d !== undefined);
  const notOnOrAfter = new Date(Math.min(...ends) + skewMs);

  const attributes = readAttributes(assertion);
  const pick = (names: readonly string[]) => names.map((n) => attributes[n]).find((v) => v && v.length > 0);
  const email = pick(conn.emailAttributes ?? DEFAULT_EMAIL_ATTRIBUTES)?.[0] ?? (nameIdFormat === EMAIL_FORMAT ? nameId : undefined);
  const groups = pick(conn.groupsAttributes ?? DEFAULT_GROUPS_ATTRIBUTES) ?? [];
  const authn = children(assertion, SAML_NS.assertion, 'AuthnStatement')[0];

  if (!(await deps.replayStore.markSeen(conn.id, assertionId, notOnOrAfter))) throw new SsoError('saml_replay');

  return {
    issuer,
    nameId,
    nameIdFormat,
    sessionIndex: authn?.getAttribute('SessionIndex') || undefined,
    assertionId,
    inResponseTo: requestId,
    notOnOrAfter,
    email,
    groups,
    attributes,
  };
}

/** Refusals on the raw document, before node-saml parses it. */
function precheck(xml: string): Document {
  if (Buffer.byteLength(xml) > MAX_RESPONSE_BYTES) throw new SsoError('saml_malformed', 'too_large');
  if (xml.includes('\u0000') || !/^\uFEFF?\s*</.test(xml)) throw new SsoError('saml_malformed', 'not_xml');
  // No DTD: nothing legitimate in a SAML response needs one, and entity expansion is the attack.
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new SsoError('saml_doctype_forbidden');
  const doc = parseXml(xml);
  const root = doc.documentElement;
  if (!root || root.localName !== 'Response' || root.namespaceURI !== SAML_NS.protocol) throw new SsoError('saml_malformed', 'root');

  let assertions = 0;
  const walk = (node: Node): void => {
    switch (node.nodeType) {
      case 10: // DocumentType
        throw new SsoError('saml_doctype_forbidden');
      case 8: // Comment: a comment inside a NameID splits its text, and canonicalization drops it
        throw new SsoError('saml_comment_forbidden');
      case 7: // ProcessingInstruction
        throw new SsoError('saml_malformed', 'processing_instruction');
      case 1: {
        const el = node as Element;
        if (el.localName === 'Assertion') assertions++;
        if (el.localName === 'EncryptedAssertion') throw new SsoError('saml_encrypted_unsupported');
        if (el.namespaceURI === SAML_NS.dsig) checkAlgorithm(el);
        break;
      }
    }
    for (let child = node.firstChild; child; child = child.nextSibling) walk(child);
  };
  walk(doc);
  // Counted anywhere in the document (not only as children of Response), so an assertion hidden
  // in Extensions, an Object or another element is refused too.
  if (assertions > 1) throw new SsoError('saml_multiple_assertions');
  return doc;
}

function checkAlgorithm(el: Element): void {
  const algorithm = el.getAttribute('Algorithm') ?? '';
  const allowed =
    el.localName === 'SignatureMethod'
      ? ALLOWED_SIGNATURE_METHODS
      : el.localName === 'DigestMethod'
        ? ALLOWED_DIGEST_METHODS
        : el.localName === 'Transform'
          ? ALLOWED_TRANSFORMS
          : el.localName === 'CanonicalizationMethod'
            ? ALLOWED_C14N
            : undefined;
  if (allowed && !allowed.has(algorithm)) throw new SsoError('saml_weak_algorithm', `${el.localName}:${algorithm.replace(/^.*[#/]/, '')}`);
}

function checkTimeWindows(assertion: Element, now: number, skewMs: number): void {
  const windows: Element[] = [];
  const conditions = children(assertion, SAML_NS.assertion, 'Conditions')[0];
  if (conditions) windows.push(conditions);
  const subject = children(assertion, SAML_NS.assertion, 'Subject')[0];
  for (const sc of subject ? children(subject, SAML_NS.assertion, 'SubjectConfirmation') : []) {
    windows.push(...children(sc, SAML_NS.assertion, 'SubjectConfirmationData'));
  }
  for (const el of windows) {
    const notBefore = dateAttr(el, 'NotBefore');
    const notOnOrAfter = dateAttr(el, 'NotOnOrAfter');
    if (notBefore !== undefined && now + skewMs < notBefore) throw new SsoError('saml_not_yet_valid', el.localName);
    if (notOnOrAfter !== undefined && now - skewMs >= notOnOrAfter) throw new SsoError('saml_expired', el.localName);
  }
}

/**
 * SAML profiles §4.1.4.2–3: a bearer SubjectConfirmation whose data names our ACS as Recipient,
 * answers our request, and is inside its time window.
 */
function bearerConfirmation(subject: Element, conn: SamlConnection, requestId: string, now: number, skewMs: number): { notOnOrAfter: number } {
  const bearers = children(subject, SAML_NS.assertion, 'SubjectConfirmation').filter((sc) => sc.getAttribute('Method') === BEARER);
  if (bearers.length === 0) throw new SsoError('saml_subject_invalid', 'no_bearer_confirmation');
  let failure: SsoError | undefined;
  for (const sc of bearers) {
    const data = children(sc, SAML_NS.assertion, 'SubjectConfirmationData')[0];
    const notOnOrAfter = dateAttr(data, 'NotOnOrAfter');
    const notBefore = dateAttr(data, 'NotBefore');
    if (!data || data.getAttribute('Recipient') !== conn.acsUrl) failure ??= new SsoError('saml_recipient_mismatch', data?.getAttribute('Recipient') ? 'mismatch' : 'missing');
    else if (data.getAttribute('InResponseTo') !== requestId) failure ??= new SsoError('saml_in_response_to_invalid', 'subject_confirmation');
    else if (notOnOrAfter === undefined) failure ??= new SsoError('saml_subject_invalid', 'not_on_or_after_missing');
    else if (now - skewMs >= notOnOrAfter) failure ??= new SsoError('saml_expired', 'SubjectConfirmationData');
    else if (notBefore !== undefined && now + skewMs < notBefore) failure ??= new SsoError('saml_not_yet_valid', 'SubjectConfirmationData');
    else return { notOnOrAfter };
  }
  throw failure!;
}

function readAttributes(assertion: Element): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (const statement of children(assertion, SAML_NS.assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, SAML_NS.assertion, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      if (!name) continue;
      const values = children(attribute, SAML_NS.assertion, 'AttributeValue').map((v) => text(v).trim());
      out[name] = [...(out[name] ?? []), ...values];
    }
  }
  return out;
}

/**
 * node-saml error → stable code. Messages are those of node-saml 5.1.0; the tests drive each
 * branch with a real signed response so an upgrade that changes them fails.
 */
function classifySamlError(error: unknown): SsoError {
  if (error instanceof SsoError) return error;
  const fail = (code: ConstructorParameters<typeof SsoError>[0], detail?: string) => new SsoError(code, detail, { cause: error });
  if (error instanceof SamlStatusError) {
    const status = /^SAML provider returned (\w+) error/.exec(error.message)?.[1];
    return fail('saml_status_error', status);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/InResponseTo is missing/.test(message)) return fail('saml_in_response_to_invalid', 'unsolicited');
  if (/InResponseTo/.test(message)) return fail('saml_in_response_to_invalid', 'unknown');
  if (/multiple assertions/.test(message)) return fail('saml_multiple_assertions');
  if (/signature|signed|Signature/.test(message)) return fail('saml_signature_invalid');
  if (/not yet valid/.test(message)) return fail('saml_not_yet_valid');
  if (/expired/.test(message)) return fail('saml_expired');
  if (/audience|AudienceRestriction/i.test(message)) return fail('saml_audience_mismatch');
  if (/subject confirmation/i.test(message)) return fail('saml_subject_invalid', 'confirmation');
  if (/Missing SAML assertion/.test(message)) return fail('saml_malformed', 'no_assertion');
  return fail('saml_malformed', 'unexpected');
}

// ---------------------------------------------------------------------------------------------
// DOM helpers (xmldom)

function parseXml(xml: string): Document {
  const fail = () => {
    throw new SsoError('saml_malformed', 'not_xml');
  };
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { warning: () => undefined, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  } catch (error) {
    if (error instanceof SsoError) throw error;
    throw new SsoError('saml_malformed', 'not_xml', { cause: error });
  }
  if (!doc?.documentElement) fail();
  return doc;
}

function children(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let child = parent.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === 1 && (child as Element).localName === localName && (child as Element).namespaceURI === ns) out.push(child as Element);
  }
  return out;
}

function text(el: Element): string {
  return el.textContent ?? '';
}

function dateAttr(el: Element | undefined, name: string): number | undefined {
  const value = el?.getAttribute(name);
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new SsoError('saml_malformed', `${name}_not_a_date`);
  return ms;
}
