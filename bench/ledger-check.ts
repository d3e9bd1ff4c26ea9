/** P4: the gateway's continuity check over the bench ledger; reports events/s and peak RSS. */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { verifyLedgerChain } from '../src/domain/harbor/ledger.ts';
import { LEDGER_TENANT } from './ledger-events.ts';

const { db, close } = await openDatabase(loadConfig(), createLogger('warn'));
const rssBefore = process.resourceUsage().maxRSS / 1024;
const started = performance.now();
const report = await verifyLedgerChain(db, LEDGER_TENANT);
const ms = performance.now() - started;
await close();
console.log(JSON.stringify({ ok: report.ok, events: report.eventsChecked, ms, eventsPerSecond: report.eventsChecked / (ms / 1000), peakRssMb: process.resourceUsage().maxRSS / 1024, rssBeforeMb: rssBefore }));
process.exit(0);
