import { builder } from '../../graphql/builder.ts';
import { EnvironmentEnum, connectionArgs, ONE_TIME_SECRET, policy, principalOf, rawId, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { inputFromZod } from '../../graphql/inputs.ts';
import { toBase58 } from '../../crypto/ed25519.ts';
import type { AgentSession, PersonalAccessToken, Tenant, TrustedAgentKey } from '../../generated/prisma/client.ts';
import { HUMAN, HUMAN_ADMIN, PUBLIC } from '../../kernel/policy.ts';
import { CredentialStatusEnum, TenantType } from '../identity/graphql.ts';
import { requireAgentMode, setAgentSecurityMode } from './mode.ts';
import { createPat, patCreateInput, revokePat } from './pats.ts';
import {
  describeAgent,
  exchangeNonce,
  exchangePat,
  issueNonce,
  nonceExchangeInput,
  nonceInput,
  patExchangeInput,
  revokeAgentSession,
  type AgentIdentity,
  type AgentToken,
} from './sessions.ts';
import { registerTrustedKey, revokeTrustedKey, trustedKeyInput, trustedKeyStatus } from './trusted-keys.ts';

export const AREA = 'agents' as const;

/** Agent Security Mode controls: tenant admins on a human session. */
const ADMIN = { ...HUMAN_ADMIN, rateLimit: null } as const;
/** Runtime sign-in exchanges are public; the service limits them per client address. */
const EXCHANGE = { ...PUBLIC, rateLimit: null } as const;

const statusOf = (row: { revokedAt: Date | null; expiresAt: Date | null }, now: Date) =>
  row.revokedAt ? 'revoked' : row.expiresAt && row.expiresAt <= now ? 'expired' : 'active';

export const PersonalAccessTokenType = builder.prismaNode('PersonalAccessToken', {
  description: 'A personal access token: an agent’s bootstrap credential (its secret is shown once).',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    tokenId: t.exposeString('id', { description: 'Token id.' }),
    name: t.exposeString('name', { description: 'Name given at creation.' }),
    tokenHint: t.exposeString('hint', { description: 'Visible start of the token.' }),
    scope: t.exposeString('scope', { description: 'What the token may do.' }),
    status: t.field({ type: CredentialStatusEnum, description: 'active, revoked or expired.', resolve: (p, _a, ctx) => statusOf(p, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last use.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it expires, if it does.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
  }),
});

export const AgentSessionType = builder.prismaNode('AgentSession', {
  description: 'A short-lived agent runtime session (the jti of an agent JWT).',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    sessionId: t.exposeString('id', { description: 'Session id.' }),
    agentId: t.exposeString('agentId', { description: 'The runtime’s public key (base58), or pat:<id> for an unbound session.' }),
    authMethod: t.exposeString('authMethod', { description: 'pat or ed25519_nonce.' }),
    scope: t.exposeString('scope', { description: 'What the session may do.' }),
    keyThumbprint: t.exposeString('keyThumbprint', { nullable: true, description: 'RFC 7638 thumbprint of the bound key (cnf.jkt).' }),
    label: t.exposeString('label', { nullable: true, description: 'Label given by the runtime.' }),
    patId: t.exposeString('patId', { nullable: true, description: 'The PAT it was made from.' }),
    pat: t.relation('pat', { nullable: true, description: 'The PAT it was made from.' }),
    trustedKey: t.relation('trustedKey', { nullable: true, description: 'The trusted key it signed in with.' }),
    status: t.field({ type: CredentialStatusEnum, description: 'active, revoked or expired.', resolve: (s, _a, ctx) => statusOf(s, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it expires.' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', nullable: true, description: 'Last use.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
    revokedReason: t.exposeString('revokedReason', { nullable: true, description: 'Why it was revoked.' }),
  }),
});

export const TrustedAgentKeyType = builder.prismaNode('TrustedAgentKey', {
  description: 'An Ed25519 key the tenant trusts for recognition proofs and the nonce sign-in.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    keyId: t.exposeString('keyId', { description: 'The tenant’s identifier for the key.' }),
    publicKeyEd25519Hex: t.exposeString('publicKeyHex', { description: 'Public key, hex.' }),
    publicKeyBase58: t.string({ description: 'Public key, base58.', resolve: (k) => toBase58(Buffer.from(k.publicKeyHex, 'hex')) }),
    label: t.exposeString('label', { nullable: true, description: 'A label.' }),
    status: t.field({ type: CredentialStatusEnum, description: 'active or revoked.', resolve: trustedKeyStatus }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
  }),
});

const AgentTokenType = builder.objectRef<AgentToken>('AgentToken').implement({
  description: 'A short-lived agent runtime JWT. Key-bound tokens (cnf.jkt) must sign high-risk requests.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', { ...ONE_TIME_SECRET, description: 'The JWT.' }),
    tokenType: t.exposeString('tokenType', { description: 'Always Bearer.' }),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds until it expires.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it expires.' }),
    sessionId: t.exposeString('sessionId', { description: 'Runtime session id.' }),
    agentId: t.exposeString('agentId', { description: 'Agent identifier.' }),
    scope: t.exposeString('scope', { description: 'What it may do.' }),
    requiresSignedRequests: t.exposeBoolean('requiresSignedRequests', { description: 'True for key-bound tokens.' }),
    keyThumbprint: t.exposeString('keyThumbprint', { nullable: true, description: 'Thumbprint of the bound key.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'live or sandbox.', resolve: (a) => a.environment }),
  }),
});

const AgentIdentityType = builder.objectRef<AgentIdentity>('AgentIdentity').implement({
  description: 'The calling agent credential.',
  fields: (t) => ({
    agentId: t.exposeString('agentId', { description: 'Agent identifier.' }),
    sessionId: t.exposeString('sessionId', { nullable: true, description: 'Runtime session id (agent JWTs).' }),
    scope: t.exposeString('scope', { description: 'What it may do.' }),
    issuedAt: t.expose('issuedAt', { type: 'DateTime', description: 'When it was issued.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it expires.' }),
    authMethod: t.exposeString('authMethod', { description: 'How it was obtained.' }),
    keyThumbprint: t.exposeString('keyThumbprint', { nullable: true, description: 'Thumbprint of the bound key.' }),
    requiresSignedRequests: t.exposeBoolean('requiresSignedRequests', { description: 'True for key-bound tokens.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant.' }),
    environment: t.field({ type: EnvironmentEnum, description: 'live or sandbox.', resolve: (a) => a.environment }),
  }),
});

const AgentNonceType = builder.objectRef<{ nonce: string; expiresAt: Date; tenantId: string }>('AgentNonce').implement({
  description: 'A single-use sign-in challenge for a trusted agent key.',
  fields: (t) => ({
    nonce: t.exposeString('nonce', { description: 'Sign these bytes with the key.' }),
    tenantId: t.exposeString('tenantId', { description: 'The tenant this sign-in is for: the one tenant where the key is active.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it expires.' }),
  }),
});

/** A page of one tenant's rows, only while Agent Security Mode is on. */
const agentConnection = <Name extends 'PersonalAccessToken' | 'AgentSession' | 'TrustedAgentKey'>(name: Name, description: string) => ({
  name: `${name}Connection`,
  description,
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  agentIdentity: t.field({
    ...policy({ principals: ['pat', 'agent'] }),
    type: AgentIdentityType,
    description: 'The calling agent: a PAT or an agent runtime JWT.',
    resolve: (_r, _a, ctx) => describeAgent({ ...ctx, principal: principalOf(ctx) }),
  }),
  personalAccessTokens: t.prismaConnection(
    {
      ...policy(HUMAN),
      type: 'PersonalAccessToken',
      cursor: 'id',
      description: 'The tenant’s PATs, newest first (Agent Security Mode only).',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.personalAccessToken.count({ where: { tenantId: principalOf(ctx).tenantId } }),
      resolve: async (query, _r, _a, ctx) => {
        const { tenantId } = principalOf(ctx);
        await requireAgentMode(ctx.runtime.db, tenantId);
        return ctx.runtime.db.personalAccessToken.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      },
    },
    agentConnection('PersonalAccessToken', 'A page of PATs.'),
    { name: 'PersonalAccessTokenEdge', description: 'A PAT in a page.' },
  ),
  agentSessions: t.prismaConnection(
    {
      ...policy(HUMAN),
      type: 'AgentSession',
      cursor: 'id',
      description: 'The tenant’s agent runtime sessions, newest first (Agent Security Mode only).',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.agentSession.count({ where: { tenantId: principalOf(ctx).tenantId } }),
      resolve: async (query, _r, _a, ctx) => {
        const { tenantId } = principalOf(ctx);
        await requireAgentMode(ctx.runtime.db, tenantId);
        return ctx.runtime.db.agentSession.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      },
    },
    agentConnection('AgentSession', 'A page of agent sessions.'),
    { name: 'AgentSessionEdge', description: 'An agent session in a page.' },
  ),
  trustedAgentKeys: t.prismaConnection(
    {
      ...policy(HUMAN),
      type: 'TrustedAgentKey',
      cursor: 'id',
      description: 'The tenant’s trusted agent keys, newest first (Agent Security Mode only).',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.trustedAgentKey.count({ where: { tenantId: principalOf(ctx).tenantId } }),
      resolve: async (query, _r, _a, ctx) => {
        const { tenantId } = principalOf(ctx);
        await requireAgentMode(ctx.runtime.db, tenantId);
        return ctx.runtime.db.trustedAgentKey.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      },
    },
    agentConnection('TrustedAgentKey', 'A page of trusted agent keys.'),
    { name: 'TrustedAgentKeyEdge', description: 'A trusted agent key in a page.' },
  ),
}));

