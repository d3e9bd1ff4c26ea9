import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedEvidence, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';
import { accountFixture, paymentIntentFixture, signStripeWebhook, stripeEvent, type StripeStub } from '../helpers/stripe-stub.ts';
import { deliver, linkAccount, paymentIntentFor, piEvent, stripeGateway, WEBHOOK_SECRET } from './stripe-env.ts';

let gw: TestGateway;
let stub: StripeStub;
beforeAll(async () => {
  ({ gw, stub } = await stripeGateway());
});
afterAll(async () => {
  await gw.close();
  await stub.close();
});

/** A live tenant settling on stripe_connect to a ready destination, with a Harbor actor. */
async function liveTenant(): Promise<{ org: TestOrg; actor: HarborActor; accountId: string }> {
  const org = await createOrg(gw);
  const accountId = await linkAccount(gw, stub, org);
  const put = await rest(gw, 'PUT', '/v1/admin/settlement/config', { allowed_rails: ['stripe_connect', 'stripe_ach_debit'] }, { token: org.admin.token.live });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return { org, actor: await harborActor(gw, org, 'live'), accountId };
}

async function liveIntent(actor: HarborActor, rail = 'stripe_connect') {
  const res = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { amountCents: 5000, settlementRail: rail }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.intent_id as string;
}

const intentRow = (org: TestOrg, intentId: string) => gw.runtime.db.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId: org.tenants.live, intentId } } });
const ledger = async (org: TestOrg, intentId: string) =>
  (await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: org.tenants.live, intentId }, orderBy: { seq: 'asc' } })).map((l) => l.type);

