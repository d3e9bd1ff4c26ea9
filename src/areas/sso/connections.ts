import './errors.ts';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import type { Prisma, SsoConnection } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { SsoError } from './errors.ts';
import { OidcCore, type OidcConnection } from './oidc.ts';
import { createSamlServiceProvider, validateSamlConnection, type SamlConnection } from './saml.ts';
import { createSecretBox, describeCertificate, keyFingerprint, secretHint, type SecretBox } from './secret-box.ts';
import { roleMappingRule, MAPPABLE_ENTITLEMENTS, mappedRole } from './roles.ts';
import { samlStores } from './stores.ts';

export const ssoProtocol = describedEnum('SsoProtocol', 'How the identity provider signs users in.', {
  oidc: 'OpenID Connect (authorization code flow with PKCE).',
  saml: 'SAML 2.0 Web Browser SSO (HTTP-Redirect request, HTTP-POST response).',
});

export const ssoConnectionStatus = describedEnum('SsoConnectionStatus', 'Whether a connection signs anyone in.', {
  draft: 'Configured, not yet activated; nobody signs in through it.',
  active: 'Signs users in (activation needed a passing test after the last change).',
  disabled: 'Turned off; its login routes answer 404.',
});

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain name such as acme.com');
const pem = z.string().min(64).max(16_384);
const absoluteUrl = z.url({ protocol: /^https?$/ }).max(2048);

const commonFields = {
  name: z.string().trim().min(1).max(100).describe('Display name, e.g. "Okta".'),
  allowedDomains: z.array(domain).max(20).describe('Email domains this connection may provision and that enforce_sso covers (lower-cased).'),
  jitEnabled: z.boolean().describe('Create users on their first SSO login (verified email in an allowed domain only).'),
  enforceSso: z.boolean().describe('Turn password sign-in off for users of the allowed domains (except the break-glass admin).'),
  breakGlassUserId: z.string().min(1).max(64).nullable().describe('The one member who keeps password sign-in while enforce_sso is on.'),
  roleMappings: z.array(roleMappingRule).max(50).describe('Ordered rules; the first that matches a tenant decides its role. Re-evaluated at every login.'),
  defaultRole: mappedRole.nullable().describe('Role in both tenants when no rule matches; null refuses the login.'),
  returnToAllowlist: z.array(absoluteUrl).min(1).max(20).describe('Exact URLs a login may return to (anything else is refused).'),
  clockSkewSeconds: z.number().int().min(0).max(600).describe('Tolerated clock difference with the IdP, seconds (default 120).'),
  // OIDC
  issuer: absoluteUrl.describe('OIDC: issuer identifier (discovery reads <issuer>/.well-known/openid-configuration).'),
  clientId: z.string().min(1).max(256).describe('OIDC: client id registered at the provider.'),
  clientSecret: z.string().min(1).max(512).describe('OIDC: client secret (stored encrypted, shown as a hint only).'),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/)).min(1).max(20).describe('OIDC: scopes; must contain openid (default openid email profile).'),
  idTokenAlg: z.string().min(2).max(10).describe('OIDC: expected ID token algorithm, asymmetric only (default RS256).'),
  // SAML
  idpEntityId: z.string().min(1).max(1024).describe('SAML: the IdP entity ID (the Issuer of its assertions).'),
  idpSsoUrl: absoluteUrl.describe('SAML: the IdP single sign-on URL (HTTP-Redirect binding).'),
  idpCertsPem: z.array(pem).min(1).max(2).describe('SAML: trusted IdP signing certificates, PEM; two during a rotation.'),
  wantResponseSigned: z.boolean().describe('SAML: also require a signature over the whole Response (the assertion is always signed).'),
  spPrivateKeyPem: pem.describe('SAML: SP private key (PKCS#8 PEM) signing AuthnRequests; stored encrypted.'),
  spCertPem: pem.describe('SAML: SP certificate (PEM) published in the metadata.'),
};

const optionalized = Object.fromEntries(Object.entries(commonFields).map(([k, v]) => [k, v.optional()])) as {
  [K in keyof typeof commonFields]: z.ZodOptional<(typeof commonFields)[K]>;
};

