/** P4 baseline: a bare SHA-256 chain over the same canonical event bytes, in node:crypto. */
import { createHash } from 'node:crypto';
import { GENESIS_HASH, ledgerEventBody as eventBody } from '../src/evidence/ledger-format.ts';
import { syntheticEvent } from './ledger-events.ts';

const n = Number(process.env.EVENTS ?? 1_000_000);
const bodies = Array.from({ length: n }, (_, i) => Buffer.from(eventBody(syntheticEvent(i + 1)), 'utf8'));
const started = performance.now();
let prev = Buffer.from(GENESIS_HASH, 'hex');
for (const body of bodies) prev = createHash('sha256').update(prev).update(body).digest();
const ms = performance.now() - started;
console.log(JSON.stringify({ events: n, ms, eventsPerSecond: n / (ms / 1000), head: prev.toString('hex') }));
process.exit(0);
