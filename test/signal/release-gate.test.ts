import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, rest } from '../helpers/gateway.ts';
import { signedEvidence } from '../helpers/harbor.ts';
import { enc, get, review as reviewEvent, runIntent, signalGateway, write } from './flows.ts';

/**
 * The release gate holds real money: under critical_hold a critical signal of a reliable family
 * keeps a release in settlement_pending with settlement.held in the ledger; refunds always go
 * through; a false_positive label clears the hold.
 */
let env: Awaited<ReturnType<typeof signalGateway>>;
const SPIKY = 'did:example:spiky';
const LABELED = 'did:example:labeled';
let spikyIntents: string[] = [];

const review = (did: string, body: Record<string, unknown>) => reviewEvent(env.gw, env.org, did, body);
const setMode = (mode: string, token = env.org.admin.token.sandbox) => rest(env.gw, 'PUT', '/signal/v1/fraud/release-gate', { mode }, { token });
const ledgerTypes = async (intentId: string) =>
  (await env.gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: env.actor.tenantId, intentId }, orderBy: { seq: 'asc' } })).map((e) => e.type);
const state = async (intentId: string) => (await env.gw.runtime.db.harborIntent.findFirstOrThrow({ where: { tenantId: env.actor.tenantId, intentId } })).state;

beforeAll(async () => {
  env = await signalGateway();
  // Ten intents to one payee within an hour, from nothing before: VELOCITY_SPIKE at z = 10, critical.
  for (let i = 0; i < 10; i++) spikyIntents.push(await runIntent(env.gw, env.actor, { payeeDid: SPIKY, until: i < 2 ? 'funded' : 'created' }));
  await runIntent(env.gw, env.actor, { payeeDid: LABELED, until: 'created' });
});
afterAll(() => env.gw.close());

describe('critical_hold needs reliable labels', () => {
  it('refuses critical_hold with 409 release_gate_unreliable and the reasons while labels are missing (audited)', async () => {
    const res = await setMode('critical_hold');
    expectError(res, 409, 'release_gate_unreliable');
    expect(res.body.error.details.reasons).toEqual(expect.arrayContaining(['reviewed_count_below_minimum', 'no_critical_signal_family_reliable']));
    const audit = await env.gw.runtime.db.auditEvent.findFirstOrThrow({ where: { tenantId: env.actor.tenantId, eventType: 'signal.release_gate.mode_changed' } });
    expect(audit.decision).toBe('denied');
    expect((await get(env.gw, env.org, '/signal/v1/fraud/release-gate')).body.config).toEqual({ mode: 'review_only' });
  });

  it('the spike is visible, critical, score-neutral, and opened a review case by itself', async () => {
    const status = await get(env.gw, env.org, `/signal/v1/operators/${enc(SPIKY)}/review-status`);
    expect(status.status).toBe(200);
    const spike = status.body.fraud_signals.find((s: { code: string }) => s.code === 'VELOCITY_SPIKE');
    expect(spike).toMatchObject({ severity: 'critical', affects_score: false, evidence_count: 10 });
    expect(status.body).toMatchObject({ review_state: 'open', anomaly_flagged: true, fraud_assessment: { level: 'critical', review_priority: 'urgent' } });
    expect(status.body.release_gate).toMatchObject({ mode: 'review_only', enforcement_enabled: false, release_allowed: true, hold_required: false, hold_candidate: true, critical_signal_codes: ['VELOCITY_SPIKE'] });
    // The same operator leads the queue and the tenant-wide signal list; no score exists yet (nothing settled).
    const queue = await get(env.gw, env.org, '/signal/v1/review-queue');
    expect(queue.body.items.map((i: { operator_did: string }) => i.operator_did)).toEqual([SPIKY]);
    expect(queue.body.items[0]).toMatchObject({ review_state: 'open', anomaly_flagged: true, review_reasons: ['FRAUD_REVIEW', 'VELOCITY_SPIKE'], last_receipt_message_digest_hex: '' });
    const signals = await get(env.gw, env.org, '/signal/v1/fraud-signals');
    expect(signals.body.operators).toEqual([expect.objectContaining({ operator_did: SPIKY, fraud_assessment: expect.objectContaining({ level: 'critical' }) })]);
    expect((await get(env.gw, env.org, `/reputation/${enc(SPIKY)}`)).status).toBe(404);
    const flagged = await env.gw.runtime.db.auditEvent.count({ where: { tenantId: env.actor.tenantId, eventType: 'signal.review.signal_flagged' } });
    expect(flagged).toBe(1);
  });

  it('accepts critical_hold once the tenant and the VELOCITY_SPIKE family have reliable labels', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await review(LABELED, { event_type: 'confirmed_risk', signal_code: 'VELOCITY_SPIKE', summary: `label ${i}` });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    const res = await setMode('critical_hold');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ tenant_id: env.actor.tenantId, config: { mode: 'critical_hold' }, metrics_reliability: { reliable: true, reviewed_count: 10, labeled_outcome_count: 10 } });
    const family = res.body.metrics_reliability.signal_families.find((f: { signal_family: string }) => f.signal_family === 'VELOCITY_SPIKE');
    expect(family).toMatchObject({ reliable: true, labeled_outcome_count: 10 });
  });
});

