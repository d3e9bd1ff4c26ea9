/**
 * What Signal costs the Harbor write path, in process on a fresh embedded database:
 *   - per ledger event: appendLedgerEvent with the Signal observer folding the event (payee is a
 *     DID) vs the same events of an intent Signal does not score (payee not a DID: one read);
 *   - the release-gate check in confirmSettlement: review_only (one row) and critical_hold over a
 *     payee with `SIGNAL_BENCH_INTENTS` intents (default 300) in the last 7 days.
 * Run: node --import tsx bench/signal.ts   (prints JSON; numbers in docs/signal.md are from it)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { createRuntime } from '../src/runtime.ts';
import { ManualClock } from '../src/clock.ts';
import { appendLedgerEvent } from '../src/areas/harbor/ledger.ts';
import { createOrganization } from '../src/areas/identity/organizations.ts';
import { releaseHold } from '../src/areas/signal/hold.ts';
import '../src/areas/index.ts';
import type { ServiceContext } from '../src/context.ts';

const N = Number(process.env.SIGNAL_BENCH_INTENTS ?? 300);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signal-bench-'));
const clock = new ManualClock(Date.now() - 7 * 86_400_000);
const runtime = await createRuntime(loadConfig({ ...process.env, DATA_DIR: dir, LOG_LEVEL: 'silent', NODE_ENV: 'test' }), { clock });
const ctx: ServiceContext = { runtime, principal: null, requestId: 'bench' };
const { tenants } = await runtime.db.$transaction((tx) => createOrganization(tx, { name: 'bench', admin: { email: `bench-${randomUUID()}@example.test`, passwordHash: 'x' } }, clock.now()));
const tenantId = tenants.sandbox;

const LIFECYCLE: Array<[string, Record<string, unknown>]> = [
  ['funding.succeeded', {}],
  ['evidence.submitted', { from: 'funded', to: 'evidence_submitted', payload_digest: '0'.repeat(64), artifacts_digest: '0'.repeat(64), predicate_passed: true }],
  ['settlement.requested', { action: 'release' }],
  ['settlement.released', { action: 'release' }],
  ['settlement.settled', { action: 'release' }],
];
const timings: Record<string, number[]> = { scored: [], unscored: [] };

async function intentLifecycle(payeeDid: string, bucket: 'scored' | 'unscored') {
  const intentId = randomUUID();
  const rowId = `int_${randomUUID()}`;
  const now = clock.now();
  await runtime.db.harborIntent.create({
    data: {
      id: rowId, tenantId, intentId, state: 'settled', principalDid: 'did:example:principal', payeeDid, amountCents: 5000, currency: 'usd', settlementRail: 'stripe_connect',
      settlementMode: 'simulated', deadline: new Date(now.getTime() + 86_400_000), budget: {}, evidenceSchema: {}, predicate: { version: 1, root: { op: 'true' } }, source: 'principal_signed', createdAt: now, updatedAt: now,
    },
  });
  const events: Array<[string, Record<string, unknown>]> = [['intent.created', { principal_did: 'did:example:principal', payee_did: payeeDid, settlement_rail: 'stripe_connect', source: 'principal_signed', predicate: { version: 1, root: { op: 'true' } } }], ...LIFECYCLE];
  for (const [type, payload] of events) {
    clock.advance(1);
    const start = process.hrtime.bigint();
    await runtime.db.$transaction((tx) => appendLedgerEvent(tx, ctx, { tenantId, intentId, type, amountCents: 5000, currency: 'usd', payload }));
    timings[bucket]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (type === 'evidence.submitted') {
      await runtime.db.intentEvidence.create({
        data: { id: `evd_${randomUUID()}`, tenantId, intentRowId: rowId, payload: {}, payloadDigest: '0'.repeat(64), artifacts: [], artifactsDigest: '0'.repeat(64), payeeDid, submittedAt: clock.now().toISOString(), predicatePassed: true, schemaValid: true, createdAt: clock.now() },
      });
    }
  }
  return intentId;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median_ms: +s[Math.floor(s.length / 2)]!.toFixed(2), p95_ms: +s[Math.floor(s.length * 0.95)]!.toFixed(2) };
};

// Interleaved so both sides see the same database growth; spread over 7 days (20 min apart).
for (let i = 0; i < N; i++) {
  await intentLifecycle('did:example:bench-operator', 'scored');
  await intentLifecycle('not-a-did', 'unscored');
  clock.advance(Math.floor((7 * 86_400 - 60) / N) - 12);
}
const intent = { tenantId, intentId: randomUUID(), payeeDid: 'did:example:bench-operator', amountCents: 5000, currency: 'usd' };
const hold = async (rounds: number) => {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    // Rolled back: only the decision is measured (no settlement.held is appended without a critical signal).
    await runtime.db.$transaction(async (tx) => {
      await releaseHold(tx, ctx, intent, 'release');
    });
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return stats(out);
};
const reviewOnly = await hold(50);
await runtime.db.signalReleaseGate.create({ data: { tenantId, mode: 'critical_hold', updatedAt: clock.now() } });
const criticalHold = await hold(20);
const snapshots = await runtime.db.signalScoreSnapshot.count({ where: { tenantId } });
console.log(
  JSON.stringify(
    {
      backend: runtime.dbKind,
      intents_per_side: N,
      ledger_event_with_signal_fold: stats(timings.scored!),
      ledger_event_unscored_payee: stats(timings.unscored!),
      snapshots_written: snapshots,
      release_check_review_only: reviewOnly,
      release_check_critical_hold: { ...criticalHold, payee_events_in_window: N * 6 },
    },
    null,
    2,
  ),
);
await runtime.close();
fs.rmSync(dir, { recursive: true, force: true });
