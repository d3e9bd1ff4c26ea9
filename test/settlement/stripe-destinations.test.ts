import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedIntentBody } from '../helpers/harbor.ts';
import { accountFixture, type StripeStub } from '../helpers/stripe-stub.ts';
import { linkAccount, stripeGateway } from './stripe-env.ts';

let gw: TestGateway;
let stub: StripeStub;
beforeAll(async () => {
  ({ gw, stub } = await stripeGateway());
});
afterAll(async () => {
  await gw.close();
  await stub.close();
});

const DESTINATION = '/v1/admin/settlement/stripe-destination';
const CONFIG = '/v1/admin/settlement/config';
const link = (org: TestOrg, accountId: string, token = org.admin.token.live) => rest(gw, 'POST', DESTINATION, { account_id: accountId }, { token });
const put = (org: TestOrg, body: Record<string, unknown>) => rest(gw, 'PUT', CONFIG, body, { token: org.admin.token.live });

describe('linking a Stripe destination', () => {
  it('reads the Connect account from Stripe with the platform key and records its state', async () => {
    const org = await createOrg(gw);
    const account = accountFixture({ achDebit: 'pending' });
    stub.setAccount(account);
    const res = await link(org, String(account.id));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      account_id: account.id,
      status: 'active',
      simulated: false,
      server_owned: true,
      livemode: true,
      charges_enabled: true,
      payouts_enabled: true,
      ach_debit_capability: 'pending',
      stripe_connect: { ready: true, unmet: [] },
      stripe_ach_debit: { ready: false, unmet: ['ach_debit_capability_pending'] },
    });
    const request = stub.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'GET', path: `/v1/accounts/${account.id}`, bearer: stub.secretKey });
    expect(request.stripeVersion).toBeTruthy();
    const config = await rest(gw, 'GET', CONFIG, undefined, { token: org.apiKey.live });
    expect(config.body).toMatchObject({ stripe_configured: true, stripe_destination: { account_id: account.id } });
    expect(config.body.rail_readiness.slice(0, 2)).toEqual([
      { rail: 'stripe_connect', allowed: false, ready: true, unmet: [] },
      { rail: 'stripe_ach_debit', allowed: false, ready: false, unmet: ['stripe_ach_debit_not_ready'] },
    ]);
    const audit = await gw.runtime.db.auditEvent.findFirstOrThrow({ where: { tenantId: org.tenants.live, eventType: 'settlement.stripe_destination_linked' } });
    expect(audit).toMatchObject({ resourceId: account.id, actorId: org.admin.userId });
  });

  it('gates the live Stripe rails: linked, ready, ACH capability active', async () => {
    const org = await createOrg(gw);
    expectError(await put(org, { allowed_rails: ['stripe_connect'] }), 422, 'stripe_destination_required');
    await linkAccount(gw, stub, org, { chargesEnabled: false, achDebit: 'inactive' });
    const notReady = await put(org, { allowed_rails: ['stripe_connect'] });
    expectError(notReady, 422, 'stripe_destination_not_ready');
    expect(notReady.body.error.details.unmet).toEqual(['charges_disabled']);
    await linkAccount(gw, stub, org, { achDebit: 'pending' });
    const ach = await put(org, { allowed_rails: ['stripe_connect', 'stripe_ach_debit'] });
    expectError(ach, 422, 'stripe_ach_debit_not_ready');
    expect(ach.body.error.details.ach_debit_capability).toBe('pending');
    expect((await put(org, { allowed_rails: ['stripe_connect'] })).status).toBe(200);
    const accountId = await linkAccount(gw, stub, org, { achDebit: 'active' });
    const saved = await put(org, { allowed_rails: ['stripe_connect', 'stripe_ach_debit'], default_rail: 'stripe_ach_debit' });
    expect(saved.status).toBe(200);
    expect(saved.body.destination_snapshot).toMatchObject({ account_id: accountId, status: 'active', readiness: { stripe_ach_debit: { ready: true } } });
  });

  it('unlinking makes live Stripe intents impossible until a destination is linked again', async () => {
    const org = await createOrg(gw);
    await linkAccount(gw, stub, org);
    await put(org, { allowed_rails: ['stripe_connect'] });
    const actor = await harborActor(gw, org, 'live');
    const created = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.settlement_mode).toBe('live');
    const unlinked = await rest(gw, 'DELETE', DESTINATION, undefined, { token: org.admin.token.live });
    expect(unlinked.body).toMatchObject({ status: 'unlinked', stripe_connect: { ready: false } });
    expect(unlinked.body.unlinked_at).toBeTruthy();
    expectError(await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor)), 422, 'stripe_destination_required');
    expectError(await rest(gw, 'DELETE', DESTINATION, undefined, { token: org.admin.token.live }), 404, 'not_found');
  });

  it('one account serves one tenant; the tenant may relink or replace its own', async () => {
    const org = await createOrg(gw);
    const accountId = await linkAccount(gw, stub, org);
    expect((await link(org, accountId)).status).toBe(200);
    const other = await createOrg(gw);
    expectError(await link(other, accountId), 409, 'stripe_destination_taken');
    const replacement = await linkAccount(gw, stub, org);
    expect((await rest(gw, 'GET', CONFIG, undefined, { token: org.apiKey.live })).body.stripe_destination.account_id).toBe(replacement);
    // The first account is free again.
    expect((await link(other, accountId)).status).toBe(200);
  });

  it('maps Stripe’s answers to clear codes', async () => {
    const org = await createOrg(gw);
    expectError(await link(org, 'not-an-account'), 422, 'stripe_account_id_invalid');
    expectError(await link(org, 'acct_unknown123'), 422, 'stripe_account_not_found');
    stub.setAccount(accountFixture({ id: 'acct_flaky1' }));
    stub.failNext(500, { times: 3 });
    const down = await link(org, 'acct_flaky1');
    expectError(down, 503, 'stripe_unavailable');
    stub.failNext(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    expectError(await link(org, 'acct_flaky1'), 502, 'stripe_authentication_failed');
    stub.failNext(403, { error: { type: 'invalid_request_error', code: 'account_invalid', message: 'no access' } });
    expectError(await link(org, 'acct_flaky1'), 422, 'stripe_permission_denied');
    expect(await gw.runtime.db.stripeDestination.count({ where: { tenantId: org.tenants.live } })).toBe(0);
  });

  it('sandbox tenants settle to the simulator; only tenant admins link', async () => {
    const org = await createOrg(gw);
    stub.setAccount(accountFixture({ id: 'acct_sandbox1' }));
    expectError(await rest(gw, 'POST', DESTINATION, { account_id: 'acct_sandbox1' }, { token: org.admin.token.sandbox }), 422, 'sandbox_uses_simulator');
    const reader = await addMember(gw, org, 'read_only');
    expectError(await link(org, 'acct_sandbox1', reader.token.live), 403, 'forbidden');
    expectError(await link(org, 'acct_sandbox1', org.apiKey.live), 403, 'forbidden');
    expectError(await rest(gw, 'POST', DESTINATION, { account_id: 'acct_sandbox1' }), 401, 'unauthenticated');
    expectError(await rest(gw, 'POST', DESTINATION, {}, { token: org.admin.token.live }), 400, 'invalid_request');
  });

  it('GraphQL twins: link and unlink', async () => {
    const org = await createOrg(gw);
    stub.setAccount(accountFixture({ id: 'acct_graphql1', achDebit: 'active' }));
    const linked = await gql(gw, 'mutation { stripeDestinationLink(input: { accountId: "acct_graphql1" }) { destination { accountId stripeAchDebit { ready } } userErrors { code } } }', {}, { token: org.admin.token.live });
    expect(linked.data.stripeDestinationLink).toEqual({ destination: { accountId: 'acct_graphql1', stripeAchDebit: { ready: true } }, userErrors: [] });
    const unlinked = await gql(gw, 'mutation { stripeDestinationUnlink { destination { status } userErrors { code } } }', {}, { token: org.admin.token.live });
    expect(unlinked.data.stripeDestinationUnlink).toEqual({ destination: { status: 'unlinked' }, userErrors: [] });
  });
});

