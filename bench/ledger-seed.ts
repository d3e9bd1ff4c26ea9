/**
 * Write `EVENTS` synthetic hash-chained events for one tenant into the bench ledger database
 * (PGlite dir LEDGER_DIR, or DATABASE_URL), once: a database that already has them is reused.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { LEDGER_TENANT, syntheticChain } from './ledger-events.ts';

const n = Number(process.env.EVENTS ?? 1_000_000);
const { db, handle, close } = await openDatabase({ ...loadConfig(), MIGRATE_ON_START: true, migrateOnStart: true }, createLogger('warn'));
const COLUMNS = '"id","tenantId","seq","intentId","type","amountCents","currency","actorType","actorId","payloadDigest","occurredAt","prevHash","hash"';
const existing = await db.ledgerEvent.count({ where: { tenantId: LEDGER_TENANT } });
if (existing !== n) {
  await db.$executeRawUnsafe('ALTER TABLE "LedgerEvent" DISABLE TRIGGER "LedgerEvent_append_only"');
  await db.$executeRawUnsafe(`DELETE FROM "LedgerEvent" WHERE "tenantId" = '${LEDGER_TENANT}'`);
  await db.$executeRawUnsafe('ALTER TABLE "LedgerEvent" ENABLE TRIGGER "LedgerEvent_append_only"');
  // Every value is from the ledger's safe charset, so CSV needs no quoting.
  let rows: string[] = [];
  let last = { seq: 0, hash: '' };
  const flush = async () => {
    if (!rows.length) return;
    const csv = `${rows.join('\n')}\n`;
    if (handle.pglite) {
      await handle.pglite.query(`COPY "LedgerEvent" (${COLUMNS}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob([csv]) });
    } else {
      const values = rows.map((r) => `(${r.split(',').map((v, i) => (i === 2 || i === 5 ? v : `'${v}'`)).join(',')})`);
      await db.$executeRawUnsafe(`INSERT INTO "LedgerEvent" (${COLUMNS}) VALUES ${values.join(',')}`);
    }
    rows = [];
  };
  for (const e of syntheticChain(n)) {
    rows.push([`led_bench_${e.seq}`, e.tenantId, e.seq, e.intentId, e.type, e.amountCents, e.currency, e.actorType, e.actorId, e.payloadDigest, e.occurredAt, e.prevHash, e.hash].join(','));
    last = { seq: e.seq, hash: e.hash };
    if (rows.length === (handle.pglite ? 100_000 : 10_000)) await flush();
  }
  await flush();
  await db.$executeRawUnsafe(
    `INSERT INTO "LedgerHead" ("tenantId","seq","hash") VALUES ('${LEDGER_TENANT}', ${last.seq}, '${last.hash}') ON CONFLICT ("tenantId") DO UPDATE SET "seq" = EXCLUDED."seq", "hash" = EXCLUDED."hash"`,
  );
}
await close();
console.log(JSON.stringify({ events: n, reused: existing === n }));
process.exit(0);
