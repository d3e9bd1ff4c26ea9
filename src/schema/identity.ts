import { builder } from '../builder.ts';
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
} from '../domain/identity/auth.ts';
import {
  apiKeyCreateInput,
  apiKeyPrefix,
  apiKeyRotateInput,
  apiKeyStatus,
  createApiKey,
  revokeApiKey,
  rotateApiKey,
} from '../domain/identity/api-keys.ts';
import type { AuthTokens } from '../domain/identity/sessions.ts';
import type { Principal } from '../context.ts';
import type { ApiKey } from '../generated/prisma/client.ts';
import { EnvironmentEnum, authed, compact, connectionArgs, userErrorsField, principalOf, rawId, withUserErrors, type UserErrorShape } from './common.ts';

// ─── Objects ────────────────────────────────────────────────────────────────

export const OrganizationType = builder.prismaNode('Organization', {
  id: { field: 'id' },
  // A node of another tenant resolves to null (not an error), like one that does not exist.
  nullable: true,
  // Only the caller's own organization resolves by id.
  findUnique: (id, ctx) => ({ id: id === ctx.principal?.organizationId ? id : '' }),
  fields: (t) => ({
    organizationId: t.exposeString('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const TenantType = builder.prismaNode('Tenant', {
  id: { field: 'id' },
  // A node of another tenant resolves to null (not an error), like one that does not exist.
  nullable: true,
  findUnique: (id, ctx) => ({ id, organizationId: ctx.principal?.organizationId ?? '' }),
  fields: (t) => ({
    tenantId: t.exposeString('id'),
    name: t.exposeString('name'),
    environment: t.expose('environment', { type: EnvironmentEnum }),
    agentSecurityMode: t.exposeBoolean('agentSecurityMode'),
    organization: t.relation('organization'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ApiKeyStatusEnum = builder.enumType('ApiKeyStatus', { values: ['active', 'revoked', 'expired'] as const });

export const ApiKeyType = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  // A node of another tenant resolves to null (not an error), like one that does not exist.
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    apiKeyId: t.exposeString('id'),
    name: t.exposeString('name'),
    // Keys are only visible inside their own tenant, so the caller's environment is theirs.
    environment: t.field({ type: EnvironmentEnum, resolve: (_k, _a, ctx) => principalOf(ctx).environment }),
    prefix: t.string({
      description: 'Visible part of the key (everything but the secret).',
      resolve: (k, _a, ctx) => apiKeyPrefix(principalOf(ctx).environment, k.id),
    }),
    hint: t.exposeString('hint', { description: 'Last four characters of the secret.' }),
    status: t.field({ type: ApiKeyStatusEnum, resolve: (k, _a, ctx) => apiKeyStatus(k, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    rotatedFromId: t.exposeString('rotatedFromId', { nullable: true }),
  }),
});

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'The authenticated principal: who is calling, in which tenant and environment.',
  fields: (t) => ({
    principalType: t.exposeString('kind', { description: 'user, api_key, harbor, pat or agent' }),
    subject: t.exposeString('subjectId'),
    tenantId: t.exposeString('tenantId'),
    organizationId: t.exposeString('organizationId'),
    environment: t.field({ type: EnvironmentEnum, resolve: (p) => p.environment }),
    roles: t.exposeStringList('roles'),
    entitlements: t.exposeStringList('entitlements'),
    scopes: t.exposeStringList('scopes'),
    authMethod: t.exposeString('authMethod'),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.expiresAt ?? null }),
    organization: t.prismaField({
      type: 'Organization',
      resolve: (query, p, _a, ctx) => ctx.runtime.db.organization.findUniqueOrThrow({ ...query, where: { id: p.organizationId } }),
    }),
    tenant: t.prismaField({
      type: 'Tenant',
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
  fields: (t) => ({
    tenantId: t.exposeString('tenantId'),
    organizationId: t.exposeString('organizationId'),
    environment: t.field({ type: EnvironmentEnum, resolve: (g) => g.environment }),
    roles: t.exposeStringList('roles'),
    entitlements: t.exposeStringList('entitlements'),
    current: t.exposeBoolean('current'),
  }),
});

const AuthTokensType = builder.objectRef<AuthTokens>('AuthTokens').implement({
  description: 'A session: short-lived access JWT plus a single-use refresh token (shown once).',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    refreshToken: t.exposeString('refreshToken'),
    tokenType: t.exposeString('tokenType'),
    expiresIn: t.exposeInt('expiresIn'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    sessionId: t.exposeString('sessionId'),
    tenantId: t.exposeString('tenantId'),
    organizationId: t.exposeString('organizationId'),
    environment: t.field({ type: EnvironmentEnum, resolve: (s) => s.environment }),
  }),
});

const HarborAccessType = builder.objectRef<HarborAccess>('HarborAccess').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    tokenType: t.exposeString('tokenType'),
    expiresIn: t.exposeInt('expiresIn'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    tenantId: t.exposeString('tenantId'),
    environment: t.field({ type: EnvironmentEnum, resolve: (h) => h.environment }),
    scope: t.exposeString('scope'),
  }),
});

const ChallengeType = builder.objectRef<ChallengeStarted>('AuthChallenge').implement({
  fields: (t) => ({
    challengeId: t.exposeString('challengeId'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    delivery: t.exposeString('delivery'),
  }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    authScopes: { authenticated: true },
    resolve: (_r, _a, ctx) => principalOf(ctx),
  }),
  environments: t.field({
    type: [EnvironmentGrantType],
    description: "The current user's live/sandbox tenants in the active organization.",
    authScopes: { principals: ['user'] },
    resolve: (_r, _a, ctx) => listEnvironments(authed(ctx)),
  }),
  apiKeys: t.prismaConnection({
    type: 'ApiKey',
    cursor: 'id',
    authScopes: { principals: ['user'] },
    validate: connectionArgs,
    resolve: (query, _r, _a, ctx) =>
      ctx.runtime.db.apiKey.findMany({
        ...query,
        where: { tenantId: principalOf(ctx).tenantId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
}));

// ─── Payloads ───────────────────────────────────────────────────────────────

const SessionPayload = builder.objectRef<{ session?: AuthTokens; userErrors: UserErrorShape[] }>('AuthSessionPayload').implement({
  fields: (t) => ({
    session: t.field({ type: AuthTokensType, nullable: true, resolve: (p) => p.session ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const ChallengePayload = builder
  .objectRef<{ challenge?: ChallengeStarted; userErrors: UserErrorShape[] }>('AuthLoginStartPayload')
  .implement({
    fields: (t) => ({
      challenge: t.field({ type: ChallengeType, nullable: true, resolve: (p) => p.challenge ?? null }),
      userErrors: userErrorsField(t),
    }),
  });

const LogoutPayload = builder.objectRef<{ loggedOut?: boolean; userErrors: UserErrorShape[] }>('AuthLogoutPayload').implement({
  fields: (t) => ({
    loggedOut: t.boolean({ resolve: (p) => p.loggedOut ?? false }),
    userErrors: userErrorsField(t),
  }),
});

const HarborAccessPayload = builder
  .objectRef<{ harborAccess?: HarborAccess; userErrors: UserErrorShape[] }>('HarborAccessTokenCreatePayload')
  .implement({
    fields: (t) => ({
      harborAccess: t.field({ type: HarborAccessType, nullable: true, resolve: (p) => p.harborAccess ?? null }),
      userErrors: userErrorsField(t),
    }),
  });

interface ApiKeyPayloadShape {
  apiKey?: ApiKey;
  secret?: string;
  replacedApiKey?: ApiKey;
  userErrors: UserErrorShape[];
}
const ApiKeySecretPayload = (name: string) => builder.objectRef<ApiKeyPayloadShape>(name);

const ApiKeyCreatePayload = ApiKeySecretPayload('ApiKeyCreatePayload').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, nullable: true, resolve: (p) => p.apiKey ?? null }),
    secret: t.string({ nullable: true, description: 'The full API key. Shown once; store it now.', resolve: (p) => p.secret ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const ApiKeyRotatePayload = ApiKeySecretPayload('ApiKeyRotatePayload').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, nullable: true, resolve: (p) => p.apiKey ?? null }),
    secret: t.string({ nullable: true, description: 'The replacement key. Shown once.', resolve: (p) => p.secret ?? null }),
    replacedApiKey: t.field({ type: ApiKeyType, nullable: true, resolve: (p) => p.replacedApiKey ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const ApiKeyRevokePayload = ApiKeySecretPayload('ApiKeyRevokePayload').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyType, nullable: true, resolve: (p) => p.apiKey ?? null }),
    userErrors: userErrorsField(t),
  }),
});

// ─── Inputs ─────────────────────────────────────────────────────────────────

const LoginStartInput = builder.inputType('AuthLoginStartInput', {
  fields: (t) => ({
    email: t.string(),
    password: t.string(),
    organizationName: t.string({ required: false, description: 'Name for a new organization (sign-up only).' }),
  }),
});

const ChallengeVerifyInput = builder.inputType('AuthChallengeVerifyInput', {
  fields: (t) => ({
    challengeId: t.string(),
    code: t.string(),
    environment: t.field({ type: EnvironmentEnum, required: false, description: 'Preferred environment (default sandbox).' }),
  }),
});

const RefreshInput = builder.inputType('AuthRefreshInput', { fields: (t) => ({ refreshToken: t.string() }) });

const EnvironmentSwitchInput = builder.inputType('EnvironmentSwitchInput', {
  fields: (t) => ({
    environment: t.field({ type: EnvironmentEnum, required: false }),
    tenantId: t.string({ required: false }),
  }),
});

const ApiKeyCreateInput = builder.inputType('ApiKeyCreateInput', {
  fields: (t) => ({ name: t.string(), expiresAt: t.field({ type: 'DateTime', required: false }) }),
});

const ApiKeyRotateInput = builder.inputType('ApiKeyRotateInput', {
  fields: (t) => ({ expiresAt: t.field({ type: 'DateTime', required: false }) }),
});

// ─── Mutations ──────────────────────────────────────────────────────────────

builder.mutationFields((t) => ({
  authLoginStart: t.field({
    type: ChallengePayload,
    description: 'Password sign-in, step 1: sends an email code. Same answer whether or not the account exists.',
    args: { input: t.arg({ type: LoginStartInput, required: true, validate: loginStartInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ challenge: await startLogin(ctx, compact(input) as never) })),
  }),
  authChallengeVerify: t.field({
    type: SessionPayload,
    description: 'Password sign-in / sign-up, step 2: the emailed code opens a session.',
    args: { input: t.arg({ type: ChallengeVerifyInput, required: true, validate: challengeVerifyInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ session: await verifyChallenge(ctx, compact(input) as never) })),
  }),
  authRefresh: t.field({
    type: SessionPayload,
    description: 'Rotate a refresh token. Reusing an old one revokes the whole session.',
    args: { input: t.arg({ type: RefreshInput, required: true, validate: refreshInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ session: await refreshSession(ctx, input) })),
  }),
  authLogout: t.field({
    type: LogoutPayload,
    authScopes: { principals: ['user'] },
    resolve: (_r, _a, ctx) =>
      withUserErrors(async () => {
        await logout(authed(ctx));
        return { loggedOut: true };
      }),
  }),
  environmentSwitch: t.field({
    type: SessionPayload,
    description: 'Mint a session for another granted environment of the same organization.',
    authScopes: { principals: ['user'] },
    args: { input: t.arg({ type: EnvironmentSwitchInput, required: true, validate: environmentSwitchInput }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => ({ session: await switchEnvironment(authed(ctx), compact(input) as never) })),
  }),
  harborAccessTokenCreate: t.field({
    type: HarborAccessPayload,
    description: 'Exchange a machine credential (API key) for a short-lived Harbor token.',
    authScopes: { principals: ['api_key'] },
    resolve: (_r, _a, ctx) => withUserErrors(async () => ({ harborAccess: await issueHarborAccess(authed(ctx)) })),
  }),
  apiKeyCreate: t.field({
    type: ApiKeyCreatePayload,
    authScopes: { tenantAdmin: true },
    args: { input: t.arg({ type: ApiKeyCreateInput, required: true, validate: apiKeyCreateInput }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const issued = await createApiKey(authed(ctx), compact(input) as never);
        return { apiKey: issued.apiKey, secret: issued.secret };
      }),
  }),
  apiKeyRotate: t.field({
    type: ApiKeyRotatePayload,
    authScopes: { tenantAdmin: true },
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: ApiKeyRotateInput, required: false, validate: apiKeyRotateInput.optional().nullable() }),
    },
    resolve: (_r, { id, input }, ctx) =>
      withUserErrors(async () => {
        const issued = await rotateApiKey(authed(ctx), rawId(String(id), 'ApiKey'), compact(input ?? {}) as never);
        return { apiKey: issued.apiKey, secret: issued.secret, replacedApiKey: issued.replaced };
      }),
  }),
  apiKeyRevoke: t.field({
    type: ApiKeyRevokePayload,
    authScopes: { tenantAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) =>
      withUserErrors(async () => ({ apiKey: await revokeApiKey(authed(ctx), rawId(String(id), 'ApiKey')) })),
  }),
}));
