import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const isOrigin = (value: string) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
};
const seconds = (max: number) => z.coerce.number().int().min(1).max(max);

/** Every environment variable the gateway reads. README "Configuration" lists the same set. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|pglite:)/, 'must start with postgres://, postgresql:// or pglite:')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  MIGRATE_ON_START: bool.optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_BASE_URL: z.url().optional(),
  /** SSO: accept a plain-HTTP OIDC issuer on a loopback address (local development and tests only). */
  SSO_ALLOW_INSECURE_LOOPBACK: bool.default(false),
  JWT_PRIVATE_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PKCS#8 PEM Ed25519 private key' }).optional(),
  SERVER_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  GATEWAY_SIGNING_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PKCS#8 PEM Ed25519 private key' }).optional(),
  SIGNAL_SIGNING_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PKCS#8 PEM Ed25519 private key' }).optional(),
  ACCESS_TOKEN_TTL_SECONDS: seconds(3600).default(900),
  REFRESH_TOKEN_TTL_SECONDS: seconds(90 * 86400).default(30 * 86400),
  HARBOR_TOKEN_TTL_SECONDS: seconds(3600).default(300),
  AGENT_TOKEN_TTL_SECONDS: seconds(3600).default(900),
  ALLOW_SIGNUP: bool.default(false),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
  MAIL_FROM: z.string().min(3).default('Paybond Gateway <no-reply@localhost>'),
  TRUST_PROXY: bool.default(false),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  /** The GraphiQL playground (and anonymous introspection). Default: on, except with NODE_ENV=production. */
  GRAPHIQL: bool.optional(),
  /**
   * Browser origins allowed to call with credentials (comma-separated `scheme://host[:port]`).
   * Default: none — no cross-origin credentialed access.
   */
  CORS_ORIGINS: z
    .string()
    .transform((raw) => raw.split(',').map((o) => o.trim()).filter(Boolean))
    .refine((origins) => origins.every(isOrigin), 'must be a comma-separated list of origins like https://app.example.com (scheme, host and port only)')
    .default([]),
  /** Bearer token for GET /metrics; required in production (without it production serves no metrics). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** After SIGTERM: how long /readyz answers 503 while requests are still served, before the listener closes. */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).default(5_000),
  /** Route-group rate limits. `off` exists to measure their cost (bench/); never turn them off in production. */
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  /** Per-node caches of credentials and tenant policies, invalidated through LISTEN/NOTIFY (src/kernel/cache.ts). `off` exists to measure them (bench/). */
  CACHE: z.enum(['on', 'off']).default('on'),
  /** Requests processed at once (0 = no limit). Default: 4 on the embedded database, DATABASE_POOL_SIZE on PostgreSQL. */
  MAX_CONCURRENT_REQUESTS: z.coerce.number().int().min(0).max(100_000).optional(),
  MAX_QUEUED_REQUESTS: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  /** Seconds between scheduled ledger checkpoints of a tenant whose ledger grew (0 = only on export, verifier pack and evidence). */
  LEDGER_CHECKPOINT_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(30 * 86400).default(3600),
  /**
   * How long an Idempotency-Key claim whose request never finished (its process died) blocks a retry
   * with 409 before the retry takes it over and runs the write. Its write never committed: the
   * stored response commits in the write's own transaction.
   */
  IDEMPOTENCY_LEASE_SECONDS: seconds(600).default(30),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** Platform Stripe key (secret `sk_` or restricted `rk_` with read access to accounts and PaymentIntents). */
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_[0-9A-Za-z]+$/, 'must be a Stripe secret key (sk_test_…, sk_live_…, rk_test_… or rk_live_…)')
    .optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\S+$/, 'must be a Stripe webhook signing secret (whsec_…)').optional(),
  /** Where Stripe's API is reached (a local stand-in in tests, or a proxy); plain http only to a loopback host. */
  STRIPE_API_BASE_URL: z
    .url()
    .refine((raw) => {
      const url = new URL(raw);
      const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(url.hostname);
      return (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) && (url.pathname === '/' || url.pathname === '') && !url.search && !url.username;
    }, 'must be https://host[:port] (http only to localhost, 127.x or [::1]), without a path')
    .optional(),
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: seconds(3600).default(300),
  /** Outbound webhooks may reach loopback, private and link-local addresses (development and tests only; never metadata addresses). */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  /** Deliver webhooks from this process (`off` when a dedicated `npm run worker` process does it). */
  WEBHOOK_WORKER: z.enum(['on', 'off']).default('on'),
  /** How long a claimed delivery stays with its worker before another may take it (a crashed worker's claims come back after this). */
  WEBHOOK_LEASE_SECONDS: seconds(3600).default(60),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  dataDir: string;
  database: { kind: 'pglite'; dir: string | undefined } | { kind: 'postgres'; url: string };
  migrateOnStart: boolean;
  isProduction: boolean;
  /** GraphiQL served at GET /graphql (GRAPHIQL, default off in production). */
  graphiql: boolean;
  /** Who may run introspection (`__schema`, `__type`): anyone, or only a caller with a credential. */
  introspection: 'public' | 'authenticated';
  /** PUBLIC_BASE_URL is https: responses carry Strict-Transport-Security. */
  hsts: boolean;
  /** Admission control (src/plugins/admission.ts); limit 0 = off. */
  admission: { limit: number; maxQueue: number };
}

/** Measured in bench/ (P1 at 64 connections): on one connection, a few requests at a time beat many. */
const EMBEDDED_CONCURRENCY = 4;

export class ConfigError extends Error {}

/** Parse and validate the environment. Throws ConfigError with one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    const shown = name.includes('KEY') || name.includes('SECRET') || name.includes('URL') ? '<hidden>' : JSON.stringify(input[name]);
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message} (got ${shown})`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  let database: Config['database'];
  if (!e.DATABASE_URL) database = { kind: 'pglite', dir: path.join(dataDir, 'pglite') };
  else if (e.DATABASE_URL.startsWith('pglite:')) {
    const rest = e.DATABASE_URL.slice('pglite:'.length);
    database = { kind: 'pglite', dir: rest === 'memory' || rest === '' ? undefined : path.resolve(rest) };
  } else database = { kind: 'postgres', url: e.DATABASE_URL };
  return {
    ...e,
    dataDir,
    database,
    // Embedded mode owns its database, so it migrates itself; a shared server opts in.
    migrateOnStart: e.MIGRATE_ON_START ?? database.kind === 'pglite',
    isProduction: e.NODE_ENV === 'production',
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
    introspection: e.NODE_ENV !== 'production' || e.GRAPHIQL === true ? 'public' : 'authenticated',
    hsts: e.PUBLIC_BASE_URL?.startsWith('https://') ?? false,
    // A request holds at most one pooled connection at a time: admitting more than the pool only
    // moves the wait into the pool, once per statement instead of once per request.
    admission: { limit: e.MAX_CONCURRENT_REQUESTS ?? (database.kind === 'pglite' ? EMBEDDED_CONCURRENCY : e.DATABASE_POOL_SIZE), maxQueue: e.MAX_QUEUED_REQUESTS },
  };
}
