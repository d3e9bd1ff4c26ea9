import type { TracerProvider } from '@opentelemetry/api';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import type { Logger } from './logger.ts';
import type { ServerKeys } from './secrets.ts';
import type { Mailer } from './mail.ts';
import type { KeyValueStore } from './stores.ts';
import type { TenantCache } from './kernel/cache.ts';

export type Environment = 'live' | 'sandbox';
export type PrincipalKind = 'user' | 'api_key' | 'harbor' | 'pat' | 'agent';

/** Who is calling, derived only from the credential (never from headers or bodies). */
export interface Principal {
  kind: PrincipalKind;
  /** Stable id of the acting subject: user id, API key id, PAT id or agent session id. */
  subjectId: string;
  tenantId: string;
  organizationId: string;
  environment: Environment;
  roles: string[];
  entitlements: string[];
  scopes: string[];
  authMethod: string;
  userId?: string;
  sessionId?: string;
  apiKeyId?: string;
  patId?: string;
  agentSessionId?: string;
  /** Agent JWTs: the Ed25519 public key the token is bound to (`cnf`). */
  agentKey?: Uint8Array;
  /** Set when this request carried a valid X-Agent-Signature by `agentKey`. */
  signed?: boolean;
  expiresAt?: Date;
  /** Session tokens: how the user signed in (`["pwd"]` or `["sso"]`) and the SSO connection (`idp`). */
  amr?: string[];
  idp?: string;
  /** A support session's token (src/areas/sso/support.ts): acts as `userId`, limited to `permissions`. */
  support?: { sessionId: string; permissions: string[] };
}

/** Process-wide dependencies, built once by createRuntime(). */
export interface Runtime {
  config: Config;
  db: PrismaClient;
  dbKind: 'pglite' | 'postgres';
  clock: Clock;
  keys: ServerKeys;
  log: Logger;
  mailer: Mailer;
  /** Shared short-lived state (replay nonces, rate-limit counters): memory or Redis. */
  store: KeyValueStore;
  /** Per-node caches of credentials and tenant policies, invalidated on every node (src/kernel/cache.ts). */
  cache: TenantCache;
  /** Dependency checks for /readyz: name → 'ok' | what is wrong. */
  readiness(): Promise<Record<string, string>>;
  /** Set on SIGTERM: /readyz answers 503 so load balancers stop sending, while requests still run. */
  draining: boolean;
  /** OpenTelemetry tracer provider when tracing is on (src/tracing.ts). */
  tracerProvider?: TracerProvider;
  close(): Promise<void>;
}

/**
 * What a resolver may know and say about the HTTP exchange it runs in, typed, instead of reaching
 * into request state: the request as it arrived (signatures and recognition proofs bind to it)
 * and the response headers it may add. Built by src/kernel/http/binding.ts.
 */
export interface HttpBinding {
  method: string;
  /** URL path without the query string. */
  path: string;
  /** The query string (without `?`), empty when there is none. */
  query: string;
  rawBody: Uint8Array | undefined;
  headers: Headers;
  /** The REST route template when the call came through a REST path. */
  route: string | undefined;
  setResponseHeader(name: string, value: string): void;
  /** Adds to a list-valued response header (RateLimit, RateLimit-Policy). */
  appendResponseHeader(name: string, value: string): void;
  /** The answer is provisional (a 202/402 funding poll): an Idempotency-Key must not store it. */
  markProvisional(): void;
}

/** Per-request context handed to resolvers and domain services. */
export interface RequestContext {
  runtime: Runtime;
  request: Request;
  requestId: string;
  principal: Principal | null;
  /** Client address, as a hash-ready string; never stored raw. */
  clientIp: string;
  http: HttpBinding;
}

/** What a domain service needs: dependencies plus who is acting (and, inside a request, its HTTP binding). */
export type ServiceContext = Pick<RequestContext, 'runtime' | 'principal' | 'requestId'> & { http?: HttpBinding };
