import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { fundedIntent, harborActor, harborWrite, signedEvidence, type HarborActor } from '../helpers/harbor.ts';
import { verifyBundle } from '../../src/evidence/index.ts';
import { readZip } from '../evidence/zip-tools.ts';
import { download, exportAndWait, writeTemp } from './helpers.ts';

/*
 * The settlement and Signal categories of an export: settlement configuration versions, Stripe
 * PaymentIntent links and simulator events; Signal's signed score snapshots and review log —
 * filtered like the rest, redacted in the standard tier, as stored in the extended one.
 */

let gw: TestGateway;
let org: TestOrg;
let actor: HarborActor;
const OPERATOR_A = 'did:example:operator-a';
const OPERATOR_B = 'did:example:operator-b';
let intentA: string;
let intentB: string;

/** An intent paid to `payeeDid`, released through the sandbox simulator (settled: Signal scores it). */
async function settledIntent(payeeDid: string): Promise<string> {
  const { intentId } = await fundedIntent(gw, actor, { payeeDid });
  const evidence = await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed' }, [], payeeDid));
  expect(evidence.status, JSON.stringify(evidence.body)).toBe(200);
  const release = await rest(gw, 'POST', '/v1/sandbox/simulator/events', { event_type: 'release', intent_id: intentId }, { token: org.apiKey.sandbox });
  expect(release.status, JSON.stringify(release.body)).toBe(201);
  return intentId;
}

beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  actor = await harborActor(gw, org);
  const config = await rest(gw, 'PUT', '/v1/admin/settlement/config', { allowed_rails: ['stripe_connect', 'stripe_ach_debit'], default_rail: 'stripe_connect' }, { token: org.admin.token.sandbox });
  expect(config.status, JSON.stringify(config.body)).toBe(200);
  intentA = await settledIntent(OPERATOR_A);
  intentB = await settledIntent(OPERATOR_B);
  // A PaymentIntent link as the settlement area records it from Stripe's metadata.
  const now = gw.clock.now();
  for (const [intentId, pi] of [[intentA, `pi_${randomUUID().slice(0, 8)}`], [intentB, `pi_${randomUUID().slice(0, 8)}`]] as const) {
    await gw.runtime.db.stripePaymentIntentLink.create({ data: { paymentIntentId: pi, tenantId: actor.tenantId, intentId, livemode: false, lastStatus: 'succeeded', createdAt: now, checkedAt: now } });
  }
  const reviewed = await rest(
    gw,
    'POST',
    `/signal/v1/operators/${encodeURIComponent(OPERATOR_A)}/review-events`,
    { event_type: 'review_outcome_recorded', review_outcome: 'needs_more_evidence', signal_code: 'DISPUTE_CLUSTER', intent_id: intentA, summary: 'asked for delivery proof' },
    { token: org.admin.token.sandbox },
  );
  expect(reviewed.status, JSON.stringify(reviewed.body)).toBeLessThan(300);
});
afterAll(() => gw.close());

const jsonl = (data: Buffer | undefined) =>
  (data ?? Buffer.alloc(0))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);

async function bundleOf(token: string, body: Record<string, unknown>) {
  const { job, created } = await exportAndWait(gw, token, body);
  expect(job.status, job.error ?? '').toBe('ready');
  const bytes = (await download(gw, job.id, created.download_token!)).bytes;
  const file = writeTemp('bundle.zip', bytes);
  const report = await verifyBundle(file, { publicKey: new Uint8Array(Buffer.from(gw.runtime.keys.signing.publicKeyHex, 'hex')) });
  expect(report.failures).toEqual([]);
  return new Map((await readZip(file)).map((e) => [e.name, e.data]));
}

