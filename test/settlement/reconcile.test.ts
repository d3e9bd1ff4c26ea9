import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';
import type { Json, StripeStub } from '../helpers/stripe-stub.ts';
import { deliver, linkAccount, paymentIntentFor, piEvent, stripeGateway } from './stripe-env.ts';

let gw: TestGateway;
let stub: StripeStub;
beforeAll(async () => {
  ({ gw, stub } = await stripeGateway());
});
afterAll(async () => {
  await gw.close();
  await stub.close();
});

const RECONCILE = '/v1/stripe/reconcile';
const reconcile = (org: TestOrg, token = org.admin.token.live) => rest(gw, 'POST', RECONCILE, {}, { token });

async function liveTenant(): Promise<{ org: TestOrg; actor: HarborActor }> {
  const org = await createOrg(gw);
  await linkAccount(gw, stub, org);
  await rest(gw, 'PUT', '/v1/admin/settlement/config', { allowed_rails: ['stripe_connect'] }, { token: org.admin.token.live });
  return { org, actor: await harborActor(gw, org, 'live') };
}

/** A live intent whose PaymentIntent Stripe told us about (processing), waiting for funding. */
async function pendingIntent(org: TestOrg, actor: HarborActor, amountCents = 5000): Promise<{ intentId: string; pi: Json }> {
  const created = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { amountCents }));
  const intentId = created.body.intent_id as string;
  await harborWrite(gw, actor, `/harbor/intents/${intentId}/fund`, {});
  const pi = paymentIntentFor(stub, org, intentId, 'processing', { amount: amountCents });
  expect((await deliver(gw, piEvent('payment_intent.processing', pi))).body.status).toBe('processed');
  return { intentId, pi };
}

const stateOf = async (org: TestOrg, intentId: string) =>
  (await gw.runtime.db.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId: org.tenants.live, intentId } } })).state;

describe('POST /v1/stripe/reconcile', () => {
  it('advances what Stripe decided, reports mismatches and errors, and is idempotent', async () => {
    const { org, actor } = await liveTenant();
    const funded = await pendingIntent(org, actor);
    const failed = await pendingIntent(org, actor);
    const waiting = await pendingIntent(org, actor);
    const gone = await pendingIntent(org, actor);
    stub.setPaymentIntent({ ...funded.pi, status: 'requires_capture', amount_capturable: 5000 });
    stub.setPaymentIntent({ ...failed.pi, status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: 'card_declined' } });
    stub.setPaymentIntent({ ...gone.pi, currency: 'eur' });

    const first = await reconcile(org);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ checked: 4, unchanged: 1, remaining: 0, errors: [] });
    expect(first.body.changed).toEqual(
      expect.arrayContaining([
        { intent_id: funded.intentId, payment_intent_id: funded.pi.id, from: 'funding_pending', to: 'funded', actions: ['fund_succeeded'], outcome: 'authorized' },
        { intent_id: failed.intentId, payment_intent_id: failed.pi.id, from: 'funding_pending', to: 'funding_failed', actions: ['fund_failed'], outcome: 'failed' },
      ]),
    );
    expect(first.body.mismatches).toEqual([{ intent_id: gone.intentId, payment_intent_id: gone.pi.id, state: 'funding_pending', reason: 'currency_mismatch', outcome: 'processing' }]);
    expect(await stateOf(org, funded.intentId)).toBe('funded');
    expect(await stateOf(org, waiting.intentId)).toBe('funding_pending');
    const ledger = await gw.runtime.db.ledgerEvent.findFirstOrThrow({ where: { tenantId: org.tenants.live, intentId: funded.intentId, type: 'funding.succeeded' } });
    expect(ledger.actorId).toBe(org.admin.userId);

    // Nothing new happened at Stripe: a second run changes nothing.
    const second = await reconcile(org);
    expect(second.body).toMatchObject({ changed: [], checked: 3, errors: [] });
    expect(second.body.mismatches).toHaveLength(1);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.live, eventType: 'stripe.reconcile' } });
    expect(audit).toHaveLength(2);
    expect(audit.map((a) => (a.details as { changed: number }).changed).sort()).toEqual([0, 2]);

    // A PaymentIntent Stripe no longer has is an error for that intent only.
    stub.remove(String(waiting.pi.id));
    const third = await reconcile(org);
    expect(third.body.errors).toEqual([{ intent_id: waiting.intentId, payment_intent_id: waiting.pi.id, code: 'stripe_payment_intent_not_found' }]);
  });

  it('a refused Stripe key stops the run with 502; an outage is per intent', async () => {
    const { org, actor } = await liveTenant();
    await pendingIntent(org, actor);
    stub.failNext(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    expectError(await reconcile(org), 502, 'stripe_authentication_failed');
    stub.failNext(503, { times: 3 });
    expect((await reconcile(org)).body.errors.map((e: { code: string }) => e.code)).toEqual(['stripe_unavailable']);
  });

  it('sandbox tenants have nothing at Stripe; live without a key is 422; admins only; rate limited', async () => {
    const { org } = await liveTenant();
    expect((await reconcile(org, org.admin.token.sandbox)).body).toEqual({ checked: 0, changed: [], unchanged: 0, mismatches: [], errors: [], remaining: 0 });
    const reader = await addMember(gw, org, 'read_only');
    expectError(await reconcile(org, reader.token.live), 403, 'forbidden');
    expectError(await reconcile(org, org.apiKey.live), 403, 'forbidden');
    expectError(await rest(gw, 'POST', RECONCILE, {}), 401, 'unauthenticated');
    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { stripe_reconcile: { limit: 1, window_seconds: 3600 } } }, { token: org.admin.token.live });
    expect((await reconcile(org)).status).toBe(200);
    expectError(await reconcile(org), 429, 'rate_limited');

    const plain = await createTestGateway();
    try {
      const other = await createOrg(plain);
      expectError(await rest(plain, 'POST', RECONCILE, {}, { token: other.admin.token.live }), 422, 'stripe_not_configured');
    } finally {
      await plain.close();
    }
  });

  it('another tenant’s intents are never touched; GraphQL twin', async () => {
    const mine = await liveTenant();
    const theirs = await liveTenant();
    const intent = await pendingIntent(theirs.org, theirs.actor);
    stub.setPaymentIntent({ ...intent.pi, status: 'requires_capture' });
    const res = await gql(gw, 'mutation { stripeReconcile { checked changed { intentId } userErrors { code } } }', {}, { token: mine.org.admin.token.live });
    expect(res.data.stripeReconcile).toEqual({ checked: 0, changed: [], userErrors: [] });
    expect(await stateOf(theirs.org, intent.intentId)).toBe('funding_pending');
  });
});
