import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

/**
 * A real OpenID Provider (`oidc-provider`) in-process on 127.0.0.1, for tests: PKCE required, one
 * static confidential client, accounts with email/email_verified/groups, and the library's
 * development login/consent pages driven by `login()` the way a browser would drive them.
 */

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
}

export interface TestOp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Mutable: edit an account between logins. */
  accounts: Map<string, TestAccount>;
  /** The key the provider signs ID tokens with now (tests forge tokens with it). */
  currentKey(): SigningKey;
  /**
   * Replace the signing key. `keepOld`: publish the old key too (pre-announced rotation);
   * otherwise the JWKS holds only the new key (hard rotation).
   */
  rotateKeys(options?: { keepOld?: boolean }): Promise<SigningKey>;
  /**
   * The browser's part of a login: follow the authorization URL through the login and consent
   * pages (or abort at the login page) and return the URL the provider redirected back to.
   */
  login(authorizationUrl: URL | string, accountId: string, options?: { abort?: boolean }): Promise<URL>;
  close(): Promise<void>;
}

export interface TestOpOptions {
  accounts?: Record<string, TestAccount>;
  /** oidc-provider default (true) keeps email/groups out of the ID token, in userinfo only. */
  conformIdTokenClaims?: boolean;
  redirectUri?: string;
}

async function newSigningKey(): Promise<SigningKey & { publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateJwk, publicJwk };
}

export async function startTestOp(options: TestOpOptions = {}): Promise<TestOp> {
  const clientId = 'paybond-gateway';
  const clientSecret = randomBytes(24).toString('base64url');
  const redirectUri = options.redirectUri ?? 'https://gateway.test/v1/auth/sso/callback';
  const accounts = new Map(Object.entries(options.accounts ?? {}));
  const cookieKeys = [randomBytes(32).toString('base64url')];

  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let keys = [await newSigningKey()];

  const configuration = (): Configuration => ({
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: options.conformIdTokenClaims ?? true,
    cookies: { keys: cookieKeys },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    jwks: { keys: keys.map((k) => k.privateJwk) } as Configuration['jwks'],
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });

  // The first key in the keystore signs; the in-memory adapter's storage is module-wide, so a
  // provider rebuilt for a key rotation still knows the sessions, codes and grants.
  const build = () => {
    const provider = new Provider(issuer, configuration());
    handler = provider.callback();
  };
  build();

  const login = async (authorizationUrl: URL | string, accountId: string, loginOptions: { abort?: boolean } = {}): Promise<URL> => {
    const jar = new CookieJar();
    let next: { url: URL; method: 'GET' | 'POST'; body?: URLSearchParams } = { url: new URL(authorizationUrl), method: 'GET' };
    for (let step = 0; step < 20; step++) {
      const response = await fetch(next.url, {
        method: next.method,
        redirect: 'manual',
        headers: { cookie: jar.header(next.url), ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body: next.body,
      });
      jar.store(next.url, response.headers.getSetCookie());
      if (response.status >= 300 && response.status < 400) {
        const location = new URL(response.headers.get('location')!, next.url);
        await response.arrayBuffer();
        if (location.href.startsWith(redirectUri)) return location;
        next = { url: location, method: 'GET' };
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) throw new Error(`test OP answered ${response.status} at ${next.url.pathname}: ${html.slice(0, 300)}`);
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!prompt || !action) throw new Error(`test OP: no interaction form at ${next.url.pathname}`);
      const submit = new URL(action.replace(/&amp;/g, '&'), next.url);
      if (prompt === 'login' && loginOptions.abort) {
        next = { url: new URL(`${submit.pathname}/abort`, submit), method: 'GET' };
      } else if (prompt === 'login') {
        next = { url: submit, method: 'POST', body: new URLSearchParams({ prompt, login: accountId, password: 'any' }) };
      } else {
        next = { url: submit, method: 'POST', body: new URLSearchParams({ prompt }) };
      }
    }
    throw new Error('test OP: too many steps');
  };

  return {
    issuer,
    clientId,
    clientSecret,
    redirectUri,
    accounts,
    currentKey: () => ({ kid: keys[0]!.kid, privateJwk: keys[0]!.privateJwk }),
    async rotateKeys(rotateOptions = {}) {
      const fresh = await newSigningKey();
      keys = rotateOptions.keepOld ? [fresh, ...keys] : [fresh];
      build();
      return { kid: fresh.kid, privateJwk: fresh.privateJwk };
    },
    login,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Just enough of RFC 6265 for one host: name, value, path, and deletion by expiry. */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attribute of attributes) {
        const [key, val = ''] = attribute.split('=');
        const lower = key!.toLowerCase();
        if (lower === 'path') path = val || '/';
        if (lower === 'max-age' && Number(val) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const key = `${name}\n${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}
