import { describe, expect, it } from 'vitest';
import { verifyStripeWebhook } from '../../src/areas/settlement/stripe.ts';
import { paymentIntentFixture, signStripeWebhook, stripeEvent } from '../helpers/stripe-stub.ts';

const SECRET = 'whsec_test_0123456789abcdefABCDEF';
const NOW = new Date('2026-11-30T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

function delivery(event: Record<string, unknown> = stripeEvent('payment_intent.succeeded', paymentIntentFixture({ status: 'succeeded' }), { created: NOW_S })) {
  const body = JSON.stringify(event);
  return { body, header: signStripeWebhook(body, SECRET, NOW_S), event };
}

describe('Stripe webhook verification', () => {
  it('accepts a delivery signed with the secret and returns the event envelope', () => {
    const { body, header, event } = delivery(stripeEvent('payment_intent.succeeded', paymentIntentFixture({ id: 'pi_1Ok', status: 'succeeded' }), { id: 'evt_1Ok', created: NOW_S, account: 'acct_1Conn' }));
    const result = verifyStripeWebhook(body, header, SECRET, { now: NOW });
    expect(result).toEqual({
      ok: true,
      event: {
        id: 'evt_1Ok',
        type: 'payment_intent.succeeded',
        livemode: false,
        created: NOW_S,
        account: 'acct_1Conn',
        api_version: event.api_version,
        object: (event.data as { object: unknown }).object,
      },
    });
  });

  it('accepts the raw body as bytes', () => {
    const { body, header } = delivery();
    expect(verifyStripeWebhook(new TextEncoder().encode(body), header, SECRET, { now: NOW }).ok).toBe(true);
  });

  it('refuses a body changed after signing (even re-serialised JSON)', () => {
    const { body, header } = delivery();
    const tampered = body.replace('"succeeded"', '"canceled"');
    expect(verifyStripeWebhook(tampered, header, SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_invalid' });
    const reserialised = JSON.stringify(JSON.parse(body), null, 2);
    expect(verifyStripeWebhook(reserialised, header, SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_invalid' });
  });

  it('refuses a signature made with another secret', () => {
    const { body } = delivery();
    const header = signStripeWebhook(body, 'whsec_another_secret', NOW_S);
    expect(verifyStripeWebhook(body, header, SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_invalid' });
  });

  it.each([
    ['no timestamp', (h: string) => h.replace(/t=\d+,/, '')],
    ['no v1 signature', (h: string) => h.replace(/,v1=.*/, '')],
    ['garbage', () => 'not-a-signature'],
    ['a v0 scheme only', (h: string) => h.replace('v1=', 'v0=')],
  ])('refuses a header with %s', (_label, mangle) => {
    const { body, header } = delivery();
    expect(verifyStripeWebhook(body, mangle(header), SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_invalid' });
  });

  it.each([null, undefined, ''])('a missing header (%j) is stripe_signature_missing', (header) => {
    const { body } = delivery();
    expect(verifyStripeWebhook(body, header, SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_missing' });
  });

  it('no configured secret is stripe_webhook_not_configured, before anything else is looked at', () => {
    const { body, header } = delivery();
    expect(verifyStripeWebhook(body, header, undefined, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_webhook_not_configured' });
    expect(verifyStripeWebhook(body, header, '', { now: NOW })).toMatchObject({ ok: false, code: 'stripe_webhook_not_configured' });
  });

  it('refuses a correctly signed delivery older than the tolerance, by our clock', () => {
    const { body } = delivery();
    const header = signStripeWebhook(body, SECRET, NOW_S - 301);
    expect(verifyStripeWebhook(body, header, SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_expired' });
    expect(verifyStripeWebhook(body, signStripeWebhook(body, SECRET, NOW_S - 300), SECRET, { now: NOW }).ok).toBe(true);
    expect(verifyStripeWebhook(body, header, SECRET, { now: NOW, toleranceSeconds: 600 }).ok).toBe(true);
  });

  it('refuses a correctly signed delivery dated beyond the tolerance in the future', () => {
    const { body } = delivery();
    expect(verifyStripeWebhook(body, signStripeWebhook(body, SECRET, NOW_S + 301), SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_signature_from_future' });
    expect(verifyStripeWebhook(body, signStripeWebhook(body, SECRET, NOW_S + 60), SECRET, { now: NOW }).ok).toBe(true);
  });

  it.each([
    ['not JSON', 'hello'],
    ['not an event object', JSON.stringify({ id: 'evt_1', object: 'charge', type: 'x', data: { object: {} } })],
    ['an id that is not an event id', JSON.stringify({ id: 'ch_1', object: 'event', type: 'x', data: { object: {} } })],
    ['no data.object', JSON.stringify({ id: 'evt_1', object: 'event', type: 'x', data: {} })],
    ['no type', JSON.stringify({ id: 'evt_1', object: 'event', data: { object: {} } })],
  ])('refuses a correctly signed body that is %s', (_label, body) => {
    expect(verifyStripeWebhook(body, signStripeWebhook(body, SECRET, NOW_S), SECRET, { now: NOW })).toMatchObject({ ok: false, code: 'stripe_event_invalid' });
  });

  it('reports livemode as the event states it', () => {
    const { body, header } = delivery(stripeEvent('account.updated', { id: 'acct_1' }, { livemode: true, created: NOW_S }));
    expect(verifyStripeWebhook(body, header, SECRET, { now: NOW })).toMatchObject({ ok: true, event: { livemode: true, account: null } });
  });
});
