import * as client from 'openid-client';
import { SsoError, type SsoErrorCode } from './errors.ts';

/**
 * OpenID Connect relying party: authorization code flow with PKCE (S256), state and nonce, on
 * top of `openid-client`. The library performs the protocol checks (RFC 9207 `iss` parameter,
 * state, ID token signature/alg/iss/aud/azp/exp/nonce, token endpoint errors); this module adds the
 * checks it leaves out, caches discovery and JWKS per connection, and turns every failure into one
 * stable `SsoError` code.
 */

/** One OIDC connection as the callback handler loads it (secrets already decrypted). */
export interface OidcConnection {
  /** Connection id: the cache key for discovery and JWKS. */
  id: string;
  /** Issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Absent for a public client (PKCE only). */
  clientSecret?: string;
  /** Our callback URL exactly as registered at the provider (no query string). */
  redirectUri: string;
  /** Must contain `openid`. Default `openid email profile`. */
  scopes?: readonly string[];
  /** Expected ID token `alg`; asymmetric only. Default RS256. */
  idTokenAlg?: string;
  /** Tolerance for exp/nbf/iat, seconds. Default 120. */
  clockSkewSeconds?: number;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Claim carrying group names (ID token, else userinfo). Default `groups`. */
  groupsClaim?: string;
}

export interface OidcCoreOptions {
  /**
   * Allow plain-HTTP requests when the issuer and every endpoint it advertises are on a loopback
   * address (127.0.0.0/8, ::1, localhost). For tests and local development only; HTTPS issuers are
   * unaffected and non-loopback HTTP issuers stay refused.
   */
  allowInsecureLoopback?: boolean;
  /** Outbound HTTP (e.g. through an egress proxy); defaults to the global fetch. */
  fetch?: client.CustomFetch;
  /** How long discovered metadata is reused. Default 1 hour. */
  discoveryTtlSeconds?: number;
  /** Per-request timeout towards the provider. Default 10 s. */
  timeoutSeconds?: number;
}

export interface OidcLoginStart {
  url: URL;
  state: string;
  nonce: string;
  pkceVerifier: string;
}

export interface OidcExpectations {
  state: string;
  nonce: string;
  pkceVerifier: string;
  /** Only when `max_age` was sent in the authorization request. */
  maxAge?: number;
}

export interface OidcIdentity {
  /** `iss` of the validated ID token (equals the connection's issuer). */
  issuer: string;
  subject: string;
  email?: string;
  /** True only when the provider asserted `email_verified: true` for this email. */
  emailVerified: boolean;
  name?: string;
  groups: string[];
  /** Where email/groups came from. */
  source: { email: 'id_token' | 'userinfo' | 'none'; groups: 'id_token' | 'userinfo' | 'none' };
  idTokenClaims: Readonly<Record<string, unknown>>;
  userInfo?: Readonly<Record<string, unknown>>;
}

export interface OidcProviderSummary {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint?: string;
  jwksUri: string;
  issParameterSupported: boolean;
}

const ASYMMETRIC_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'Ed25519', 'EdDSA']);
const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
const DEFAULT_SKEW = 120;
// A cached JWKS is handed to the library as at least this old, so an unknown `kid` makes it refetch
// once (oauth4webapi refetches on a miss only when its copy is ≥ 60 s old, and drops it at 300 s).
const JWKS_MISS_REFETCH_AGE = 60;
const JWKS_MAX_AGE = 240;

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

const epoch = () => Math.floor(Date.now() / 1000);

interface DiscoveryEntry {
  issuer: string;
  metadata: client.ServerMetadata;
  expiresAt: number;
}

interface JwksEntry {
  issuer: string;
  jwks: { keys: unknown[] };
  uat: number;
}

export class OidcCore {
  readonly #options: Required<Pick<OidcCoreOptions, 'allowInsecureLoopback' | 'discoveryTtlSeconds' | 'timeoutSeconds'>> & Pick<OidcCoreOptions, 'fetch'>;
  readonly #discovery = new Map<string, DiscoveryEntry>();
  readonly #pending = new Map<string, Promise<DiscoveryEntry>>();
  readonly #jwks = new Map<string, JwksEntry>();

