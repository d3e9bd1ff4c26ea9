import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArtifact, verifyPortfolio, verifyReceipt } from '../../src/areas/signal/model/artifacts.ts';
import { bucketHash } from '../../src/kernel/audit/redact.ts';
import { expectError, gql, gqlOk, rest } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg, type TestUser } from '../helpers/factories.ts';
import { enc, get, review, runIntent, signalGateway } from './flows.ts';

/** Every Signal route: success, and its failure modes (credential, tenant, role, input, rate limit). */
let env: Awaited<ReturnType<typeof signalGateway>>;
let other: TestOrg;
let reader: TestUser;
let reviewer: TestUser;
const OP = 'did:example:operator-one';
const FOREIGN = 'did:example:other-tenant-operator';
const op = (suffix: string, did = OP) => `/signal/v1/operators/${enc(did)}/${suffix}`;
const PER_OPERATOR = ['reputation', 'explanation', 'trend', 'review-status', 'score-model-versions'].map((s) => (did: string) => (s === 'reputation' ? `/reputation/${enc(did)}` : op(s, did)));

beforeAll(async () => {
  env = await signalGateway();
  for (let i = 0; i < 3; i++) await runIntent(env.gw, env.actor, { payeeDid: OP, amountCents: 2000 });
  await runIntent(env.gw, env.actor, { payeeDid: OP, pass: false });
  other = await createOrg(env.gw, 'Other Org');
  const { harborActor } = await import('../helpers/harbor.ts');
  const otherActor = await harborActor(env.gw, other);
  await runIntent(env.gw, otherActor, { payeeDid: FOREIGN });
  reader = await addMember(env.gw, env.org, 'read_only');
  reviewer = await addMember(env.gw, env.org, 'read_only', ['signal.review']);
});
afterAll(() => env.gw.close());

describe('reads', () => {
  it('reputation, explanation, trend, score-model-versions for a scored operator', async () => {
    const receipt = await get(env.gw, env.org, `/reputation/${enc(OP)}`);
    expect(receipt.body.receipt).toMatchObject({ operator_did: OP, receipt_version: '4', metrics: { terminal_intents: 4, refunded: 1, released: 3 } });
    const trend = await get(env.gw, env.org, `${op('trend')}?limit=3`);
    expect(trend.body).toMatchObject({ tenant_id: env.actor.tenantId, operator_did: OP, score_version: '1.0' });
    expect(trend.body.items.map((i: { receipt_version: string }) => i.receipt_version)).toEqual(['4', '3', '2']);
    const older = await get(env.gw, env.org, `${op('trend')}?limit=3&cursor=${trend.body.next_cursor}`);
    expect(older.body.items.map((i: { receipt_version: string }) => i.receipt_version)).toEqual(['1']);
    expect(older.body.next_cursor).toBeNull();
    const versions = await get(env.gw, env.org, op('score-model-versions'));
    expect(versions.body.items).toEqual([expect.objectContaining({ score_version: '1.0', status: 'primary', snapshot_count: 4, latest_score: receipt.body.receipt.score })]);
    const explanation = await get(env.gw, env.org, op('explanation'));
    expect(explanation.body).toMatchObject({ kind: 'paybond.signal.explanation', operator_did: OP, basis: 'previous_snapshot', reason_codes_added: ['REFUND_RATE_GT_2000BPS', 'PREDICATE_FAILURES_7D'] });
  });

  it('overview, fraud-signals, portfolio, fairness, keys', async () => {
    const overview = await get(env.gw, env.org, '/signal/v1/overview');
    expect(overview.body).toMatchObject({ operator_count: 1, operators: [expect.objectContaining({ operator_did: OP, review_state: 'none', fraud_level: 'none', receipt_version: '4' })] });
    const signals = await get(env.gw, env.org, '/signal/v1/fraud-signals');
    expect(signals.body).toMatchObject({ signals_affect_score: false, operators: [], release_gate_config: { mode: 'review_only' } });
    const fairness = await get(env.gw, env.org, '/signal/v1/fairness');
    expect(fairness.body).toMatchObject({ protected_attributes_available: false, demographic_parity_claimed: false, fraud_signals_affect_score: false, min_cohort_size: 10 });
    expect(fairness.body.cohorts.every((c: { suppressed: boolean }) => c.suppressed)).toBe(true);
    // Keys are public: a verifier needs no credential.
    const keys = await rest(env.gw, 'GET', '/signal/v1/keys');
    expect(keys.body.keys).toEqual([{ key_id: env.gw.runtime.keys.signalSigning.keyId, public_key_hex: env.gw.runtime.keys.signalSigning.publicKeyHex, algorithm: 'Ed25519', status: 'active' }]);
  });

  it('shadow readiness is for tenant admins; with no shadow version it is not ready', async () => {
    const res = await get(env.gw, env.org, '/signal/v1/shadow-readiness', env.org.admin.token.sandbox);
    expect(res.body).toMatchObject({ primary_version: '1.0', shadow_version: 'none', ready: false, reasons: expect.arrayContaining(['no_shadow_version']) });
    expectError(await get(env.gw, env.org, '/signal/v1/shadow-readiness'), 403, 'forbidden');
    expectError(await get(env.gw, env.org, '/signal/v1/shadow-readiness', reader.token.sandbox), 403, 'forbidden');
  });
});

