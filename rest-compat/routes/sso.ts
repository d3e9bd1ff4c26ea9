import { z } from 'zod';
import { ssoConnectionCreateInput, ssoConnectionUpdateInput } from '../../src/areas/sso/connections.ts';
import { BINDING_COOKIE, completeOidcLogin, completeSamlLogin, initiateLogin, samlMetadata, ssoHandoffExchangeInput, ssoInitiateQuery, ATTEMPT_TTL_MS, type CallbackOutcome } from '../../src/areas/sso/login.ts';
import { supportSessionCreateInput } from '../../src/areas/sso/support.ts';
import type { Runtime } from '../../src/context.ts';
import { jsonResponse } from '../../src/kernel/http/envelope.ts';
import { requestState } from '../../src/kernel/http/request-state.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';
import { handler, operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const tag = 'Single sign-on and support sessions';
const USER_ERRORS = 'userErrors { code message field details }';
const SESSION = snakeFields('accessToken refreshToken tokenType expiresIn expiresAt sessionId tenantId organizationId environment');
const CERT = snakeFields('fingerprintSha256 subject notAfter');
const CONNECTION = `node_id: id ${snakeFields(
  'connectionId name protocol status allowedDomains jitEnabled enforceSso breakGlassUserId defaultRole returnToAllowlist clockSkewSeconds issuer clientId clientSecretHint scopes idTokenAlg idpEntityId idpSsoUrl wantResponseSigned spKeyFingerprint redirectUri metadataUrl lastTestedAt lastTestOk lastTestError createdAt updatedAt',
)} role_mappings: roleMappings { claim equals in tenant role entitlements } idp_certificates: idpCertificates { ${CERT} } sp_certificate: spCertificate { ${CERT} }`;
const SUPPORT = `node_id: id ${snakeFields('supportSessionId staffUserId reason ticketRef permissions status createdAt expiresAt revokedAt revokedBy lastUsedAt requestCount')}`;
const connectionExample = { params: { connection_id: 'sso_0123456789abcdef01234567' } };

/** The session answer of a JSON client (the same fields as POST /v1/public/auth/challenges/verify). */
const authTokens = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.string(),
  expires_in: z.number().int(),
  expires_at: z.string(),
  session_id: z.string(),
  tenant_id: z.string(),
  organization_id: z.string(),
  environment: z.enum(['live', 'sandbox']),
});

const readCookie = (request: Request, name: string): string | undefined => {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
};

/** Browsers get a redirect; a client asking only for JSON gets the tokens. */
const wantsJson = (request: Request) => {
  const accept = request.headers.get('accept') ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
};

const serviceCtx = (runtime: Runtime, requestId: string, request: Request) => ({ runtime, requestId, principal: null, clientIp: requestState(request).clientIp });

// The binding cookie comes back on the IdP's cross-site POST (SAML), hence SameSite=None.
const clearCookie = `${BINDING_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=0`;

function callbackResponse(outcome: CallbackOutcome): Response {
  if (outcome.kind === 'tokens') {
    const t = outcome.tokens;
    const response = jsonResponse(
      {
        access_token: t.accessToken,
        refresh_token: t.refreshToken,
        token_type: t.tokenType,
        expires_in: t.expiresIn,
        expires_at: t.expiresAt.toISOString(),
        session_id: t.sessionId,
        tenant_id: t.tenantId,
        organization_id: t.organizationId,
        environment: t.environment,
      },
      200,
    );
    response.headers.set('set-cookie', clearCookie);
    response.headers.set('cache-control', 'no-store');
    return response;
  }
  return new Response(null, { status: 303, headers: { location: outcome.redirectUrl, 'set-cookie': clearCookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } });
}

