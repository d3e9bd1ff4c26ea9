import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { createIntent, harborActor, harborWrite, signedIntentBody } from '../helpers/harbor.ts';
import { agentSession, signedRest } from '../helpers/agent.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

const CONFIG = '/v1/admin/settlement/config';
const ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const put = (org: TestOrg, body: Record<string, unknown>, env: 'live' | 'sandbox' = 'sandbox', token = org.admin.token[env]) => rest(gw, 'PUT', CONFIG, body, { token });

describe('settlement configuration', () => {
  it('an unconfigured tenant gets the default envelope: every rail simulated in sandbox, none live', async () => {
    const org = await createOrg(gw);
    const sandbox = await rest(gw, 'GET', CONFIG, undefined, { token: org.apiKey.sandbox });
    expect(sandbox.status).toBe(200);
    expect(sandbox.body).toMatchObject({
      configured: false,
      version: 0,
      environment: 'sandbox',
      settlement_mode: 'simulated',
      allowed_rails: ['stripe_connect', 'stripe_ach_debit', 'stripe_mpp', 'adyen_manual_capture', 'x402_usdc_base'],
      default_rail: null,
      stripe_configured: false,
      stripe_destination: { account_id: 'paybond_sandbox_simulator', simulated: true, status: 'active', stripe_ach_debit: { ready: true, unmet: [] } },
    });
    expect(sandbox.body.rail_readiness.every((r: { ready: boolean; allowed: boolean }) => r.ready && r.allowed)).toBe(true);
    const live = await rest(gw, 'GET', CONFIG, undefined, { token: org.apiKey.live });
    expect(live.body).toMatchObject({ configured: false, version: 0, environment: 'live', settlement_mode: 'live', allowed_rails: [], stripe_destination: null });
    expect(live.body.rail_readiness).toEqual([
      { rail: 'stripe_connect', allowed: false, ready: false, unmet: ['stripe_not_configured'] },
      { rail: 'stripe_ach_debit', allowed: false, ready: false, unmet: ['stripe_not_configured'] },
      { rail: 'x402_usdc_base', allowed: false, ready: false, unmet: ['x402_address_required'] },
    ]);
  });

  it('sandbox: ACH and x402 need no Stripe key, account or address; every save is a new audited version', async () => {
    const org = await createOrg(gw);
    const v1 = await put(org, { allowed_rails: ['x402_usdc_base', 'stripe_ach_debit', 'stripe_ach_debit'], default_rail: 'stripe_ach_debit' });
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    expect(v1.body).toMatchObject({ configured: true, version: 1, allowed_rails: ['stripe_ach_debit', 'x402_usdc_base'], default_rail: 'stripe_ach_debit', x402_usdc_base_address: null, created_by: org.admin.userId });
    expect(v1.body.digest_hex).toMatch(/^[0-9a-f]{64}$/);
    const v2 = await put(org, { allowed_rails: ['stripe_connect'] });
    expect(v2.body).toMatchObject({ version: 2, allowed_rails: ['stripe_connect'] });
    const history = await rest(gw, 'GET', `${CONFIG}/history?limit=5`, undefined, { token: org.apiKey.sandbox });
    expect(history.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await rest(gw, 'GET', CONFIG, undefined, { token: org.apiKey.sandbox })).body.version).toBe(2);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, eventType: 'settlement.config_updated' }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((a) => a.resourceId)).toEqual(['1', '2']);
    expect(audit[0]!.details).toMatchObject({ previous_version: 0, allowed_rails: ['stripe_ach_debit', 'x402_usdc_base'] });
    // The other environment of the organization is a separate tenant.
    expect((await rest(gw, 'GET', CONFIG, undefined, { token: org.apiKey.live })).body.version).toBe(0);
    // Versions are immutable in the database too.
    await expect(gw.runtime.db.settlementConfigVersion.updateMany({ where: { tenantId: org.tenants.sandbox }, data: { allowedRails: [] } })).rejects.toThrow();
    await expect(gw.runtime.db.settlementConfigVersion.deleteMany({ where: { tenantId: org.tenants.sandbox } })).rejects.toThrow();
  });

  it.each([
    ['a malformed address', { allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: '0x1234' }, 'x402_address_malformed'],
    ['an all-lower-case address', { allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: ADDRESS.toLowerCase() }, 'x402_address_not_checksummed'],
    ['a bad checksum', { allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: ADDRESS.replace('aA', 'Aa') }, 'x402_address_checksum_mismatch'],
    ['the zero address', { allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: `0x${'0'.repeat(40)}` }, 'x402_address_zero'],
    ['x402 without an address', { allowed_rails: ['x402_usdc_base'] }, 'x402_address_required'],
    ['Stripe without a Stripe key', { allowed_rails: ['stripe_connect'] }, 'stripe_not_configured'],
    ['a rail that cannot be configured', { allowed_rails: ['stripe_mpp'] }, 'settlement_rail_unsupported'],
    ['a default outside allowed_rails', { allowed_rails: [], default_rail: 'stripe_connect' }, 'settlement_default_rail_not_allowed'],
  ])('live: refuses %s with 422 and its own code, saving nothing', async (_name, body, code) => {
    const org = await createOrg(gw);
    const res = await put(org, body, 'live');
    expectError(res, 422, code);
    expect(await gw.runtime.db.settlementConfigVersion.count({ where: { tenantId: org.tenants.live } })).toBe(0);
  });

  it('live: a checksummed address enables x402; an empty list turns settlement off', async () => {
    const org = await createOrg(gw);
    const res = await put(org, { allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: ADDRESS }, 'live');
    expect(res.body).toMatchObject({ version: 1, allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: ADDRESS });
    expect(res.body.rail_readiness.find((r: { rail: string }) => r.rail === 'x402_usdc_base')).toEqual({ rail: 'x402_usdc_base', allowed: true, ready: true, unmet: [] });
    expect((await put(org, { allowed_rails: [] }, 'live')).body).toMatchObject({ version: 2, allowed_rails: [] });
  });

  it('bad input is 400 (allowed_rails missing or not a list)', async () => {
    const org = await createOrg(gw);
    expectError(await put(org, {}), 400, 'invalid_request');
    expectError(await put(org, { allowed_rails: 'stripe_connect' }), 400, 'invalid_request');
    expectError(await put(org, { allowed_rails: [1] }), 400, 'invalid_request');
    expectError(await rest(gw, 'GET', `${CONFIG}/history?limit=0`, undefined, { token: org.apiKey.sandbox }), 400, 'invalid_request');
  });

  it('tenant admins write; read-only members and service keys read; writes are rate limited', async () => {
    const org = await createOrg(gw);
    const reader = await addMember(gw, org, 'read_only');
    expectError(await put(org, { allowed_rails: [] }, 'sandbox', reader.token.sandbox), 403, 'forbidden');
    expectError(await put(org, { allowed_rails: [] }, 'sandbox', org.apiKey.sandbox), 403, 'forbidden');
    expectError(await rest(gw, 'PUT', CONFIG, { allowed_rails: [] }), 401, 'unauthenticated');
    expect((await rest(gw, 'GET', CONFIG, undefined, { token: reader.token.sandbox })).status).toBe(200);
    expect((await rest(gw, 'GET', `${CONFIG}/history`, undefined, { token: reader.token.sandbox })).body).toEqual({ versions: [] });
    const admin = await addMember(gw, org, 'read_only', ['tenant.admin']);
    expect((await put(org, { allowed_rails: [] }, 'sandbox', admin.token.sandbox)).status).toBe(200);

    await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'enforce', rate_limit_profile: { settlement_config_mutation: { limit: 2, window_seconds: 3600 } } }, { token: org.admin.token.sandbox });
    expect((await put(org, { allowed_rails: [] })).status).toBe(200);
    const limited = await put(org, { allowed_rails: [] });
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toBeTruthy();
  });

  it('GraphQL twins: read, history, update with userErrors', async () => {
    const org = await createOrg(gw);
    const update = await gql(
      gw,
      'mutation($input: SettlementConfigInput!) { settlementConfigUpdate(input: $input) { config { version allowedRails defaultRail } userErrors { code field } } }',
      { input: { allowedRails: ['stripe_connect'], defaultRail: 'stripe_connect' } },
      { token: org.admin.token.sandbox },
    );
    expect(update.data.settlementConfigUpdate).toEqual({ config: { version: 1, allowedRails: ['stripe_connect'], defaultRail: 'stripe_connect' }, userErrors: [] });
    const refused = await gql(gw, 'mutation { settlementConfigUpdate(input: { allowedRails: ["x402_usdc_base"] }) { config { version } userErrors { code field } } }', {}, { token: org.admin.token.live });
    expect(refused.data.settlementConfigUpdate).toEqual({ config: null, userErrors: [{ code: 'X402_ADDRESS_REQUIRED', field: ['x402UsdcBaseAddress'] }] });
    const read = await gql(gw, '{ settlementConfig { version configured railReadiness { rail ready } stripeDestination { simulated } } settlementConfigHistory(limit: 1) { version } }', {}, { token: org.apiKey.sandbox });
    expect(read.data.settlementConfig).toMatchObject({ version: 1, configured: true, stripeDestination: { simulated: true } });
    expect(read.data.settlementConfigHistory).toEqual([{ version: 1 }]);
  });
});