export const ssoConnectionCreateInput = z.object({ protocol: ssoProtocol.describe('oidc or saml.'), ...optionalized, name: commonFields.name, returnToAllowlist: commonFields.returnToAllowlist });
export const ssoConnectionUpdateInput = z.object(optionalized);

type CreateInput = z.infer<typeof ssoConnectionCreateInput>;
type UpdateInput = z.infer<typeof ssoConnectionUpdateInput>;
type AdminCtx = ServiceContext & { principal: Principal };

const boxes = new WeakMap<Runtime, SecretBox>();
const cores = new WeakMap<Runtime, OidcCore>();

export const secretBoxOf = (rt: Runtime): SecretBox => {
  let box = boxes.get(rt);
  if (!box) boxes.set(rt, (box = createSecretBox({ secret: rt.keys.hmacSecret, purpose: 'sso-connection-secrets' })));
  return box;
};

export const oidcCoreOf = (rt: Runtime): OidcCore => {
  let core = cores.get(rt);
  if (!core) cores.set(rt, (core = new OidcCore({ allowInsecureLoopback: rt.config.SSO_ALLOW_INSECURE_LOOPBACK })));
  return core;
};

/** Base URL the IdP reaches us at: PUBLIC_BASE_URL, else the request's origin. */
export const baseUrlOf = (rt: Runtime, requestUrl?: string): string =>
  (rt.config.PUBLIC_BASE_URL ?? (requestUrl ? new URL(requestUrl).origin : 'http://localhost')).replace(/\/+$/, '');

export const callbackUrl = (base: string) => `${base}/v1/auth/sso/callback`;
export const metadataUrl = (base: string, connectionId: string) => `${base}/v1/auth/sso/metadata?connection=${encodeURIComponent(connectionId)}`;

const secretContext = (id: string, field: string) => `sso_connection:${id}:${field}`;

/** The OIDC core's view of a stored connection (client secret decrypted). */
export function oidcConnectionOf(rt: Runtime, conn: SsoConnection, base: string): OidcConnection {
  return {
    id: conn.id,
    issuer: conn.issuer ?? '',
    clientId: conn.clientId ?? '',
    clientSecret: conn.clientSecretEnc ? secretBoxOf(rt).openText(conn.clientSecretEnc, secretContext(conn.id, 'client_secret')) : undefined,
    redirectUri: callbackUrl(base),
    scopes: conn.scopes.length ? conn.scopes : undefined,
    idTokenAlg: conn.idTokenAlg ?? undefined,
    clockSkewSeconds: conn.clockSkewSeconds,
  };
}

/** The SAML core's view of a stored connection (SP key decrypted). */
export function samlConnectionOf(rt: Runtime, conn: SsoConnection, base: string): SamlConnection {
  return {
    id: conn.id,
    spEntityId: metadataUrl(base, conn.id),
    acsUrl: callbackUrl(base),
    idpEntityId: conn.idpEntityId ?? '',
    idpSsoUrl: conn.idpSsoUrl ?? '',
    idpCertsPem: conn.idpCertsPem,
    wantResponseSigned: conn.wantResponseSigned,
    spPrivateKeyPem: conn.spKeyEnc ? secretBoxOf(rt).openText(conn.spKeyEnc, secretContext(conn.id, 'sp_key')) : undefined,
    spCertPem: conn.spCertPem ?? undefined,
    clockSkewSeconds: conn.clockSkewSeconds,
  };
}

export const samlProviderOf = (rt: Runtime, conn: SsoConnection, base: string) => createSamlServiceProvider(samlConnectionOf(rt, conn, base), samlStores(rt));

const invalid = (reason: string, field?: string) =>
  new DomainError('sso_connection_invalid', `The connection configuration is not valid (${reason})`, { details: { reason }, ...(field ? { field: [field] } : {}) });