export const ssoRoutes: RestRoute[] = [
  handler({
    method: 'GET',
    path: '/v1/auth/sso/initiate',
    summary: 'Start a tenant-configured OIDC or SAML sign-in flow: 302 to the identity provider (or its URL as JSON for Accept: application/json), with a browser-binding cookie.',
    tag,
    auth: PUBLIC,
    query: ssoInitiateQuery,
    response: z.object({
      redirect_url: z.string().describe('The identity provider URL to send the browser to (the binding cookie is set on this response).'),
      expires_at: z.string().describe('When the login attempt expires (10 minutes).'),
    }),
    successStatuses: [200, 302],
    errors: [404, 429],
    example: { query: { connection: 'sso_0123456789abcdef01234567', return_to: 'https://console.acme.test/sso/done' } },
    handle: async (input, { runtime, requestId, request }) => {
      const result = await initiateLogin(serviceCtx(runtime, requestId, request), input.query as z.infer<typeof ssoInitiateQuery>, request.url);
      const headers = {
        'set-cookie': `${BINDING_COOKIE}=${result.bindingSecret}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=${ATTEMPT_TTL_MS / 1000}`,
        'cache-control': 'no-store',
      };
      // A console that asks for JSON navigates itself; a browser is redirected.
      if (wantsJson(request)) return jsonResponse({ redirect_url: result.redirectUrl, expires_at: result.expiresAt.toISOString() }, 200, headers);
      return new Response(null, { status: 302, headers: { ...headers, location: result.redirectUrl } });
    },
  }),
  handler({
    method: 'GET',
    path: '/v1/auth/sso/metadata',
    summary: 'Publish Paybond SAML service-provider metadata (entity ID, ACS, signing certificate) for IdP setup.',
    tag,
    auth: PUBLIC,
    query: z.object({ connection: z.string().min(1).max(64).describe('The SAML connection id.') }),
    response: z.string(),
    contentType: 'application/samlmetadata+xml',
    errors: [404],
    example: { query: { connection: 'sso_0123456789abcdef01234567' } },
    handle: async (input, { runtime, request }) => {
      const xml = await samlMetadata(runtime, String(input.query.connection), request.url);
      return new Response(xml, { status: 200, headers: { 'content-type': 'application/samlmetadata+xml; charset=utf-8', 'cache-control': 'public, max-age=300' } });
    },
  }),
  handler({
    method: 'GET',
    path: '/v1/auth/sso/callback',
    summary: 'Complete the OIDC callback and establish a session: 303 to return_to with a single-use sso_code, or the tokens for a JSON client.',
    tag,
    auth: PUBLIC,
    response: authTokens,
    successStatuses: [200, 303],
    errors: [403, 429],
    example: { query: { state: 'ssa_example', code: 'authorization code', iss: 'https://idp.acme.test' } },
    handle: async (_input, { runtime, requestId, request }) => {
      const url = new URL(request.url);
      const outcome = await completeOidcLogin(serviceCtx(runtime, requestId, request), url.searchParams, readCookie(request, BINDING_COOKIE), wantsJson(request), request.url);
      return callbackResponse(outcome);
    },
  }),
  handler({
    method: 'POST',
    path: '/v1/auth/sso/callback',
    summary: 'Complete the SAML callback (HTTP-POST binding: SAMLResponse and RelayState) and establish a session.',
    tag,
    auth: PUBLIC,
    upload: 'application/x-www-form-urlencoded',
    response: authTokens,
    successStatuses: [200, 303],
    errors: [403, 413, 429],
    handle: async (input, { runtime, requestId, request }) => {
      const outcome = await completeSamlLogin(serviceCtx(runtime, requestId, request), new URLSearchParams(input.upload ?? ''), readCookie(request, BINDING_COOKIE), wantsJson(request), request.url);
      return callbackResponse(outcome);
    },
  }),
  operation({
    method: 'POST',
    path: '/v1/auth/sso/exchange',
    summary: 'Exchange the single-use sso_code (60 seconds) from an SSO redirect for session tokens.',
    tag,
    body: ssoHandoffExchangeInput,
    example: { body: { code: 'the sso_code query parameter' } },
    operation: `mutation($input: SsoHandoffExchangeInput!) { ssoHandoffExchange(input: $input) { session { ${SESSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'session' },
  }),
  operation({
    method: 'POST',
    path: '/v1/auth/support-session',
    summary: 'Issue a time-boxed support session with audited permissions (needs the support.agent entitlement).',
    tag,
    body: supportSessionCreateInput,
    example: { body: { reason: 'Customer ticket: settlement looks stuck since Monday', ticket_ref: 'SUP-1234', duration_seconds: 1800, permissions: ['read'] } },
    status: 201,
    operation: `mutation($input: SupportSessionCreateInput!) { supportSessionCreate(input: $input) { issued { support_session: supportSession { ${SUPPORT} } ${snakeFields('accessToken tokenType expiresIn expiresAt environment')} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'issued' },
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/support-sessions',
    summary: 'Support sessions in this tenant, active and past (tenant admins).',
    tag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { supportSessions(first: $first, after: $after) { edges { node { ${SUPPORT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'support_sessions' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/support-sessions/{support_session_id}/revoke',
    summary: 'Revoke a support session: its token answers 401 from its next request.',
    tag,
    example: { params: { support_session_id: 'sup_0123456789abcdef01234567' } },
    errors: [404],
    operation: `mutation($id: ID!) { supportSessionRevoke(id: $id) { supportSession { ${SUPPORT} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.support_session_id }),
    shape: { pick: 'supportSession' },
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/sso/connections',
    summary: 'The organization’s SSO connections (secrets as hints and fingerprints only).',
    tag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { ssoConnections(first: $first, after: $after) { edges { node { ${CONNECTION} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'connections' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/sso/connections',
    summary: 'Create an SSO connection (a draft until tested and activated).',
    tag,
    body: ssoConnectionCreateInput,
    example: {
      body: {
        name: 'Okta',
        protocol: 'oidc',
        issuer: 'https://acme.okta.com',
        client_id: 'paybond',
        client_secret: 'client secret from the IdP',
        allowed_domains: ['acme.com'],
        jit_enabled: true,
        default_role: 'read_only',
        return_to_allowlist: ['https://console.acme.com/sso/done'],
      },
    },
    status: 201,
    errors: [422],
    operation: `mutation($input: SsoConnectionCreateInput!) { ssoConnectionCreate(input: $input) { connection { ${CONNECTION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'connection' },
  }),
  operation({
    method: 'PATCH',
    path: '/v1/admin/sso/connections/{connection_id}',
    summary: 'Change an SSO connection; a protocol change needs a new passing test before activation.',
    tag,
    body: ssoConnectionUpdateInput,
    example: { ...connectionExample, body: { jit_enabled: false } },
    errors: [404, 422],
    operation: `mutation($id: ID!, $input: SsoConnectionUpdateInput!) { ssoConnectionUpdate(id: $id, input: $input) { connection { ${CONNECTION} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ id: params.connection_id, input: body }),
    shape: { pick: 'connection' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/sso/connections/{connection_id}/test',
    summary: 'Test an SSO connection (OIDC discovery; SAML configuration, certificates and metadata).',
    tag,
    example: connectionExample,
    errors: [404],
    operation: `mutation($id: ID!) { ssoConnectionTest(id: $id) { result { ok error checks connection { ${CONNECTION} } } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.connection_id }),
    shape: { pick: 'result' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/sso/connections/{connection_id}/activate',
    summary: 'Activate an SSO connection (needs a passing test after its last change).',
    tag,
    example: connectionExample,
    errors: [404, 409],
    operation: `mutation($id: ID!) { ssoConnectionActivate(id: $id) { connection { ${CONNECTION} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.connection_id }),
    shape: { pick: 'connection' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/sso/connections/{connection_id}/disable',
    summary: 'Disable an SSO connection: its login and metadata routes answer 404.',
    tag,
    example: connectionExample,
    errors: [404],
    operation: `mutation($id: ID!) { ssoConnectionDisable(id: $id) { connection { ${CONNECTION} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ id: params.connection_id }),
    shape: { pick: 'connection' },
  }),
];
