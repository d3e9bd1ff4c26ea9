import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestGateway, rest, testDatabase, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { agentSession, signatureHeaders } from '../helpers/agent.ts';
import { startServer, type RunningServer } from '../helpers/server.ts';
import { RedisStore } from '../../src/stores.ts';
import { ManualClock, systemClock, type Clock } from '../../src/clock.ts';

/** Needs a Redis server: *.redis.test.ts files run when TEST_REDIS_URL is set (.ci/run sets it). */
const redisUrl = process.env.TEST_REDIS_URL!;

{
  describe('replay cache shared through Redis', () => {
    const opened: Array<{ close(): Promise<void> }> = [];
    afterAll(async () => {
      for (const o of opened.reverse()) await o.close();
    });

    async function twoNodes(clock: Clock = systemClock): Promise<[TestGateway, TestGateway]> {
      const database = await testDatabase();
      const a = await createTestGateway({ database, clock, store: await RedisStore.connect(redisUrl, clock) });
      // The second node shares the database but not the process-local state.
      const b = await createTestGateway({ database: { ...database, close: async () => {} }, clock, store: await RedisStore.connect(redisUrl, clock) });
      opened.push(a, b);
      return [a, b];
    }

    it('a signature accepted by one node is refused by the other', async () => {
      const [a, b] = await twoNodes();
      const org = await createOrg(a);
      const agent = await agentSession(a, org);
      const headers = signatureHeaders(agent.key, 'GET', '/api/agent/auth/me', '');
      expect((await rest(a, 'GET', '/api/agent/auth/me', undefined, { token: agent.token, headers })).status).toBe(200);
      const replay = await rest(b, 'GET', '/api/agent/auth/me', undefined, { token: agent.token, headers });
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('signature_replayed');
    });

    it('two nodes enforce one combined rate limit', async () => {
      // Frozen half-way through an hour, so the 1-hour window cannot roll over mid-test.
      const [a, b] = await twoNodes(new ManualClock(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 1_800_000));
      const org = await createOrg(a);
      await rest(a, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { policy_sandbox_preview_test: { limit: 3, window_seconds: 3600 } } }, { token: org.admin.token.sandbox });
      const preview = (node: TestGateway) => rest(node, 'POST', '/harbor/policy/v1/preview', { template_id: 'true_v1' }, { token: org.apiKey.sandbox });
      const statuses = [];
      for (const node of [a, b, a, b, a]) statuses.push((await preview(node)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    });

    if (inject('testDatabase').kind === 'postgres') {
      it('two gateway processes on one PostgreSQL and one Redis refuse each other’s replays', async () => {
        const env = {
          DATABASE_URL: (inject('testDatabase') as { url: string }).url,
          REDIS_URL: redisUrl,
          DATA_DIR: path.join(inject('testDir'), 'data'),
        };
        const servers: RunningServer[] = [await startServer(env), await startServer(env)];
        try {
          const [a] = await twoNodes();
          const org = await createOrg(a);
          const agent = await agentSession(a, org);
          const headers = { authorization: `Bearer ${agent.token}`, ...signatureHeaders(agent.key, 'GET', '/api/agent/auth/me', '') };
          expect((await fetch(`${servers[0]!.url}/api/agent/auth/me`, { headers })).status).toBe(200);
          const replay = await fetch(`${servers[1]!.url}/api/agent/auth/me`, { headers });
          expect(replay.status).toBe(401);
          expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('signature_replayed');
        } finally {
          for (const s of servers) await s.stop();
        }
      }, 120_000);
    }
  });
}
