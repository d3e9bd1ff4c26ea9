import { builder } from '../../graphql/builder.ts';
import { EnvironmentEnum, ONE_TIME_SECRET, policy, principalOf, rawId, userErrorsField, withUserErrors, connectionArgs, type UserErrorShape } from '../../graphql/common.ts';
import { inputFromZod } from '../../graphql/inputs.ts';
import type { Principal } from '../../context.ts';
import type { ApiKey } from '../../generated/prisma/client.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { ALL_KINDS, HUMAN, HUMAN_ADMIN, PUBLIC } from '../../kernel/policy.ts';
import { enumFromZod } from '../../graphql/inputs.ts';
import {
  challengeVerifyInput,
  environmentSwitchInput,
  issueHarborAccess,
  listEnvironments,
  loginStartInput,
  logout,
  refreshInput,
  refreshSession,
  startLogin,
  switchEnvironment,
  verifyChallenge,
  type ChallengeStarted,
  type EnvironmentGrant,
  type HarborAccess,
} from './auth.ts';
import { apiKeyCreateInput, apiKeyPrefix, apiKeyRotateInput, apiKeyStatus, createApiKey, revokeApiKey, rotateApiKey } from './api-keys.ts';
import type { AuthTokens } from './sessions.ts';

export const AREA = 'identity' as const;

const credentialStatus = describedEnum('CredentialStatus', 'Whether a credential still works.', {
  active: 'It works.',
  revoked: 'Revoked; it stopped working at once.',
  expired: 'Past its expiry.',
});
/** Shared by API keys, PATs and agent sessions. */
export const CredentialStatusEnum = enumFromZod(credentialStatus);

