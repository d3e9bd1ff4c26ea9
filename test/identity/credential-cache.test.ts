import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestGateway, isPostgres, rest, testDatabase, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { agentSession, signatureHeaders, type AgentSessionHandle } from '../helpers/agent.ts';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { ManualClock, systemClock, type Clock } from '../../src/clock.ts';
import { TenantCache } from '../../src/kernel/cache.ts';
import type { Database } from '../../src/db.ts';

/**
 * The per-node cache of credentials and tenant policies (src/kernel/cache.ts): every test first
 * shows the other node serving the credential or policy from its cache, then changes it on one
 * node and expects the other node's very next request to see the change.
 *
 * On PostgreSQL the two nodes are two runtimes with their own connection pools and their own
 * LISTEN connections (and, last, two gateway processes). On PGlite (one process per database) the
 * two runtimes share the embedded instance, as the requests of one node do.
 */
describe('credential and policy cache, invalidated on every node', () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const o of opened.reverse()) await o.close();
  });

  let lastDatabase: Database | undefined;
  async function twoNodes(clock: Clock = systemClock): Promise<[TestGateway, TestGateway]> {
    const database = await testDatabase();
    lastDatabase = database;
    const a = await createTestGateway({ database, clock });
    // PostgreSQL: a second pool and listener on the same database. PGlite: the same instance.
    const b = await createTestGateway({ database: isPostgres() ? await testDatabase() : { ...database, close: async () => {} }, clock });
    opened.push(a, b);
    return [a, b];
  }

  /**
   * Resolves when `gw` has received the database's notification for `tenantId`. NOTIFY reaches the
   * other node's LISTEN connection asynchronously (on one host well under a millisecond): the
   * tests wait for that delivery (an event, not a time) and then expect the very next request to
   * see the change.
   */
  const delivered = (gw: TestGateway, tenantId: string) =>
    new Promise<void>((resolve) => {
      const stop = gw.runtime.cache.onNotification((t) => {
        if (t !== tenantId) return;
        stop();
        resolve();
      });
    });
  /** Repeat `call` until node `gw` answers it from its cache (the writes that set the test up notify it for a moment). */
  async function servedFromCache(gw: TestGateway, call: () => Promise<{ status: number; body: unknown }>) {
    for (let i = 0; i < 20; i++) {
      const hits = gw.runtime.cache.stats.hits;
      const res = await call();
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      if (gw.runtime.cache.stats.hits > hits) return;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error('never served from the cache');
  }

  const principal = (gw: TestGateway, token: string) => rest(gw, 'GET', '/v1/auth/principal', undefined, { token });
  // Each agent's timestamps strictly decrease (by a second at most per call), so no two of its calls sign the same message.
  const lastTimestamp = new WeakMap<AgentSessionHandle, number>();
  const timestamp = (agent: AgentSessionHandle) => {
    const next = Math.min(Math.floor(Date.now() / 1000), (lastTimestamp.get(agent) ?? Infinity) - 1);
    lastTimestamp.set(agent, next);
    return next;
  };
  /** GET /api/agent/auth/me, signed (a fresh timestamp per call keeps every signature unique). */
  const me = (gw: TestGateway, agent: AgentSessionHandle) =>
    rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token, headers: signatureHeaders(agent.key, 'GET', '/api/agent/auth/me', '', timestamp(agent)) });

  it('is live on both backends: the listener is connected and a repeated lookup is a hit', async () => {
    const [a, b] = await twoNodes();
    expect(a.runtime.cache.active).toBe(true);
    expect(b.runtime.cache.active).toBe(true);
    const org = await createOrg(a);
    await servedFromCache(b, () => principal(b, org.apiKey.sandbox));
  });

  it('an API key revoked on one node is refused by the other at once', async () => {
    const [a, b] = await twoNodes();
    const org = await createOrg(a);
    await servedFromCache(b, () => principal(b, org.apiKey.sandbox));

    const notified = delivered(b, org.tenants.sandbox);
    const revoked = await rest(a, 'DELETE', `/v1/admin/api-keys/${org.apiKeyId.sandbox}`, undefined, { token: org.admin.token.sandbox });
    expect(revoked.status).toBe(200);
    await notified;
    const refused = await principal(b, org.apiKey.sandbox);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('credential_revoked');
    // The other tenant's key of the organization is untouched.
    expect((await principal(b, org.apiKey.live)).status).toBe(200);
  });

  it('an agent session revoked on one node is refused by the other at once', async () => {
    const [a, b] = await twoNodes();
    const org = await createOrg(a);
    const agent = await agentSession(a, org);
    await servedFromCache(b, () => me(b, agent));

    const notified = delivered(b, org.tenants.sandbox);
    const revoked = await rest(a, 'POST', `/api/agent/sessions/${agent.sessionId}/revoke`, undefined, { token: org.admin.token.sandbox });
    expect(revoked.status).toBe(200);
    await notified;
    const refused = await me(b, agent);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('credential_revoked');
  });

  it('a PAT revoked on one node ends its sessions on the other; so does turning agent mode off', async () => {
    const [a, b] = await twoNodes();
    const org = await createOrg(a);
    const first = await agentSession(a, org);
    await servedFromCache(b, () => me(b, first));
    let notified = delivered(b, org.tenants.sandbox);
    expect((await rest(a, 'POST', '/api/agent/pats/revoke', { token_id: first.patId }, { token: org.admin.token.sandbox })).status).toBe(200);
    await notified;
    expect((await me(b, first)).body.error.code).toBe('credential_revoked');

    const second = await agentSession(a, org);
    await servedFromCache(b, () => me(b, second));
    notified = delivered(b, org.tenants.sandbox);
    expect((await rest(a, 'POST', '/api/agent/security-mode', { enabled: false }, { token: org.admin.token.sandbox })).status).toBe(200);
    await notified;
    const refused = await me(b, second);
    expect(refused.status).toBe(403);
  });

  it('a guardrail rate-limit profile saved on one node applies on the other at once', async () => {
    // Frozen half-way through an hour, so the 1-hour window cannot roll over mid-test.
    const [a, b] = await twoNodes(new ManualClock(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 1_800_000));
    const org = await createOrg(a);
    const preview = (node: TestGateway) => rest(node, 'POST', '/harbor/policy/v1/preview', { template_id: 'true_v1' }, { token: org.apiKey.sandbox });
    await servedFromCache(b, () => preview(b));
    const notified = delivered(b, org.tenants.sandbox);
    const saved = await rest(a, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { policy_sandbox_preview_test: { limit: 1, window_seconds: 3600 } } }, { token: org.admin.token.sandbox });
    expect(saved.status).toBe(200);
    await notified;
    // Node b's next call already counts under the new profile (a counter of its own), the one after is refused.
    const first = await preview(b);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"policy_sandbox_preview_test";q=1;w=3600');
    const limited = await preview(b);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
  });

  it('a change written straight to the database (not through a gateway) reaches the cache through its notification', async () => {
    const [a, b] = await twoNodes();
    const org = await createOrg(a);
    await servedFromCache(b, () => principal(b, org.apiKey.sandbox));
    // An operator's SQL: on PostgreSQL through a connection of its own; on PGlite through the engine itself.
    const sql = `UPDATE "ApiKey" SET "revokedAt" = now() WHERE id = $1`;
    const notified = delivered(b, org.tenants.sandbox);
    if (isPostgres()) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: (inject('testDatabase') as { url: string }).url });
      await client.connect();
      await client.query(sql, [org.apiKeyId.sandbox]);
      await client.end();
    } else {
      await lastDatabase!.handle.pglite!.query(sql, [org.apiKeyId.sandbox]);
    }
    await notified;
    expect((await principal(b, org.apiKey.sandbox)).status).toBe(401);
  });

  it('serves nothing while not listening; a lookup that overlaps an invalidation does not store its result', async () => {
    let loads = 0;
    const load = async () => ({ tenant: 't1', n: ++loads });
    const idle = new TenantCache();
    await idle.get('k', load, (v) => v.tenant);
    await idle.get('k', load, (v) => v.tenant);
    expect(idle.active).toBe(false);
    expect(loads).toBe(2);

    const database = await testDatabase();
    opened.push(database);
    const cache = new TenantCache();
    await cache.start(database.handle);
    opened.push(cache);
    expect(cache.active).toBe(true);
    loads = 0;
    // The tenant changes while the lookup runs: its (possibly old) result must not be kept.
    await cache.get('k', async () => (cache.invalidate('t1'), load()), (v) => v.tenant);
    await cache.get('k', load, (v) => v.tenant);
    expect(loads).toBe(2);
    await cache.get('k', load, (v) => v.tenant);
    expect(loads).toBe(2);
    // A write of this node to a table the cache is built from: read through at once.
    cache.noteStatement('UPDATE "public"."ApiKey" SET "revokedAt" = $1 WHERE "id" = $2');
    await cache.get('k', load, (v) => v.tenant);
    expect(loads).toBe(3);
    // A last-use stamp changes nothing the cache holds.
    const before = cache.stats.invalidations;
    cache.noteStatement('UPDATE "public"."ApiKey" SET "lastUsedAt" = $1 WHERE ("public"."ApiKey"."id" = $2 AND 1=1)');
    expect(cache.stats.invalidations).toBe(before);
  });

  if (inject('testDatabase').kind === 'postgres') {
    it('a lost listener connection turns the cache off until it is back', async () => {
      const database = await testDatabase();
      opened.push(database);
      const cache = new TenantCache();
      await cache.start(database.handle);
      opened.push(cache);
      expect(cache.active).toBe(true);
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: (inject('testDatabase') as { url: string }).url });
      await admin.connect();
      const until = (condition: () => boolean) =>
        new Promise<void>((resolve) => {
          const check = () => (condition() ? resolve() : setTimeout(check, 5));
          check();
        });
      try {
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'paybond-cache-listener' AND datname = current_database()`);
        await until(() => !cache.active);
        let loads = 0;
        await cache.get('k', async () => ({ n: ++loads }), () => 't1');
        await cache.get('k', async () => ({ n: ++loads }), () => 't1');
        expect(loads).toBe(2);
        expect(cache.stats.bypasses).toBeGreaterThanOrEqual(2);
        await until(() => cache.active);
      } finally {
        await admin.end();
      }
    });

    it('two gateway processes on one PostgreSQL: a key revoked through one is refused by the other at once', async () => {
      const env = { DATABASE_URL: (inject('testDatabase') as { url: string }).url, DATA_DIR: path.join(inject('testDir'), 'data'), METRICS_TOKEN: 'cache-test-metrics-token' };
      const servers: RunningServer[] = [await startServer(env), await startServer(env)];
      try {
        const [gw] = await twoNodes();
        const org = await createOrg(gw);
        const [a, b] = servers as [RunningServer, RunningServer];
        const get = (server: RunningServer, token: string) => fetch(`${server.url}/v1/auth/principal`, { headers: { authorization: `Bearer ${token}` } });
        const hits = async (server: RunningServer) => {
          const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } })).text();
          return Number(/^paybond_cache_lookups_total\{result="hit"\} (\d+)/m.exec(text)?.[1] ?? 0);
        };
        expect((await get(b, org.apiKey.sandbox)).status).toBe(200);
        const before = await hits(b);
        expect((await get(b, org.apiKey.sandbox)).status).toBe(200);
        expect(await hits(b)).toBeGreaterThan(before);

        const revoked = await fetch(`${a.url}/v1/admin/api-keys/${org.apiKeyId.sandbox}`, { method: 'DELETE', headers: { authorization: `Bearer ${org.admin.token.sandbox}` } });
        expect(revoked.status).toBe(200);
        const refused = await get(b, org.apiKey.sandbox);
        expect(refused.status).toBe(401);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('credential_revoked');
      } finally {
        for (const s of servers) await s.stop();
      }
    }, 120_000);
  }
});
