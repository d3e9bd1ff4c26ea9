import { builder } from '../builder.ts';
import { toBase58 } from '../crypto/ed25519.ts';
import type { AgentSession, PersonalAccessToken, Tenant, TrustedAgentKey } from '../generated/prisma/client.ts';
import { requireAgentMode, setAgentSecurityMode } from '../domain/agents/mode.ts';
import { createPat, patCreateInput, revokePat } from '../domain/agents/pats.ts';
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
} from '../domain/agents/sessions.ts';
import { registerTrustedKey, revokeTrustedKey, trustedKeyInput, trustedKeyStatus } from '../domain/agents/trusted-keys.ts';
import { EnvironmentEnum, authed, compact, connectionArgs, principalOf, rawId, userErrorsField, withUserErrors, type UserErrorShape } from './common.ts';
import { TenantType } from './identity.ts';

const statusOf = (row: { revokedAt: Date | null; expiresAt: Date | null }, now: Date) =>
  row.revokedAt ? 'revoked' : row.expiresAt && row.expiresAt <= now ? 'expired' : 'active';
const CredentialStatus = builder.enumType('CredentialStatus', { values: ['active', 'revoked', 'expired'] as const });

export const PersonalAccessTokenType = builder.prismaNode('PersonalAccessToken', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    tokenId: t.exposeString('id'),
    name: t.exposeString('name'),
    tokenHint: t.exposeString('hint'),
    scope: t.exposeString('scope'),
    status: t.field({ type: CredentialStatus, resolve: (p, _a, ctx) => statusOf(p, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const AgentSessionType = builder.prismaNode('AgentSession', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    sessionId: t.exposeString('id'),
    agentId: t.exposeString('agentId'),
    authMethod: t.exposeString('authMethod'),
    scope: t.exposeString('scope'),
    keyThumbprint: t.exposeString('keyThumbprint', { nullable: true }),
    label: t.exposeString('label', { nullable: true }),
    patId: t.exposeString('patId', { nullable: true }),
    status: t.field({ type: CredentialStatus, resolve: (s, _a, ctx) => statusOf(s, ctx.runtime.clock.now()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    revokedReason: t.exposeString('revokedReason', { nullable: true }),
  }),
});

export const TrustedAgentKeyType = builder.prismaNode('TrustedAgentKey', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    keyId: t.exposeString('keyId'),
    publicKeyEd25519Hex: t.exposeString('publicKeyHex'),
    publicKeyBase58: t.string({ resolve: (k) => toBase58(Buffer.from(k.publicKeyHex, 'hex')) }),
    label: t.exposeString('label', { nullable: true }),
    status: t.string({ resolve: trustedKeyStatus }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const AgentTokenType = builder.objectRef<AgentToken>('AgentToken').implement({
  description: 'A short-lived agent runtime JWT. Key-bound tokens (cnf.jkt) must sign high-risk requests.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    tokenType: t.exposeString('tokenType'),
    expiresIn: t.exposeInt('expiresIn'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    sessionId: t.exposeString('sessionId'),
    agentId: t.exposeString('agentId'),
    scope: t.exposeString('scope'),
    requiresSignedRequests: t.exposeBoolean('requiresSignedRequests'),
    keyThumbprint: t.exposeString('keyThumbprint', { nullable: true }),
    tenantId: t.exposeString('tenantId'),
    environment: t.field({ type: EnvironmentEnum, resolve: (a) => a.environment }),
  }),
});

const AgentIdentityType = builder.objectRef<AgentIdentity>('AgentIdentity').implement({
  fields: (t) => ({
    agentId: t.exposeString('agentId'),
    sessionId: t.exposeString('sessionId', { nullable: true }),
    scope: t.exposeString('scope'),
    issuedAt: t.expose('issuedAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    authMethod: t.exposeString('authMethod'),
    keyThumbprint: t.exposeString('keyThumbprint', { nullable: true }),
    requiresSignedRequests: t.exposeBoolean('requiresSignedRequests'),
    tenantId: t.exposeString('tenantId'),
    environment: t.field({ type: EnvironmentEnum, resolve: (a) => a.environment }),
  }),
});

const AgentNonceType = builder.objectRef<{ nonce: string; expiresAt: Date }>('AgentNonce').implement({
  fields: (t) => ({ nonce: t.exposeString('nonce'), expiresAt: t.expose('expiresAt', { type: 'DateTime' }) }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  agentIdentity: t.field({
    type: AgentIdentityType,
    description: 'The calling agent: a PAT or an agent runtime JWT.',
    authScopes: { principals: ['pat', 'agent'] },
    resolve: (_r, _a, ctx) => describeAgent(authed(ctx)),
  }),
  personalAccessTokens: t.prismaConnection({
    type: 'PersonalAccessToken',
    cursor: 'id',
    authScopes: { principals: ['user'] },
    validate: connectionArgs,
    resolve: async (query, _r, _a, ctx) => {
      const { tenantId } = principalOf(ctx);
      await requireAgentMode(ctx.runtime.db, tenantId);
      return ctx.runtime.db.personalAccessToken.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
  }),
  agentSessions: t.prismaConnection({
    type: 'AgentSession',
    cursor: 'id',
    authScopes: { principals: ['user'] },
    validate: connectionArgs,
    resolve: async (query, _r, _a, ctx) => {
      const { tenantId } = principalOf(ctx);
      await requireAgentMode(ctx.runtime.db, tenantId);
      return ctx.runtime.db.agentSession.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
  }),
  trustedAgentKeys: t.prismaConnection({
    type: 'TrustedAgentKey',
    cursor: 'id',
    authScopes: { principals: ['user'] },
    validate: connectionArgs,
    resolve: async (query, _r, _a, ctx) => {
      const { tenantId } = principalOf(ctx);
      await requireAgentMode(ctx.runtime.db, tenantId);
      return ctx.runtime.db.trustedAgentKey.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
  }),
}));

// ─── Payloads and inputs ────────────────────────────────────────────────────

const payload = <T extends object>(name: string) => builder.objectRef<Partial<T> & { userErrors: UserErrorShape[] }>(name);

const ModePayload = payload<{ tenant: Tenant }>('AgentSecurityModeSetPayload').implement({
  fields: (t) => ({
    tenant: t.field({ type: TenantType, nullable: true, resolve: (p) => p.tenant ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PatCreatePayload = payload<{ personalAccessToken: PersonalAccessToken; token: string }>('PersonalAccessTokenCreatePayload').implement({
  fields: (t) => ({
    personalAccessToken: t.field({ type: PersonalAccessTokenType, nullable: true, resolve: (p) => p.personalAccessToken ?? null }),
    token: t.string({ nullable: true, description: 'The PAT. Shown once; store it in a secret manager.', resolve: (p) => p.token ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PatRevokePayload = payload<{ personalAccessToken: PersonalAccessToken }>('PersonalAccessTokenRevokePayload').implement({
  fields: (t) => ({
    personalAccessToken: t.field({ type: PersonalAccessTokenType, nullable: true, resolve: (p) => p.personalAccessToken ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const AgentTokenPayload = payload<{ agentToken: AgentToken }>('AgentTokenPayload').implement({
  fields: (t) => ({
    agentToken: t.field({ type: AgentTokenType, nullable: true, resolve: (p) => p.agentToken ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const NoncePayload = payload<{ nonce: { nonce: string; expiresAt: Date } }>('AgentNonceCreatePayload').implement({
  fields: (t) => ({
    nonce: t.field({ type: AgentNonceType, nullable: true, resolve: (p) => p.nonce ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const SessionRevokePayload = payload<{ agentSession: AgentSession }>('AgentSessionRevokePayload').implement({
  fields: (t) => ({
    agentSession: t.field({ type: AgentSessionType, nullable: true, resolve: (p) => p.agentSession ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const TrustedKeyPayload = payload<{ trustedAgentKey: TrustedAgentKey; created: boolean }>('TrustedAgentKeyPayload').implement({
  fields: (t) => ({
    trustedAgentKey: t.field({ type: TrustedAgentKeyType, nullable: true, resolve: (p) => p.trustedAgentKey ?? null }),
    created: t.boolean({ resolve: (p) => p.created ?? false }),
    userErrors: userErrorsField(t),
  }),
});

const PatCreateInput = builder.inputType('PersonalAccessTokenCreateInput', {
  fields: (t) => ({
    name: t.string(),
    expiresInDays: t.int({ required: false, description: '1–365; omit or 0 for no expiry.' }),
  }),
});

const PatExchangeInput = builder.inputType('AgentSessionFromPatInput', {
  fields: (t) => ({
    token: t.string({ description: 'The PAT.' }),
    sessionPubkey: t.string({ required: false, description: 'Base58 Ed25519 public key the JWT will be bound to.' }),
    label: t.string({ required: false }),
  }),
});

const NonceInput = builder.inputType('AgentNonceCreateInput', {
  fields: (t) => ({
    agentPubkey: t.string(),
    tenantId: t.string({ required: false, description: 'Only needed when several tenants registered the same key.' }),
  }),
});

const NonceExchangeInput = builder.inputType('AgentSessionFromNonceInput', {
  fields: (t) => ({
    agentPubkey: t.string(),
    nonce: t.string(),
    signature: t.string({ description: 'Ed25519 signature over the nonce bytes, base58 or base64.' }),
  }),
});

const TrustedKeyInput = builder.inputType('TrustedAgentKeyRegisterInput', {
  fields: (t) => ({
    keyId: t.string({ description: 'Your identifier for the key, e.g. kid-1 (lower case).' }),
    publicKey: t.string({ description: 'Ed25519 public key: hex, base64 or base58 of 32 bytes.' }),
    label: t.string({ required: false }),
  }),
});

// ─── Mutations ──────────────────────────────────────────────────────────────

builder.mutationFields((t) => ({
  agentSecurityModeSet: t.field({
    type: ModePayload,
    description: 'Turn Agent Security Mode on or off for the current tenant (off by default).',
    authScopes: { tenantAdmin: true },
    args: { enabled: t.arg.boolean({ required: true }) },
    resolve: (_r, { enabled }, ctx) => withUserErrors(async () => ({ tenant: await setAgentSecurityMode(authed(ctx), enabled) })),
  }),
  personalAccessTokenCreate: t.field({
    type: PatCreatePayload,
    authScopes: { tenantAdmin: true },
    args: { input: t.arg({ type: PatCreateInput, required: true, validate: patCreateInput }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const issued = await createPat(authed(ctx), compact(input) as never);
        return { personalAccessToken: issued.pat, token: issued.token };
      }),
  }),
  personalAccessTokenRevoke: t.field({
    type: PatRevokePayload,
    description: 'Revoke a PAT and every runtime session made from it, at once.',
    authScopes: { tenantAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) =>
      withUserErrors(async () => ({ personalAccessToken: await revokePat(authed(ctx), rawId(String(id), 'PersonalAccessToken')) })),
  }),
  agentSessionCreateFromPat: t.field({
    type: AgentTokenPayload,
    description: 'Exchange a PAT and the runtime’s own public key for a short-lived JWT bound to that key.',
    args: { input: t.arg({ type: PatExchangeInput, required: true, validate: patExchangeInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ agentToken: await exchangePat(ctx, compact(input) as never) })),
  }),
  agentNonceCreate: t.field({
    type: NoncePayload,
    description: 'Single-use sign-in challenge for a registered trusted agent key (5 minutes).',
    args: { input: t.arg({ type: NonceInput, required: true, validate: nonceInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ nonce: await issueNonce(ctx, compact(input) as never) })),
  }),
  agentSessionCreateFromNonce: t.field({
    type: AgentTokenPayload,
    args: { input: t.arg({ type: NonceExchangeInput, required: true, validate: nonceExchangeInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ agentToken: await exchangeNonce(ctx, input) })),
  }),
  agentSessionRevoke: t.field({
    type: SessionRevokePayload,
    authScopes: { tenantAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ agentSession: await revokeAgentSession(authed(ctx), rawId(String(id), 'AgentSession')) })),
  }),
  trustedAgentKeyRegister: t.field({
    type: TrustedKeyPayload,
    description: 'Register a trusted agent key, or update the public key of an active one.',
    authScopes: { tenantAdmin: true },
    args: { input: t.arg({ type: TrustedKeyInput, required: true, validate: trustedKeyInput }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const { key, created } = await registerTrustedKey(authed(ctx), compact(input) as never);
        return { trustedAgentKey: key, created };
      }),
  }),
  trustedAgentKeyRevoke: t.field({
    type: TrustedKeyPayload,
    authScopes: { tenantAdmin: true },
    args: { keyId: t.arg.string({ required: true }) },
    resolve: (_r, { keyId }, ctx) => withUserErrors(async () => ({ trustedAgentKey: await revokeTrustedKey(authed(ctx), keyId), created: false })),
  }),
}));
