import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt } from 'jose';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { agentSession, keypair, signatureHeaders, signedRest, type AgentSessionHandle } from '../helpers/agent.ts';
import { ManualClock } from '../../src/clock.ts';

let gw: TestGateway;
let org: TestOrg;
let agent: AgentSessionHandle;
const clock = new ManualClock(new Date());
const now = () => Math.floor(clock.now().getTime() / 1000);
const QUERY = { query: '{ agentIdentity { agentId } }' };

beforeAll(async () => {
  gw = await createTestGateway({ clock });
  org = await createOrg(gw);
  agent = await agentSession(gw, org);
});
afterAll(() => gw.close());

const signedGraphql = (options: Parameters<typeof signedRest>[5] = {}, body: unknown = QUERY) =>
  signedRest(gw, agent, 'POST', '/graphql', body, { timestamp: now(), ...options });

/** For /graphql the error is in the body; the HTTP status is the error's. */
function expectGraphqlError(res: { status: number; body: any }, status: number, code: string) {
  expect({ status: res.status, code: res.body?.errors?.[0]?.extensions?.code }).toEqual({ status, code: code.toUpperCase() });
}

describe('signed agent requests', () => {
  it('accepts a valid signature over METHOD, PATH, TIMESTAMP and the raw body, once', async () => {
    const body = JSON.stringify(QUERY);
    const headers = { 'content-type': 'application/json', ...signatureHeaders(agent.key, 'POST', '/graphql', body, now()) };
    const first = await rest(gw, 'POST', '/graphql', undefined, { token: agent.token, headers, raw: body });
    expect(first.status).toBe(200);
    expect(first.body.data.agentIdentity.agentId).toBe(agent.key.base58);
    expectGraphqlError(await rest(gw, 'POST', '/graphql', undefined, { token: agent.token, headers, raw: body }), 401, 'signature_replayed');
  });

  it('signs GET requests over the empty body, without the query string', async () => {
    const res = await signedRest(gw, agent, 'GET', '/api/agent/auth/me?verbose=1', undefined, { timestamp: now() });
    expect(res.status).toBe(200);
  });

  it('refuses a tampered body', async () => {
    expectGraphqlError(await signedGraphql({ signBody: JSON.stringify({ query: '{ viewer { tenantId } }' }) }), 401, 'signature_invalid');
  });

  it('refuses a swapped path and a swapped method', async () => {
    expectGraphqlError(await signedGraphql({ signPath: '/api/agent/checkout/create' }), 401, 'signature_invalid');
    expectGraphqlError(await signedGraphql({ signMethod: 'PUT' }), 401, 'signature_invalid');
  });

  it('refuses timestamps outside 300 s past / 60 s future, and accepts the edges', async () => {
    expectGraphqlError(await signedGraphql({ timestamp: now() - 301 }), 401, 'signature_expired');
    expectGraphqlError(await signedGraphql({ timestamp: now() + 61 }), 401, 'signature_expired');
    expect((await signedGraphql({ timestamp: now() - 300 })).status).toBe(200);
    expect((await signedGraphql({ timestamp: now() + 60 })).status).toBe(200);
    const badTs = await rest(gw, 'POST', '/graphql', QUERY, { token: agent.token, headers: { 'x-agent-timestamp': 'soon', 'x-agent-signature': 'AA==' } });
    expectGraphqlError(badTs, 401, 'signature_invalid');
  });

  it('refuses a signature made with another key', async () => {
    expectGraphqlError(await signedRest(gw, { key: keypair(), token: agent.token }, 'POST', '/graphql', QUERY, { timestamp: now() }), 401, 'signature_invalid');
  });

  it('refuses a half-signed request and malformed signatures', async () => {
    const only = await rest(gw, 'POST', '/graphql', QUERY, { token: agent.token, headers: { 'x-agent-timestamp': String(now()) } });
    expectGraphqlError(only, 401, 'signature_missing');
    for (const signature of ['!!!', Buffer.alloc(63).toString('base64'), Buffer.alloc(64).toString('base64url')]) {
      const res = await rest(gw, 'POST', '/graphql', QUERY, { token: agent.token, headers: { 'x-agent-timestamp': String(now()), 'x-agent-signature': signature } });
      expectGraphqlError(res, 401, 'signature_invalid');
    }
  });

  it('refuses signature headers on a PAT, an unbound agent token, or no credential (key_not_bound)', async () => {
    const headers = signatureHeaders(agent.key, 'GET', '/api/agent/auth/me', '', now());
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.pat, headers }), 401, 'key_not_bound');
    const unbound = await rest(gw, 'POST', '/api/agent/auth/pat', { token: agent.pat });
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: unbound.body.access_token, headers }), 401, 'key_not_bound');
    // No credential at all: a protected route says so first; elsewhere the signature has no key to check against.
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { headers }), 401, 'unauthenticated');
    expectError(await rest(gw, 'POST', '/v1/public/auth/login/start', { email: 'a@b.test', password: 'x' }, { headers }), 401, 'key_not_bound');
  });

  it('refuses JWTs with alg none or HS256 confusion, and expired JWTs', async () => {
    const claims = decodeJwt(agent.token);
    const header = (alg: string) => Buffer.from(JSON.stringify({ alg, typ: 'paybond-agent+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const none = `${header('none')}.${payload}.`;
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: none }), 401, 'invalid_credentials');
    // HS256 keyed with our public key: the classic confusion attack.
    const publicPem = gw.runtime.keys.jwtPublicKey.export({ format: 'pem', type: 'spki' }).toString();
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'paybond-agent+jwt' }).sign(new TextEncoder().encode(publicPem));
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: hs }), 401, 'invalid_credentials');
    clock.advance(901);
    try {
      expectGraphqlError(await signedGraphql(), 401, 'token_expired');
    } finally {
      clock.advance(-901);
    }
  });

  it('refuses a signed request whose JWT came from a revoked PAT', async () => {
    const other = await agentSession(gw, org);
    await rest(gw, 'POST', '/api/agent/pats/revoke', { tokenId: other.patId }, { token: org.admin.token.sandbox });
    const res = await signedRest(gw, other, 'POST', '/graphql', QUERY, { timestamp: now() });
    expectGraphqlError(res, 401, 'credential_revoked');
  });
});
