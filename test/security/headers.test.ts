import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';

/**
 * Finding 4 (CORS, security headers, no-store) and finding 6 (production defaults) of issue 11.
 */
const EVIL = 'https://evil.example';
const APP = 'https://app.example';

const preflight = (gw: TestGateway, path: string, origin: string) =>
  gw.app.fetch(`http://gateway${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });

function expectSecurityHeaders(headers: Headers, where: string) {
  expect(headers.get('x-content-type-options'), where).toBe('nosniff');
  expect(headers.get('referrer-policy'), where).toBe('no-referrer');
  expect(headers.get('x-frame-options'), where).toBe('DENY');
  expect(headers.get('content-security-policy') ?? '', where).toContain("frame-ancestors 'none'");
}

describe('CORS by allow-list (default: none)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway();
  });
  afterAll(() => gw?.close());

  for (const path of ['/v1/auth/principal', '/graphql']) {
    it(`a preflight from an unlisted origin to ${path} gets no CORS grant`, async () => {
      const res = await preflight(gw, path, EVIL);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });
  }

  it('an actual cross-origin request from an unlisted origin gets no CORS grant', async () => {
    const res = await gw.app.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS_ORIGINS lists the origins that may call with credentials', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway({ env: { CORS_ORIGINS: `${APP}, https://admin.example:8443` } });
  });
  afterAll(() => gw?.close());

  it('a listed origin is granted, with credentials', async () => {
    const res = await preflight(gw, '/v1/auth/principal', APP);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary') ?? '').toMatch(/origin/i);
    const second = await preflight(gw, '/graphql', 'https://admin.example:8443');
    expect(second.headers.get('access-control-allow-origin')).toBe('https://admin.example:8443');
  });

  it('an unlisted origin is not, nor a look-alike of a listed one', async () => {
    for (const origin of [EVIL, 'https://app.example.evil.example', 'http://app.example', 'null']) {
      const res = await preflight(gw, '/v1/auth/principal', origin);
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(res.headers.get('access-control-allow-credentials'), origin).toBeNull();
    }
  });

  it('a malformed CORS_ORIGINS is refused at startup', async () => {
    await expect(createTestGateway({ env: { CORS_ORIGINS: 'app.example' } })).rejects.toThrow(/CORS_ORIGINS/);
    await expect(createTestGateway({ env: { CORS_ORIGINS: 'https://app.example/path' } })).rejects.toThrow(/CORS_ORIGINS/);
  });
});

describe('security headers on every response', () => {
  let gw: TestGateway;
  let org: TestOrg;
  beforeAll(async () => {
    gw = await createTestGateway();
    org = await createOrg(gw);
  });
  afterAll(() => gw?.close());

  it('REST success, REST errors, GraphQL, unknown routes and discovery documents all carry them', async () => {
    const responses = [
      ['principal', await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: org.apiKey.live })],
      ['401', await rest(gw, 'GET', '/v1/auth/principal')],
      ['404', await rest(gw, 'GET', '/no/such/route')],
      ['graphql', await rest(gw, 'POST', '/graphql', { query: '{ __typename }' })],
      ['healthz', await rest(gw, 'GET', '/healthz')],
    ] as const;
    for (const [name, res] of responses) expectSecurityHeaders(res.headers, name);
    // No HSTS without an https PUBLIC_BASE_URL (a plain-http deployment would lock itself out).
    expect(responses[0][1].headers.get('strict-transport-security')).toBeNull();
  });

  it('responses carrying a token, key or secret are not stored by caches', async () => {
    const harbor = await rest(gw, 'POST', '/v1/auth/harbor-access', undefined, { token: org.apiKey.live });
    expect(harbor.status).toBe(200);
    expect(harbor.headers.get('cache-control')).toMatch(/no-store/);
    const key = await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'ci' }, { token: org.admin.token.live });
    expect(key.status).toBe(201);
    expect(key.headers.get('cache-control')).toMatch(/no-store/);
    const created = await gql(gw, 'mutation { apiKeyCreate(input: { name: "gql" }) { secret } }', {}, { token: org.admin.token.live });
    expect(created.headers.get('cache-control')).toMatch(/no-store/);
  });

  it('the playground page has a CSP that forbids framing and loads scripts from this origin only', async () => {
    const res = await gw.app.fetch('http://gateway/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).not.toMatch(/https?:\/\//);
    // No inline script at all: the page's data is a JSON block, its code comes from the gateway.
    const html = await res.text();
    expect([...html.matchAll(/<script(?![^>]*\bsrc=)(?![^>]*application\/json)[^>]*>/g)]).toEqual([]);
    expectSecurityHeaders(res.headers, 'graphiql');
  });
});

describe('HSTS behind TLS', () => {
  it('is sent when PUBLIC_BASE_URL is https', async () => {
    const gw = await createTestGateway({ env: { PUBLIC_BASE_URL: 'https://gateway.example' } });
    try {
      const res = await rest(gw, 'GET', '/healthz');
      expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d{7,}/);
    } finally {
      await gw.close();
    }
  });
});

describe('production defaults (finding 6)', () => {
  let gw: TestGateway;
  let org: TestOrg;
  const introspection = '{ __schema { types { name } } }';
  beforeAll(async () => {
    gw = await createTestGateway({ env: { NODE_ENV: 'production' } });
    org = await createOrg(gw);
  });
  afterAll(() => gw?.close());

  it('refuses anonymous introspection, with __type too', async () => {
    for (const query of [introspection, '{ __type(name: "Query") { fields { name } } }', 'query { a: __schema { queryType { name } } }']) {
      const res = await gql(gw, query);
      expect(res.data?.__schema ?? res.data?.__type ?? res.data?.a ?? null, query).toBeNull();
      expect(res.errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
    }
    // __typename is not introspection.
    expect((await gql(gw, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('a credential may introspect', async () => {
    const res = await gql(gw, introspection, {}, { token: org.apiKey.live });
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.types.length).toBeGreaterThan(10);
  });

  it('serves no GraphiQL page', async () => {
    const res = await gw.app.fetch('http://gateway/graphql', { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
  });

  it('GRAPHIQL=true turns the playground (and anonymous introspection) back on', async () => {
    const open = await createTestGateway({ env: { NODE_ENV: 'production', GRAPHIQL: 'true' } });
    try {
      const page = await open.app.fetch('http://gateway/graphql', { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const res = await gql(open, introspection);
      expect(res.errors).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});
