/**
 * npm run ledger:verify [-- --tenant <tenant_id>]
 *
 * Recomputes every tenant's hash-chained ledger (or one tenant's) inside the database and prints
 * one JSON report per tenant; exits 1 when any chain is broken. Uses the bare database driver, no
 * Prisma and no server, so it runs small next to a 1M-event ledger. Honours DATA_DIR /
 * DATABASE_URL; the embedded database cannot be checked while a gateway holds it.
 */
import { loadConfig } from '../src/config.ts';
import { openSql } from '../src/db.ts';
import { verifyLedgerChain } from '../src/areas/harbor/ledger.ts';
import { progress, runCommand } from './cli.ts';

runCommand({
  usage: `usage: npm run ledger:verify [-- --tenant <tenant id>]

Recomputes each tenant's hash chain in the database and prints one JSON report per tenant.
Exit 0: every chain intact; 1: a chain is broken (its first break is reported); 2: usage, or the\ndatabase could not be read (e.g. a running gateway holds the embedded database).`,
  errorExit: 2,
  options: { tenant: { type: 'string' } },
  async run({ values }) {
    progress('opening the database');
    const sql = await openSql(loadConfig());
    try {
      const tenants = values.tenant
        ? [values.tenant]
        : (await sql.query<{ tenantId: string }>('SELECT "tenantId" FROM "LedgerHead" ORDER BY "tenantId"', [])).map((r) => r.tenantId);
      let broken = 0;
      for (const tenantId of tenants) {
        const report = await verifyLedgerChain(sql.query, tenantId);
        if (!report.ok) broken++;
        console.log(JSON.stringify(report));
      }
      if (!tenants.length) process.stderr.write('No ledgers yet.\n');
      return broken ? 1 : 0;
    } finally {
      await sql.close();
    }
  },
});