  constructor(options: OidcCoreOptions = {}) {
    this.#options = {
      allowInsecureLoopback: options.allowInsecureLoopback ?? false,
      discoveryTtlSeconds: options.discoveryTtlSeconds ?? 3600,
      timeoutSeconds: options.timeoutSeconds ?? 10,
      fetch: options.fetch,
    };
  }

  /** Throws `sso_config_invalid` / `insecure_issuer` for a connection that must not be used. */
  validateConnection(conn: OidcConnection): void {
    const issuer = parseUrl(conn.issuer, 'issuer');
    if (issuer.search || issuer.hash) throw new SsoError('sso_config_invalid', 'issuer_has_query');
    this.#checkTransport(issuer, 'issuer');
    const redirect = parseUrl(conn.redirectUri, 'redirect_uri');
    if (redirect.search || redirect.hash) throw new SsoError('sso_config_invalid', 'redirect_uri_has_query');
    if (!conn.clientId) throw new SsoError('sso_config_invalid', 'client_id');
    if (!(conn.scopes ?? DEFAULT_SCOPES).includes('openid')) throw new SsoError('sso_config_invalid', 'scopes_without_openid');
    if (!ASYMMETRIC_ALGS.has(conn.idTokenAlg ?? 'RS256')) throw new SsoError('sso_config_invalid', 'id_token_alg');
    const skew = conn.clockSkewSeconds ?? DEFAULT_SKEW;
    if (!Number.isInteger(skew) || skew < 0 || skew > 600) throw new SsoError('sso_config_invalid', 'clock_skew');
  }

  /** Forget cached discovery and keys (after the connection changed, or on demand). */
  invalidate(connectionId: string): void {
    this.#discovery.delete(connectionId);
    this.#jwks.delete(connectionId);
  }

  /** Fresh discovery, bypassing the cache: what `testSsoConnection` reports. */
  async testConnection(conn: OidcConnection): Promise<OidcProviderSummary> {
    this.validateConnection(conn);
    this.#discovery.delete(conn.id);
    const { metadata } = await this.#metadata(conn);
    const algs = metadata.id_token_signing_alg_values_supported;
    if (Array.isArray(algs) && !algs.includes(conn.idTokenAlg ?? 'RS256')) throw new SsoError('discovery_failed', 'id_token_alg_not_supported');
    const pkce = metadata.code_challenge_methods_supported;
    if (Array.isArray(pkce) && !pkce.includes('S256')) throw new SsoError('discovery_failed', 'pkce_s256_not_supported');
    return {
      issuer: metadata.issuer,
      authorizationEndpoint: String(metadata.authorization_endpoint),
      tokenEndpoint: String(metadata.token_endpoint),
      userinfoEndpoint: metadata.userinfo_endpoint,
      jwksUri: String(metadata.jwks_uri),
      issParameterSupported: metadata.authorization_response_iss_parameter_supported === true,
    };
  }

  /** Step 1: the authorization URL to redirect the browser to, and the values to keep server-side. */
  async beginLogin(conn: OidcConnection, options: { state?: string; loginHint?: string; prompt?: string; maxAge?: number } = {}): Promise<OidcLoginStart> {
    const config = await this.#configuration(conn);
    const state = options.state ?? client.randomState();
    const nonce = client.randomNonce();
    const pkceVerifier = client.randomPKCECodeVerifier();
    const parameters: Record<string, string> = {
      redirect_uri: conn.redirectUri,
      response_type: 'code',
      scope: (conn.scopes ?? DEFAULT_SCOPES).join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pkceVerifier),
      code_challenge_method: 'S256',
    };
    if (options.loginHint) parameters.login_hint = options.loginHint;
    if (options.prompt) parameters.prompt = options.prompt;
    if (options.maxAge !== undefined) parameters.max_age = String(options.maxAge);
    try {
      return { url: client.buildAuthorizationUrl(config, parameters), state, nonce, pkceVerifier };
    } catch (error) {
      throw classify(error, 'discovery');
    }
  }

  /**
   * Step 2: validate the authorization response and redeem the code. `callback` holds the query the
   * provider sent to our redirect URI; the URL is rebuilt from the configured redirect URI, so a
   * proxy's Host header never becomes the `redirect_uri` we present at the token endpoint.
   */
  async completeLogin(conn: OidcConnection, callback: URL | URLSearchParams, expected: OidcExpectations): Promise<OidcIdentity> {
    if (!expected.pkceVerifier) throw new SsoError('pkce_failed', 'verifier_missing');
    if (!expected.nonce) throw new SsoError('nonce_mismatch', 'expected_nonce_missing');
    if (!expected.state) throw new SsoError('state_missing', 'expected_state_missing');
    const config = await this.#configuration(conn);
    const current = new URL(conn.redirectUri);
    for (const [key, value] of callback instanceof URL ? callback.searchParams : callback) current.searchParams.append(key, value);

    const primed = this.#primeJwks(conn, config);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        pkceCodeVerifier: expected.pkceVerifier,
        idTokenExpected: true,
        ...(expected.maxAge !== undefined ? { maxAge: expected.maxAge } : {}),
      });
    } catch (error) {
      throw classify(error, 'grant');
    } finally {
      this.#storeJwks(conn, config, primed);
    }

    const claims = tokens.claims();
    if (!claims) throw new SsoError('id_token_missing');
    const skew = conn.clockSkewSeconds ?? DEFAULT_SKEW;
    // The library checks only that `iat` is a number; a token from the future means a wrong clock
    // or a forged token.
    if (typeof claims.iat !== 'number' || claims.iat > epoch() + skew) throw new SsoError('id_token_invalid', 'iat');
    // OIDC Core §3.1.3.7 (5): an `azp` must be our client id; the library checks it only when `aud`
    // lists several audiences.
    if (claims.azp !== undefined && claims.azp !== conn.clientId) throw new SsoError('id_token_invalid', 'azp');

    const groupsClaim = conn.groupsClaim ?? 'groups';
    const metadata = config.serverMetadata();
    let userInfo: Record<string, unknown> | undefined;
    const needUserInfo = claims.email === undefined || claims[groupsClaim] === undefined;
    if (needUserInfo && metadata.userinfo_endpoint && tokens.access_token) {
      try {
        userInfo = { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)) };
      } catch (error) {
        throw classify(error, 'userinfo');
      }
    }

    // Email and email_verified come from the same document, never one from each.
    const emailSource = typeof claims.email === 'string' ? 'id_token' : typeof userInfo?.email === 'string' ? 'userinfo' : 'none';
    const emailDoc: Record<string, unknown> = emailSource === 'id_token' ? claims : emailSource === 'userinfo' ? userInfo! : {};
    const groupsSource = claims[groupsClaim] !== undefined ? 'id_token' : userInfo?.[groupsClaim] !== undefined ? 'userinfo' : 'none';
    const groupsValue = groupsSource === 'id_token' ? claims[groupsClaim] : groupsSource === 'userinfo' ? userInfo![groupsClaim] : undefined;
    const name = typeof claims.name === 'string' ? claims.name : typeof userInfo?.name === 'string' ? userInfo.name : undefined;

    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: typeof emailDoc.email === 'string' ? emailDoc.email : undefined,
      emailVerified: emailDoc.email_verified === true,
      name,
      groups: normalizeGroups(groupsValue),
      source: { email: emailSource, groups: groupsSource },
      idTokenClaims: Object.freeze({ ...claims }),
      userInfo: userInfo && Object.freeze(userInfo),
    };
  }

  #checkTransport(url: URL, what: string): void {
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && this.#options.allowInsecureLoopback && isLoopbackHost(url.hostname)) return;
    throw new SsoError('insecure_issuer', what);
  }

  #insecure(conn: OidcConnection): boolean {
    return new URL(conn.issuer).protocol === 'http:';
  }

  async #metadata(conn: OidcConnection): Promise<DiscoveryEntry> {
    const cached = this.#discovery.get(conn.id);
    if (cached && cached.issuer === conn.issuer && cached.expiresAt > Date.now()) return cached;
    const key = `${conn.id}\n${conn.issuer}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#discover(conn).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const entry = await pending;
    this.#discovery.set(conn.id, entry);
    if (this.#jwks.get(conn.id)?.issuer !== conn.issuer) this.#jwks.delete(conn.id);
    return entry;
  }

  async #discover(conn: OidcConnection): Promise<DiscoveryEntry> {
    this.validateConnection(conn);
    let config: client.Configuration;
    try {
      config = await client.discovery(new URL(conn.issuer), conn.clientId, undefined, undefined, {
        execute: this.#insecure(conn) ? [client.allowInsecureRequests] : [],
        timeout: this.#options.timeoutSeconds,
        ...(this.#options.fetch ? { [client.customFetch]: this.#options.fetch } : {}),
      });
    } catch (error) {
      throw classify(error, 'discovery');
    }
    // Plain JSON: drops the helper functions serverMetadata() attaches.
    const metadata = JSON.parse(JSON.stringify(config.serverMetadata())) as client.ServerMetadata;
    for (const field of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) {
      const value = metadata[field];
      if (value === undefined) {
        if (field === 'userinfo_endpoint') continue;
        throw new SsoError('discovery_failed', `${field}_missing`);
      }
      this.#checkTransport(parseUrl(String(value), field, 'discovery_failed'), field);
    }
    return { issuer: conn.issuer, metadata, expiresAt: Date.now() + this.#options.discoveryTtlSeconds * 1000 };
  }

  async #configuration(conn: OidcConnection): Promise<client.Configuration> {
    this.validateConnection(conn);
    const { metadata } = await this.#metadata(conn);
    const method = conn.tokenEndpointAuthMethod ?? 'client_secret_basic';
    const auth = !conn.clientSecret
      ? client.None()
      : method === 'client_secret_post'
        ? client.ClientSecretPost(conn.clientSecret)
        : client.ClientSecretBasic(conn.clientSecret);
    // A fresh Configuration per use: it is cheap, and the library's key cache is keyed by it, so
    // the JWKS we hand it (below) is the one it uses.
    const config = new client.Configuration(
      metadata,
      conn.clientId,
      {
        ...(conn.clientSecret ? { client_secret: conn.clientSecret } : {}),
        id_token_signed_response_alg: conn.idTokenAlg ?? 'RS256',
        [client.clockTolerance]: conn.clockSkewSeconds ?? DEFAULT_SKEW,
      },
      auth,
    );
    config.timeout = this.#options.timeoutSeconds;
    if (this.#options.fetch) config[client.customFetch] = this.#options.fetch;
    if (this.#insecure(conn)) client.allowInsecureRequests(config);
    // Verify the ID token's signature against the provider's JWKS. Without this the library
    // trusts an ID token from the token endpoint on the strength of TLS alone (OIDC Core
    // §3.1.3.7 (6) allows that), so alg/kid/signature problems would go unnoticed.
    client.enableNonRepudiationChecks(config);
    return config;
  }

  #primeJwks(conn: OidcConnection, config: client.Configuration): number | undefined {
    const entry = this.#jwks.get(conn.id);
    if (!entry || entry.issuer !== conn.issuer || epoch() - entry.uat >= JWKS_MAX_AGE) return undefined;
    const uat = Math.min(entry.uat, epoch() - JWKS_MISS_REFETCH_AGE);
    client.setJwksCache(config, { jwks: entry.jwks, uat } as Parameters<typeof client.setJwksCache>[1]);
    return uat;
  }

  #storeJwks(conn: OidcConnection, config: client.Configuration, primedUat: number | undefined): void {
    const cache = client.getJwksCache(config) as { jwks?: { keys: unknown[] }; uat?: number } | undefined;
    if (!cache?.jwks || typeof cache.uat !== 'number' || cache.uat === primedUat) return;
    this.#jwks.set(conn.id, { issuer: conn.issuer, jwks: structuredClone(cache.jwks), uat: cache.uat });
  }
}

/** The verified email, or `email_unverified` (JIT provisioning and email linking need it). */
export function requireVerifiedEmail(identity: Pick<OidcIdentity, 'email' | 'emailVerified'>): string {
  if (!identity.email) throw new SsoError('email_unverified', 'email_missing');
  if (!identity.emailVerified) throw new SsoError('email_unverified');
  return identity.email;
}

function normalizeGroups(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function parseUrl(value: string, what: string, code: SsoErrorCode = 'sso_config_invalid'): URL {
  try {
    return new URL(value);
  } catch {
    throw new SsoError(code, `${what}_not_a_url`);
  }
}

type Phase = 'discovery' | 'grant' | 'userinfo';

const phaseFailure: Record<Phase, SsoErrorCode> = {
  discovery: 'discovery_failed',
  grant: 'token_request_failed',
  userinfo: 'userinfo_failed',
};

const safeToken = (value: unknown): string | undefined =>
  typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : undefined;

/**
 * Library error → stable code. openid-client wraps oauth4webapi's errors in `ClientError` with the
 * original as `cause`; the messages matched here are those of the pinned versions, and the tests
 * drive each branch against a real provider so an upgrade that changes them fails loudly.
 */
export function classify(error: unknown, phase: Phase): SsoError {
  if (error instanceof SsoError) return error;
  const fail = (code: SsoErrorCode, detail?: string) => new SsoError(code, detail, { cause: error });

  if (error instanceof client.AuthorizationResponseError) {
    return error.error === 'access_denied' ? fail('access_denied') : fail('idp_error', safeToken(error.error) ?? 'unknown');
  }
  if (error instanceof client.ResponseBodyError) {
    if (phase === 'grant' && error.error === 'invalid_grant') return fail('code_rejected');
    return fail(phaseFailure[phase], safeToken(error.error) ?? 'error_response');
  }
  if (error instanceof client.WWWAuthenticateChallengeError) return fail(phaseFailure[phase], 'challenge');

  if (error instanceof client.ClientError) {
    const inner = error.cause instanceof Error ? error.cause : undefined;
    const message = inner?.message ?? error.message;
    const claim = (inner?.cause as { claim?: unknown } | undefined)?.claim;
    const claimName = typeof claim === 'string' ? claim : undefined;
    switch (error.code) {
      case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
        return fail('insecure_issuer', 'request');
      case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
        if (phase === 'discovery') return fail('issuer_mismatch', 'discovery');
        if (phase === 'userinfo') return fail('userinfo_failed', 'sub');
        break;
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
        if (claimName === 'nonce') return fail('nonce_mismatch');
        return fail('id_token_invalid', claimName ?? 'claim');
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        return fail('id_token_invalid', claimName ?? 'timestamp');
      case 'OAUTH_KEY_SELECTION_FAILED':
        return fail('id_token_invalid', 'kid');
      case 'OAUTH_INVALID_RESPONSE':
      case 'OAUTH_PARSE_ERROR': {
        if (/response parameter "state" missing/.test(message)) return fail('state_missing');
        if (/"state" response parameter/.test(message)) return fail('state_mismatch');
        if (/response parameter "iss" \(issuer\) missing/.test(message)) return fail('issuer_mismatch', 'iss_parameter_missing');
        if (/"iss" \(issuer\) response parameter/.test(message)) return fail('issuer_mismatch', 'iss_parameter');
        if (/must be provided only once/.test(message)) return fail('state_mismatch', 'duplicate_parameter');
        if (/"alg" header parameter/.test(message)) return fail('id_token_invalid', 'alg');
        if (/JWT signature verification failed/.test(message)) return fail('id_token_invalid', 'signature');
        if (/"id_token"/.test(message)) return fail('id_token_missing');
        const claimMatch = /JWT "(\w+)" \([^)]*\) claim/.exec(message);
        if (claimMatch && phase === 'grant') return fail('id_token_invalid', claimMatch[1]);
        if (/JWT|JWS/.test(message) && phase === 'grant') return fail('id_token_invalid', 'malformed');
        return fail(phaseFailure[phase], 'invalid_response');
      }
      case 'OAUTH_UNSUPPORTED_OPERATION':
        if (phase === 'grant' && /JWS|JWE|algorithm|crit/.test(message)) return fail('id_token_invalid', /JWE/.test(message) ? 'encrypted' : 'alg');
        return fail(phaseFailure[phase], 'unsupported');
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
        return fail(phaseFailure[phase], 'bad_response');
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_ABORT':
        return fail(phaseFailure[phase], 'timeout');
    }
    return fail(phaseFailure[phase], 'unexpected');
  }
  // fetch() rejects with a TypeError when the provider cannot be reached.
  if (error instanceof TypeError) return fail(phaseFailure[phase], 'network');
  return fail(phaseFailure[phase], 'unexpected');
}