describe('without a Stripe key', () => {
  it('live Stripe rails are unavailable with their own code; sandbox works', async () => {
    const plain = await createTestGateway();
    try {
      const org = await createOrg(plain);
      expectError(await rest(plain, 'POST', DESTINATION, { account_id: 'acct_x1' }, { token: org.admin.token.live }), 422, 'stripe_not_configured');
      expectError(await rest(plain, 'PUT', CONFIG, { allowed_rails: ['stripe_ach_debit'] }, { token: org.admin.token.live }), 422, 'stripe_not_configured');
      expect((await rest(plain, 'PUT', CONFIG, { allowed_rails: ['stripe_ach_debit'] }, { token: org.admin.token.sandbox })).status).toBe(200);
    } finally {
      await plain.close();
    }
  });

  it('a test-mode key cannot serve a live tenant', async () => {
    const test = await stripeGateway({ keyMode: 'test' });
    try {
      const org = await createOrg(test.gw);
      test.stub.setAccount(accountFixture({ id: 'acct_testmode1' }));
      expectError(await rest(test.gw, 'POST', DESTINATION, { account_id: 'acct_testmode1' }, { token: org.admin.token.live }), 422, 'stripe_destination_mode_mismatch');
    } finally {
      await test.gw.close();
      await test.stub.close();
    }
  });
});
