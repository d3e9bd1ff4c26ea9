import { z } from 'zod';
import { apiKeyCreateInput, apiKeyRotateInput } from '../../src/areas/identity/api-keys.ts';
import { challengeVerifyInput, environmentSwitchInput, loginStartInput, refreshInput } from '../../src/areas/identity/auth.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const SESSION = snakeFields('accessToken refreshToken tokenType expiresIn expiresAt sessionId tenantId organizationId environment');
const API_KEY = `node_id: id ${snakeFields('apiKeyId keyId name prefix hint environment status createdAt expiresAt lastUsedAt revokedAt rotatedFromId serviceAccountName serviceAccountRole label keyKind mcpScopes')}`;
const USER_ERRORS = 'userErrors { code message field details }';
const tag = 'Identity and access';

const sessionRoute = (path: string, summary: string, field: string, inputType: string, body: z.ZodObject, example: Record<string, unknown>) =>
  operation({
    example: { body: example },
    method: 'POST',
    path,
    summary,
    tag,
    body,
    operation: `mutation($input: ${inputType}!) { ${field}(input: $input) { session { ${SESSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'session' },
  });

export const identityRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/v1/public/auth/login/start',
    summary: 'Start the email challenge for password sign-in.',
    tag,
    body: loginStartInput,
    example: { body: { email: 'admin@acme.test', password: 'correct horse battery staple' } },
    status: 202,
    operation: `mutation($input: AuthLoginStartInput!) { authLoginStart(input: $input) { challenge { ${snakeFields('challengeId expiresAt delivery')} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'challenge' },
  }),
  sessionRoute(
    '/v1/public/auth/challenges/verify',
    'Complete a sign-in or signup email challenge and return session tokens.',
    'authChallengeVerify',
    'AuthChallengeVerifyInput',
    challengeVerifyInput,
    { challenge_id: 'chl_0123456789abcdef', code: '12345678' },
  ),
  sessionRoute('/v1/auth/refresh', 'Rotate the session: a new access token and refresh token.', 'authRefresh', 'AuthRefreshInput', refreshInput, {
    refresh_token: 'paybond_rt_example',
  }),
  operation({
    method: 'POST',
    path: '/v1/auth/logout',
    summary: 'End the current session.',
    tag,
    operation: `mutation { authLogout { logged_out: loggedOut ${USER_ERRORS} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/auth/principal',
    summary: 'The authenticated principal, including organization, roles and entitlements.',
    tag,
    operation: `query { viewer { ${snakeFields('principalType subject tenantId organizationId environment roles entitlements scopes authMethod expiresAt email')}
      organization { id: organizationId name } tenant { node_id: id name agent_security_mode: agentSecurityMode } } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/auth/environments',
    summary: "List the current user's live/sandbox tenant workspaces for the active organization.",
    tag,
    operation: `query { environments { ${snakeFields('tenantId organizationId environment roles entitlements current')} } }`,
    variables: () => ({}),
    shape: { wrap: 'environments' },
  }),
  sessionRoute(
    '/v1/auth/environment/switch',
    'Mint access and refresh tokens for another granted environment of the same organization.',
    'environmentSwitch',
    'EnvironmentSwitchInput',
    environmentSwitchInput,
    { environment: 'live' },
  ),
  operation({
    method: 'POST',
    path: '/v1/auth/harbor-access',
    summary: 'Exchange a machine credential (API key) for a short-lived Harbor token.',
    tag,
    operation: `mutation { harborAccessTokenCreate { harborAccess { ${snakeFields('accessToken tokenType expiresIn expiresAt tenantId environment scope')} } ${USER_ERRORS} } }`,
    variables: () => ({}),
    shape: { pick: 'harborAccess' },
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/api-keys',
    summary: 'List tenant API keys with their credential-derived environment and optional expiry.',
    tag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { apiKeys(first: $first, after: $after) { edges { node { ${API_KEY} } } items { ${API_KEY} } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'api_keys' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/api-keys',
    summary: 'Create a service-account API key; the one-time api_key value is returned once.',
    tag,
    body: apiKeyCreateInput,
    example: { body: { name: 'ci deploy' } },
    status: 201,
    operation: `mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) { apiKey { ${API_KEY} } item { ${API_KEY} } api_key: secret ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { spread: ['apiKey'] },
  }),
  operation({
    method: 'DELETE',
    path: '/v1/admin/api-keys/{api_key_id}',
    summary: 'Revoke one tenant API key.',
    tag,
    example: { params: { api_key_id: 'key_0123456789abcdef' } },
    errors: [404],
    operation: `mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { ${API_KEY} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.api_key_id }),
    shape: { pick: 'apiKey' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/api-keys/{api_key_id}/rotate',
    summary: 'Rotate one tenant API key: the old secret stops working, the replacement is returned once.',
    tag,
    body: apiKeyRotateInput,
    example: { params: { api_key_id: 'key_0123456789abcdef' }, body: {} },
    errors: [404, 409],
    operation: `mutation($id: ID!, $input: ApiKeyRotateInput) { apiKeyRotate(id: $id, input: $input) { apiKey { ${API_KEY} } item { ${API_KEY} } api_key: secret replaced_api_key: replacedApiKey { ${API_KEY} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ id: params.api_key_id, input: body }),
    shape: { spread: ['apiKey'] },
  }),
];
