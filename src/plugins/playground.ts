import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { errorResponse } from '../kernel/http/envelope.ts';
import { maybeRequestState } from '../kernel/http/request-state.ts';

/**
 * The GraphiQL playground at `GET /graphql`, served entirely by the gateway: the page, GraphiQL's
 * script and stylesheet and Monaco's editor workers come from `@graphql-yoga/render-graphiql`
 * (installed with the gateway) and are answered under `/playground/` with content-hashed names,
 * so a browser with no internet access gets a working editor. The page runs no inline script and
 * its Content-Security-Policy allows only this origin (plus the `data:` fonts and images embedded
 * in GraphiQL's stylesheet).
 */

export const PLAYGROUND_PREFIX = '/playground/';
export const PLAYGROUND_TITLE = 'Paybond Gateway';
/** The placeholder in the Headers tab, where a caller puts the credential (ASCII: header values must be Latin-1). */
export const PLAYGROUND_AUTHORIZATION = 'Bearer paybond_sk_sandbox_...';
export const PLAYGROUND_HEADERS = JSON.stringify({ Authorization: PLAYGROUND_AUTHORIZATION }, null, 2);

/** A read-only query any credential kind may run (a sandbox API key from `npm run bootstrap` works). */
export const PLAYGROUND_QUERY = `# Paybond Gateway — GraphQL playground
#
# Every operation needs a credential: put yours in the
# Headers tab below, in place of the placeholder.
#
# Getting one (each is printed once; see README.md):
# • npm run bootstrap -- --org Acme --email admin@acme.test
#     prints the tenant ids and a sandbox API key
# • npm run admin -- api-key --tenant <tenant id>
#     --as admin@acme.test --name playground
#     another API key for a tenant
# • a user's access token: POST /v1/public/auth/login/start,
#     then /v1/public/auth/challenges/verify with the code
#
# Run: Ctrl-Enter or ▶. Docs: the book icon on the left.
query Playground {
  viewer {
    principalType
    environment
    tenantId
    tenant {
      name
      agentSecurityMode
    }
    organization {
      name
    }
    scopes
  }
  intents(first: 5) {
    totalCount
    edges {
      node {
        intentId
        state
        amountCents
        currency
        createdAt
      }
    }
  }
}
`;

/**
 * The page's only script of its own (GraphiQL's bundle is the other): Monaco asks for a worker by
 * label and gets the served file; queries go to this origin through a plain fetcher that leaves the
 * Authorization header out while it still holds the placeholder (so the schema loads and the
 * example query answers "Authentication required" instead of "credential not valid"). Runs before
 * GraphiQL's script (both deferred, in document order) and renders once the document is parsed.
 */
const BOOT_SCRIPT = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('playground-config').textContent);
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) {
      return config.workers[label] || config.workers.editorWorkerService;
    },
  };
  function fetcher(params, options) {
    var headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
    var given = (options && options.headers) || {};
    Object.keys(given).forEach(function (name) {
      var value = given[name];
      if (name.toLowerCase() === 'authorization' && value === config.authorizationPlaceholder) return;
      headers[name] = String(value);
    });
    return fetch(config.endpoint, { method: 'POST', headers: headers, credentials: 'same-origin', body: JSON.stringify(params) }).then(function (response) {
      return response.json().catch(function () {
        return { errors: [{ message: 'HTTP ' + response.status + ' without a JSON body' }] };
      });
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    var root = document.getElementById('root');
    if (typeof YogaGraphiQL === 'undefined') {
      root.textContent = 'The playground script (' + config.script + ') did not load.';
      return;
    }
    root.textContent = '';
    var options = Object.assign({}, config.graphiql, { fetcher: fetcher });
    YogaGraphiQL.renderYogaGraphiQL(root, options);
  });
})();
`;

/** What the page may load: this origin only; data: for the fonts and icons inlined in GraphiQL's CSS. */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  // Monaco and GraphiQL add <style> elements and style attributes at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  path: string;
  type: string;
  body: Buffer;
  etag: string;
  gzipped?: Buffer;
}

interface Playground {
  page: string;
  assets: Map<string, Asset>;
}

let loading: Promise<Playground> | undefined;

function asset(name: string, ext: string, type: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { path: `${PLAYGROUND_PREFIX}${name}.${hash}.${ext}`, type, body, etag: `"${hash}"` };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Loaded on the first playground request (GraphiQL's bundle is ~9 MB of text; most nodes never serve it). */
function loadPlayground(endpoint: string): Promise<Playground> {
  loading ??= import('@graphql-yoga/render-graphiql/graphiql').then((bundle) => {
    const text = (s: string) => Buffer.from(s, 'utf8');
    const JS = 'text/javascript; charset=utf-8';
    const favicon = /^data:([^;,]+);base64,(.*)$/s.exec(bundle.favicon);
    const files = {
      script: asset('graphiql', 'js', JS, text(bundle.js)),
      style: asset('graphiql', 'css', 'text/css; charset=utf-8', text(bundle.css)),
      boot: asset('boot', 'js', JS, text(BOOT_SCRIPT)),
      editorWorker: asset('editor.worker', 'js', JS, text(bundle.editorWorkerService)),
      jsonWorker: asset('json.worker', 'js', JS, text(bundle.jsonWorker)),
      graphqlWorker: asset('graphql.worker', 'js', JS, text(bundle.graphqlWorker)),
      favicon: asset('favicon', 'ico', favicon?.[1] ?? 'image/x-icon', Buffer.from(favicon?.[2] ?? '', 'base64')),
    };
    const config = {
      endpoint,
      authorizationPlaceholder: PLAYGROUND_AUTHORIZATION,
      script: files.script.path,
      workers: { editorWorkerService: files.editorWorker.path, json: files.jsonWorker.path, graphql: files.graphqlWorker.path },
      graphiql: {
        title: PLAYGROUND_TITLE,
        defaultQuery: PLAYGROUND_QUERY,
        defaultHeaders: PLAYGROUND_HEADERS,
        // Open the Headers tab, where the credential goes; never keep it in the browser's storage.
        defaultEditorToolsVisibility: 'headers',
        shouldPersistHeaders: false,
      },
    };
    // JSON in a data block: "<" escaped so no text in it can close the element.
    const json = JSON.stringify(config).replace(/</g, '\\u003c');
    const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(PLAYGROUND_TITLE)} — GraphQL playground</title>
    <link rel="icon" href="${files.favicon.path}" />
    <link rel="stylesheet" href="${files.style.path}" />
    <script type="application/json" id="playground-config">${json}</script>
    <script defer src="${files.boot.path}"></script>
    <script defer src="${files.script.path}"></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>The ${escapeHtml(PLAYGROUND_TITLE)} playground needs JavaScript. GraphQL clients POST to this URL.</noscript>
    <div id="root">Loading the ${escapeHtml(PLAYGROUND_TITLE)} playground…</div>
  </body>
</html>
`;
    return { page, assets: new Map(Object.values(files).map((a) => [a.path, a])) };
  });
  return loading;
}

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'cross-origin-resource-policy': 'same-origin' };