/** Protocol-level checks of a stored configuration (the cores' own validators, certificates, keys). */
function checkConfiguration(rt: Runtime, conn: SsoConnection): void {
  try {
    if (conn.protocol === 'oidc') {
      if (!conn.issuer) throw invalid('issuer_required', 'issuer');
      if (!conn.clientId) throw invalid('client_id_required', 'clientId');
      oidcCoreOf(rt).validateConnection(oidcConnectionOf(rt, conn, baseUrlOf(rt)));
    } else {
      if (!conn.idpEntityId) throw invalid('idp_entity_id_required', 'idpEntityId');
      if (!conn.idpSsoUrl) throw invalid('idp_sso_url_required', 'idpSsoUrl');
      if (!conn.idpCertsPem.length) throw invalid('idp_certs_required', 'idpCertsPem');
      validateSamlConnection(samlConnectionOf(rt, conn, baseUrlOf(rt)));
      for (const cert of conn.idpCertsPem) describeCertificate(cert);
      if (conn.spCertPem) describeCertificate(conn.spCertPem);
      if (conn.spKeyEnc && !conn.spCertPem) throw invalid('sp_cert_required', 'spCertPem');
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (error instanceof SsoError) throw invalid(error.detail ?? error.code);
    throw invalid('certificate_or_key_unreadable');
  }
}

function checkEntitlements(rules: z.infer<typeof roleMappingRule>[] | undefined): void {
  for (const [i, rule] of (rules ?? []).entries()) {
    const outside = rule.entitlements.filter((e) => !(MAPPABLE_ENTITLEMENTS as readonly string[]).includes(e));
    if (outside.length) {
      throw new DomainError('sso_entitlement_not_allowed', `A role mapping may grant only ${MAPPABLE_ENTITLEMENTS.join(', ')}`, {
        details: { rule: i, entitlements: outside },
        field: ['roleMappings', String(i), 'entitlements'],
      });
    }
  }
}

async function checkBreakGlass(ctx: AdminCtx, userId: string | null | undefined): Promise<void> {
  if (!userId) return;
  const member = await ctx.runtime.db.membership.findFirst({
    where: { userId, tenant: { organizationId: ctx.principal.organizationId }, role: 'tenant_admin' },
  });
  if (!member) throw invalid('break_glass_user_not_an_admin', 'breakGlassUserId');
}

/** The stored row for one update/create, secrets sealed; protocol fields of the other protocol refused. */
function columns(rt: Runtime, id: string, protocol: string, input: UpdateInput): Prisma.SsoConnectionUncheckedUpdateInput {
  const oidcOnly = ['issuer', 'clientId', 'clientSecret', 'scopes', 'idTokenAlg'] as const;
  const samlOnly = ['idpEntityId', 'idpSsoUrl', 'idpCertsPem', 'wantResponseSigned', 'spPrivateKeyPem', 'spCertPem'] as const;
  for (const key of protocol === 'oidc' ? samlOnly : oidcOnly) {
    if (input[key] !== undefined) throw invalid(`${key}_not_for_${protocol}`, key);
  }
  const box = secretBoxOf(rt);
  const data: Prisma.SsoConnectionUncheckedUpdateInput = {};
  const copy = ['name', 'allowedDomains', 'jitEnabled', 'enforceSso', 'breakGlassUserId', 'defaultRole', 'returnToAllowlist', 'clockSkewSeconds', 'issuer', 'clientId', 'scopes', 'idTokenAlg', 'idpEntityId', 'idpSsoUrl', 'idpCertsPem', 'wantResponseSigned', 'spCertPem'] as const;
  for (const key of copy) if (input[key] !== undefined) (data as Record<string, unknown>)[key] = input[key];
  if (input.roleMappings !== undefined) data.roleMappings = input.roleMappings as Prisma.InputJsonValue;
  if (input.clientSecret !== undefined) {
    data.clientSecretEnc = box.seal(input.clientSecret, secretContext(id, 'client_secret'));
    data.clientSecretHint = secretHint(input.clientSecret);
  }
  if (input.spPrivateKeyPem !== undefined) {
    try {
      keyFingerprint(input.spPrivateKeyPem);
    } catch {
      throw invalid('sp_private_key_unreadable', 'spPrivateKeyPem');
    }
    data.spKeyEnc = box.seal(input.spPrivateKeyPem, secretContext(id, 'sp_key'));
  }
  return data;
}

/** The audit view of a change: which fields, never their values for secrets. */
const changedFields = (input: UpdateInput) =>
  Object.keys(input)
    .filter((k) => input[k as keyof UpdateInput] !== undefined)
    .sort();

/** Another organization's connection is indistinguishable from a missing one. */
export async function loadOwnConnection(ctx: AdminCtx, id: string): Promise<SsoConnection> {
  const conn = await ctx.runtime.db.ssoConnection.findUnique({ where: { id } });
  if (!conn || conn.organizationId !== ctx.principal.organizationId) throw new DomainError('not_found', 'No such SSO connection');
  return conn;
}

export async function createConnection(ctx: AdminCtx, input: CreateInput): Promise<SsoConnection> {
  const rt = ctx.runtime;
  checkEntitlements(input.roleMappings);
  await checkBreakGlass(ctx, input.breakGlassUserId);
  const id = newId('sso');
  const now = rt.clock.now();
  const { protocol, ...rest } = input;
  const data = columns(rt, id, protocol, rest);
  const candidate = { ...defaults(id, ctx.principal.organizationId, protocol, now), ...data } as SsoConnection;
  checkConfiguration(rt, candidate);
  return rt.db.$transaction(async (tx) => {
    const created = await tx.ssoConnection.create({ data: candidate as Prisma.SsoConnectionUncheckedCreateInput });
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'sso.connection_created',
      resource: 'sso_connection',
      resourceId: id,
      details: { protocol, fields: changedFields(rest) },
    });
    return created;
  });
}

