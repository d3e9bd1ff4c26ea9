import { z } from 'zod';
import { apiKeyCreateInput, apiKeyRotateInput } from '../../src/domain/identity/api-keys.ts';
import { challengeVerifyInput, environmentSwitchInput, loginStartInput, refreshInput } from '../../src/domain/identity/auth.ts';
import { camelKeys, operation, snakeFields, type RestRoute } from '../route.ts';
import { apiKey, environment, page, pageQuery, pageVariables, sessionTokens, snakeBody, timestamp } from '../schemas.ts';

const SESSION = snakeFields('accessToken refreshToken tokenType expiresIn expiresAt sessionId tenantId organizationId environment');
const API_KEY = `node_id: id ${snakeFields('apiKeyId name prefix hint environment status createdAt expiresAt lastUsedAt revokedAt rotatedFromId')}`;
const USER_ERRORS = 'userErrors { code message field }';
const tag = 'Identity and access';
const human = { principals: ['user' as const] };
const admin = { principals: ['user' as const], admin: true };

const sessionRoute = (path: string, summary: string, field: string, inputType: string, body: z.ZodType, auth = {}) =>
  operation({
    method: 'POST',
    path,
    summary,
    tag,
    auth,
    body,
    response: sessionTokens,
    operation: `mutation($input: ${inputType}!) { ${field}(input: $input) { session { ${SESSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.session,
  });

export const identityRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/v1/public/auth/login/start',
    summary: 'Start the email challenge for password sign-in.',
    tag,
    auth: { public: true },
    body: snakeBody(loginStartInput),
    response: z.object({ challenge_id: z.string(), expires_at: timestamp, delivery: z.literal('email') }),
    status: 202,
    operation: `mutation($input: AuthLoginStartInput!) { authLoginStart(input: $input) { challenge { ${snakeFields('challengeId expiresAt delivery')} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.challenge,
  }),
  sessionRoute(
    '/v1/public/auth/challenges/verify',
    'Complete a sign-in or signup email challenge and return session tokens.',
    'authChallengeVerify',
    'AuthChallengeVerifyInput',
    snakeBody(challengeVerifyInput),
    { public: true },
  ),
  sessionRoute('/v1/auth/refresh', 'Rotate the session: a new access token and refresh token.', 'authRefresh', 'AuthRefreshInput', snakeBody(refreshInput), {
    public: true,
  }),
  operation({
    method: 'POST',
    path: '/v1/auth/logout',
    summary: 'End the current session.',
    tag,
    auth: human,
    response: z.object({ logged_out: z.boolean() }),
    operation: `mutation { authLogout { logged_out: loggedOut ${USER_ERRORS} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/auth/principal',
    summary: 'The authenticated principal, including organization, roles and entitlements.',
    tag,
    auth: { principals: ['user', 'api_key', 'harbor', 'pat', 'agent'] },
    response: z.object({
      principal_type: z.string(),
      subject: z.string(),
      tenant_id: z.string(),
      organization_id: z.string(),
      environment,
      roles: z.array(z.string()),
      entitlements: z.array(z.string()),
      scopes: z.array(z.string()),
      auth_method: z.string(),
      expires_at: timestamp.nullable(),
      email: z.string().nullable(),
      organization: z.object({ id: z.string(), name: z.string() }),
      tenant: z.object({ node_id: z.string(), name: z.string(), agent_security_mode: z.boolean() }),
    }),
    operation: `query { viewer { ${snakeFields('principalType subject tenantId organizationId environment roles entitlements scopes authMethod expiresAt email')}
      organization { id: organizationId name } tenant { node_id: id name agent_security_mode: agentSecurityMode } } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/auth/environments',
    summary: "List the current user's live/sandbox tenant workspaces for the active organization.",
    tag,
    auth: human,
    response: z.object({
      environments: z.array(
        z.object({
          tenant_id: z.string(),
          organization_id: z.string(),
          environment,
          roles: z.array(z.string()),
          entitlements: z.array(z.string()),
          current: z.boolean(),
        }),
      ),
    }),
    operation: `query { environments { ${snakeFields('tenantId organizationId environment roles entitlements current')} } }`,
    variables: () => ({}),
    result: (p) => ({ environments: p as unknown }),
  }),
  sessionRoute(
    '/v1/auth/environment/switch',
    'Mint access and refresh tokens for another granted environment of the same organization.',
    'environmentSwitch',
    'EnvironmentSwitchInput',
    snakeBody(environmentSwitchInput),
    human,
  ),
  operation({
    method: 'POST',
    path: '/v1/auth/harbor-access',
    summary: 'Exchange a machine credential (API key) for a short-lived Harbor token.',
    tag,
    auth: { principals: ['api_key'] },
    response: z.object({
      access_token: z.string(),
      token_type: z.literal('Bearer'),
      expires_in: z.number().int(),
      expires_at: timestamp,
      tenant_id: z.string(),
      environment,
      scope: z.string(),
    }),
    operation: `mutation { harborAccessTokenCreate { harborAccess { ${snakeFields('accessToken tokenType expiresIn expiresAt tenantId environment scope')} } ${USER_ERRORS} } }`,
    variables: () => ({}),
    result: (p) => p.harborAccess,
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/api-keys',
    summary: 'List tenant API keys with their credential-derived environment and optional expiry.',
    tag,
    auth: human,
    query: pageQuery,
    response: z.object({ api_keys: z.array(apiKey), next_cursor: z.string().nullable() }),
    operation: `query($first: Int, $after: String) { apiKeys(first: $first, after: $after) { edges { node { ${API_KEY} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    result: (p) => page(p, 'api_keys'),
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/api-keys',
    summary: 'Create a service-account API key; the one-time api_key value is returned once.',
    tag,
    auth: admin,
    body: snakeBody(apiKeyCreateInput),
    response: apiKey.extend({ api_key: z.string() }),
    status: 201,
    operation: `mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) { apiKey { ${API_KEY} } secret ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => ({ ...(p.apiKey as object), api_key: p.secret }),
  }),
  operation({
    method: 'DELETE',
    path: '/v1/admin/api-keys/{api_key_id}',
    summary: 'Revoke one tenant API key.',
    tag,
    auth: admin,
    response: apiKey,
    operation: `mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { ${API_KEY} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.api_key_id }),
    result: (p) => p.apiKey,
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/api-keys/{api_key_id}/rotate',
    summary: 'Rotate one tenant API key: the old secret stops working, the replacement is returned once.',
    tag,
    auth: admin,
    body: snakeBody(apiKeyRotateInput),
    response: apiKey.extend({ api_key: z.string(), replaced_api_key: apiKey }),
    operation: `mutation($id: ID!, $input: ApiKeyRotateInput) { apiKeyRotate(id: $id, input: $input) { apiKey { ${API_KEY} } secret replacedApiKey { ${API_KEY} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ id: params.api_key_id, input: camelKeys(body) }),
    result: (p) => ({ ...(p.apiKey as object), api_key: p.secret, replaced_api_key: p.replacedApiKey }),
  }),
];
