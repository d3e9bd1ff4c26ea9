/**
 * What outbound webhooks cost the P1 write path, and how fast the outbox drains, on gateway
 * processes (the build in dist/) and a local receiver:
 *   - P1 (signed agent checkout, BENCH_CONNECTIONS connections, default 16) against a gateway whose
 *     tenant has one endpoint subscribed to every event type, and against one with no endpoint,
 *     in alternating rounds (so a slow patch of the shared machine lands on one round, not one side);
 *   - while the load runs: deliveries per second at the receiver, and the outbox lag of each event
 *     (receipt at the receiver minus the event's `timestamp`, taken in the transaction of the write),
 *     p50 / p99.
 * Run: npm run build && node --import tsx bench/webhooks.ts   (DATABASE_URL for PostgreSQL)
 * Prints JSON; bench/README.md reports the numbers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freshDatabase, load, runJson, signedWrites, startProcess } from './lib.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 3);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Creds {
  tenantId: string;
  organizationId: string;
  pat: string;
}

/** A receiver that answers 200 at once and records, per delivery, the lag since the event's timestamp. */
async function startReceiver() {
  const lags: number[] = [];
  const arrivals: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string };
      lags.push(now - Date.parse(event.timestamp));
      arrivals.push(now);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lags, arrivals, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
};

const receiver = await startReceiver();
const on = await freshDatabase('webhooks_on');
const off = await freshDatabase('webhooks_off');
// The receiver is plain http on loopback: development mode with private networks allowed (both sides alike).
const hooksEnv = { NODE_ENV: 'development', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
const onCreds = await runJson<Creds>('bench/seed.ts', { ...on.env, ...hooksEnv, INTENTS: '0' });
const offCreds = await runJson<Creds>('bench/seed.ts', { ...off.env, ...hooksEnv, INTENTS: '0' });
await runJson('bench/webhooks-seed.ts', { ...on.env, ...hooksEnv, BENCH_TENANT_ID: onCreds.tenantId, BENCH_ORG_ID: onCreds.organizationId, RECEIVER_URL: receiver.url });
const gwOn = await startProcess('dist/main.js', { ...on.env, ...hooksEnv });
const gwOff = await startProcess('dist/main.js', { ...off.env, ...hooksEnv });
try {
  const nextOn = await signedWrites(gwOn.url, onCreds.pat);
  const nextOff = await signedWrites(gwOff.url, offCreds.pat);
  log('warming up…');
  const warm = [await load(gwOn.url, { connections: CONNECTIONS, seconds: 4, next: nextOn }), await load(gwOff.url, { connections: CONNECTIONS, seconds: 4, next: nextOff })];
  log(`warm-up: ${JSON.stringify(warm)}; deliveries so far ${receiver.arrivals.length}`);
  // Let the warm-up's deliveries finish before measuring.
  for (let seen = -1; seen !== receiver.arrivals.length; ) {
    seen = receiver.arrivals.length;
    await new Promise((r) => setTimeout(r, 2000));
  }
  receiver.lags.length = 0;
  receiver.arrivals.length = 0;
  const ratios: number[] = [];
  let onRps = 0;
  let offRps = 0;
  let onSeconds = 0;
  let deliveriesDuringLoad = 0;
  let errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS}…`);
    const runOn = async () => {
      const before = receiver.arrivals.length;
      const result = await load(gwOn.url, { connections: CONNECTIONS, seconds: ROUND_SECONDS, next: nextOn });
      deliveriesDuringLoad += receiver.arrivals.length - before;
      onSeconds += ROUND_SECONDS;
      return result;
    };
    const runOff = () => load(gwOff.url, { connections: CONNECTIONS, seconds: ROUND_SECONDS, next: nextOff });
    let a: Awaited<ReturnType<typeof runOn>>;
    let b: Awaited<ReturnType<typeof runOff>>;
    if (round % 2 === 0) {
      a = await runOn();
      b = await runOff();
    } else {
      b = await runOff();
      a = await runOn();
    }
    onRps += a.rps / ROUNDS;
    offRps += b.rps / ROUNDS;
    errors += a.errors + b.errors;
    ratios.push(a.rps / b.rps);
  }
  // Every event of the measured rounds reaches the receiver (lag of the tail included).
  for (let seen = -1; seen !== receiver.arrivals.length; ) {
    seen = receiver.arrivals.length;
    await new Promise((r) => setTimeout(r, 2000));
  }
  ratios.sort((x, y) => x - y);
  const median = (ratios[Math.floor((ROUNDS - 1) / 2)]! + ratios[Math.ceil((ROUNDS - 1) / 2)]!) / 2;
  console.log(
    JSON.stringify(
      {
        backend: process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite',
        connections: CONNECTIONS,
        rounds: ROUNDS,
        roundSeconds: ROUND_SECONDS,
        writesPerSecondWithWebhooks: Math.round(onRps),
        writesPerSecondWithout: Math.round(offRps),
        medianRoundRatio: Number(median.toFixed(3)),
        roundRatios: ratios.map((r) => Number(r.toFixed(2))),
        deliveries: receiver.lags.length,
        deliveriesPerSecondDuringLoad: Math.round(deliveriesDuringLoad / onSeconds),
        lagMs: { p50: percentile(receiver.lags, 50), p99: percentile(receiver.lags, 99), max: percentile(receiver.lags, 100) },
        errors,
      },
      null,
      2,
    ),
  );
} finally {
  await gwOn.stop();
  await gwOff.stop();
  await receiver.close();
  await on.dispose();
  await off.dispose();
}
process.exit(0);