// ─── Payloads and inputs ────────────────────────────────────────────────────

const payload = <T extends object>(name: string) => builder.objectRef<Partial<T> & { userErrors: UserErrorShape[] }>(name);

const ModePayload = payload<{ tenant: Tenant }>('AgentSecurityModeSetPayload').implement({
  description: 'The tenant after the change.',
  fields: (t) => ({
    tenant: t.field({ type: TenantType, nullable: true, description: 'The tenant.', resolve: (p) => p.tenant ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PatCreatePayload = payload<{ personalAccessToken: PersonalAccessToken; token: string }>('PersonalAccessTokenCreatePayload').implement({
  description: 'A new PAT and its secret (shown once).',
  fields: (t) => ({
    personalAccessToken: t.field({ type: PersonalAccessTokenType, nullable: true, description: 'The PAT.', resolve: (p) => p.personalAccessToken ?? null }),
    token: t.string({ ...ONE_TIME_SECRET, nullable: true, description: 'The PAT. Shown once; store it in a secret manager.', resolve: (p) => p.token ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PatRevokePayload = payload<{ personalAccessToken: PersonalAccessToken }>('PersonalAccessTokenRevokePayload').implement({
  description: 'A revoked PAT.',
  fields: (t) => ({
    personalAccessToken: t.field({ type: PersonalAccessTokenType, nullable: true, description: 'The PAT.', resolve: (p) => p.personalAccessToken ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const AgentTokenPayload = payload<{ agentToken: AgentToken }>('AgentTokenPayload').implement({
  description: 'A minted agent runtime JWT.',
  fields: (t) => ({
    agentToken: t.field({ type: AgentTokenType, nullable: true, description: 'The token.', resolve: (p) => p.agentToken ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const NoncePayload = payload<{ nonce: { nonce: string; expiresAt: Date; tenantId: string } }>('AgentNonceCreatePayload').implement({
  description: 'A sign-in challenge.',
  fields: (t) => ({
    nonce: t.field({ type: AgentNonceType, nullable: true, description: 'The challenge.', resolve: (p) => p.nonce ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const SessionRevokePayload = payload<{ agentSession: AgentSession }>('AgentSessionRevokePayload').implement({
  description: 'A revoked agent session.',
  fields: (t) => ({
    agentSession: t.field({ type: AgentSessionType, nullable: true, description: 'The session.', resolve: (p) => p.agentSession ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const TrustedKeyPayload = payload<{ trustedAgentKey: TrustedAgentKey; created: boolean }>('TrustedAgentKeyPayload').implement({
  description: 'A trusted agent key after a change.',
  fields: (t) => ({
    trustedAgentKey: t.field({ type: TrustedAgentKeyType, nullable: true, description: 'The key.', resolve: (p) => p.trustedAgentKey ?? null }),
    created: t.boolean({ description: 'True when the key was newly registered.', resolve: (p) => p.created ?? false }),
    userErrors: userErrorsField(t),
  }),
});

const PatCreateInput = inputFromZod('PersonalAccessTokenCreateInput', patCreateInput, 'A new personal access token.');
const PatExchangeInput = inputFromZod('AgentSessionFromPatInput', patExchangeInput, 'A PAT and the runtime’s own public key.');
const NonceInput = inputFromZod('AgentNonceCreateInput', nonceInput, 'The key asking for a sign-in challenge.');
const NonceExchangeInput = inputFromZod('AgentSessionFromNonceInput', nonceExchangeInput, 'A signed sign-in challenge.');
const TrustedKeyInput = inputFromZod('TrustedAgentKeyRegisterInput', trustedKeyInput, 'A trusted agent key.');

// ─── Mutations ──────────────────────────────────────────────────────────────

builder.mutationFields((t) => ({
  agentSecurityModeSet: t.field({
    type: ModePayload,
    description: 'Turn Agent Security Mode on or off for the current tenant (off by default).',
    ...policy(ADMIN),
    args: { enabled: t.arg.boolean({ required: true, description: 'On or off.' }) },
    resolve: (_r, { enabled }, ctx) => withUserErrors(async () => ({ tenant: await setAgentSecurityMode({ ...ctx, principal: principalOf(ctx) }, enabled) })),
  }),
  personalAccessTokenCreate: t.field({
    type: PatCreatePayload,
    description: 'Create a PAT; the token is returned once.',
    ...policy(ADMIN),
    args: { input: t.arg({ type: PatCreateInput, required: true, description: 'The input.' }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const issued = await createPat({ ...ctx, principal: principalOf(ctx) }, input);
        return { personalAccessToken: issued.pat, token: issued.token };
      }),
  }),
  personalAccessTokenRevoke: t.field({
    type: PatRevokePayload,
    description: 'Revoke a PAT and every runtime session made from it, at once.',
    ...policy(ADMIN),
    args: { id: t.arg.id({ required: true, description: 'Its id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) =>
      withUserErrors(async () => ({ personalAccessToken: await revokePat({ ...ctx, principal: principalOf(ctx) }, rawId(String(id), 'PersonalAccessToken')) })),
  }),
  agentSessionCreateFromPat: t.field({
    ...policy(EXCHANGE),
    type: AgentTokenPayload,
    description: 'Exchange a PAT and the runtime’s own public key for a short-lived JWT bound to that key.',
    args: { input: t.arg({ type: PatExchangeInput, required: true, description: 'The input.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ agentToken: await exchangePat(ctx, input) })),
  }),
  agentNonceCreate: t.field({
    ...policy(EXCHANGE),
    type: NoncePayload,
    description: 'Single-use sign-in challenge for a registered trusted agent key (5 minutes).',
    args: { input: t.arg({ type: NonceInput, required: true, description: 'The input.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ nonce: await issueNonce(ctx, input) })),
  }),
  agentSessionCreateFromNonce: t.field({
    ...policy(EXCHANGE),
    type: AgentTokenPayload,
    description: 'Exchange a signed nonce for an agent JWT bound to the trusted key.',
    args: { input: t.arg({ type: NonceExchangeInput, required: true, description: 'The input.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ agentToken: await exchangeNonce(ctx, input) })),
  }),
  agentSessionRevoke: t.field({
    type: SessionRevokePayload,
    description: 'Revoke an agent runtime session at once.',
    ...policy(ADMIN),
    args: { id: t.arg.id({ required: true, description: 'Its id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ agentSession: await revokeAgentSession({ ...ctx, principal: principalOf(ctx) }, rawId(String(id), 'AgentSession')) })),
  }),
  trustedAgentKeyRegister: t.field({
    type: TrustedKeyPayload,
    description: 'Register a trusted agent key, or update the public key of an active one.',
    ...policy(ADMIN),
    args: { input: t.arg({ type: TrustedKeyInput, required: true, description: 'The input.' }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const { key, created } = await registerTrustedKey({ ...ctx, principal: principalOf(ctx) }, input);
        return { trustedAgentKey: key, created };
      }),
  }),
  trustedAgentKeyRevoke: t.field({
    type: TrustedKeyPayload,
    description: 'Revoke a trusted key; its sessions end at once.',
    ...policy(ADMIN),
    args: { keyId: t.arg.string({ required: true, description: 'The key id.' }) },
    resolve: (_r, { keyId }, ctx) => withUserErrors(async () => ({ trustedAgentKey: await revokeTrustedKey({ ...ctx, principal: principalOf(ctx) }, keyId), created: false })),
  }),
}));