describe('a live Stripe intent, moved by Stripe’s events', () => {
  it('funding and release come from Stripe; the gateway never simulates live money', async () => {
    const { org, actor, accountId } = await liveTenant();
    const intentId = await liveIntent(actor);
    const fund = await harborWrite(gw, actor, `/harbor/intents/${intentId}/fund`, {});
    expect(fund.status).toBe(202);
    expect(fund.body).toMatchObject({ state: 'funding_pending', settlement_mode: 'live', funded: false, funding: { status: 'awaiting_provider', settlement_mode: 'live' } });

    // The payer authorised the destination charge: Stripe says requires_capture.
    const pi = paymentIntentFor(stub, org, intentId, 'requires_capture', { destination: accountId });
    const authorized = await deliver(gw, piEvent('payment_intent.amount_capturable_updated', pi));
    expect(authorized.status).toBe(200);
    expect(authorized.body).toMatchObject({ received: true, status: 'processed', replayed: false, error_code: null });
    expect((await intentRow(org, intentId)).state).toBe('funded');
    const funding = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: org.tenants.live, intentId, type: 'funding.succeeded' } });
    expect(funding.actorType).toBe('system');

    // Polling fund now hands out the capability token.
    const poll = await harborWrite(gw, actor, `/harbor/intents/${intentId}/fund`, {});
    expect(poll.status).toBe(200);
    expect(poll.body).toMatchObject({ funded: true, state: 'funded' });
    const allowed = await rest(gw, 'POST', '/verify', { intent_id: intentId, token: poll.body.capability_token, operation: 'vendor.lookup', requested_spend_cents: 100 }, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(allowed.body.allow).toBe(true);

    await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed' }));
    // A live settlement waits for the rail: it stays pending.
    const confirm = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {});
    expect(confirm.body).toMatchObject({ state: 'settlement_pending', settlement_action: 'release' });
    // An outcome Stripe has not decided (an unknown status) leaves it pending.
    const odd = { ...pi, status: 'requires_reauthorization' };
    stub.setPaymentIntent(odd);
    expect((await deliver(gw, piEvent('payment_intent.requires_action', odd))).body.status).toBe('processed');
    expect((await intentRow(org, intentId)).state).toBe('settlement_pending');
    // Captured: released to the payee.
    const captured = { ...pi, status: 'succeeded', amount_received: 5000, amount_capturable: 0 };
    stub.setPaymentIntent(captured);
    const event = piEvent('payment_intent.succeeded', captured);
    expect((await deliver(gw, event)).body.status).toBe('processed');
    expect((await intentRow(org, intentId)).state).toBe('released');
    expect(await ledger(org, intentId)).toEqual([
      'intent.created',
      'funding.pending',
      'funding.succeeded',
      'spend.reserved',
      'evidence.submitted',
      'settlement.requested',
      'settlement.released',
    ]);

    // The same event again: counted, not applied.
    const replay = await deliver(gw, event);
    expect(replay.body).toMatchObject({ status: 'processed', replayed: true });
    expect((await ledger(org, intentId)).length).toBe(7);
    expect((await gw.runtime.db.stripeWebhookEvent.findUniqueOrThrow({ where: { id: String(event.id) } })).replayCount).toBe(1);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.live, resourceId: intentId, eventType: 'harbor.settlement.released' } });
    expect(audit).toHaveLength(1);
  });

  it('ACH: processing for days, then succeeded (funded); a refund settles a refund request', async () => {
    const { org, actor } = await liveTenant();
    const intentId = await liveIntent(actor, 'stripe_ach_debit');
    const pi = paymentIntentFor(stub, org, intentId, 'processing', { captureMethod: 'automatic' });
    expect((await deliver(gw, piEvent('payment_intent.processing', pi))).body.status).toBe('processed');
    expect((await intentRow(org, intentId)).state).toBe('funding_pending');
    stub.setPaymentIntent({ ...pi, status: 'succeeded' });
    await deliver(gw, piEvent('payment_intent.succeeded', { ...pi, status: 'succeeded' }));
    expect((await intentRow(org, intentId)).state).toBe('funded');
    // Evidence fails the predicate: the settlement is a refund.
    await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'failed' }));
    expect((await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {})).body).toMatchObject({ state: 'settlement_pending', settlement_action: 'refund' });
    const charge = { id: 'py_refund1', object: 'charge', payment_intent: pi.id, refunded: true, amount_refunded: 5000, amount: 5000 };
    stub.setCharge(charge);
    stub.setPaymentIntent({ ...pi, status: 'succeeded', latest_charge: 'py_refund1' });
    expect((await deliver(gw, piEvent('charge.refunded', charge))).body.status).toBe('processed');
    expect((await intentRow(org, intentId)).state).toBe('refunded');
  });

  it('disputes open and close on the intent', async () => {
    const { org, actor } = await liveTenant();
    const intentId = await liveIntent(actor);
    const pi = paymentIntentFor(stub, org, intentId, 'requires_capture');
    await deliver(gw, piEvent('payment_intent.amount_capturable_updated', pi));
    const dispute = { id: 'dp_1', object: 'dispute', status: 'needs_response', payment_intent: pi.id, charge: 'ch_1' };
    expect((await deliver(gw, piEvent('charge.dispute.created', dispute))).body.status).toBe('processed');
    expect((await intentRow(org, intentId)).state).toBe('disputed');
    expect((await deliver(gw, piEvent('charge.dispute.closed', { ...dispute, status: 'won' }))).body.status).toBe('processed');
    expect(await intentRow(org, intentId)).toMatchObject({ state: 'resolved', disputeOutcome: 'release' });
  });

  it('what cannot be applied is kept as a failed row for triage; nothing moves', async () => {
    const { org, actor, accountId } = await liveTenant();
    const intentId = await liveIntent(actor);
    const wrongAmount = paymentIntentFor(stub, org, intentId, 'requires_capture', { amount: 4999 });
    const failed = await deliver(gw, piEvent('payment_intent.amount_capturable_updated', wrongAmount));
    expect(failed.body).toMatchObject({ status: 'failed', error_code: 'amount_mismatch', replayed: false });
    // Later snapshots of the same PaymentIntent.
    const same = { id: String(wrongAmount.id) };
    const otherDestination = paymentIntentFor(stub, org, intentId, 'requires_capture', { ...same, destination: 'acct_someoneElse1' });
    expect((await deliver(gw, piEvent('payment_intent.amount_capturable_updated', otherDestination))).body.error_code).toBe('destination_mismatch');
    const testMode = paymentIntentFor(stub, org, intentId, 'requires_capture', { ...same, destination: accountId });
    expect((await deliver(gw, piEvent('payment_intent.amount_capturable_updated', testMode, { livemode: false }))).body.error_code).toBe('stripe_event_mode_mismatch');
    const unknown = paymentIntentFixture({ status: 'succeeded', livemode: true, metadata: { paybond_tenant_id: org.tenants.live, paybond_intent_id: '00000000-0000-4000-8000-000000000000' } });
    expect((await deliver(gw, piEvent('payment_intent.succeeded', unknown))).body.error_code).toBe('stripe_intent_unknown');
    // A second PaymentIntent for an intent that already has one.
    const second = paymentIntentFor(stub, org, intentId, 'requires_capture');
    expect((await deliver(gw, piEvent('payment_intent.amount_capturable_updated', second))).body.error_code).toBe('stripe_intent_already_linked');
    expect((await intentRow(org, intentId)).state).toBe('created');
    expect(await ledger(org, intentId)).toEqual(['intent.created']);

    // Not a Paybond payment, and event types settlement does not use: ignored, not failed.
    expect((await deliver(gw, piEvent('payment_intent.succeeded', paymentIntentFixture({ status: 'succeeded', livemode: true })))).body.status).toBe('ignored');
    expect((await deliver(gw, stripeEvent('customer.created', { id: 'cus_1', object: 'customer' }, { livemode: true }))).body.status).toBe('ignored');

    const failures = await rest(gw, 'GET', '/v1/stripe/webhook-failures?limit=3', undefined, { token: org.admin.token.live });
    expect(failures.status).toBe(200);
    expect(failures.body.failures.map((f: { error_code: string }) => f.error_code)).toEqual(['stripe_intent_already_linked', 'stripe_intent_unknown', 'stripe_event_mode_mismatch']);
    expect(failures.body.failures[2]).toMatchObject({ status: 'failed', intent_id: intentId, type: 'payment_intent.amount_capturable_updated', replay_count: 0 });
    expect(failures.body.next_cursor).toBeTruthy();
    const rest2 = await rest(gw, 'GET', `/v1/stripe/webhook-failures?limit=3&cursor=${encodeURIComponent(failures.body.next_cursor)}`, undefined, { token: org.admin.token.live });
    expect(rest2.body.failures.map((f: { error_code: string }) => f.error_code)).toEqual(['destination_mismatch', 'amount_mismatch']);
    expect(rest2.body.next_cursor).toBeNull();
    // Reconcile picks it up once Stripe agrees with the intent.
    stub.setPaymentIntent({ ...wrongAmount, amount: 5000 });
    expect((await rest(gw, 'POST', '/v1/stripe/reconcile', {}, { token: org.admin.token.live })).body.changed).toEqual([
      expect.objectContaining({ intent_id: intentId, from: 'created', to: 'funded', actions: ['fund_succeeded'] }),
    ]);
  });

  it('account and capability events refresh the destination', async () => {
    const { org, accountId } = await liveTenant();
    const res = await deliver(gw, stripeEvent('capability.updated', { id: 'us_bank_account_ach_payments', object: 'capability', account: accountId, status: 'inactive' }, { livemode: true, account: accountId }));
    expect(res.body.status).toBe('processed');
    let config = await rest(gw, 'GET', '/v1/admin/settlement/config', undefined, { token: org.apiKey.live });
    expect(config.body.stripe_destination).toMatchObject({ ach_debit_capability: 'inactive', stripe_ach_debit: { ready: false } });
    await deliver(gw, stripeEvent('account.updated', accountFixture({ id: accountId, payoutsEnabled: false, achDebit: 'active' }), { livemode: true, account: accountId }));
    config = await rest(gw, 'GET', '/v1/admin/settlement/config', undefined, { token: org.apiKey.live });
    expect(config.body.stripe_destination).toMatchObject({ payouts_enabled: false, ach_debit_capability: 'active', stripe_connect: { ready: false, unmet: ['payouts_disabled'] } });
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.live, eventType: 'settlement.stripe_destination_refreshed' } });
    expect(audit.map((a) => a.actorType)).toEqual(['stripe', 'stripe']);
    expect((await deliver(gw, stripeEvent('account.updated', accountFixture({ id: 'acct_nobodys1' }), { livemode: true }))).body.status).toBe('ignored');
  });
});

