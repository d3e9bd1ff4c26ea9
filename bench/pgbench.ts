/**
 * The physical-limit anchor: PostgreSQL's own load tool, `pgbench`, writing and reading the same
 * rows as the gateway on the same PostgreSQL server, in a scratch database built from the
 * gateway's own migrations (same tables, indexes and append-only triggers).
 *
 *   checkout, 8 statements   one transaction: 1 intent, the tenant's ledger head locked FOR UPDATE,
 *                            2 hash-chained ledger events (SHA-256 in SQL over the previous hash),
 *                            the head moved, 2 audit rows, the intent updated to funded
 *   checkout, one round trip the same work in one SQL function call (`pgb_checkout`)
 *   read                     the principal (API key + tenant + organization) and 20 newest intents
 *
 * Each runs with `-M prepared`, 16 clients (2 threads); p99 comes from pgbench's per-transaction log.
 * Used by bench/run.ts when DATABASE_URL points at PostgreSQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { root } from './lib.ts';

export interface PgbenchResult {
  tps: number;
  p50: number;
  p99: number;
  transactions: number;
  failed: number;
}

const tenantId = (n: number) => `pgb_t${n}`;

/** Functions and seed rows of the scratch database; `tenants` ledger heads, 40 intents to read. */
function setupSql(tenants: number): string {
  return `
INSERT INTO "Organization" (id, name) VALUES ('pgb_org', 'pgbench');
INSERT INTO "Organization" (id, name) SELECT 'pgb_org' || n, 'pgbench ' || n FROM generate_series(1, ${tenants}) n;
INSERT INTO "Tenant" (id, "organizationId", environment, name)
  SELECT 'pgb_t' || n, 'pgb_org' || n, 'sandbox', 'pgbench ' || n FROM generate_series(1, ${tenants}) n;
INSERT INTO "LedgerHead" ("tenantId", seq, hash) SELECT 'pgb_t' || n, 0, repeat('0', 64) FROM generate_series(1, ${tenants}) n;
INSERT INTO "ApiKey" (id, "tenantId", name, "secretHash", hint)
  VALUES ('pgb_key', 'pgb_t1', 'pgbench', encode(sha256('secret'), 'hex'), 'cret');
INSERT INTO "HarborIntent" (id, "tenantId", "intentId", state, "principalDid", "payeeDid", "amountCents", currency, "settlementRail",
    "settlementMode", deadline, budget, "evidenceSchema", predicate, "allowedTools", source, "createdAt", "updatedAt")
  SELECT 'pgb_read_' || i, 'pgb_t1', gen_random_uuid()::text, 'funded', 'did:bench:principal', 'did:bench:payee', 1000 + i, 'usd',
    'stripe_connect', 'simulated', now() + interval '1 day', jsonb_build_object('max', 1000 + i), '{}', '{"version":1,"root":{"op":"true"}}',
    ARRAY['*'], 'bench', now() - i * interval '1 second', now()
  FROM generate_series(1, 40) i;

-- Literals with colons stay out of pgbench scripts (pgbench reads :name as a variable).
CREATE FUNCTION pgb_occurred() RETURNS text LANGUAGE sql STABLE AS $$ SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
CREATE FUNCTION pgb_predicate() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT '{"version":1,"root":{"op":"true"}}'::jsonb $$;

-- One ledger event: the body is the canonical JSON the gateway hashes (src/evidence/ledger-format.ts).
CREATE FUNCTION pgb_event_body(t text, seq int, intent text, type text, amount int, payload_digest text, occurred text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT concat('{"actor":{"id":"agent_pgbench","type":"agent"},"amount_cents":', amount, ',"currency":"usd","intent_id":"', intent,
    '","occurred_at":"', occurred, '","payload_digest_sha256_hex":"', payload_digest, '","schema_version":1,"seq":', seq,
    ',"tenant_id":"', t, '","type":"', type, '"}')
$$;

CREATE FUNCTION pgb_checkout(t text, amount int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  intent text := gen_random_uuid()::text;
  row_id text := 'int_' || gen_random_uuid();
  head_seq int;
  prev text;
  h1 text;
  h2 text;
  occurred text := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  digest text := encode(sha256(convert_to('{}', 'UTF8')), 'hex');
BEGIN
  INSERT INTO "HarborIntent" (id, "tenantId", "intentId", state, "principalDid", "payeeDid", "amountCents", currency, "settlementRail",
      "settlementMode", deadline, budget, "evidenceSchema", predicate, "allowedTools", source, "createdBy", "createdAt", "updatedAt")
    VALUES (row_id, t, intent, 'created', 'agent:pgbench', 'did:web:vendor.example', amount, 'usd', 'stripe_connect', 'simulated',
      now() + interval '7 days', jsonb_build_object('max', amount, 'memo', 'bench', 'reference', gen_random_uuid()), '{}',
      '{"version":1,"root":{"op":"true"}}', ARRAY['*'], 'agent_checkout', 'agent_pgbench', now(), now());
  SELECT seq, hash INTO head_seq, prev FROM "LedgerHead" WHERE "tenantId" = t FOR UPDATE;
  h1 := encode(sha256(decode(prev, 'hex') || convert_to(pgb_event_body(t, head_seq + 1, intent, 'intent.created', amount, digest, occurred), 'UTF8')), 'hex');
  h2 := encode(sha256(decode(h1, 'hex') || convert_to(pgb_event_body(t, head_seq + 2, intent, 'funding.succeeded', amount, digest, occurred), 'UTF8')), 'hex');
  INSERT INTO "LedgerEvent" (id, "tenantId", seq, "intentId", type, "amountCents", currency, "actorType", "actorId", "payloadDigest", "occurredAt", "prevHash", hash)
    VALUES ('led_' || gen_random_uuid(), t, head_seq + 1, intent, 'intent.created', amount, 'usd', 'agent', 'agent_pgbench', digest, occurred, prev, h1),
           ('led_' || gen_random_uuid(), t, head_seq + 2, intent, 'funding.succeeded', amount, 'usd', 'agent', 'agent_pgbench', digest, occurred, h1, h2);
  UPDATE "LedgerHead" SET seq = head_seq + 2, hash = h2 WHERE "tenantId" = t;
  INSERT INTO "AuditEvent" (id, "tenantId", "eventType", resource, "resourceId", decision, "actorType", "actorId", "requestId", details)
    VALUES ('aud_' || gen_random_uuid(), t, 'harbor.intent.created', 'harbor_intent', intent, 'allowed', 'agent', 'agent_pgbench', 'pgbench', jsonb_build_object('amount_cents', amount, 'currency', 'usd')),
           ('aud_' || gen_random_uuid(), t, 'harbor.funding.succeeded', 'harbor_intent', intent, 'allowed', 'agent', 'agent_pgbench', 'pgbench', '{"from":"created","to":"funded"}');
  UPDATE "HarborIntent" SET state = 'funded', "fundingAttempts" = 1, "updatedAt" = now() WHERE id = row_id AND state = 'created';
  RETURN intent;
END $$;
`;
}

