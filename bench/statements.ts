/**
 * node --import tsx bench/statements.ts — the SQL statements one P1 checkout and one P2 read run,
 * in order (Prisma query events), in-process on an in-memory PGlite (or DATABASE_URL); with
 * CONCURRENT=16, also the checkout run 16 at a time, counted by statement kind. A diagnostic
 * for bench/README.md; `npm run bench` reports the same counts from the server's /metrics.
 */
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { base58 } from '@scure/base';
import { loadConfig } from '../src/config.ts';
import { createApp, createRuntime } from '../src/app.ts';
import { createOrganization } from '../src/areas/identity/organizations.ts';
import { createApiKey } from '../src/areas/identity/api-keys.ts';
import { createPat } from '../src/areas/agents/pats.ts';
import { setAgentSecurityMode } from '../src/areas/agents/mode.ts';
import type { Principal } from '../src/context.ts';

const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL ?? 'pglite:memory', MIGRATE_ON_START: 'true', DATA_DIR: path.join(os.tmpdir(), 'paybond-bench-statements'), LOG_LEVEL: 'silent', NODE_ENV: 'production' });
const runtime = await createRuntime(config);
const org = await runtime.db.$transaction((tx) => createOrganization(tx, { name: 'bench', admin: { email: `s-${randomUUID()}@bench.test`, passwordHash: 'unused' } }, new Date()));
const principal: Principal = { kind: 'user', subjectId: org.userId, userId: org.userId, tenantId: org.tenants.sandbox, organizationId: org.organizationId, environment: 'sandbox', roles: ['tenant_admin'], entitlements: ['tenant.admin'], scopes: ['harbor:read', 'harbor:write'], authMethod: 'bench' };
const ctx = { runtime, requestId: 'bench', principal };
await setAgentSecurityMode(ctx, true);
const apiKey = await createApiKey(ctx, { name: 'bench' });
const pat = await createPat(ctx, { name: 'bench' });
const app = createApp(runtime);

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const exchange = (await (await app.fetch('http://gw/api/agent/auth/pat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: pat.token, session_pubkey: base58.encode(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')), label: 'bench' }) })).json()) as { access_token: string };

let statements: string[] = [];
(runtime.db as unknown as { $on(e: 'query', f: (e: { query: string }) => void): void }).$on('query', (e) => statements.push(e.query.replace(/\s+/g, ' ').slice(0, 160)));

const checkout = () => {
  const body = JSON.stringify({ amount_cents: 1250, currency: 'usd', recipient: 'did:web:vendor.example', memo: 'bench', reference: randomUUID() });
  const p = '/api/agent/checkout/create';
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(`POST\n${p}\n${ts}\n${createHash('sha256').update(body).digest('hex')}`), privateKey).toString('base64');
  return app.fetch(`http://gw${p}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${exchange.access_token}`, 'x-agent-timestamp': ts, 'x-agent-signature': signature, 'idempotency-key': randomUUID() } });
};
const read = () =>
  app.fetch('http://gw/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${apiKey.secret}` },
    body: JSON.stringify({ query: '{ viewer { tenantId environment organization { name } } intents(first: 20) { edges { node { intentId state amountCents currency createdAt } } } }' }),
  });

for (const [name, run] of [['P1 checkout', checkout], ['P2 read', read]] as const) {
  for (let i = 0; i < 3; i++) {
    statements = [];
    const res = await run();
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${name}: ${res.status} ${text}`);
  }
  console.log(`\n${name}: ${statements.length} statements (third request)`);
  for (const s of statements) console.log(`  ${s}`);
}
if (process.env.CONCURRENT) {
  // The same checkout, CONCURRENT at a time for 10 rounds: statements per request by kind.
  const n = Number(process.env.CONCURRENT);
  statements = [];
  const statuses = new Map<number, number>();
  for (let r = 0; r < 10; r++) {
    await Promise.all(
      Array.from({ length: n }, async () => {
        const res = await checkout();
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }),
    );
  }
  // The default rate limits answer some of them 429 before any SQL: count per completed write.
  const ok = statuses.get(201) ?? 0;
  const kinds = new Map<string, number>();
  for (const s of statements) kinds.set(s.slice(0, 90), (kinds.get(s.slice(0, 90)) ?? 0) + 1);
  console.log(`\nP1 checkout, ${n} at a time: ${(statements.length / ok).toFixed(1)} statements per completed write (${JSON.stringify(Object.fromEntries(statuses))})`);
  for (const [k, c] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${(c / ok).toFixed(2)}  ${k}`);
}
await runtime.close();
process.exit(0);
