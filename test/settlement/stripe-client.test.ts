import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createStripeClient,
  parseStripeApiBaseUrl,
  STRIPE_API_VERSION,
  StripeCallError,
  stripeKeyMode,
  type SettlementStripeClient,
} from '../../src/areas/settlement/stripe.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { accountFixture, chargeFixture, paymentIntentFixture, startStripeStub, type StripeStub } from '../helpers/stripe-stub.ts';

async function failure(promise: Promise<unknown>): Promise<StripeCallError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StripeCallError);
    return error as StripeCallError;
  }
  throw new Error('expected the call to fail');
}

describe('Stripe client against the local stand-in', () => {
  let stub: StripeStub;
  let client: SettlementStripeClient;

  beforeAll(async () => {
    stub = await startStripeStub();
    client = createStripeClient({ secretKey: stub.secretKey, apiBaseUrl: stub.apiBaseUrl, maxNetworkRetries: 0, timeoutMs: 5000 });
  });
  afterAll(() => stub.close());
  beforeEach(() => {
    stub.requests.length = 0;
  });

  it('reads a Connect account through the real SDK, pinned to the package API version', async () => {
    const account = accountFixture({ achDebit: 'active' });
    stub.setAccount(account);
    const state = await client.retrieveAccount(String(account.id));
    expect(state).toEqual({
      account_id: account.id,
      charges_enabled: true,
      payouts_enabled: true,
      details_submitted: true,
      ach_debit_capability: 'active',
      transfers_capability: 'active',
      card_payments_capability: 'active',
      disabled_reason: null,
      country: 'US',
      default_currency: 'usd',
      livemode: false,
    });
    expect(client.keyMode).toBe('test');
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]).toMatchObject({ method: 'GET', path: `/v1/accounts/${account.id}`, bearer: stub.secretKey, stripeVersion: STRIPE_API_VERSION });
    expect(stub.requests[0]!.userAgent).toMatch(/Stripe\/v1 NodeBindings/);
  });

  it.each([
    ['pending', { achDebit: 'pending' as const }, 'pending'],
    ['inactive', { achDebit: 'inactive' as const }, 'inactive'],
    ['absent', {}, 'not_requested'],
  ])('reports an ACH debit capability that is %s', async (_label, options, expected) => {
    const account = accountFixture(options);
    stub.setAccount(account);
    expect((await client.retrieveAccount(String(account.id))).ach_debit_capability).toBe(expected);
  });

  it('reports charges/payouts disabled and the disabled reason', async () => {
    const account = accountFixture({ chargesEnabled: false, payoutsEnabled: false, detailsSubmitted: false, disabledReason: 'requirements.past_due' });
    stub.setAccount(account);
    expect(await client.retrieveAccount(String(account.id))).toMatchObject({
      charges_enabled: false,
      payouts_enabled: false,
      details_submitted: false,
      disabled_reason: 'requirements.past_due',
    });
  });

  it('an account object that states its own livemode keeps it', async () => {
    const account = accountFixture({ livemode: true });
    stub.setAccount(account);
    expect((await client.retrieveAccount(String(account.id))).livemode).toBe(true);
  });

  it('an unknown account is stripe_account_not_found with Stripe request id', async () => {
    const error = await failure(client.retrieveAccount('acct_doesnotexist'));
    expect(error).toMatchObject({ code: 'stripe_account_not_found', upstreamStatus: 404, retryable: false });
    expect(error.requestId).toMatch(/^req_/);
  });

  it('a key Stripe refuses is stripe_authentication_failed', async () => {
    const wrong = createStripeClient({ secretKey: 'sk_test_wrongwrongwrongwrong', apiBaseUrl: stub.apiBaseUrl, maxNetworkRetries: 0 });
    const account = accountFixture();
    stub.setAccount(account);
    expect(await failure(wrong.retrieveAccount(String(account.id)))).toMatchObject({ code: 'stripe_authentication_failed', upstreamStatus: 401 });
    expect(stub.requests.at(-1)!.bearer).toBe('sk_test_wrongwrongwrongwrong');
  });

  it.each(['acct_../../v1/charges/ch_1', 'acct_', 'pi_123', 'acct_1 2', '', 'ACCT_123'])('refuses the malformed account id %j without calling Stripe', async (id) => {
    expect(await failure(client.retrieveAccount(id))).toMatchObject({ code: 'stripe_account_id_invalid' });
    expect(stub.requests).toHaveLength(0);
  });

  it('403 is stripe_permission_denied (e.g. an account not connected to this platform)', async () => {
    stub.failNext(403, { error: { type: 'invalid_request_error', code: 'account_invalid', message: 'The provided key does not have access to account' } });
    expect(await failure(client.retrieveAccount('acct_1Other'))).toMatchObject({ code: 'stripe_permission_denied', upstreamStatus: 403 });
  });

  it('429 is stripe_rate_limited and retryable', async () => {
    stub.failNext(429);
    expect(await failure(client.retrieveAccount('acct_1Busy'))).toMatchObject({ code: 'stripe_rate_limited', retryable: true, upstreamStatus: 429 });
  });

  it('a 500 is stripe_unavailable and retryable when retries are off', async () => {
    stub.failNext(500);
    expect(await failure(client.retrieveAccount('acct_1Down'))).toMatchObject({ code: 'stripe_unavailable', retryable: true, upstreamStatus: 500 });
    expect(stub.requests).toHaveLength(1);
  });

  it('the SDK retries a 500 once when allowed, and the retry succeeds', async () => {
    const retrying = createStripeClient({ secretKey: stub.secretKey, apiBaseUrl: stub.apiBaseUrl, maxNetworkRetries: 1 });
    const account = accountFixture();
    stub.setAccount(account);
    stub.failNext(500, { headers: { 'stripe-should-retry': 'true' } });
    expect((await retrying.retrieveAccount(String(account.id))).account_id).toBe(account.id);
    expect(stub.requests.map((r) => r.path)).toEqual([`/v1/accounts/${account.id}`, `/v1/accounts/${account.id}`]);
  });

  it('other 4xx answers are stripe_request_failed', async () => {
    stub.failNext(400, { error: { type: 'invalid_request_error', code: 'parameter_unknown', message: 'Received unknown parameter' } });
    expect(await failure(client.retrieveAccount('acct_1Bad'))).toMatchObject({ code: 'stripe_request_failed', upstreamStatus: 400 });
  });

  it('an answer that is not the requested kind of object is stripe_response_invalid', async () => {
    stub.setAccount({ id: 'cus_1Forged', object: 'customer' }, 'acct_1Forged');
    expect(await failure(client.retrieveAccount('acct_1Forged'))).toMatchObject({ code: 'stripe_response_invalid' });
    stub.setPaymentIntent({ id: 'pi_1NoStatus', object: 'payment_intent' });
    expect(await failure(client.retrievePaymentIntent('pi_1NoStatus'))).toMatchObject({ code: 'stripe_response_invalid' });
  });

  it('reads a PaymentIntent with its latest charge expanded', async () => {
    const pi = paymentIntentFixture({ status: 'succeeded', amount: 2500, latestCharge: 'ch_1Refunded', destination: 'acct_1Dest', metadata: { paybond_intent_id: 'i-1', other: 'x' } });
    stub.setPaymentIntent(pi);
    stub.setCharge(chargeFixture({ id: 'ch_1Refunded', paymentIntent: String(pi.id), amount: 2500, refunded: true }));
    const state = await client.retrievePaymentIntent(String(pi.id));
    expect(state).toEqual({
      payment_intent_id: pi.id,
      status: 'succeeded',
      amount: 2500,
      amount_received: 2500,
      amount_capturable: 0,
      currency: 'usd',
      capture_method: 'automatic_async',
      livemode: false,
      last_payment_error: null,
      cancellation_reason: null,
      latest_charge_id: 'ch_1Refunded',
      charge_refunded: true,
      amount_refunded: 2500,
      transfer_destination: 'acct_1Dest',
      metadata: { paybond_intent_id: 'i-1', other: 'x' },
    });
    const request = stub.requests.at(-1)!;
    expect(request.path).toBe(`/v1/payment_intents/${pi.id}`);
    expect(Object.entries(request.query).some(([k, v]) => k.startsWith('expand[') && v.includes('latest_charge'))).toBe(true);
  });

  it('a PaymentIntent without a charge reports no refund information; a failed attempt reports its error', async () => {
    const pi = paymentIntentFixture({ status: 'requires_payment_method', lastPaymentError: { code: 'card_declined' } });
    stub.setPaymentIntent(pi);
    expect(await client.retrievePaymentIntent(String(pi.id))).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: 'card_declined',
      latest_charge_id: null,
      charge_refunded: null,
      amount_refunded: null,
    });
  });

  it('an unknown PaymentIntent is stripe_payment_intent_not_found; a malformed id never reaches Stripe', async () => {
    expect(await failure(client.retrievePaymentIntent('pi_1Missing'))).toMatchObject({ code: 'stripe_payment_intent_not_found', upstreamStatus: 404 });
    const before = stub.requests.length;
    expect(await failure(client.retrievePaymentIntent('pi_1/../../accounts'))).toMatchObject({ code: 'stripe_payment_intent_id_invalid' });
    expect(stub.requests.length).toBe(before);
  });

  it('the stand-in answers unknown routes with a Stripe-style 404 and logs them', async () => {
    const res = await fetch(`${stub.apiBaseUrl}/v1/customers/cus_1`, { headers: { authorization: `Bearer ${stub.secretKey}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(stub.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/customers/cus_1' });
  });
});

describe('Stripe client configuration', () => {
  it('a live key reads accounts as live', async () => {
    const stub = await startStripeStub({ secretKey: `sk_live_${'x'.repeat(24)}` });
    try {
      const client = createStripeClient({ secretKey: stub.secretKey, apiBaseUrl: stub.apiBaseUrl, maxNetworkRetries: 0 });
      const account = accountFixture();
      stub.setAccount(account);
      expect(client.keyMode).toBe('live');
      expect((await client.retrieveAccount(String(account.id))).livemode).toBe(true);
    } finally {
      await stub.close();
    }
  });

  it('an unreachable API is stripe_unavailable', async () => {
    const stub = await startStripeStub();
    await stub.close();
    const client = createStripeClient({ secretKey: stub.secretKey, apiBaseUrl: stub.apiBaseUrl, maxNetworkRetries: 0, timeoutMs: 2000 });
    expect(await failure(client.retrieveAccount('acct_1Gone'))).toMatchObject({ code: 'stripe_unavailable', retryable: true, upstreamStatus: null });
  });

  it.each([undefined, '', '   '])('no key (%j) is stripe_not_configured', (secretKey) => {
    expect(() => createStripeClient({ secretKey })).toThrow(expect.objectContaining({ code: 'stripe_not_configured' }));
  });

  it('a value that is not a Stripe secret key is stripe_not_configured', () => {
    expect(() => createStripeClient({ secretKey: 'pk_test_publishable' })).toThrow(expect.objectContaining({ code: 'stripe_not_configured' }));
  });

  it('key modes come from the documented prefixes', () => {
    expect(stripeKeyMode('sk_live_abc')).toBe('live');
    expect(stripeKeyMode('rk_test_abc')).toBe('test');
    expect(stripeKeyMode('pk_live_abc')).toBeNull();
    expect(stripeKeyMode('whsec_abc')).toBeNull();
  });

  it.each([
    ['http://127.0.0.1:12111', { host: '127.0.0.1', port: 12111, protocol: 'http' }],
    ['http://localhost:8080/', { host: 'localhost', port: 8080, protocol: 'http' }],
    ['http://[::1]:9000', { host: '::1', port: 9000, protocol: 'http' }],
    ['https://stripe-proxy.internal.example', { host: 'stripe-proxy.internal.example', port: 443, protocol: 'https' }],
  ])('parses the API base URL %s', (raw, expected) => {
    expect(parseStripeApiBaseUrl(raw)).toEqual(expected);
  });

  it.each([
    ['plain http to a remote host', 'http://stripe-proxy.example:80'],
    ['a path', 'https://proxy.example/v1'],
    ['credentials', 'https://user:pw@proxy.example'],
    ['another scheme', 'ftp://127.0.0.1'],
    ['not a URL', 'api.stripe.com'],
  ])('refuses an API base URL with %s', (_label, raw) => {
    expect(() => parseStripeApiBaseUrl(raw)).toThrow(expect.objectContaining({ code: 'stripe_api_base_url_invalid' }));
  });

  it('the configuration accepts secret and restricted keys and refuses publishable keys and remote plain http', () => {
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc123', STRIPE_WEBHOOK_SECRET: 'whsec_abc' }).STRIPE_SECRET_KEY).toBe('sk_test_abc123');
    expect(loadConfig({ STRIPE_SECRET_KEY: 'rk_live_abc123' }).STRIPE_SECRET_KEY).toBe('rk_live_abc123');
    expect(loadConfig({}).STRIPE_WEBHOOK_TOLERANCE_SECONDS).toBe(300);
    expect(loadConfig({ STRIPE_API_BASE_URL: 'http://127.0.0.1:12111' }).STRIPE_API_BASE_URL).toBe('http://127.0.0.1:12111');
    for (const env of [{ STRIPE_SECRET_KEY: 'pk_live_abc123' }, { STRIPE_WEBHOOK_SECRET: 'secret' }, { STRIPE_API_BASE_URL: 'http://stripe-proxy.example' }, { STRIPE_API_BASE_URL: 'https://proxy.example/v1' }]) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    }
    // The key never appears in the error.
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'pk_live_abc123' })).toThrow(/STRIPE_SECRET_KEY .*<hidden>/);
  });
});