function accepts(request: Request, encoding: string): boolean {
  return (request.headers.get('accept-encoding') ?? '')
    .split(',')
    .some((part) => {
      const [name, ...params] = part.trim().split(';');
      return name?.trim().toLowerCase() === encoding && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
    });
}

function assetResponse(request: Request, file: Asset): Response {
  const headers: Record<string, string> = {
    ...COMMON_HEADERS,
    'content-type': file.type,
    // The name carries the content hash: a new GraphiQL build gets a new URL.
    'cache-control': 'public, max-age=31536000, immutable',
    etag: file.etag,
    vary: 'accept-encoding',
  };
  const matches = (request.headers.get('if-none-match') ?? '').split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag);
  if (matches) return new Response(null, { status: 304, headers });
  let body = file.body;
  if (accepts(request, 'gzip') && file.body.byteLength > 1024) {
    file.gzipped ??= gzipSync(file.body);
    body = file.gzipped;
    headers['content-encoding'] = 'gzip';
  }
  headers['content-length'] = String(body.byteLength);
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
}

/**
 * Answers `GET /graphql` for browsers (Accept: text/html) with the playground page, and
 * `GET /playground/<file>` with its files. Runs right after the HTTP stage (request id, access log)
 * and before admission: these are static answers that touch no database.
 */
export function usePlayground(graphqlEndpoint: string): YogaPlugin {
  const page = () => loadPlayground(graphqlEndpoint);
  return {
    onRequest({ request, url, endResponse }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const state = maybeRequestState(request);
      const isPage = (url.pathname === graphqlEndpoint || url.pathname === `${graphqlEndpoint}/`) && (request.headers.get('accept') ?? '').includes('text/html');
      if (isPage) {
        if (state) state.routeTemplate = `${graphqlEndpoint} (playground)`;
        return page().then(({ page: html }) => {
          endResponse(
            new Response(request.method === 'HEAD' ? null : html, {
              status: 200,
              headers: {
                ...COMMON_HEADERS,
                'content-type': 'text/html; charset=utf-8',
                'cache-control': 'no-cache',
                'content-security-policy': PLAYGROUND_CSP,
                'x-frame-options': 'DENY',
                'referrer-policy': 'no-referrer',
              },
            }),
          );
        });
      }
      if (!url.pathname.startsWith(PLAYGROUND_PREFIX)) return;
      if (state) state.routeTemplate = `${PLAYGROUND_PREFIX}{file}`;
      return page().then(({ assets }) => {
        const file = assets.get(url.pathname);
        endResponse(file ? assetResponse(request, file) : errorResponse('route_not_found', `No playground file ${url.pathname}`, state?.requestId ?? ''));
      });
    },
  };
}