function defaults(id: string, organizationId: string, protocol: string, now: Date): SsoConnection {
  return {
    id,
    organizationId,
    name: '',
    protocol,
    status: 'draft',
    allowedDomains: [],
    jitEnabled: false,
    enforceSso: false,
    breakGlassUserId: null,
    roleMappings: [],
    defaultRole: null,
    returnToAllowlist: [],
    clockSkewSeconds: 120,
    issuer: null,
    clientId: null,
    clientSecretEnc: null,
    clientSecretHint: null,
    scopes: [],
    idTokenAlg: null,
    idpEntityId: null,
    idpSsoUrl: null,
    idpCertsPem: [],
    wantResponseSigned: false,
    spKeyEnc: null,
    spCertPem: null,
    lastTestedAt: null,
    lastTestOk: null,
    lastTestError: null,
    configChangedAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

/** Fields whose change needs a new passing test before the connection may be (re)activated. */
const PROTOCOL_FIELDS = ['issuer', 'clientId', 'clientSecret', 'scopes', 'idTokenAlg', 'idpEntityId', 'idpSsoUrl', 'idpCertsPem', 'wantResponseSigned', 'spPrivateKeyPem', 'spCertPem', 'clockSkewSeconds'];

export async function updateConnection(ctx: AdminCtx, id: string, input: UpdateInput): Promise<SsoConnection> {
  const rt = ctx.runtime;
  const current = await loadOwnConnection(ctx, id);
  checkEntitlements(input.roleMappings);
  await checkBreakGlass(ctx, input.breakGlassUserId);
  const data = columns(rt, id, current.protocol, input);
  const now = rt.clock.now();
  const protocolChanged = PROTOCOL_FIELDS.some((f) => input[f as keyof UpdateInput] !== undefined);
  const next = { ...current, ...data } as SsoConnection;
  checkConfiguration(rt, next);
  return rt.db.$transaction(async (tx) => {
    const updated = await tx.ssoConnection.update({
      where: { id },
      // A protocol change puts an active connection back to draft: it signs nobody in until it
      // passes a test and is activated again.
      data: { ...data, updatedAt: now, ...(protocolChanged ? { configChangedAt: now, lastTestOk: null, ...(current.status === 'active' ? { status: 'draft' } : {}) } : {}) },
    });
    if (protocolChanged && current.protocol === 'oidc') oidcCoreOf(rt).invalidate(id);
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'sso.connection_updated',
      resource: 'sso_connection',
      resourceId: id,
      details: { fields: changedFields(input) },
    });
    return updated;
  });
}

