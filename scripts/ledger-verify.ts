/**
 * npm run ledger:verify [-- --tenant <tenant_id>]
 *
 * Recomputes every tenant's hash-chained ledger (or one tenant's) inside the database and prints
 * one JSON report per tenant; exits 1 when any chain is broken. Uses the bare database driver, no
 * Prisma and no server, so it runs small next to a 1M-event ledger. Honours DATA_DIR /
 * DATABASE_URL; the embedded database cannot be checked while a gateway holds it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { openSql, StartupError } from '../src/db.ts';
import { verifyLedgerChain } from '../src/areas/harbor/ledger.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { tenant: { type: 'string' } } });
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
    if (!tenants.length) console.error('No ledgers yet.');
    return broken ? 1 : 0;
  } finally {
    await sql.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError || error instanceof StartupError ? error.message : error);
    process.exit(2);
  },
);
