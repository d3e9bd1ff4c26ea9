/** P4: the gateway's continuity check (as `npm run ledger:verify` runs it) over the bench ledger; events/s and peak RSS. */
import { loadConfig } from '../src/config.ts';
import { openSql } from '../src/db.ts';
import { verifyLedgerChain } from '../src/domain/harbor/ledger.ts';
import { LEDGER_TENANT } from './ledger-events.ts';

const sql = await openSql(loadConfig());
const rssBefore = process.resourceUsage().maxRSS / 1024;
const started = performance.now();
const report = await verifyLedgerChain(sql.query, LEDGER_TENANT);
const ms = performance.now() - started;
await sql.close();
console.log(JSON.stringify({ ok: report.ok, events: report.eventsChecked, ms, eventsPerSecond: report.eventsChecked / (ms / 1000), peakRssMb: process.resourceUsage().maxRSS / 1024, rssBeforeMb: rssBefore }));
process.exit(0);
