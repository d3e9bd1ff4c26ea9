import { builder } from '../../graphql/builder.ts';
import { authed, connectionArgs, EnvironmentEnum, ONE_TIME_SECRET, policy, principalOf, rawId, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import type { SsoConnection, SupportSession } from '../../generated/prisma/client.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { HUMAN, HUMAN_ADMIN, PUBLIC } from '../../kernel/policy.ts';
import { AuthTokensType } from '../identity/graphql.ts';
import type { AuthTokens } from '../identity/sessions.ts';
import {
  baseUrlOf,
  callbackUrl,
  certificatesOf,
  createConnection,
  metadataUrl,
  setConnectionStatus,
  spKeyFingerprintOf,
  ssoConnectionCreateInput,
  ssoConnectionStatus,
  ssoConnectionUpdateInput,
  ssoProtocol,
  testConnection,
  updateConnection,
  type CertificateView,
  type ConnectionTestResult,
} from './connections.ts';
import { exchangeHandoff, ssoHandoffExchangeInput } from './login.ts';
import { storedRules } from './roles.ts';
import { SUPPORT_AGENT_ENTITLEMENT } from './support-token.ts';
import { createSupportSession, revokeSupportSession, supportSessionCreateInput, supportSessionStatus, type IssuedSupportSession } from './support.ts';
import './limits.ts';

export const AREA = 'sso' as const;

const SsoProtocolEnum = enumFromZod(ssoProtocol);
const SsoConnectionStatusEnum = enumFromZod(ssoConnectionStatus);
const supportStatus = describedEnum('SupportSessionStatus', 'Whether a support session still works.', {
  active: 'Its token works until it ends.',
  revoked: 'A tenant admin revoked it; its token answers 401.',
  expired: 'Past its end.',
});
const SupportSessionStatusEnum = enumFromZod(supportStatus);

const CertificateType = builder.objectRef<CertificateView>('SsoCertificate').implement({
  description: 'A certificate, identified without showing it.',
  fields: (t) => ({
    fingerprintSha256: t.exposeString('fingerprintSha256', { description: 'SHA-256 fingerprint of the DER certificate.' }),
    subject: t.exposeString('subject', { description: 'Subject distinguished name.' }),
    notAfter: t.expose('notAfter', { type: 'DateTime', description: 'End of validity.' }),
  }),
});

const SsoRoleMappingType = builder.objectRef<ReturnType<typeof storedRules>[number]>('SsoRoleMapping').implement({
  description: 'One role mapping rule: the first matching rule decides a tenant’s role at every login.',
  fields: (t) => ({
    claim: t.exposeString('claim', { description: 'Claim or attribute tested.' }),
    equals: t.exposeString('equals', { nullable: true, description: 'Matches when the claim equals (or contains) this value.' }),
    in: t.exposeStringList('in', { nullable: true, description: 'Matches when the claim is (or contains) one of these.' }),
    tenant: t.exposeString('tenant', { description: 'live, sandbox or both.' }),
    role: t.exposeString('role', { description: 'Role given.' }),
    entitlements: t.exposeStringList('entitlements', { description: 'Entitlements given.' }),
  }),
});

export const SsoConnectionType = builder.prismaNode('SsoConnection', {
  description: 'An identity provider connection of the organization (covers its live and sandbox tenants). Secrets show only as hints and fingerprints.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, organizationId: ctx.principal?.organizationId ?? '' }),
  fields: (t) => ({
    connectionId: t.exposeString('id', { description: 'Connection id (`connection=` of the login routes).' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    protocol: t.field({ type: SsoProtocolEnum, description: 'oidc or saml.', resolve: (c) => c.protocol as 'oidc' | 'saml' }),
    status: t.field({ type: SsoConnectionStatusEnum, description: 'draft, active or disabled.', resolve: (c) => c.status as 'draft' | 'active' | 'disabled' }),
    allowedDomains: t.exposeStringList('allowedDomains', { description: 'Email domains it provisions and enforce_sso covers.' }),
    jitEnabled: t.exposeBoolean('jitEnabled', { description: 'Whether first logins create users.' }),
    enforceSso: t.exposeBoolean('enforceSso', { description: 'Whether password sign-in is off for its domains.' }),
    breakGlassUserId: t.exposeString('breakGlassUserId', { nullable: true, description: 'The member who keeps password sign-in.' }),
    roleMappings: t.field({ type: [SsoRoleMappingType], description: 'Ordered role mapping rules.', resolve: (c) => storedRules(c.roleMappings) }),
    defaultRole: t.exposeString('defaultRole', { nullable: true, description: 'Role when no rule matches (null: refused).' }),
    returnToAllowlist: t.exposeStringList('returnToAllowlist', { description: 'Exact URLs a login may return to.' }),
    clockSkewSeconds: t.exposeInt('clockSkewSeconds', { description: 'Tolerated clock difference, seconds.' }),
    issuer: t.exposeString('issuer', { nullable: true, description: 'OIDC issuer.' }),
    clientId: t.exposeString('clientId', { nullable: true, description: 'OIDC client id.' }),
    clientSecretHint: t.exposeString('clientSecretHint', { nullable: true, description: 'OIDC client secret hint (last four characters of a long secret).' }),
    scopes: t.exposeStringList('scopes', { description: 'OIDC scopes (empty: openid email profile).' }),
    idTokenAlg: t.exposeString('idTokenAlg', { nullable: true, description: 'Expected ID token algorithm (null: RS256).' }),
    idpEntityId: t.exposeString('idpEntityId', { nullable: true, description: 'SAML IdP entity ID.' }),
    idpSsoUrl: t.exposeString('idpSsoUrl', { nullable: true, description: 'SAML IdP single sign-on URL.' }),
    idpCertificates: t.field({ type: [CertificateType], description: 'Trusted SAML IdP signing certificates.', resolve: (c) => certificatesOf(c.idpCertsPem) }),
    wantResponseSigned: t.exposeBoolean('wantResponseSigned', { description: 'SAML: whether the whole Response must be signed too.' }),
    spKeyFingerprint: t.string({ nullable: true, description: 'SAML SP key: SHA-256 of its public key (hex).', resolve: (c, _a, ctx) => spKeyFingerprintOf(ctx.runtime, c) }),
    spCertificate: t.field({ type: CertificateType, nullable: true, description: 'SAML SP certificate.', resolve: (c) => (c.spCertPem ? certificatesOf([c.spCertPem])[0]! : null) }),
    redirectUri: t.string({ description: 'Register this at the IdP: the OIDC redirect URI or SAML ACS URL.', resolve: (_c, _a, ctx) => callbackUrl(baseUrlOf(ctx.runtime, ctx.request.url)) }),
    metadataUrl: t.string({ nullable: true, description: 'SAML: the SP metadata URL (also the SP entity ID).', resolve: (c, _a, ctx) => (c.protocol === 'saml' ? metadataUrl(baseUrlOf(ctx.runtime, ctx.request.url), c.id) : null) }),
    lastTestedAt: t.expose('lastTestedAt', { type: 'DateTime', nullable: true, description: 'Last ssoConnectionTest.' }),
    lastTestOk: t.exposeBoolean('lastTestOk', { nullable: true, description: 'Whether it passed (null: not tested since the last change).' }),
    lastTestError: t.exposeString('lastTestError', { nullable: true, description: 'Why it failed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change.' }),
  }),
});

export const SupportSessionType = builder.prismaNode('SupportSession', {
  description: 'A time-boxed, audited support session in this tenant (its requests are audit events support_session.request).',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    supportSessionId: t.exposeString('id', { description: 'Support session id (x-paybond-support-session).' }),
    staffUserId: t.exposeString('staffUserId', { description: 'The support engineer (a member holding support.agent).' }),
    reason: t.exposeString('reason', { description: 'Why access was needed.' }),
    ticketRef: t.exposeString('ticketRef', { nullable: true, description: 'Support ticket reference.' }),
    permissions: t.exposeStringList('permissions', { description: 'read, and the writes it may make.' }),
    status: t.field({ type: SupportSessionStatusEnum, description: 'active, revoked or expired.', resolve: (s, _a, ctx) => supportSessionStatus(s, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it started.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it ends.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When an admin revoked it.' }),
    revokedBy: t.exposeString('revokedBy', { nullable: true, description: 'Who revoked it.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Its last request.' }),
    requestCount: t.exposeInt('requestCount', { description: 'Requests made with it.' }),
  }),
});

const IssuedSupportSessionType = builder.objectRef<IssuedSupportSession>('IssuedSupportSession').implement({
  description: 'A support session and its access token (shown once, not refreshable).',
  fields: (t) => ({
    supportSession: t.field({ type: SupportSessionType, description: 'The session.', resolve: (s) => s.supportSession }),
    accessToken: t.exposeString('accessToken', { ...ONE_TIME_SECRET, description: 'Bearer token (JWT kind support); works until the session ends or is revoked.' }),
    tokenType: t.exposeString('tokenType', { description: 'Always Bearer.' }),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds until it ends.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it ends.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'The environment it is fixed to.', resolve: (s) => s.environment }),
  }),
});

const TestResultType = builder.objectRef<ConnectionTestResult>('SsoConnectionTestResult').implement({
  description: 'The outcome of testing a connection.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok', { description: 'Whether it passed (activation needs a pass after the last change).' }),
    error: t.exposeString('error', { nullable: true, description: 'Stable reason when it failed.' }),
    checks: t.exposeStringList('checks', { description: 'What was checked.' }),
    connection: t.field({ type: SsoConnectionType, description: 'The connection.', resolve: (r) => r.connection }),
  }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  ssoConnections: t.prismaConnection(
    {
      ...policy(HUMAN_ADMIN),
      type: 'SsoConnection',
      cursor: 'id',
      description: 'The organization’s SSO connections, newest first.',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.ssoConnection.count({ where: { organizationId: principalOf(ctx).organizationId } }),
      resolve: (query, _r, _a, ctx) =>
        ctx.runtime.db.ssoConnection.findMany({ ...query, where: { organizationId: principalOf(ctx).organizationId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'SsoConnectionConnection', description: 'A page of SSO connections.' },
    { name: 'SsoConnectionEdge', description: 'An SSO connection in a page.' },
  ),
  supportSessions: t.prismaConnection(
    {
      ...policy(HUMAN_ADMIN),
      type: 'SupportSession',
      cursor: 'id',
      description: 'Support sessions in this tenant, active and past, newest first.',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.supportSession.count({ where: { tenantId: principalOf(ctx).tenantId } }),
      resolve: (query, _r, _a, ctx) =>
        ctx.runtime.db.supportSession.findMany({ ...query, where: { tenantId: principalOf(ctx).tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'SupportSessionConnection', description: 'A page of support sessions.' },
    { name: 'SupportSessionEdge', description: 'A support session in a page.' },
  ),
}));

// ─── Payloads and inputs ────────────────────────────────────────────────────

const ConnectionPayload = builder.objectRef<{ connection?: SsoConnection; userErrors: UserErrorShape[] }>('SsoConnectionPayload').implement({
  description: 'An SSO connection after a change.',
  fields: (t) => ({
    connection: t.field({ type: SsoConnectionType, nullable: true, description: 'The connection.', resolve: (p) => p.connection ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const TestPayload = builder.objectRef<{ result?: ConnectionTestResult; userErrors: UserErrorShape[] }>('SsoConnectionTestPayload').implement({
  description: 'A connection test.',
  fields: (t) => ({
    result: t.field({ type: TestResultType, nullable: true, description: 'The outcome.', resolve: (p) => p.result ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const SupportCreatePayload = builder.objectRef<{ issued?: IssuedSupportSession; userErrors: UserErrorShape[] }>('SupportSessionCreatePayload').implement({
  description: 'A new support session.',
  fields: (t) => ({
    issued: t.field({ type: IssuedSupportSessionType, nullable: true, description: 'The session and its token.', resolve: (p) => p.issued ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const SupportRevokePayload = builder.objectRef<{ supportSession?: SupportSession; userErrors: UserErrorShape[] }>('SupportSessionRevokePayload').implement({
  description: 'A revoked support session.',
  fields: (t) => ({
    supportSession: t.field({ type: SupportSessionType, nullable: true, description: 'The session.', resolve: (p) => p.supportSession ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const HandoffPayload = builder.objectRef<{ session?: AuthTokens; userErrors: UserErrorShape[] }>('SsoHandoffExchangePayload').implement({
  description: 'Session tokens for an SSO login.',
  fields: (t) => ({
    session: t.field({ type: AuthTokensType, nullable: true, description: 'The session tokens.', resolve: (p) => p.session ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const CreateInput = inputFromZod('SsoConnectionCreateInput', ssoConnectionCreateInput, 'A new SSO connection (draft until tested and activated).');
const UpdateInput = inputFromZod('SsoConnectionUpdateInput', ssoConnectionUpdateInput, 'Fields to change; protocol fields need a new test before activation.');
const SupportInput = inputFromZod('SupportSessionCreateInput', supportSessionCreateInput, 'A support session request.');
const HandoffInput = inputFromZod('SsoHandoffExchangeInput', ssoHandoffExchangeInput, 'The handoff code.');

// ─── Mutations ──────────────────────────────────────────────────────────────

const ADMIN = { ...HUMAN_ADMIN, rateLimit: null } as const;

builder.mutationFields((t) => ({
  ssoConnectionCreate: t.field({
    ...policy(ADMIN),
    type: ConnectionPayload,
    description: 'Create an SSO connection (a draft): OIDC or SAML, with its domains, JIT and role mappings.',
    args: { input: t.arg({ type: CreateInput, required: true, description: 'The connection.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ connection: await createConnection(authed(ctx), input) })),
  }),
  ssoConnectionUpdate: t.field({
    ...policy(ADMIN),
    type: ConnectionPayload,
    description: 'Change an SSO connection; a protocol change needs a new passing test before it can be activated again.',
    args: { id: t.arg.id({ required: true, description: 'Connection id or GraphQL id.' }), input: t.arg({ type: UpdateInput, required: true, description: 'The changes.' }) },
    resolve: (_r, { id, input }, ctx) => withUserErrors(async () => ({ connection: await updateConnection(authed(ctx), rawId(String(id), 'SsoConnection'), input) })),
  }),
  ssoConnectionTest: t.field({
    ...policy(ADMIN),
    type: TestPayload,
    description: 'Test a connection (OIDC: live discovery; SAML: configuration, certificates and metadata).',
    args: { id: t.arg.id({ required: true, description: 'Connection id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ result: await testConnection(authed(ctx), rawId(String(id), 'SsoConnection')) })),
  }),
  ssoConnectionActivate: t.field({
    ...policy(ADMIN),
    type: ConnectionPayload,
    description: 'Activate a connection (needs a passing test after its last change).',
    args: { id: t.arg.id({ required: true, description: 'Connection id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ connection: await setConnectionStatus(authed(ctx), rawId(String(id), 'SsoConnection'), 'active') })),
  }),
  ssoConnectionDisable: t.field({
    ...policy(ADMIN),
    type: ConnectionPayload,
    description: 'Disable a connection: its login and metadata routes answer 404.',
    args: { id: t.arg.id({ required: true, description: 'Connection id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ connection: await setConnectionStatus(authed(ctx), rawId(String(id), 'SsoConnection'), 'disabled') })),
  }),
  ssoHandoffExchange: t.field({
    ...policy({ ...PUBLIC, rateLimit: null }),
    type: HandoffPayload,
    description: 'Exchange the single-use sso_code an SSO login appended to return_to for session tokens (within 60 seconds).',
    args: { input: t.arg({ type: HandoffInput, required: true, description: 'The code.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ session: await exchangeHandoff(ctx, input) })),
  }),
  supportSessionCreate: t.field({
    ...policy({ ...HUMAN, entitlement: SUPPORT_AGENT_ENTITLEMENT, rateLimit: 'auth_support_session' }),
    type: SupportCreatePayload,
    description: 'Open a time-boxed, audited support session in this tenant (needs the support.agent entitlement).',
    args: { input: t.arg({ type: SupportInput, required: true, description: 'Reason, duration and permissions.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ issued: await createSupportSession(authed(ctx), input) })),
  }),
  supportSessionRevoke: t.field({
    ...policy(ADMIN),
    type: SupportRevokePayload,
    description: 'End a support session now: its token answers 401 from its next request.',
    args: { id: t.arg.id({ required: true, description: 'Support session id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ supportSession: await revokeSupportSession(authed(ctx), rawId(String(id), 'SupportSession')) })),
  }),
}));
