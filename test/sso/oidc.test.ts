import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWTPayload } from 'jose';
import type { CustomFetch } from 'openid-client';
import { isSsoError, type SsoErrorCode } from '../../src/areas/sso/errors.ts';
import { OidcCore, isLoopbackHost, requireVerifiedEmail, type OidcConnection } from '../../src/areas/sso/oidc.ts';
import { startTestOp, type TestOp } from '../helpers/idp/oidc-provider.ts';

/**
 * The relying party against a real OpenID Provider (oidc-provider) on loopback. Where the provider
 * cannot be made to misbehave (ID token claims, algorithms, keys), the test rewrites the ID token
 * in the token response on its way back, re-signed with the provider's own key unless the case is
 * about the key.
 */

let op: TestOp;
let op2: TestOp;
const fetched: string[] = [];
let rewriteIdToken: ((idToken: string) => Promise<string>) | undefined;
let rewriteDiscovery: ((doc: Record<string, unknown>) => Record<string, unknown>) | undefined;

const fetchThrough: CustomFetch = async (url, options) => {
  fetched.push(url);
  const response = await fetch(url, options as RequestInit);
  if (rewriteDiscovery && url.endsWith('/.well-known/openid-configuration')) {
    return Response.json(rewriteDiscovery(await response.json()), { status: response.status });
  }
  if (rewriteIdToken && url === `${op.issuer}/token` && response.ok) {
    const body = (await response.json()) as Record<string, unknown>;
    body.id_token = await rewriteIdToken(String(body.id_token));
    return Response.json(body, { status: response.status, headers: { 'cache-control': 'no-store' } });
  }
  return response;
};

let core: OidcCore;
let conn: OidcConnection;

beforeAll(async () => {
  op = await startTestOp({
    accounts: {
      alice: { email: 'alice@acme.test', email_verified: true, name: 'Alice', groups: ['admins', 'engineering'] },
      bob: { email: 'bob@acme.test', email_verified: false, groups: [] },
      carol: {},
    },
  });
  // A second provider that puts email and groups in the ID token (conformIdTokenClaims off).
  op2 = await startTestOp({ accounts: { dave: { email: 'dave@acme.test', email_verified: true, groups: ['ops'] } }, conformIdTokenClaims: false });
});

afterAll(async () => {
  await op?.close();
  await op2?.close();
});

beforeEach(() => {
  core = new OidcCore({ allowInsecureLoopback: true, fetch: fetchThrough });
  conn = {
    id: 'conn_oidc',
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
    redirectUri: op.redirectUri,
    scopes: ['openid', 'email', 'profile', 'groups'],
  };
  fetched.length = 0;
  rewriteIdToken = undefined;
  rewriteDiscovery = undefined;
});

async function login(account = 'alice', connection = conn, provider = op) {
  const start = await core.beginLogin(connection);
  const callback = await provider.login(start.url, account);
  return { start, callback };
}

async function expectCode(promise: Promise<unknown>, code: SsoErrorCode, detail?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSsoError(error)) throw new Error(`expected SsoError ${code}, got ${error === undefined ? 'success' : String(error)}`);
  expect({ code: error.code, detail: error.detail }).toEqual({ code, detail });
}

const now = () => Math.floor(Date.now() / 1000);

/** Re-issue the ID token with changed claims/header, signed with `key` (default: the provider's current key). */
function forge(change: { claims?: Record<string, unknown>; key?: 'op' | 'unknown' | 'hs256-client-secret' | 'none' | 'keep-signature' }) {
  return async (idToken: string): Promise<string> => {
    const claims = { ...decodeJwt(idToken), ...change.claims } as JWTPayload;
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    const header = decodeProtectedHeader(idToken);
    switch (change.key ?? 'op') {
      case 'op': {
        const { kid, privateJwk } = op.currentKey();
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(await importJWK(privateJwk, 'RS256'));
      }
      case 'unknown': {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'never-published' }).sign(privateKey);
      }
      case 'hs256-client-secret':
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: header.kid }).sign(new TextEncoder().encode(op.clientSecret));
      case 'none': {
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      }
      case 'keep-signature': {
        const [h, , s] = idToken.split('.');
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      }
    }
  };
}