describe('a critical hold blocks a release, never a refund', () => {
  it('holds the release: 409 fraud_release_hold with blocking_signal_codes, settlement_pending, settlement.held in ledger and audit', async () => {
    const [intentId] = spikyIntents;
    await write(env.gw, env.actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(env.actor, intentId!, { status: 'completed' }, [], SPIKY));
    const res = await write(env.gw, env.actor, `/harbor/intents/${intentId}/settlement/confirm`, {}, { idempotencyKey: 'confirm-held-1' });
    expectError(res, 409, 'fraud_release_hold');
    expect(res.body.error.details).toMatchObject({ action: 'release', blocking_signal_codes: ['VELOCITY_SPIKE'] });
    expect(res.body.error.details.blocking_evidence_refs).toContain(intentId);
    expect(await state(intentId!)).toBe('settlement_pending');
    expect(await ledgerTypes(intentId!)).toEqual(['intent.created', 'funding.succeeded', 'evidence.submitted', 'settlement.requested', 'settlement.held']);
    const audit = await env.gw.runtime.db.auditEvent.findFirstOrThrow({ where: { tenantId: env.actor.tenantId, eventType: 'signal.release.held', resourceId: intentId } });
    expect(audit).toMatchObject({ decision: 'denied', resource: 'harbor_intent' });
    // Confirming again re-decides (and holds again): no release while the signal stands.
    expectError(await write(env.gw, env.actor, `/harbor/intents/${intentId}/settlement/confirm`), 409, 'fraud_release_hold');
    expect(await state(intentId!)).toBe('settlement_pending');
  });

  it('never holds a refund: failing evidence refunds the principal at once', async () => {
    const intentId = spikyIntents[1]!;
    await write(env.gw, env.actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(env.actor, intentId, { status: 'failed' }, [], SPIKY));
    const res = await write(env.gw, env.actor, `/harbor/intents/${intentId}/settlement/confirm`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ state: 'refunded', settlement_action: 'refund' });
    expect(await ledgerTypes(intentId)).not.toContain('settlement.held');
  });

  it('the review status shows the enforced decision', async () => {
    const status = await get(env.gw, env.org, `/signal/v1/operators/${enc(SPIKY)}/review-status`);
    expect(status.body.release_gate).toMatchObject({ mode: 'critical_hold', enforcement_enabled: true, metrics_reliable: true, release_allowed: false, hold_required: true, blocking_signal_codes: ['VELOCITY_SPIKE'] });
  });

  it('a false_positive label clears the hold, and the Idempotency-Key of the held attempt did not store the 409', async () => {
    const label = await review(SPIKY, { event_type: 'review_outcome_recorded', review_outcome: 'false_positive', signal_code: 'VELOCITY_SPIKE', summary: 'a launch campaign' });
    expect(label.status).toBe(202);
    const [intentId] = spikyIntents;
    const res = await write(env.gw, env.actor, `/harbor/intents/${intentId}/settlement/confirm`, {}, { idempotencyKey: 'confirm-held-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(res.body).toMatchObject({ state: 'settled', settlement_action: 'release' });
    expect((await ledgerTypes(intentId!)).slice(-3)).toEqual(['settlement.held', 'settlement.released', 'settlement.settled']);
    const status = await get(env.gw, env.org, `/signal/v1/operators/${enc(SPIKY)}/review-status`);
    expect(status.body.release_gate).toMatchObject({ hold_required: false, release_allowed: true, cleared_signal_codes: ['VELOCITY_SPIKE'] });
    expect(status.body).toMatchObject({ review_state: 'closed', review_outcome: 'false_positive' });
  });

  it('review_only reports would-be holds in the metrics without holding', async () => {
    expect((await setMode('review_only')).status).toBe(200);
    const metrics = await get(env.gw, env.org, '/signal/v1/fraud/metrics?window=24h');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatchObject({ critical_signal_count: 1, release_gate_config: { mode: 'review_only' }, false_positive_count: 1, confirmed_risk_count: 10 });
    // The held attempts count as candidates; the release after the false_positive label does not.
    expect(metrics.body.critical_signal_hold_candidate_count).toBe(2);
  });

  it('only tenant admins change the mode', async () => {
    expectError(await setMode('review_only', env.org.apiKey.sandbox), 403, 'forbidden');
  });
});