/** The checkout as 8 statements in one transaction; `:t` picks the tenant. */
const CHECKOUT_STATEMENTS = `
\\set t random(1, :tenants)
BEGIN;
INSERT INTO "HarborIntent" (id, "tenantId", "intentId", state, "principalDid", "payeeDid", "amountCents", currency, "settlementRail", "settlementMode", deadline, budget, "evidenceSchema", predicate, "allowedTools", source, "createdBy", "createdAt", "updatedAt") VALUES ('int_' || gen_random_uuid(), 'pgb_t' || :t::text, gen_random_uuid()::text, 'created', :principal::text, :payee::text, 1250, 'usd', 'stripe_connect', 'simulated', now() + interval '7 days', jsonb_build_object('max', 1250, 'memo', 'bench', 'reference', gen_random_uuid()), '{}', pgb_predicate(), ARRAY['*'], 'agent_checkout', 'agent_pgbench', now(), now()) RETURNING id AS row_id, "intentId" AS intent_id, pgb_occurred() AS occurred
\\gset
SELECT seq AS head_seq, hash AS head_hash FROM "LedgerHead" WHERE "tenantId" = 'pgb_t' || :t::text FOR UPDATE
\\gset
INSERT INTO "LedgerEvent" (id, "tenantId", seq, "intentId", type, "amountCents", currency, "actorType", "actorId", "payloadDigest", "occurredAt", "prevHash", hash) SELECT 'led_' || gen_random_uuid(), 'pgb_t' || :t::text, :head_seq::int + 1, :intent_id::text, 'intent.created', 1250, 'usd', 'agent', 'agent_pgbench', encode(sha256('{}'), 'hex'), :occurred::text, :head_hash::text, encode(sha256(decode(:head_hash::text, 'hex') || convert_to(pgb_event_body('pgb_t' || :t::text, :head_seq::int + 1, :intent_id::text, 'intent.created', 1250, encode(sha256('{}'), 'hex'), :occurred::text), 'UTF8')), 'hex') RETURNING hash AS h1
\\gset
INSERT INTO "LedgerEvent" (id, "tenantId", seq, "intentId", type, "amountCents", currency, "actorType", "actorId", "payloadDigest", "occurredAt", "prevHash", hash) SELECT 'led_' || gen_random_uuid(), 'pgb_t' || :t::text, :head_seq::int + 2, :intent_id::text, 'funding.succeeded', 1250, 'usd', 'agent', 'agent_pgbench', encode(sha256('{}'), 'hex'), :occurred::text, :h1::text, encode(sha256(decode(:h1::text, 'hex') || convert_to(pgb_event_body('pgb_t' || :t::text, :head_seq::int + 2, :intent_id::text, 'funding.succeeded', 1250, encode(sha256('{}'), 'hex'), :occurred::text), 'UTF8')), 'hex') RETURNING hash AS h2
\\gset
UPDATE "LedgerHead" SET seq = :head_seq::int + 2, hash = :h2::text WHERE "tenantId" = 'pgb_t' || :t::text;
INSERT INTO "AuditEvent" (id, "tenantId", "eventType", resource, "resourceId", decision, "actorType", "actorId", "requestId", details) VALUES ('aud_' || gen_random_uuid(), 'pgb_t' || :t::text, 'harbor.intent.created', 'harbor_intent', :intent_id::text, 'allowed', 'agent', 'agent_pgbench', 'pgbench', jsonb_build_object('amount_cents', 1250, 'currency', 'usd'));
INSERT INTO "AuditEvent" (id, "tenantId", "eventType", resource, "resourceId", decision, "actorType", "actorId", "requestId", details) VALUES ('aud_' || gen_random_uuid(), 'pgb_t' || :t::text, 'harbor.funding.succeeded', 'harbor_intent', :intent_id::text, 'allowed', 'agent', 'agent_pgbench', 'pgbench', jsonb_build_object('from', 'created', 'to', 'funded'));
UPDATE "HarborIntent" SET state = 'funded', "fundingAttempts" = 1, "updatedAt" = now() WHERE id = :row_id::text AND state = 'created';
COMMIT;
`;

