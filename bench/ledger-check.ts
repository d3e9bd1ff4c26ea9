/** P4: the gateway's continuity check (as `npm run ledger:verify` runs it) over the bench ledger; events/s and peak RSS. */
import { loadConfig } from '../src/config.ts';
import { openSql } from '../src/db.ts';
import { verifyLedgerChain } from '../src/areas/harbor/ledger.ts';
import { LEDGER_TENANT } from './ledger-events.ts';
import { peakRssMb } from './rss.ts';

const sql = await openSql(loadConfig());
// VmHWM, not resourceUsage().maxRSS: Linux carries ru_maxrss across exec, so that would report
// the bench harness's own peak at spawn time.
const rssBefore = peakRssMb(process.pid);
const started = performance.now();
const report = await verifyLedgerChain(sql.query, LEDGER_TENANT);
const ms = performance.now() - started;
await sql.close();
console.log(JSON.stringify({ ok: report.ok, events: report.eventsChecked, ms, eventsPerSecond: report.eventsChecked / (ms / 1000), peakRssMb: peakRssMb(process.pid), rssBeforeMb: rssBefore }));
process.exit(0);