describe('webhook signatures', () => {
  const body = () => piEvent('payment_intent.succeeded', paymentIntentFixture({ status: 'succeeded', livemode: true }));

  it('refuses unsigned, mis-signed, stale and future deliveries with 400 and stores nothing', async () => {
    const before = await gw.runtime.db.stripeWebhookEvent.count();
    expectError(await deliver(gw, body(), { signature: null }), 400, 'stripe_signature_missing');
    expectError(await deliver(gw, body(), { secret: 'whsec_somebodyElse' }), 400, 'stripe_signature_invalid');
    expectError(await deliver(gw, body(), { signature: 't=1,v1=deadbeef' }), 400, 'stripe_signature_invalid');
    const now = Math.floor(Date.now() / 1000);
    expectError(await deliver(gw, body(), { timestamp: now - 3600 }), 400, 'stripe_signature_expired');
    expectError(await deliver(gw, body(), { timestamp: now + 3600 }), 400, 'stripe_signature_from_future');
    const raw = JSON.stringify({ hello: 'world' });
    const notEvent = await rest(gw, 'POST', '/v1/stripe/webhooks', undefined, { raw, headers: { 'content-type': 'application/json', 'stripe-signature': signStripeWebhook(raw, WEBHOOK_SECRET) } });
    expectError(notEvent, 400, 'stripe_event_invalid');
    // A body altered after signing (re-serialised JSON) fails too.
    const event = body();
    const signature = signStripeWebhook(JSON.stringify(event), WEBHOOK_SECRET);
    const altered = await rest(gw, 'POST', '/v1/stripe/webhooks', undefined, { raw: JSON.stringify(event, null, 2), headers: { 'content-type': 'application/json', 'stripe-signature': signature } });
    expectError(altered, 400, 'stripe_signature_invalid');
    expect(await gw.runtime.db.stripeWebhookEvent.count()).toBe(before);
  });

  it('answers 503 while no webhook secret is configured', async () => {
    const plain = await createTestGateway();
    try {
      const raw = JSON.stringify(body());
      const res = await rest(plain, 'POST', '/v1/stripe/webhooks', undefined, { raw, headers: { 'content-type': 'application/json', 'stripe-signature': signStripeWebhook(raw, WEBHOOK_SECRET) } });
      expectError(res, 503, 'stripe_webhook_not_configured');
    } finally {
      await plain.close();
    }
  });

  it('concurrent deliveries of one event apply it once', async () => {
    const { org, actor } = await liveTenant();
    const intentId = await liveIntent(actor);
    const event = piEvent('payment_intent.amount_capturable_updated', paymentIntentFor(stub, org, intentId, 'requires_capture'));
    const results = await Promise.all(Array.from({ length: 5 }, () => deliver(gw, event)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results.filter((r) => r.body.replayed === false)).toHaveLength(1);
    expect((await ledger(org, intentId)).filter((t) => t === 'funding.succeeded')).toHaveLength(1);
    expect((await gw.runtime.db.stripeWebhookEvent.findUniqueOrThrow({ where: { id: String(event.id) } })).replayCount).toBe(4);
  });
});

describe('webhook health and failures', () => {
  it('counts received, processed, ignored, failed and replayed events per window, for the tenant only', async () => {
    const { org, actor } = await liveTenant();
    const intentId = await liveIntent(actor);
    const pi = paymentIntentFor(stub, org, intentId, 'requires_capture');
    const ok = piEvent('payment_intent.amount_capturable_updated', pi);
    await deliver(gw, ok);
    await deliver(gw, ok);
    // A later event for the same PaymentIntent that contradicts the intent.
    await deliver(gw, piEvent('payment_intent.amount_capturable_updated', paymentIntentFor(stub, org, intentId, 'requires_capture', { id: String(pi.id), amount: 1 })));
    const health = await rest(gw, 'GET', '/v1/stripe/webhook-health', undefined, { token: org.admin.token.live });
    expect(health.status).toBe(200);
    expect(health.body.configured).toBe(true);
    expect(health.body.last_event_at).toBeTruthy();
    expect(health.body.last_failure_at).toBeTruthy();
    expect(health.body.windows.map((w: { window: string }) => w.window)).toEqual(['1h', '24h', '7d']);
    for (const window of health.body.windows) expect(window).toMatchObject({ received: 2, processed: 1, ignored: 0, failed: 1, replayed: 1 });

    const reader = await addMember(gw, org, 'read_only');
    expect((await rest(gw, 'GET', '/v1/stripe/webhook-health', undefined, { token: reader.token.live })).status).toBe(200);
    expect((await rest(gw, 'GET', '/v1/stripe/webhook-failures', undefined, { token: reader.token.live })).body.failures).toHaveLength(1);
    const stranger = await createOrg(gw);
    const theirs = await rest(gw, 'GET', '/v1/stripe/webhook-health', undefined, { token: stranger.admin.token.live });
    expect(theirs.body.windows[0]).toMatchObject({ received: 0, failed: 0, replayed: 0 });
    expect(theirs.body.last_event_at).toBeNull();
    expect((await rest(gw, 'GET', '/v1/stripe/webhook-failures', undefined, { token: stranger.admin.token.live })).body.failures).toEqual([]);
    expectError(await rest(gw, 'GET', '/v1/stripe/webhook-health'), 401, 'unauthenticated');
    expectError(await rest(gw, 'GET', '/v1/stripe/webhook-failures?limit=0', undefined, { token: org.admin.token.live }), 400, 'invalid_request');

    const twin = await gql(gw, '{ stripeWebhookHealth { configured windows { window failed } } stripeWebhookFailures(first: 5) { edges { node { eventId errorCode status } } } }', {}, { token: org.admin.token.live });
    expect(twin.data.stripeWebhookHealth.windows[0]).toEqual({ window: '1h', failed: 1 });
    expect(twin.data.stripeWebhookFailures.edges[0].node).toMatchObject({ errorCode: 'amount_mismatch', status: 'failed' });
  });
});