describe('Harbor consults the configuration', () => {
  it('once saved, creation, agent checkout and funding refuse a rail outside allowed_rails', async () => {
    const org = await createOrg(gw);
    const actor = await harborActor(gw, org);
    // Unconfigured sandbox: every rail, through the simulator.
    const ach = await createIntent(gw, actor, { settlementRail: 'stripe_ach_debit' });
    expect((await put(org, { allowed_rails: ['stripe_connect'], default_rail: 'stripe_connect' })).status).toBe(200);
    const refused = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { settlementRail: 'x402_usdc_base' }));
    expectError(refused, 422, 'settlement_rail_not_allowed');
    expect(refused.body.error.details).toMatchObject({ allowed_rails: ['stripe_connect'], configuration_version: 1 });
    expect((await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, { settlementRail: 'stripe_connect' }))).status).toBe(201);
    // An intent created before the rail was removed cannot be funded on it any more.
    expectError(await harborWrite(gw, actor, `/harbor/intents/${ach.intent_id}/fund`, {}), 422, 'settlement_rail_not_allowed');

    const agent = await agentSession(gw, org);
    const order = { amount_cents: 100, currency: 'usd', recipient: 'did:web:v', memo: 'credits' };
    expectError(await signedRest(gw, agent, 'POST', '/api/agent/checkout/create', { ...order, settlement_rail: 'stripe_mpp' }), 422, 'settlement_rail_not_allowed');
    expect((await signedRest(gw, agent, 'POST', '/api/agent/checkout/create', order)).body).toMatchObject({ settlement_rail: 'stripe_connect', funded: true });
    await put(org, { allowed_rails: ['stripe_ach_debit', 'stripe_connect'], default_rail: 'stripe_ach_debit' });
    // A checkout naming no rail takes the configured default (ACH: pending first).
    const pending = await signedRest(gw, agent, 'POST', '/api/agent/checkout/create', { ...order, memo: 'more credits' });
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ settlement_rail: 'stripe_ach_debit', funded: false });
  });
});
