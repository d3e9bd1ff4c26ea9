/**
 * node --import tsx bench/limiter-race.ts   (needs Redis: REDIS_URL, default redis://127.0.0.1:6379)
 *
 * Why the gateway has its own limiter rather than @envelop/rate-limiter (graphql-rate-limit): a
 * limit must hold across every node sharing Redis. Two "nodes" (two limiter instances on two
 * Redis connections) each make CALLS concurrent calls against one limit of MAX per window, and we
 * count how many are let through: @envelop/rate-limiter's RedisStore reads the timestamp list
 * (GET) and writes it back (SET), so concurrent calls overwrite each other's counts; the
 * gateway's store counts with one atomic INCR per call. Result and conclusion: docs/ARCHITECTURE.md.
 */
import { Redis } from 'ioredis';
import { getGraphQLRateLimiter } from '@envelop/rate-limiter/get-graphql-rate-limiter';
import { RedisStore as EnvelopRedisStore } from '@envelop/rate-limiter/redis-store';
import { RedisStore } from '../src/stores.ts';
import { consume } from '../src/kernel/limits/limiter.ts';
import { systemClock } from '../src/clock.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAX = 10;
const CALLS = 100;
const TRIALS = 3;

async function envelopTrial(trial: number): Promise<number> {
  const clients = [new Redis(url), new Redis(url)];
  const identity = `tenant-${trial}-${Date.now()}`;
  const limiters = clients.map((client) => getGraphQLRateLimiter({ identifyContext: () => identity, store: new EnvelopRedisStore(client as never) }));
  const results = await Promise.all(
    Array.from({ length: CALLS }, (_, i) => limiters[i % 2]!('viewer', { args: {}, context: {} } as never, { max: MAX, window: '60s' })),
  );
  await Promise.all(clients.map((c) => c.quit()));
  return results.filter((r) => r === undefined).length;
}

async function gatewayTrial(trial: number): Promise<number> {
  const stores = await Promise.all([RedisStore.connect(url, systemClock, `race:${trial}:`), RedisStore.connect(url, systemClock, `race:${trial}:`)]);
  const bucket = `tenant-${trial}-${Date.now()}`;
  const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => consume(stores[i % 2]!, { group: 'race', limit: MAX, windowSeconds: 60 }, bucket)));
  await Promise.all(stores.map((s) => s.close()));
  return results.filter((r) => r.allowed).length;
}

const rows: string[] = [];
for (let trial = 0; trial < TRIALS; trial++) {
  rows.push(`| ${trial + 1} | ${await envelopTrial(trial)} | ${await gatewayTrial(trial)} |`);
}
console.log(`Limit ${MAX} per window, ${CALLS} concurrent calls from 2 nodes on one Redis: calls let through\n`);
console.log(['| trial | @envelop/rate-limiter (RedisStore) | gateway limiter |', '|---|---|---|', ...rows].join('\n'));
