import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { agentSession, signatureHeaders, signedRest, type AgentSessionHandle } from '../helpers/agent.ts';

let gw: TestGateway;
let org: TestOrg;
let agent: AgentSessionHandle;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  agent = await agentSession(gw, org);
});
afterAll(() => gw.close());

const order = (n: number) => ({ amount_cents: 1250, currency: 'usd', recipient: 'did:web:vendor.example', memo: 'API credits', reference: `order-${n}` });
const PATH = '/api/agent/checkout/create';

describe('POST /api/agent/checkout/create (high-risk, signed)', () => {
  it('creates and funds a payment intent for a signed agent request', async () => {
    const res = await signedRest(gw, agent, 'POST', PATH, order(1), { headers: { 'idempotency-key': 'checkout-1' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      tenant: org.tenants.sandbox,
      state: 'funded',
      funded: true,
      amount_cents: 1250,
      currency: 'usd',
      settlement_rail: 'stripe_connect',
      settlement_mode: 'simulated',
      recipient: 'did:web:vendor.example',
    });
    expect(res.body.capability_token).toBeTruthy();
    const intent = await gw.runtime.db.harborIntent.findFirstOrThrow({ where: { tenantId: org.tenants.sandbox, intentId: res.body.intent_id } });
    expect(intent).toMatchObject({ source: 'agent_checkout', principalDid: `agent:${agent.sessionId}` });
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: org.tenants.sandbox, intentId: res.body.intent_id }, orderBy: { seq: 'asc' } });
    expect(ledger.map((e) => e.type)).toEqual(['intent.created', 'funding.succeeded']);
  });

  it('a retried checkout with a fresh signature and the same Idempotency-Key is the same payment', async () => {
    const first = await signedRest(gw, agent, 'POST', PATH, order(2), { headers: { 'idempotency-key': 'checkout-2' } });
    await new Promise((r) => setTimeout(r, 1100)); // a new timestamp → a new signature
    const retry = await signedRest(gw, agent, 'POST', PATH, order(2), { headers: { 'idempotency-key': 'checkout-2' } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.intent_id).toBe(first.body.intent_id);
  });

  it('replaying the exact signed request is refused (signature_replayed), even with its idempotency key', async () => {
    const body = JSON.stringify(order(3));
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'checkout-3', ...signatureHeaders(agent.key, 'POST', PATH, body) };
    expect((await rest(gw, 'POST', PATH, undefined, { token: agent.token, raw: body, headers })).status).toBe(201);
    expectError(await rest(gw, 'POST', PATH, undefined, { token: agent.token, raw: body, headers }), 401, 'signature_replayed');
  });

  it('answers 401 to an unsigned agent JWT and to a PAT; 403 to other credentials', async () => {
    expectError(await rest(gw, 'POST', PATH, order(4), { token: agent.token }), 401, 'signature_missing');
    expectError(await rest(gw, 'POST', PATH, order(4), { token: agent.pat }), 401, 'signature_missing');
    expectError(await rest(gw, 'POST', PATH, order(4), { token: org.apiKey.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', PATH, order(4), { token: org.admin.token.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', PATH, order(4)), 401, 'unauthenticated');
    expect(await gw.runtime.db.harborIntent.count({ where: { tenantId: org.tenants.sandbox, budget: { path: ['reference'], equals: 'order-4' } } })).toBe(0);
  });

  it('validates the order after authentication', async () => {
    expectError(await signedRest(gw, agent, 'POST', PATH, { ...order(5), amount_cents: 0 }), 400, 'invalid_request');
    expectError(await signedRest(gw, agent, 'POST', PATH, { ...order(5), amount_cents: 12.5 }), 400, 'invalid_request');
    expectError(await signedRest(gw, agent, 'POST', PATH, { ...order(5), memo: '' }), 400, 'invalid_request');
    expectError(await signedRest(gw, agent, 'POST', PATH, { ...order(5), settlement_rail: 'cash' }), 400, 'invalid_request');
  });

  it('is refused in live until a live rail is configured', async () => {
    const live = await agentSession(gw, org, 'live');
    expectError(await signedRest(gw, live, 'POST', PATH, order(6)), 422, 'settlement_rail_not_allowed');
  });

  it('works as a signed GraphQL mutation (PATH /graphql, raw body)', async () => {
    const res = await signedRest(gw, agent, 'POST', '/graphql', {
      query: 'mutation($input: AgentCheckoutInput!) { agentCheckoutCreate(input: $input) { funded intent { state } userErrors { code } } }',
      variables: { input: { amountCents: 300, currency: 'usd', recipient: 'did:web:v', memo: 'graphql checkout' } },
    });
    expect(res.body.data.agentCheckoutCreate).toEqual({ funded: true, intent: { state: 'funded' }, userErrors: [] });
  });
});