describe('settlement and Signal artifacts', () => {
  it('exports settlement records and Signal provenance, redacted in the standard tier with times kept as RFC 3339', async () => {
    const snapshots = await gw.runtime.db.signalScoreSnapshot.findMany({ where: { tenantId: actor.tenantId } });
    expect(snapshots.length).toBeGreaterThan(0);
    const files = await bundleOf(actor.token, { filter: { includes: ['settlement', 'signal', 'harbor'] } });
    expect([...files.keys()].filter((n) => /^(settlement|stripe|simulator|signal)/.test(n)).sort()).toEqual([
      'settlement_config_versions.jsonl',
      'signal_review_events.jsonl',
      'signal_score_snapshots.jsonl',
      'simulator_events.jsonl',
      'stripe_payment_intents.jsonl',
    ]);
    const [config] = jsonl(files.get('settlement_config_versions.jsonl'));
    expect(config).toMatchObject({ version: 1, allowed_rails: ['stripe_ach_debit', 'stripe_connect'], default_rail: 'stripe_connect' });
    expect(config!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(jsonl(files.get('stripe_payment_intents.jsonl')).map((r) => r.intent_id).sort()).toEqual([intentA, intentB].sort());
    expect(jsonl(files.get('simulator_events.jsonl')).map((r) => [r.intent_id, r.kind]).sort()).toEqual([[intentA, 'release'], [intentB, 'release']].sort());

    const scored = jsonl(files.get('signal_score_snapshots.jsonl'));
    expect(scored).toHaveLength(snapshots.length);
    for (const row of scored) {
      expect(row.operator_did).toMatch(/^h:[0-9a-f]{24}$/);
      expect(row.created_at).toMatch(/Z$/);
      expect(JSON.stringify(row)).not.toContain('did:example');
    }
    const reviews = jsonl(files.get('signal_review_events.jsonl'));
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ intent_id: intentA, signal_code: 'DISPUTE_CLUSTER', operator_did: expect.stringMatching(/^h:/) });
    expect(reviews[0]!.recorded_at).toMatch(/Z$/);
    // Redaction used to turn every timestamp of a redacted row into {}.
    for (const intent of jsonl(files.get('intents.jsonl'))) {
      expect(intent.created_at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
      expect(intent.state_history.length).toBeGreaterThan(3);
    }
  });

  it('gives tenant admins the signed Signal receipts as stored in the extended tier', async () => {
    const files = await bundleOf(org.admin.token.sandbox, { filter: { includes: ['signal'] }, disclosure_tier: 'extended' });
    const stored = await gw.runtime.db.signalScoreSnapshot.findMany({ where: { tenantId: actor.tenantId } });
    const rows = jsonl(files.get('signal_score_snapshots.jsonl'));
    expect(rows.map((r) => r.id).sort()).toEqual(stored.map((s) => s.id).sort());
    for (const row of rows) {
      const snapshot = stored.find((s) => s.id === row.id)!;
      expect(row.receipt).toEqual(snapshot.receipt);
      expect(row.explanation).toEqual(snapshot.explanation);
      expect(row.operator_did).toBe(snapshot.operatorDid);
    }
  });

  it('narrows by intent_id, operator_did and case_id; configuration history is kept whatever the filter', async () => {
    const one = await bundleOf(org.admin.token.sandbox, { filter: { intent_id: intentA, includes: ['settlement', 'signal'] }, disclosure_tier: 'extended' });
    expect(jsonl(one.get('stripe_payment_intents.jsonl')).map((r) => r.intent_id)).toEqual([intentA]);
    expect(jsonl(one.get('simulator_events.jsonl')).map((r) => r.intent_id)).toEqual([intentA]);
    const scored = jsonl(one.get('signal_score_snapshots.jsonl'));
    expect(scored.length).toBeGreaterThan(0);
    expect(new Set(scored.map((r) => r.operator_did))).toEqual(new Set([OPERATOR_A]));
    expect(jsonl(one.get('settlement_config_versions.jsonl'))).toHaveLength(1);

    const byOperator = await bundleOf(org.admin.token.sandbox, { filter: { operator_did: OPERATOR_B, includes: ['settlement', 'signal'] }, disclosure_tier: 'extended' });
    expect(jsonl(byOperator.get('stripe_payment_intents.jsonl')).map((r) => r.intent_id)).toEqual([intentB]);
    expect(new Set(jsonl(byOperator.get('signal_score_snapshots.jsonl')).map((r) => r.operator_did))).toEqual(new Set([OPERATOR_B]));
    expect(jsonl(byOperator.get('signal_review_events.jsonl'))).toEqual([]);

    const byCase = await bundleOf(actor.token, { filter: { case_id: 'case_unrelated', includes: ['settlement', 'signal'] } });
    for (const name of ['stripe_payment_intents.jsonl', 'simulator_events.jsonl', 'signal_score_snapshots.jsonl', 'signal_review_events.jsonl']) expect(jsonl(byCase.get(name)), name).toEqual([]);
    expect(jsonl(byCase.get('settlement_config_versions.jsonl'))).toHaveLength(1);

    const later = await bundleOf(actor.token, { filter: { time_start: '2099-01-01T00:00:00Z', includes: ['signal', 'settlement'] } });
    expect(jsonl(later.get('signal_score_snapshots.jsonl'))).toEqual([]);
    expect(jsonl(later.get('simulator_events.jsonl'))).toEqual([]);
  });
});