describe('signed artifacts verify offline and fail after a one-byte change', () => {
  it('receipt, explanation and portfolio from their response bytes', async () => {
    const trusted = [env.gw.runtime.keys.signalSigning.publicKeyHex];
    const raw = async (path: string) => (await env.gw.app.fetch(`http://gateway${path}`, { headers: { authorization: `Bearer ${env.org.apiKey.sandbox}` } })).text();
    const receiptText = JSON.stringify(JSON.parse(await raw(`/reputation/${enc(OP)}`)).receipt);
    for (const [text, verify] of [
      [receiptText, (a: unknown) => verifyReceipt(a, trusted)],
      [await raw(op('explanation')), (a: unknown) => verifyArtifact(a, { trustedPublicKeysHex: trusted, expectedKind: 'paybond.signal.explanation' })],
      [await raw('/signal/v1/portfolio/signed-export'), (a: unknown) => verifyPortfolio(a, trusted)],
    ] as const) {
      expect(verify(JSON.parse(text))).toMatchObject({ ok: true });
      // One byte of the score, then one byte of the signature.
      const score = text.replace(/"score":(\d)/, (_m, d: string) => `"score":${(Number(d) + 1) % 10}`);
      expect(score).not.toBe(text);
      expect(verify(JSON.parse(score))).toMatchObject({ ok: false, code: 'digest_mismatch' });
      const signature = text.replace(/"signature_hex":"(.)/, (_m, c: string) => `"signature_hex":"${c === '0' ? '1' : '0'}`);
      expect(verify(JSON.parse(signature))).toMatchObject({ ok: false, code: 'signature_invalid' });
    }
    // A key that is not published is refused even when the signature is sound.
    expect(verifyReceipt(JSON.parse(receiptText), ['00'.repeat(32)])).toMatchObject({ ok: false, code: 'untrusted_key' });
  });
});

describe('tenant scope', () => {
  it('another tenant’s operator is 404 on every per-operator route and absent from tenant-wide ones', async () => {
    for (const path of PER_OPERATOR) {
      expectError(await get(env.gw, env.org, path(FOREIGN)), 404, 'not_found');
      expect((await get(env.gw, other, path(FOREIGN))).status, path(FOREIGN)).toBe(200);
    }
    expectError(await review(env.gw, env.org, FOREIGN, { event_type: 'review_open_requested', summary: 'x' }), 404, 'not_found');
    for (const path of ['/signal/v1/overview', '/signal/v1/review-queue?state=all', '/signal/v1/portfolio/signed-export', '/signal/v1/fraud-signals']) {
      expect(JSON.stringify((await get(env.gw, env.org, path)).body)).not.toContain(FOREIGN);
    }
  });

  it('x-tenant-id must match the credential (401)', async () => {
    expectError(await rest(env.gw, 'GET', `/reputation/${enc(OP)}`, undefined, { token: env.org.apiKey.sandbox, headers: { 'x-tenant-id': other.tenants.sandbox } }), 401, 'tenant_mismatch');
    expectError(await rest(env.gw, 'GET', `/reputation/${enc(OP)}`), 401, 'unauthenticated');
  });
});

describe('bad input', () => {
  it('400 for a non-DID, an unknown score_version and malformed paging', async () => {
    expectError(await get(env.gw, env.org, `/reputation/${enc('not-a-did')}`), 400, 'invalid_request');
    expectError(await get(env.gw, env.org, `/reputation/${enc('did:example:bad\u0001char')}`), 400, 'invalid_request');
    expectError(await get(env.gw, env.org, '/signal/v1/overview?score_version=2.0'), 400, 'invalid_request');
    expectError(await get(env.gw, env.org, `${op('trend')}?cursor=abc`), 400, 'invalid_request');
    expectError(await get(env.gw, env.org, '/audit?limit=0'), 400, 'invalid_request');
    expectError(await get(env.gw, env.org, '/signal/v1/review-queue?state=pending'), 400, 'invalid_review_event');
  });

  it('review events: unknown type, outcome without a review_outcome, missing summary', async () => {
    expectError(await review(env.gw, env.org, OP, { event_type: 'escalate', summary: 'x' }), 400, 'invalid_review_event');
    expectError(await review(env.gw, env.org, OP, { event_type: 'review_outcome_recorded', summary: 'x' }), 400, 'review_outcome_required');
    expectError(await review(env.gw, env.org, OP, { event_type: 'review_open_requested' }), 400, 'invalid_request');
    expectError(await rest(env.gw, 'PUT', '/signal/v1/fraud/release-gate', { mode: 'hold_everything' }, { token: env.org.admin.token.sandbox }), 400, 'invalid_request');
  });
});

describe('review roles and limits', () => {
  it('outcomes need tenant_admin or signal.review; requests need write access or signal.review', async () => {
    expectError(await review(env.gw, env.org, OP, { event_type: 'confirmed_risk', summary: 'x' }, env.org.apiKey.sandbox), 403, 'forbidden');
    expectError(await review(env.gw, env.org, OP, { event_type: 'false_positive', summary: 'x' }, reader.token.sandbox), 403, 'forbidden');
    expectError(await review(env.gw, env.org, OP, { event_type: 'review_open_requested', summary: 'x' }, reader.token.sandbox), 403, 'forbidden');
    expect((await review(env.gw, env.org, OP, { event_type: 'review_open_requested', summary: 'support ticket 42' }, env.org.apiKey.sandbox)).status).toBe(202);
    const label = await review(env.gw, env.org, OP, { event_type: 'confirmed_risk', summary: 'chargebacks confirmed' }, reviewer.token.sandbox);
    expect(label.status).toBe(202);
    expect(label.body).toMatchObject({ recorded_event_type: 'review_outcome_recorded', review_outcome: 'confirmed_risk', accepted: true });
    expectError(await rest(env.gw, 'PUT', '/signal/v1/fraud/release-gate', { mode: 'review_only' }, { token: reader.token.sandbox }), 403, 'forbidden');
  });

  it('the review log is provenance: GET /audit filters by the operator’s keyed hash and never shows the DID', async () => {
    const page = await get(env.gw, env.org, `/audit?operator_did=${enc(OP)}&limit=2`);
    expect(page.body).toMatchObject({ tenant_id: env.actor.tenantId, limit: 2, offset: 0, next_offset: 2 });
    // The outcome closed the case: its status change is audited with it (same instant on this clock).
    type Item = { event_type: string; resource: string; details: Record<string, unknown> };
    const byType = Object.fromEntries(page.body.items.map((i: Item) => [i.event_type, i])) as Record<string, Item>;
    expect(Object.keys(byType).sort()).toEqual(['signal.review.review_outcome_recorded', 'signal.review_status.changed']);
    expect(byType['signal.review_status.changed']).toMatchObject({ resource: 'signal_review_event', details: { review_status: 'closed', previous_review_status: 'open' } });
    expect(byType['signal.review.review_outcome_recorded']!.details.operator_did).toBe(bucketHash(env.gw.runtime.keys.hmacSecret, OP));
    expect(JSON.stringify(page.body)).not.toContain(OP);
    const all = await get(env.gw, env.org, `/audit?operator_did=${enc(OP)}&limit=200`);
    expect(all.body.items.filter((i: { event_type: string }) => i.event_type === 'signal.snapshot.recorded')).toHaveLength(4);
    expect((await get(env.gw, env.org, `/audit?operator_did=${enc('did:example:nobody')}`)).body.items).toEqual([]);
    expect((await get(env.gw, other, `/audit?operator_did=${enc(OP)}`)).body.items).toEqual([]);
  });

  it('review events count against the signal_review_event group (standard 429 envelope)', async () => {
    const policy = await rest(env.gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { signal_review_event: { limit: 1, window_seconds: 3600 } } }, { token: env.org.admin.token.sandbox });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    expect((await review(env.gw, env.org, OP, { event_type: 'review_open_requested', summary: 'one' })).status).toBe(202);
    const limited = await review(env.gw, env.org, OP, { event_type: 'review_open_requested', summary: 'two' });
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toBeTruthy();
  });
});

describe('GraphQL twins', () => {
  it('queries return the REST bodies field for field (camelCase)', async () => {
    const data = await gqlOk(
      env.gw,
      `query($did: String!) {
        signalReputation(operatorDid: $did) { schemaVersion updatedAt receipt }
        signalOperatorReviewStatus(operatorDid: $did) { tenantId operatorDid reviewState reviewOutcome maturityTier fraudAssessment }
        signalPortfolioSummary { tenantId operatorCount totalReceiptedVolumeCents }
        signalOperatorExplanation(operatorDid: $did) { kind messageDigestHex artifact }
        signalFraudMetrics(window: "7d") { window reviewedCount releaseGateMetricsReliability }
      }`,
      { did: OP },
      { token: env.org.apiKey.sandbox },
    );
    const rest = await get(env.gw, env.org, `/reputation/${enc(OP)}`);
    // The last request reopened the case the confirmed_risk label had closed.
    expect(data.signalReputation).toEqual({ schemaVersion: 1, updatedAt: rest.body.updated_at, receipt: rest.body.receipt });
    expect(data.signalOperatorReviewStatus).toMatchObject({ tenantId: env.actor.tenantId, operatorDid: OP, reviewState: 'open', reviewOutcome: 'none', maturityTier: 'shallow' });
    expect(data.signalPortfolioSummary).toEqual({ tenantId: env.actor.tenantId, operatorCount: 1, totalReceiptedVolumeCents: 11000 });
    expect(data.signalOperatorExplanation.messageDigestHex).toBe(data.signalOperatorExplanation.artifact.message_digest_hex);
    expect(data.signalFraudMetrics).toMatchObject({ window: '7d', reviewedCount: 1 });
  });

  it('another tenant’s operator is null; mutations report refusals as userErrors', async () => {
    const data = await gqlOk(env.gw, `query($did: String!) { signalReputation(operatorDid: $did) { receipt } }`, { did: FOREIGN }, { token: env.org.apiKey.sandbox });
    expect(data.signalReputation).toBeNull();
    const refused = await gqlOk(
      env.gw,
      `mutation { signalReleaseGateSet(input: { mode: critical_hold }) { config userErrors { code details } } }`,
      {},
      { token: env.org.admin.token.sandbox },
    );
    expect(refused.signalReleaseGateSet).toMatchObject({ config: null, userErrors: [{ code: 'RELEASE_GATE_UNRELIABLE', details: { reasons: expect.arrayContaining(['no_critical_signal_family_reliable']) } }] });
    const denied = await gql(env.gw, `{ signalShadowReadiness { ready } }`, {}, { token: env.org.apiKey.sandbox });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