builder.prismaNode('Organization', {
  description: 'A customer organization: one live and one sandbox tenant.',
  id: { field: 'id' },
  // A node of another organization resolves to null (not an error), like one that does not exist.
  nullable: true,
  findUnique: (id, ctx) => ({ id: id === ctx.principal?.organizationId ? id : '' }),
  fields: (t) => ({
    organizationId: t.exposeString('id', { description: 'Organization id.' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

export const TenantType = builder.prismaNode('Tenant', {
  description: 'A workspace of an organization (live or sandbox); every credential belongs to one.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, organizationId: ctx.principal?.organizationId ?? '' }),
  fields: (t) => ({
    tenantId: t.exposeString('id', { description: 'Tenant id.' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    environment: t.expose('environment', { type: EnvironmentEnum, description: 'live or sandbox.' }),
    agentSecurityMode: t.exposeBoolean('agentSecurityMode', { description: 'Whether Agent Security Mode is on.' }),
    organization: t.relation('organization', { description: 'The organization.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

export const ApiKeyType = builder.prismaNode('ApiKey', {
  description: 'A service-account API key (`paybond_sk_<env>_…`); its secret is never shown again after creation.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    apiKeyId: t.exposeString('id', { description: 'Key id.' }),
    name: t.exposeString('name', { description: 'Name given at creation.' }),
    // Keys are only visible inside their own tenant, so the caller's environment is theirs.
    environment: t.field({ type: EnvironmentEnum, description: 'Environment of the key’s tenant.', resolve: (_k, _a, ctx) => principalOf(ctx).environment }),
    prefix: t.string({ description: 'Visible part of the key (everything but the secret).', resolve: (k, _a, ctx) => apiKeyPrefix(principalOf(ctx).environment, k.id) }),
    hint: t.exposeString('hint', { description: 'Last four characters of the secret.' }),
    status: t.field({ type: CredentialStatusEnum, description: 'active, revoked or expired.', resolve: (k, _a, ctx) => apiKeyStatus(k, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it expires, if it does.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last use (minute resolution).' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
    rotatedFromId: t.exposeString('rotatedFromId', { nullable: true, description: 'The key this one replaced.' }),
    keyId: t.exposeString('id', { description: 'Key id (the SDK’s key_id).' }),
    serviceAccountName: t.exposeString('serviceAccountName', { nullable: true, description: 'Service account the key belongs to.' }),
    serviceAccountRole: t.exposeString('serviceAccountRole', { description: 'operator or tenant_admin (tenant_admin keys may manage keys).' }),
    label: t.exposeString('label', { description: 'Free label.' }),
    keyKind: t.exposeString('keyKind', { description: 'standard, or restricted to mcpScopes.' }),
    mcpScopes: t.exposeStringList('mcpScopes', { description: 'MCP scope grants of a restricted key.' }),
  }),
});

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'The authenticated principal: who is calling, in which tenant and environment.',
  fields: (t) => ({
    principalType: t.exposeString('kind', { description: 'user, api_key, harbor, pat or agent' }),
    subject: t.exposeString('subjectId', { description: 'Id of the acting user, key, PAT or agent session.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant of the credential.' }),
    organizationId: t.exposeString('organizationId', { description: 'Organization of the tenant.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'live or sandbox.', resolve: (p) => p.environment }),
    roles: t.exposeStringList('roles', { description: 'Roles in the tenant.' }),
    entitlements: t.exposeStringList('entitlements', { description: 'Entitlements in the tenant.' }),
    scopes: t.exposeStringList('scopes', { description: 'Scopes the credential carries.' }),
    authMethod: t.exposeString('authMethod', { description: 'How the credential was obtained.' }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, description: 'When the credential expires.', resolve: (p) => p.expiresAt ?? null }),
    organization: t.prismaField({
      type: 'Organization',
      description: 'The organization.',
      resolve: (query, p, _a, ctx) => ctx.runtime.db.organization.findUniqueOrThrow({ ...query, where: { id: p.organizationId } }),
    }),
    tenant: t.prismaField({
      type: 'Tenant',
      description: 'The tenant.',
      resolve: (query, p, _a, ctx) => ctx.runtime.db.tenant.findUniqueOrThrow({ ...query, where: { id: p.tenantId } }),
    }),
    email: t.string({
      nullable: true,
      description: 'Only for a human session.',
      resolve: async (p, _a, ctx) =>
        p.userId ? ((await ctx.runtime.db.user.findUnique({ where: { id: p.userId }, select: { email: true } }))?.email ?? null) : null,
    }),
  }),
});

const EnvironmentGrantType = builder.objectRef<EnvironmentGrant>('EnvironmentGrant').implement({
  description: 'A tenant the user may switch to.',
  fields: (t) => ({
    tenantId: t.exposeString('tenantId', { description: 'Tenant id.' }),
    organizationId: t.exposeString('organizationId', { description: 'Organization id.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'live or sandbox.', resolve: (g) => g.environment }),
    roles: t.exposeStringList('roles', { description: 'Roles there.' }),
    entitlements: t.exposeStringList('entitlements', { description: 'Entitlements there.' }),
    current: t.exposeBoolean('current', { description: 'Whether it is the session’s tenant.' }),
  }),
});

export const AuthTokensType = builder.objectRef<AuthTokens>('AuthTokens').implement({
  description: 'A session: short-lived access JWT plus a single-use refresh token (shown once).',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', { ...ONE_TIME_SECRET, description: 'Bearer token for API calls.' }),
    refreshToken: t.exposeString('refreshToken', { ...ONE_TIME_SECRET, description: 'Single-use token to rotate the session.' }),
    tokenType: t.exposeString('tokenType', { description: 'Always Bearer.' }),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds until the access token expires.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the access token expires.' }),
    sessionId: t.exposeString('sessionId', { description: 'Session (refresh family) id.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant of the session.' }),
    organizationId: t.exposeString('organizationId', { description: 'Organization of the session.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'live or sandbox.', resolve: (s) => s.environment }),
  }),
});

const HarborAccessType = builder.objectRef<HarborAccess>('HarborAccess').implement({
  description: 'A short-lived Harbor token minted from an API key.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', { ...ONE_TIME_SECRET, description: 'Bearer token for Harbor routes.' }),
    tokenType: t.exposeString('tokenType', { description: 'Always Bearer.' }),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds until it expires.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it expires.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant of the key.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'live or sandbox.', resolve: (h) => h.environment }),
    scope: t.exposeString('scope', { description: 'Space-separated scopes.' }),
  }),
});

const ChallengeType = builder.objectRef<ChallengeStarted>('AuthChallenge').implement({
  description: 'An emailed sign-in code is on its way.',
  fields: (t) => ({
    challengeId: t.exposeString('challengeId', { description: 'Send it back with the code.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the code expires.' }),
    delivery: t.exposeString('delivery', { description: 'How the code travels (email).' }),
  }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  viewer: t.field({
    ...policy({ principals: ALL_KINDS }),
    type: Viewer,
    description: 'The authenticated principal.',
    resolve: (_r, _a, ctx) => principalOf(ctx),
  }),
  environments: t.field({
    ...policy(HUMAN),
    type: [EnvironmentGrantType],
    description: 'The current user’s live/sandbox tenants in the active organization.',
    resolve: (_r, _a, ctx) => listEnvironments({ ...ctx, principal: principalOf(ctx) }),
  }),
  apiKeys: t.prismaConnection(
    {
      ...policy(KEY_READER),
      type: 'ApiKey',
      cursor: 'id',
      description: 'The tenant’s API keys, newest first (never their secrets).',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.apiKey.count({ where: { tenantId: principalOf(ctx).tenantId } }),
      resolve: (query, _r, _a, ctx) =>
        ctx.runtime.db.apiKey.findMany({ ...query, where: { tenantId: principalOf(ctx).tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    {
      name: 'ApiKeyConnection',
      description: 'A page of API keys.',
      fields: (c) => ({
        items: c.field({ type: [ApiKeyType], description: 'The page’s keys (the SDK reads items[]).', resolve: (conn) => conn.edges.map((e) => e?.node ?? null).filter((n) => n !== null) as never }),
      }),
    },
    { name: 'ApiKeyEdge', description: 'An API key in a page.' },
  ),
}));

// ─── Payloads and inputs ────────────────────────────────────────────────────

const SessionPayload = builder.objectRef<{ session?: AuthTokens; userErrors: UserErrorShape[] }>('AuthSessionPayload').implement({
  description: 'A new session.',
  fields: (t) => ({
    session: t.field({ type: AuthTokensType, nullable: true, description: 'The session tokens.', resolve: (p) => p.session ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const ChallengePayload = builder.objectRef<{ challenge?: ChallengeStarted; userErrors: UserErrorShape[] }>('AuthLoginStartPayload').implement({
  description: 'A started sign-in.',
  fields: (t) => ({
    challenge: t.field({ type: ChallengeType, nullable: true, description: 'The challenge.', resolve: (p) => p.challenge ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const LogoutPayload = builder.objectRef<{ loggedOut?: boolean; userErrors: UserErrorShape[] }>('AuthLogoutPayload').implement({
  description: 'A finished session.',
  fields: (t) => ({
    loggedOut: t.boolean({ description: 'True once the session ended.', resolve: (p) => p.loggedOut ?? false }),
    userErrors: userErrorsField(t),
  }),
});

const HarborAccessPayload = builder.objectRef<{ harborAccess?: HarborAccess; userErrors: UserErrorShape[] }>('HarborAccessTokenCreatePayload').implement({
  description: 'A minted Harbor token.',
  fields: (t) => ({
    harborAccess: t.field({ type: HarborAccessType, nullable: true, description: 'The token.', resolve: (p) => p.harborAccess ?? null }),
    userErrors: userErrorsField(t),
  }),
});

interface ApiKeyPayloadShape {
  apiKey?: ApiKey;
  secret?: string;
  replacedApiKey?: ApiKey;
  userErrors: UserErrorShape[];
}

const ApiKeyCreatePayload = builder.objectRef<ApiKeyPayloadShape>('ApiKeyCreatePayload').implement({
  description: 'A new API key and its secret (shown once).',
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, nullable: true, description: 'The key.', resolve: (p) => p.apiKey ?? null }),
    item: t.field({ type: ApiKeyType, nullable: true, description: 'The key (the SDK reads item).', resolve: (p) => p.apiKey ?? null }),
    secret: t.string({ ...ONE_TIME_SECRET, nullable: true, description: 'The full API key. Shown once; store it now.', resolve: (p) => p.secret ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const ApiKeyRotatePayload = builder.objectRef<ApiKeyPayloadShape>('ApiKeyRotatePayload').implement({
  description: 'A replacement API key and its secret (shown once); the old one stopped working.',
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, nullable: true, description: 'The replacement.', resolve: (p) => p.apiKey ?? null }),
    item: t.field({ type: ApiKeyType, nullable: true, description: 'The replacement (the SDK reads item).', resolve: (p) => p.apiKey ?? null }),
    secret: t.string({ ...ONE_TIME_SECRET, nullable: true, description: 'The replacement key. Shown once.', resolve: (p) => p.secret ?? null }),
    replacedApiKey: t.field({ type: ApiKeyType, nullable: true, description: 'The key it replaced (now revoked).', resolve: (p) => p.replacedApiKey ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const ApiKeyRevokePayload = builder.objectRef<ApiKeyPayloadShape>('ApiKeyRevokePayload').implement({
  description: 'A revoked API key.',
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, nullable: true, description: 'The key.', resolve: (p) => p.apiKey ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const LoginStartInput = inputFromZod('AuthLoginStartInput', loginStartInput, 'Email and password.');
const ChallengeVerifyInput = inputFromZod('AuthChallengeVerifyInput', challengeVerifyInput, 'The emailed code.');
const RefreshInput = inputFromZod('AuthRefreshInput', refreshInput, 'The refresh token.');
const EnvironmentSwitchInput = inputFromZod('EnvironmentSwitchInput', environmentSwitchInput, 'Where to switch to.');
const ApiKeyCreateInput = inputFromZod('ApiKeyCreateInput', apiKeyCreateInput, 'A new API key.');
const ApiKeyRotateInput = inputFromZod('ApiKeyRotateInput', apiKeyRotateInput, 'Options for the replacement key.');

// ─── Mutations ──────────────────────────────────────────────────────────────

// Sign-in mutations are public; the service limits them per client address and per email.
const SIGN_IN = { ...PUBLIC, rateLimit: null } as const;
const ADMIN = { ...HUMAN_ADMIN, rateLimit: null } as const;
/** API-key management: tenant-admin sessions, or service-account keys whose role is tenant_admin (paybond keys). */
const KEY_ADMIN = { principals: ['user', 'api_key'], admin: true, rateLimit: null } as const;
/** Listing keys (metadata, never secrets): any member's session, as before, or a service-account key of the tenant. */
const KEY_READER = { principals: ['user', 'api_key'] } as const;

builder.mutationFields((t) => ({
  authLoginStart: t.field({
    ...policy(SIGN_IN),
    type: ChallengePayload,
    description: 'Password sign-in, step 1: sends an email code. Same answer whether or not the account exists.',
    args: { input: t.arg({ type: LoginStartInput, required: true, description: 'Credentials.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ challenge: await startLogin(ctx, input) })),
  }),
  authChallengeVerify: t.field({
    ...policy(SIGN_IN),
    type: SessionPayload,
    description: 'Password sign-in / sign-up, step 2: the emailed code opens a session.',
    args: { input: t.arg({ type: ChallengeVerifyInput, required: true, description: 'The code.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ session: await verifyChallenge(ctx, input) })),
  }),
  authRefresh: t.field({
    ...policy(SIGN_IN),
    type: SessionPayload,
    description: 'Rotate a refresh token. Reusing an old one revokes the whole session.',
    args: { input: t.arg({ type: RefreshInput, required: true, description: 'The refresh token.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ session: await refreshSession(ctx, input) })),
  }),
  authLogout: t.field({
    ...policy({ ...HUMAN, rateLimit: null }),
    type: LogoutPayload,
    description: 'End the current session.',
    resolve: (_r, _a, ctx) =>
      withUserErrors(async () => {
        await logout({ ...ctx, principal: principalOf(ctx) });
        return { loggedOut: true };
      }),
  }),
  environmentSwitch: t.field({
    ...policy({ ...HUMAN, rateLimit: null }),
    type: SessionPayload,
    description: 'Mint a session for another granted environment of the same organization.',
    args: { input: t.arg({ type: EnvironmentSwitchInput, required: true, description: 'The target.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ session: await switchEnvironment({ ...ctx, principal: principalOf(ctx) }, input) })),
  }),
  harborAccessTokenCreate: t.field({
    ...policy({ principals: ['api_key'], rateLimit: null }),
    type: HarborAccessPayload,
    description: 'Exchange a machine credential (API key) for a short-lived Harbor token.',
    resolve: (_r, _a, ctx) => withUserErrors(async () => ({ harborAccess: await issueHarborAccess({ ...ctx, principal: principalOf(ctx) }) })),
  }),
  apiKeyCreate: t.field({
    ...policy(KEY_ADMIN),
    type: ApiKeyCreatePayload,
    description: 'Create a service-account API key; the secret is returned once.',
    args: { input: t.arg({ type: ApiKeyCreateInput, required: true, description: 'The key.' }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const issued = await createApiKey({ ...ctx, principal: principalOf(ctx) }, input);
        return { apiKey: issued.apiKey, secret: issued.secret };
      }),
  }),
  apiKeyRotate: t.field({
    ...policy(KEY_ADMIN),
    type: ApiKeyRotatePayload,
    description: 'Replace a key: the old secret stops working at once; the new one is returned once.',
    args: {
      id: t.arg.id({ required: true, description: 'Key id or GraphQL id.' }),
      input: t.arg({ type: ApiKeyRotateInput, required: false, description: 'Options.' }),
    },
    resolve: (_r, { id, input }, ctx) =>
      withUserErrors(async () => {
        const issued = await rotateApiKey({ ...ctx, principal: principalOf(ctx) }, rawId(String(id), 'ApiKey'), input ?? {});
        return { apiKey: issued.apiKey, secret: issued.secret, replacedApiKey: issued.replaced };
      }),
  }),
  apiKeyRevoke: t.field({
    ...policy(KEY_ADMIN),
    type: ApiKeyRevokePayload,
    description: 'Revoke a key; it stops working at once.',
    args: { id: t.arg.id({ required: true, description: 'Key id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ apiKey: await revokeApiKey({ ...ctx, principal: principalOf(ctx) }, rawId(String(id), 'ApiKey')) })),
  }),
}));