export interface ConnectionTestResult {
  ok: boolean;
  /** Stable reason when not ok (an SsoError code and detail). */
  error: string | null;
  /** What was checked, e.g. the discovered endpoints or the certificate fingerprints. */
  checks: string[];
  connection: SsoConnection;
}

/**
 * OIDC: fresh discovery (issuer match, S256 PKCE, the ID token algorithm). SAML: the configuration,
 * certificates and SP key load, and an AuthnRequest and the metadata can be produced.
 */
export async function testConnection(ctx: AdminCtx, id: string): Promise<ConnectionTestResult> {
  const rt = ctx.runtime;
  const conn = await loadOwnConnection(ctx, id);
  const base = baseUrlOf(rt);
  const checks: string[] = [];
  let error: string | null = null;
  try {
    checkConfiguration(rt, conn);
    if (conn.protocol === 'oidc') {
      const summary = await oidcCoreOf(rt).testConnection(oidcConnectionOf(rt, conn, base));
      checks.push('discovery', 'issuer_matches', 'pkce_s256', summary.issParameterSupported ? 'iss_parameter_supported' : 'iss_parameter_not_advertised');
    } else {
      for (const cert of conn.idpCertsPem) {
        const summary = describeCertificate(cert);
        checks.push(`idp_certificate ${summary.fingerprintSha256}${summary.notAfter.getTime() < rt.clock.now().getTime() ? ' expired' : ''}`);
      }
      const provider = createSamlServiceProvider(samlConnectionOf(rt, conn, base), { requestCache: noopCache, replayStore: { markSeen: async () => true } });
      provider.metadata();
      checks.push('metadata');
    }
  } catch (caught) {
    error = caught instanceof SsoError ? (caught.detail ? `${caught.code}:${caught.detail}` : caught.code) : caught instanceof DomainError ? caught.code : 'unexpected';
  }
  const now = rt.clock.now();
  return rt.db.$transaction(async (tx) => {
    const connection = await tx.ssoConnection.update({ where: { id }, data: { lastTestedAt: now, lastTestOk: error === null, lastTestError: error } });
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'sso.connection_tested',
      resource: 'sso_connection',
      resourceId: id,
      decision: error ? 'denied' : 'allowed',
      details: { ok: error === null, ...(error ? { reason: error } : {}) },
    });
    return { ok: error === null, error, checks, connection };
  });
}

const noopCache = { saveAsync: async () => null, getAsync: async () => null, removeAsync: async () => null };

export async function setConnectionStatus(ctx: AdminCtx, id: string, status: 'active' | 'disabled'): Promise<SsoConnection> {
  const rt = ctx.runtime;
  const conn = await loadOwnConnection(ctx, id);
  if (status === 'active' && !(conn.lastTestOk && conn.lastTestedAt && conn.lastTestedAt >= conn.configChangedAt)) {
    throw new DomainError('sso_connection_untested', 'Run ssoConnectionTest successfully after the last configuration change before activating');
  }
  return rt.db.$transaction(async (tx) => {
    const updated = await tx.ssoConnection.update({ where: { id }, data: { status, updatedAt: rt.clock.now() } });
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: status === 'active' ? 'sso.connection_activated' : 'sso.connection_disabled',
      resource: 'sso_connection',
      resourceId: id,
      details: { from: conn.status },
    });
    return updated;
  });
}

export interface CertificateView {
  fingerprintSha256: string;
  subject: string;
  notAfter: Date;
}

export const certificatesOf = (pems: string[]): CertificateView[] =>
  pems.map((p) => {
    const c = describeCertificate(p);
    return { fingerprintSha256: c.fingerprintSha256, subject: c.subject, notAfter: c.notAfter };
  });

export const spKeyFingerprintOf = (rt: Runtime, conn: SsoConnection): string | null =>
  conn.spKeyEnc ? keyFingerprint(secretBoxOf(rt).openText(conn.spKeyEnc, secretContext(conn.id, 'sp_key'))) : null;
