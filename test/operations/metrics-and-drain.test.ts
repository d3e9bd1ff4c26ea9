import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { runScript, startServer } from '../helpers/server.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const metricValue = (text: string, name: string, labels: string) =>
  Number(new RegExp(`^${name}\\{${labels.replace(/[{}]/g, '\\$&')}[^}]*\\} (\\d+(?:\\.\\d+)?)`, 'm').exec(text)?.[1] ?? 0);

describe('GET /metrics', () => {
  it('counts requests by route template and status, GraphQL errors by code, and database statements', async () => {
    await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: org.apiKey.sandbox });
    await rest(gw, 'GET', '/v1/auth/principal');
    await gql(gw, 'query Who { viewer { tenantId } }', {}, { token: org.apiKey.sandbox });
    await gql(gw, 'mutation { apiKeyCreate(input: { name: "x" }) { userErrors { code } } }', {}, { token: org.apiKey.sandbox });
    const res = await rest(gw, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = res.body as string;
    expect(metricValue(text, 'paybond_http_requests_total', 'route="/v1/auth/principal"')).toBeGreaterThan(0);
    expect(text).toMatch(/paybond_http_requests_total\{route="\/v1\/auth\/principal",method="GET",status="401"\} [1-9]/);
    expect(text).toMatch(/paybond_http_requests_total\{route="graphql Who",method="POST",status="200"\} [1-9]/);
    expect(text).toMatch(/paybond_graphql_errors_total\{code="FORBIDDEN"\} [1-9]/);
    expect(text).toMatch(/paybond_db_query_duration_seconds_count [1-9]/);
    expect(text).toMatch(/paybond_admission_active \d/);
    // Labels never carry tenant ids or credentials.
    expect(text).not.toContain(org.tenants.sandbox);
    expect(text).not.toContain('paybond_sk_');
  });

  it('needs the bearer METRICS_TOKEN when one is set, and serves nothing in production without one', async () => {
    const guarded = await createTestGateway({ env: { METRICS_TOKEN: 'a-long-metrics-token-123' } });
    try {
      expectError(await rest(guarded, 'GET', '/metrics'), 401, 'unauthenticated');
      expectError(await rest(guarded, 'GET', '/metrics', undefined, { token: 'wrong-token-wrong-token' }), 401, 'unauthenticated');
      expect((await rest(guarded, 'GET', '/metrics', undefined, { token: 'a-long-metrics-token-123' })).status).toBe(200);
    } finally {
      await guarded.close();
    }
    const production = await createTestGateway({ env: { NODE_ENV: 'production' } });
    try {
      expectError(await rest(production, 'GET', '/metrics'), 404, 'route_not_found');
    } finally {
      await production.close();
    }
  });
});

describe('graceful drain on SIGTERM (a real process)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-drain-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('turns /readyz 503 first, keeps serving a burst of requests during the drain, then exits 0', async () => {
    const boot = await runScript(['scripts/bootstrap.ts', '--org', 'Drain Co', '--email', 'ops@drain.test'], { DATA_DIR: dataDir });
    expect(boot.code, boot.output).toBe(0);
    const apiKey = /paybond_sk_sandbox_\S+/.exec(boot.output)![0];
    const server = await startServer({ DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '3000' });
    const get = (p: string) => fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect((await get('/readyz')).status).toBe(200);
    const exited = server.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ready = await get('/readyz').catch((error: unknown) => {
      throw new Error(`${String(error)}\n${server.output()}`);
    });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining' });
    const burst = await Promise.all(Array.from({ length: 8 }, () => get('/v1/auth/principal')));
    expect(burst.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await exited).toBe(0);
    // The access log names the route, the tenant and the status of each request.
    expect(server.output()).toMatch(/"route":"\/v1\/auth\/principal"[^\n]*"tenant_id":"ten_[^"]+"[^\n]*"status":200/);
  }, 120_000);
});
