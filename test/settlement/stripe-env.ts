import { expect } from 'vitest';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import type { TestOrg } from '../helpers/factories.ts';
import { accountFixture, paymentIntentFixture, signStripeWebhook, startStripeStub, stripeEvent, type Json, type StripeStub } from '../helpers/stripe-stub.ts';

export const WEBHOOK_SECRET = 'whsec_settlementTestSecret123';

/** A gateway whose Stripe is the local stand-in, with a live-mode platform key. */
export async function stripeGateway(options: { keyMode?: 'live' | 'test'; env?: Record<string, string> } = {}): Promise<{ gw: TestGateway; stub: StripeStub }> {
  const stub = await startStripeStub({ secretKey: `sk_${options.keyMode ?? 'live'}_${'stub'.repeat(6)}` });
  const gw = await createTestGateway({
    env: { STRIPE_SECRET_KEY: stub.secretKey, STRIPE_API_BASE_URL: stub.apiBaseUrl, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, ...options.env },
  });
  return { gw, stub };
}

/** Link a Connect account (as the stand-in serves it) to the org's live tenant. */
export async function linkAccount(gw: TestGateway, stub: StripeStub, org: TestOrg, account: Parameters<typeof accountFixture>[0] = {}): Promise<string> {
  const fixture = accountFixture({ achDebit: 'active', ...account });
  stub.setAccount(fixture);
  const res = await rest(gw, 'POST', '/v1/admin/settlement/stripe-destination', { account_id: fixture.id }, { token: org.admin.token.live });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return String(fixture.id);
}

/** Deliver a webhook the way Stripe does: the exact bytes, signed. */
export function deliver(gw: TestGateway, event: Json, options: { secret?: string; timestamp?: number; signature?: string | null } = {}) {
  const raw = JSON.stringify(event);
  const signature = options.signature === undefined ? signStripeWebhook(raw, options.secret ?? WEBHOOK_SECRET, options.timestamp) : options.signature;
  return rest(gw, 'POST', '/v1/stripe/webhooks', undefined, {
    raw,
    headers: { 'content-type': 'application/json; charset=utf-8', ...(signature === null ? {} : { 'stripe-signature': signature }) },
  });
}

/** A live PaymentIntent paying for an intent (the metadata the platform sets), served by the stand-in. */
export function paymentIntentFor(stub: StripeStub, org: TestOrg, intentId: string, status: string, extra: Partial<Parameters<typeof paymentIntentFixture>[0]> = {}): Json {
  const pi = paymentIntentFixture({
    status,
    amount: 5000,
    captureMethod: 'manual',
    livemode: true,
    metadata: { paybond_tenant_id: org.tenants.live, paybond_intent_id: intentId },
    ...extra,
  });
  stub.setPaymentIntent(pi);
  return pi;
}

export const piEvent = (type: string, pi: Json, options: Parameters<typeof stripeEvent>[2] = {}) => stripeEvent(type, pi, { livemode: true, ...options });
