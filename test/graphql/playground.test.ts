import { gunzipSync } from 'node:zlib';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';
import { PLAYGROUND_AUTHORIZATION, PLAYGROUND_CSP, PLAYGROUND_QUERY } from '../../src/plugins/playground.ts';
import { createTestGateway, gql, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';

/**
 * The playground page and its files as HTTP answers (the browser test, test/e2e/playground.test.ts,
 * drives the same page in Chromium with the network cut off).
 */
let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const html = { accept: 'text/html,application/xhtml+xml' };
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => gw.app.fetch(`http://gateway${path}`, { method, headers });

/** The page's referenced files: stylesheet, scripts, icon, and the workers named in its config. */
async function pageFiles() {
  const page = await (await get('/graphql', html)).text();
  const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  const config = JSON.parse(/<script type="application\/json" id="playground-config">(.*?)<\/script>/s.exec(page)![1]!) as {
    endpoint: string;
    workers: Record<string, string>;
    graphiql: Record<string, unknown>;
  };
  return { page, refs, config };
}

describe('GraphQL playground (GET /graphql for browsers)', () => {
  it('serves a page that loads nothing from elsewhere, under a self-only CSP', async () => {
    const res = await get('/graphql', html);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(PLAYGROUND_CSP);
    expect(PLAYGROUND_CSP).toMatch(/default-src 'none'/);
    expect(PLAYGROUND_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(PLAYGROUND_CSP).not.toMatch(/https?:|\*|'unsafe-eval'|blob:/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-request-id')).toBeTruthy();

    const { page, refs, config } = await pageFiles();
    expect(page).toContain('<title>Paybond Gateway — GraphQL playground</title>');
    expect(page).not.toMatch(/__TITLE__|__OPTS__|unpkg|cdn|https?:\/\//i);
    // No inline script: every <script> either loads a file of this origin or is a JSON data block.
    for (const script of page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      const attributes = script[1]!;
      if (/type="application\/json"/.test(attributes)) continue;
      expect(attributes).toMatch(/ src="\/playground\/[^"]+"/);
      expect(script[2]).toBe('');
    }
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of [...refs, ...Object.values(config.workers)]) expect(ref).toMatch(/^\/playground\/[a-z.]+\.[0-9a-f]{16}\.(js|css|ico)$/);
    expect(Object.keys(config.workers).sort()).toEqual(['editorWorkerService', 'graphql', 'json']);
    expect(config.endpoint).toBe('/graphql');
    expect(config.graphiql).toMatchObject({ title: 'Paybond Gateway', defaultQuery: PLAYGROUND_QUERY, defaultEditorToolsVisibility: 'headers', shouldPersistHeaders: false });
    expect(JSON.parse(config.graphiql.defaultHeaders as string)).toEqual({ Authorization: PLAYGROUND_AUTHORIZATION });
    // A header value must be Latin-1 or the browser's fetch refuses it: the placeholder is ASCII.
    expect(PLAYGROUND_AUTHORIZATION).toMatch(/^Bearer [\x21-\x7e]+$/);
  });

  it('serves every file with its content type, long-lived caching, ETag and gzip', async () => {
    const { refs, config } = await pageFiles();
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', ico: 'image/x-icon' };
    for (const ref of [...refs, ...Object.values(config.workers)]) {
      const res = await get(ref);
      expect(res.status, ref).toBe(200);
      expect(res.headers.get('content-type'), ref).toBe(types[ref.split('.').pop()!]);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.byteLength).toBeGreaterThan(100);
      expect(Number(res.headers.get('content-length'))).toBe(body.byteLength);
      const etag = res.headers.get('etag')!;
      // The name carries the first 16 hex digits of the content's SHA-256, as does the ETag.
      expect(ref).toContain(`.${etag.replaceAll('"', '')}.`);
      const revalidated = await get(ref, { 'if-none-match': etag });
      expect(revalidated.status).toBe(304);
      expect(await revalidated.text()).toBe('');

      const zipped = await get(ref, { 'accept-encoding': 'gzip, deflate, br' });
      const raw = Buffer.from(await zipped.arrayBuffer());
      if (zipped.headers.get('content-encoding') === 'gzip') {
        expect(zipped.headers.get('vary')).toBe('accept-encoding');
        expect(gunzipSync(raw).equals(body)).toBe(true);
        expect(raw.byteLength).toBeLessThan(body.byteLength);
      } else {
        expect(raw.equals(body)).toBe(true);
      }
    }
    const script = await (await get(refs.find((r) => r.startsWith('/playground/graphiql.') && r.endsWith('.js'))!)).text();
    expect(script).toContain('renderYogaGraphiQL');
    const head = await get(refs[0]!, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers an unknown or stale playground file with a 404 envelope', async () => {
    const { refs } = await pageFiles();
    const stale = refs[0]!.replace(/\.[0-9a-f]{16}\./, '.0000000000000000.');
    for (const path of [stale, '/playground/', '/playground/../package.json', '/playground/graphiql.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { error: { code: string; request_id: string } };
      expect(body.error.code).toBe('route_not_found');
      expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
    }
  });

  it('leaves GraphQL clients alone: POST and non-HTML GET on /graphql are GraphQL requests', async () => {
    const post = await gql(gw, '{ __typename }');
    expect(post.data).toEqual({ __typename: 'Query' });
    const getQuery = await get('/graphql?query=%7B__typename%7D', { accept: 'application/json' });
    expect(getQuery.status).toBe(200);
    expect(await getQuery.json()).toMatchObject({ data: { __typename: 'Query' } });
  });

  it('opens with an example query that is valid for this schema and answers with the caller’s tenant', async () => {
    expect(validate(schema, parse(PLAYGROUND_QUERY))).toEqual([]);
    const ok = await gql(gw, PLAYGROUND_QUERY, {}, { token: org.apiKey.sandbox });
    expect(ok.errors, JSON.stringify(ok.errors)).toBeUndefined();
    expect(ok.data.viewer).toMatchObject({ principalType: 'api_key', environment: 'sandbox', tenantId: org.tenants.sandbox });
    expect(ok.data.intents.totalCount).toBe(0);
    // Without a credential (the playground drops the untouched placeholder) it says what is missing.
    const anonymous = await gql(gw, PLAYGROUND_QUERY);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The placeholder itself, sent as is, is an invalid credential.
    const placeholder = await gql(gw, PLAYGROUND_QUERY, {}, { headers: { authorization: PLAYGROUND_AUTHORIZATION } });
    expect(placeholder.status).toBe(401);
  });
});

describe('GraphQL playground turned off (GRAPHIQL=false)', () => {
  let off: TestGateway;
  beforeAll(async () => {
    off = await createTestGateway({ env: { GRAPHIQL: 'false' } });
  });
  afterAll(() => off.close());

  it('serves neither the page nor its files', async () => {
    const page = await off.app.fetch('http://gateway/graphql', { headers: html });
    expect(page.headers.get('content-type') ?? '').not.toContain('text/html');
    const file = await off.app.fetch('http://gateway/playground/boot.0000000000000000.js');
    expect(file.status).toBe(404);
  });
});