describe('OIDC code flow with PKCE against oidc-provider', () => {
  it('signs in: state, nonce and an S256 challenge go out; email and groups come back (userinfo fallback)', async () => {
    const { start, callback } = await login('alice');
    expect(start.url.searchParams.get('state')).toBe(start.state);
    expect(start.url.searchParams.get('nonce')).toBe(start.nonce);
    expect(start.url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(start.url.searchParams.get('code_challenge')).toBe(createHash('sha256').update(start.pkceVerifier).digest('base64url'));
    expect(start.url.searchParams.get('redirect_uri')).toBe(op.redirectUri);
    expect(callback.searchParams.get('iss')).toBe(op.issuer);

    const identity = await core.completeLogin(conn, callback, start);
    expect(identity).toMatchObject({
      issuer: op.issuer,
      subject: 'alice',
      email: 'alice@acme.test',
      emailVerified: true,
      name: 'Alice',
      groups: ['admins', 'engineering'],
      // oidc-provider keeps scope claims out of the ID token by default.
      source: { email: 'userinfo', groups: 'userinfo' },
    });
    expect(identity.idTokenClaims.email).toBeUndefined();
    expect(requireVerifiedEmail(identity)).toBe('alice@acme.test');
  });

  it('reads email and groups from the ID token when the provider puts them there (no userinfo call)', async () => {
    const conn2 = { ...conn, id: 'conn_oidc_2', issuer: op2.issuer, clientId: op2.clientId, clientSecret: op2.clientSecret, redirectUri: op2.redirectUri };
    const { start, callback } = await login('dave', conn2, op2);
    const identity = await core.completeLogin(conn2, callback, start);
    expect(identity).toMatchObject({ subject: 'dave', email: 'dave@acme.test', emailVerified: true, groups: ['ops'], source: { email: 'id_token', groups: 'id_token' } });
    expect(identity.userInfo).toBeUndefined();
    expect(fetched.some((u) => u.endsWith('/me'))).toBe(false);
  });

  it('caches discovery per connection and refetches after invalidate()', async () => {
    for (let i = 0; i < 2; i++) {
      const { start, callback } = await login('alice');
      await core.completeLogin(conn, callback, start);
    }
    const discoveries = () => fetched.filter((u) => u.endsWith('/.well-known/openid-configuration')).length;
    const jwks = () => fetched.filter((u) => u.endsWith('/jwks')).length;
    expect(discoveries()).toBe(1);
    expect(jwks()).toBe(1);
    core.invalidate(conn.id);
    await core.beginLogin(conn);
    expect(discoveries()).toBe(2);
  });
});

describe('authorization response', () => {
  it('state missing → state_missing', async () => {
    const { start, callback } = await login();
    callback.searchParams.delete('state');
    await expectCode(core.completeLogin(conn, callback, start), 'state_missing');
  });

  it('state of another attempt → state_mismatch', async () => {
    const { start, callback } = await login();
    const other = await core.beginLogin(conn);
    await expectCode(core.completeLogin(conn, callback, { ...start, state: other.state }), 'state_mismatch');
  });

  it('error=access_denied (user cancelled at the provider) → access_denied', async () => {
    const start = await core.beginLogin(conn);
    const callback = await op.login(start.url, 'alice', { abort: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await expectCode(core.completeLogin(conn, callback, start), 'access_denied');
  });

  it('mix-up: an iss parameter naming another issuer → issuer_mismatch', async () => {
    const { start, callback } = await login();
    callback.searchParams.set('iss', op2.issuer);
    await expectCode(core.completeLogin(conn, callback, start), 'issuer_mismatch', 'iss_parameter');
  });

  it('iss parameter stripped although the provider advertises it → issuer_mismatch', async () => {
    const { start, callback } = await login();
    callback.searchParams.delete('iss');
    await expectCode(core.completeLogin(conn, callback, start), 'issuer_mismatch', 'iss_parameter_missing');
  });
});

describe('token endpoint', () => {
  it('missing PKCE verifier → pkce_failed, refused before the code is sent', async () => {
    const { start, callback } = await login();
    await expectCode(core.completeLogin(conn, callback, { ...start, pkceVerifier: '' }), 'pkce_failed', 'verifier_missing');
    expect(fetched.some((u) => u.endsWith('/token'))).toBe(false);
  });

  it('wrong PKCE verifier (code injected into another attempt) → code_rejected by the provider', async () => {
    const { start, callback } = await login();
    const other = await core.beginLogin(conn);
    await expectCode(core.completeLogin(conn, callback, { ...start, pkceVerifier: other.pkceVerifier }), 'code_rejected');
  });

  it('code reuse → code_rejected', async () => {
    const { start, callback } = await login();
    await core.completeLogin(conn, callback, start);
    await expectCode(core.completeLogin(conn, callback, start), 'code_rejected');
  });

  it('wrong nonce → nonce_mismatch', async () => {
    const { start, callback } = await login();
    await expectCode(core.completeLogin(conn, callback, { ...start, nonce: 'not-the-nonce-we-sent' }), 'nonce_mismatch');
  });
});

describe('ID token', () => {
  const cases: Array<[string, Parameters<typeof forge>[0], string]> = [
    ['wrong iss', { claims: { iss: 'https://evil.example' } }, 'iss'],
    ['wrong aud', { claims: { aud: 'another-client' } }, 'aud'],
    ['extra audience without azp', { claims: { aud: ['paybond-gateway', 'another-client'] } }, 'aud'],
    ['several audiences, azp of another client', { claims: { aud: ['paybond-gateway', 'another-client'], azp: 'another-client' } }, 'azp'],
    ['single audience, azp of another client', { claims: { azp: 'another-client' } }, 'azp'],
    ['expired beyond the skew', { claims: { exp: now() - 300 } }, 'exp'],
    ['iat beyond the skew (from the future)', { claims: { iat: now() + 300, exp: now() + 900 } }, 'iat'],
    ['nbf beyond the skew', { claims: { nbf: now() + 300 } }, 'nbf'],
    ['alg none', { key: 'none' }, 'alg'],
    ['HS256 signed with the client secret', { key: 'hs256-client-secret' }, 'alg'],
    ['unknown kid', { key: 'unknown' }, 'kid'],
    ['claims changed, signature kept', { claims: { sub: 'admin' }, key: 'keep-signature' }, 'signature'],
  ];

  for (const [name, change, detail] of cases) {
    it(`${name} → id_token_invalid (${detail})`, async () => {
      const { start, callback } = await login();
      rewriteIdToken = forge(change);
      await expectCode(core.completeLogin(conn, callback, start), 'id_token_invalid', detail);
    });
  }

  it('within the 120 s skew: exp 60 s ago and iat 60 s ahead are accepted', async () => {
    const { start, callback } = await login();
    rewriteIdToken = forge({ claims: { exp: now() - 60, iat: now() + 60 } });
    await expect(core.completeLogin(conn, callback, start)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('a forged token that changes nothing is accepted (the rewriting itself is sound)', async () => {
    const { start, callback } = await login();
    rewriteIdToken = forge({});
    await expect(core.completeLogin(conn, callback, start)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('an unknown kid makes the client refetch the JWKS once before refusing', async () => {
    const warm = await login();
    await core.completeLogin(conn, warm.callback, warm.start);
    const before = fetched.filter((u) => u.endsWith('/jwks')).length;
    const { start, callback } = await login();
    rewriteIdToken = forge({ key: 'unknown' });
    await expectCode(core.completeLogin(conn, callback, start), 'id_token_invalid', 'kid');
    expect(fetched.filter((u) => u.endsWith('/jwks')).length).toBe(before + 1);
  });
});

describe('claims', () => {
  it('email_verified false: the identity says so and requireVerifiedEmail refuses', async () => {
    const { start, callback } = await login('bob');
    const identity = await core.completeLogin(conn, callback, start);
    expect(identity).toMatchObject({ email: 'bob@acme.test', emailVerified: false, groups: [] });
    expect(() => requireVerifiedEmail(identity)).toThrow(expect.objectContaining({ code: 'email_unverified' }));
  });

  it('no email at all → email_unverified (email_missing)', async () => {
    const { start, callback } = await login('carol');
    const identity = await core.completeLogin(conn, callback, start);
    expect(identity.email).toBeUndefined();
    expect(() => requireVerifiedEmail(identity)).toThrow(expect.objectContaining({ code: 'email_unverified', detail: 'email_missing' }));
  });

  it('email from the ID token and email_verified from userinfo are never combined', async () => {
    const { start, callback } = await login('bob');
    // The ID token claims a verified email for bob; userinfo (the provider) says it is not verified.
    rewriteIdToken = forge({ claims: { email: 'bob@acme.test' } });
    const identity = await core.completeLogin(conn, callback, start);
    expect(identity.source.email).toBe('id_token');
    expect(identity.emailVerified).toBe(false);
  });
});

describe('JWKS rotation at the provider', () => {
  it('a login after a hard key rotation succeeds: the unknown kid triggers one JWKS refetch', async () => {
    const first = await login();
    await core.completeLogin(conn, first.callback, first.start);
    const oldKid = op.currentKey().kid;
    const jwks = () => fetched.filter((u) => u.endsWith('/jwks')).length;
    expect(jwks()).toBe(1);

    const { kid } = await op.rotateKeys();
    expect(kid).not.toBe(oldKid);
    const second = await login();
    const identity = await core.completeLogin(conn, second.callback, second.start);
    expect(identity.subject).toBe('alice');
    expect(jwks()).toBe(2);

    // The refreshed set is cached: the next login does not fetch it again.
    const third = await login();
    await core.completeLogin(conn, third.callback, third.start);
    expect(jwks()).toBe(2);
  });
});

describe('transport and configuration', () => {
  it('refuses an http issuer unless insecure loopback is allowed', async () => {
    const strict = new OidcCore({ fetch: fetchThrough });
    await expectCode(strict.beginLogin(conn), 'insecure_issuer', 'issuer');
    const lenient = new OidcCore({ allowInsecureLoopback: true });
    await expectCode(lenient.beginLogin({ ...conn, issuer: 'http://idp.example.com' }), 'insecure_issuer', 'issuer');
    expect(fetched).toEqual([]);
  });

  it('refuses a loopback issuer that advertises a non-loopback http endpoint', async () => {
    rewriteDiscovery = (doc) => ({ ...doc, token_endpoint: 'http://token.example.com/token' });
    await expectCode(core.beginLogin(conn), 'insecure_issuer', 'token_endpoint');
  });

  it('discovery document of another issuer → issuer_mismatch', async () => {
    rewriteDiscovery = (doc) => ({ ...doc, issuer: op2.issuer });
    await expectCode(core.beginLogin(conn), 'issuer_mismatch', 'discovery');
  });

  it('an issuer without discovery → discovery_failed', async () => {
    await expectCode(core.beginLogin({ ...conn, issuer: `${op.issuer}/nowhere` }), 'discovery_failed', 'bad_response');
  });

  it('testConnection reports the provider', async () => {
    await expect(core.testConnection(conn)).resolves.toMatchObject({
      issuer: op.issuer,
      tokenEndpoint: `${op.issuer}/token`,
      jwksUri: `${op.issuer}/jwks`,
      issParameterSupported: true,
    });
  });

  it('validates connections', () => {
    const bad: Array<[Partial<OidcConnection>, string]> = [
      [{ idTokenAlg: 'HS256' }, 'id_token_alg'],
      [{ idTokenAlg: 'none' }, 'id_token_alg'],
      [{ scopes: ['email'] }, 'scopes_without_openid'],
      [{ clockSkewSeconds: 3600 }, 'clock_skew'],
      [{ redirectUri: 'https://gateway.test/cb?x=1' }, 'redirect_uri_has_query'],
      [{ issuer: 'not a url' }, 'issuer_not_a_url'],
    ];
    for (const [change, detail] of bad) {
      expect(() => core.validateConnection({ ...conn, ...change })).toThrow(expect.objectContaining({ code: 'sso_config_invalid', detail }));
    }
    expect(() => core.validateConnection(conn)).not.toThrow();
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '[::1]', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['128.0.0.1', 'localhost.evil.test', '127.0.0.1.evil.test', '[::2]', '10.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});

// The key material the forging helper needs must be the provider's real signing key.
it('the harness signs with the key it reports', async () => {
  const { start, callback } = await login();
  let seenKid: string | undefined;
  rewriteIdToken = async (token) => {
    seenKid = decodeProtectedHeader(token).kid;
    return token;
  };
  await core.completeLogin(conn, callback, start);
  expect(seenKid).toBe(op.currentKey().kid);
});
