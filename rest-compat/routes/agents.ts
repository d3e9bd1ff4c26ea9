import { z } from 'zod';
import { patCreateInput } from '../../src/areas/agents/pats.ts';
import { nonceExchangeInput, nonceInput, patExchangeInput } from '../../src/areas/agents/sessions.ts';
import { trustedKeyInput } from '../../src/areas/agents/trusted-keys.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const agentTag = 'Agent runtime';
const protocolTag = 'Protocol verification and discovery';

const AGENT_TOKEN = snakeFields('accessToken tokenType expiresIn expiresAt sessionId agentId scope requiresSignedRequests keyThumbprint tenantId environment');
// PAT management keeps Payknot's camelCase field names: dashboards built for it work unchanged.
const PAT = 'id: tokenId nodeId: id name tokenHint scope status createdAt lastUsedAt expiresAt revokedAt';
const SESSION = `node_id: id ${snakeFields('sessionId agentId authMethod scope keyThumbprint label patId status createdAt expiresAt lastSeenAt revokedAt revokedReason')}`;
const KEY = `node_id: id ${snakeFields('keyId publicKeyEd25519Hex publicKeyBase58 label status createdAt updatedAt revokedAt')}`;

/** The registration body: the key under either of its two documented names. */
const keyRegistration = trustedKeyInput
  .extend({
    publicKey: z.string().trim().max(100).optional().describe('Ed25519 public key: hex, base64 or base58 of 32 bytes.'),
    publicKeyEd25519Hex: z.string().trim().max(100).optional().describe('Ed25519 public key, hex (the API reference’s name).'),
  })
  .refine((b) => b.publicKey || b.publicKeyEd25519Hex, { message: 'public_key_ed25519_hex (or public_key) is required', path: ['publicKeyEd25519Hex'] });