const CHECKOUT_FUNCTION = `
\\set t random(1, :tenants)
SELECT pgb_checkout('pgb_t' || :t::text, 1250);
`;

const READ = `
SELECT k.id, k."secretHash", k."revokedAt", k."expiresAt", t.id AS tenant, t.environment, t."organizationId", o.name FROM "ApiKey" k JOIN "Tenant" t ON t.id = k."tenantId" JOIN "Organization" o ON o.id = t."organizationId" WHERE k.id = 'pgb_key';
SELECT id, "intentId", state, "amountCents", currency, "createdAt" FROM "HarborIntent" WHERE "tenantId" = 'pgb_t1' ORDER BY "createdAt" DESC, id DESC LIMIT 20;
`;

export type PgbenchWork = 'checkout-statements' | 'checkout-function' | 'read';
const SCRIPTS: Record<PgbenchWork, string> = { 'checkout-statements': CHECKOUT_STATEMENTS, 'checkout-function': CHECKOUT_FUNCTION, read: READ };

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

export const pgbenchAvailable = () =>
  new Promise<boolean>((resolve) => {
    const child = spawn('pgbench', ['--version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });

/** A scratch database on `serverUrl` with the gateway's schema and the anchor's functions and rows. */
export async function pgbenchDatabase(serverUrl: string, tenants = 64) {
  const name = `paybond_pgbench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const migrations = path.join(root, 'prisma/migrations');
  for (const dir of fs.readdirSync(migrations).filter((d) => fs.existsSync(path.join(migrations, d, 'migration.sql'))).sort()) {
    await client.query(fs.readFileSync(path.join(migrations, dir, 'migration.sql'), 'utf8'));
  }
  await client.query(setupSql(tenants));
  await client.end();
  const scripts = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-pgbench-'));
  for (const [work, sql] of Object.entries(SCRIPTS)) fs.writeFileSync(path.join(scripts, `${work}.sql`), sql);
  const connection = ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres'), name];
  return {
    url: url.toString(),
    /** Run one workload: `clients` connections, `seconds` after a 2 s warm-up; tenant drawn from 1…`tenants`. */
    async run(work: PgbenchWork, options: { clients: number; seconds: number; tenants?: number }): Promise<PgbenchResult> {
      const base = ['-n', '-M', 'prepared', '-c', String(options.clients), '-j', '2', '-D', `tenants=${options.tenants ?? 1}`, '-D', 'principal=agent:pgbench', '-D', 'payee=did:web:vendor.example', '-f', path.join(scripts, `${work}.sql`)];
      await run([...base, '-T', '2', ...connection]);
      const logs = fs.mkdtempSync(path.join(scripts, 'log-'));
      const out = await run([...base, '-T', String(options.seconds), '-l', '--log-prefix', path.join(logs, 'tx'), ...connection]);
      const latencies: number[] = [];
      for (const file of fs.readdirSync(logs)) {
        for (const line of fs.readFileSync(path.join(logs, file), 'utf8').split('\n')) {
          const fields = line.split(' ');
          if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
        }
      }
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
      const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
      const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
      return { tps, p50: pct(50), p99: pct(99), transactions: latencies.length, failed };
    },
    async dispose() {
      fs.rmSync(scripts, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export { tenantId as pgbenchTenant };
