import fs from 'node:fs';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { openPglite, openPostgres } from '../../src/db/adapters.ts';
import { createApp, createRuntime, type GatewayApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { ManualClock, systemClock, type Clock } from '../../src/clock.ts';
import { MemoryMailer } from '../../src/mail.ts';
import type { Runtime } from '../../src/context.ts';
import { newPrismaClient, type Database } from '../../src/db.ts';
import { createLogger } from '../../src/logger.ts';
import type { KeyValueStore } from '../../src/stores.ts';
import { checkRestResponse } from './contract.ts';
import type { TracerProvider } from '@opentelemetry/api';

export interface TestGateway {
  app: GatewayApp;
  runtime: Runtime;
  mailer: MemoryMailer;
  clock: Clock;
  close(): Promise<void>;
}

/** A Database on this run's test backend: a PGlite clone of the template, or the run's PostgreSQL database. */
export async function testDatabase(): Promise<Database> {
  const info = inject('testDatabase');
  const handle =
    info.kind === 'postgres' ? await openPostgres(info.url, 4) : await openPglite(undefined, new Blob([fs.readFileSync(info.template)]));
  const db = newPrismaClient(handle);
  return {
    db,
    handle,
    close: async () => {
      await db.$disconnect();
      await handle.close();
    },
  };
}

export const isPostgres = () => inject('testDatabase').kind === 'postgres';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: path.join(inject('testDir'), 'data'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

/** A gateway on a fresh database clone, with an in-memory mailer and (optionally) a manual clock. */
export async function createTestGateway(
  options: { env?: Record<string, string>; clock?: Clock; store?: KeyValueStore; database?: Database; tracerProvider?: TracerProvider } = {},
): Promise<TestGateway> {
  const config = testConfig(options.env);
  const mailer = new MemoryMailer();
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await testDatabase());
  const runtime = await createRuntime(config, { database, mailer, clock, store: options.store, log: createLogger(config.LOG_LEVEL), tracerProvider: options.tracerProvider });
  const app = createApp(runtime);
  return {
    app,
    runtime,
    mailer,
    clock,
    close: async () => {
      await assertAuditRowsRedacted(runtime);
      await runtime.close();
    },
  };
}

/** Secrets and personal data that must never appear in a stored audit row. */
export const FORBIDDEN_IN_AUDIT: Array<[string, RegExp]> = [
  ['email', /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/],
  ['bearer token', /Bearer\s+\S+/i],
  ['JWT', /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  ['API key / PAT', /paybond_(sk|pat|rt)_[A-Za-z0-9]/],
  ['IPv4 address', /\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/],
  ['IPv6 address', /(?<![A-Za-z0-9:])(?:[A-Fa-f0-9]{1,4}:){2,7}[A-Fa-f0-9]{1,4}(?![A-Za-z0-9:])/],
];

/**
 * Every test gateway scans the audit rows of its database when it closes: across the suite that is
 * every audit row any test produced. One leaked email, token, key or IP fails the run.
 */
async function assertAuditRowsRedacted(runtime: Runtime): Promise<void> {
  let rows: Array<Record<string, unknown>>;
  try {
    rows = (await runtime.db.auditEvent.findMany()) as unknown as Array<Record<string, unknown>>;
  } catch {
    return; // the database is already gone (a test closed it on purpose)
  }
  for (const row of rows) {
    const text = JSON.stringify(row);
    for (const [what, pattern] of FORBIDDEN_IN_AUDIT) {
      expect(pattern.test(text), `audit row ${row.id} (${row.eventType}) contains an unredacted ${what}: ${text}`).toBe(false);
    }
  }
}

export interface RestResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
  /** Raw body bytes/text instead of JSON. */
  raw?: string | Uint8Array;
}

/** Call a REST route through app.fetch (no port, no sleep). */
export async function rest<T = any>(gw: TestGateway, method: string, pathname: string, body?: unknown, options: CallOptions = {}): Promise<RestResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };

  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | Uint8Array | undefined;
  if (options.raw !== undefined) payload = options.raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await gw.app.fetch(`http://gateway${pathname}`, { method, headers, body: payload as BodyInit | undefined });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  checkRestResponse(method, pathname, response.status, response.headers.get('content-type'), parsed);
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export interface GqlResult<T = any> {
  status: number;
  data: T;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
  headers: Headers;
}

/** Run a GraphQL operation. */
export async function gql<T = any>(gw: TestGateway, query: string, variables: Record<string, unknown> = {}, options: CallOptions = {}): Promise<GqlResult<T>> {
  const response = await rest(gw, 'POST', '/graphql', { query, variables }, options);
  return { status: response.status, data: response.body?.data, errors: response.body?.errors, headers: response.headers };
}

/** GraphQL that must succeed without errors. */
export async function gqlOk<T = any>(gw: TestGateway, query: string, variables: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
  const result = await gql<T>(gw, query, variables, options);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data;
}

export function expectError(result: RestResult, status: number, code: string) {
  expect({ status: result.status, code: result.body?.error?.code }, JSON.stringify(result.body)).toEqual({ status, code });
  expect(result.body.error.request_id).toBe(result.headers.get('x-request-id'));
}