export const agentRoutes: RestRoute[] = [
  operation({
    method: 'GET',
    path: '/api/agent/security-mode',
    summary: 'Whether Agent Security Mode is on for the current tenant (any credential of the tenant may ask).',
    tag: agentTag,
    operation: '{ viewer { tenant { enabled: agentSecurityMode tenant_id: tenantId } } }',
    variables: () => ({}),
    shape: { pick: 'tenant' },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/security-mode',
    summary: 'Turn Agent Security Mode on or off (tenant admins; audited). Off by default.',
    tag: agentTag,
    body: z.object({ enabled: z.boolean().describe('On or off.') }),
    example: { body: { enabled: true } },
    operation: `mutation($enabled: Boolean!) { agentSecurityModeSet(enabled: $enabled) { tenant { enabled: agentSecurityMode tenant_id: tenantId } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ enabled: body.enabled }),
    shape: { pick: 'tenant' },
  }),
  operation({
    method: 'GET',
    path: '/api/agent/pats',
    summary: 'List the tenant’s personal access tokens (never their secrets).',
    tag: agentTag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { personalAccessTokens(first: $first, after: $after) { edges { node { ${PAT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'tokens' },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/pats',
    summary: 'Create a personal access token; the token is returned once.',
    tag: agentTag,
    body: patCreateInput,
    example: { body: { name: 'support agent', expires_in_days: 90 } },
    status: 201,
    operation: `mutation($input: PersonalAccessTokenCreateInput!) { personalAccessTokenCreate(input: $input) { personalAccessToken { tokenId ${PAT} } token ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { spread: ['personalAccessToken'], constants: { ok: true } },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/pats/revoke',
    summary: 'Revoke a PAT; every runtime session derived from it ends at once.',
    tag: agentTag,
    body: z.object({ tokenId: z.string().min(1).max(64).describe('The PAT’s id (tokenId or token_id).') }),
    example: { body: { token_id: 'pat_0123456789abcdef' } },
    errors: [404],
    operation: `mutation($id: ID!) { personalAccessTokenRevoke(id: $id) { personalAccessToken { tokenId ${PAT} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ id: body.tokenId }),
    shape: { spread: ['personalAccessToken'], constants: { ok: true } },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/auth/pat',
    summary: 'Exchange a PAT and the runtime’s ephemeral Ed25519 public key (base58) for a short-lived JWT bound to that key.',
    tag: agentTag,
    body: patExchangeInput,
    example: { body: { token: 'paybond_pat_…', session_pubkey: 'base58 Ed25519 public key', label: 'worker-1' } },
    operation: `mutation($input: AgentSessionFromPatInput!) { agentSessionCreateFromPat(input: $input) { agentToken { ${AGENT_TOKEN} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'agentToken' },
  }),
  operation({
    method: 'GET',
    path: '/api/agent/auth/me',
    summary: 'Identity, scope, expiry and auth method of the calling PAT or agent JWT.',
    tag: agentTag,
    operation: `{ agentIdentity { ${snakeFields('agentId sessionId scope issuedAt expiresAt authMethod keyThumbprint requiresSignedRequests tenantId environment')} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/api/agent/auth/nonce',
    summary: 'Single-use sign-in nonce (5 minutes) for a registered trusted agent key, with the tenant the sign-in is for.',
    tag: agentTag,
    query: z.object({ agent_pubkey: nonceInput.shape.agentPubkey, tenant_id: nonceInput.shape.tenantId }),
    example: { query: { agent_pubkey: 'base58 Ed25519 public key' } },
    operation: `mutation($input: AgentNonceCreateInput!) { agentNonceCreate(input: $input) { nonce { nonce expires_at: expiresAt tenant_id: tenantId } ${USER_ERRORS} } }`,
    variables: ({ query }) => ({ input: { agentPubkey: query.agent_pubkey, tenantId: query.tenant_id } }),
    shape: { pick: 'nonce' },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/auth/token',
    summary: 'Exchange a nonce signed by a trusted agent key (Ed25519 over the nonce bytes) for a JWT bound to that key.',
    tag: agentTag,
    body: nonceExchangeInput,
    example: { body: { agent_pubkey: 'base58 public key', nonce: 'nonce from /api/agent/auth/nonce', signature: 'base58 signature' } },
    operation: `mutation($input: AgentSessionFromNonceInput!) { agentSessionCreateFromNonce(input: $input) { agentToken { ${AGENT_TOKEN} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'agentToken' },
  }),
  operation({
    method: 'GET',
    path: '/api/agent/sessions',
    summary: 'List agent runtime sessions of the tenant.',
    tag: agentTag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { agentSessions(first: $first, after: $after) { edges { node { ${SESSION} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'sessions' },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/sessions/{session_id}/revoke',
    summary: 'End one agent runtime session at once.',
    tag: agentTag,
    example: { params: { session_id: 'ags_0123456789abcdef' } },
    errors: [404],
    operation: `mutation($id: ID!) { agentSessionRevoke(id: $id) { agentSession { ${SESSION} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.session_id }),
    shape: { pick: 'agentSession' },
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/protocol/agent-keys',
    summary: 'List trusted agent keys.',
    tag: protocolTag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { trustedAgentKeys(first: $first, after: $after) { edges { node { ${KEY} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'keys' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/protocol/agent-keys',
    summary: 'Register or update an active trusted agent key, proven by the key’s signature over the registration challenge for this tenant; a key is active in one tenant only.',
    tag: protocolTag,
    body: keyRegistration,
    // The signature is over the challenge for the caller's own tenant, so an example cannot carry a valid one.
    example: { body: { key_id: 'kid-1', public_key_ed25519_hex: '8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394', label: 'checkout agent', registration_signature: 'A'.repeat(86) + '==' } },
    errors: [409],
    status: { field: 'created', statuses: { true: 201, false: 200 } },
    operation: `mutation($input: TrustedAgentKeyRegisterInput!) { trustedAgentKeyRegister(input: $input) { trustedAgentKey { ${KEY} } created ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: { keyId: body.keyId, publicKey: body.publicKeyEd25519Hex ?? body.publicKey, label: body.label, registrationSignature: body.registrationSignature } }),
    shape: { spread: ['trustedAgentKey'] },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/protocol/agent-keys/{key_id}/revoke',
    summary: 'Revoke a trusted agent key; sessions signed in with it end at once.',
    tag: protocolTag,
    example: { params: { key_id: 'kid-1' } },
    errors: [404],
    operation: `mutation($keyId: String!) { trustedAgentKeyRevoke(keyId: $keyId) { trustedAgentKey { ${KEY} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ keyId: params.key_id }),
    shape: { pick: 'trustedAgentKey' },
  }),
];
