import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { newId } from '../../src/crypto/hash.ts';
import { recordAudit } from '../../src/kernel/audit/service.ts';
import { drainDeliveries } from '../../src/areas/webhooks/worker.ts';
import { openSession } from '../../src/areas/identity/sessions.ts';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { adminPrincipal, createOrg, type TestOrg } from '../helpers/factories.ts';
import { createIntent, harborActor, harborWrite } from '../helpers/harbor.ts';
import { startReceiver, type Receiver, type Reply } from './receiver.ts';

/*
 * The webhook routes and the outbox in one gateway, against real HTTP receivers on loopback
 * ports (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, as in development). The worker is driven by hand
 * (drainDeliveries) and time by a manual clock, so retry delays are exact without waiting.
 */

const ENDPOINTS = '/v1/admin/webhook-endpoints';
let gw: TestGateway;
let clock: ManualClock;
const receivers: Receiver[] = [];

beforeAll(async () => {
  clock = new ManualClock(new Date());
  gw = await createTestGateway({ clock, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_WORKER: 'off' } });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await gw.close();
});

async function receiver(reply?: (request: import('./receiver.ts').Received) => Reply): Promise<Receiver> {
  const r = await startReceiver({ reply });
  receivers.push(r);
  return r;
}

const admin = (org: TestOrg, env: 'live' | 'sandbox' = 'sandbox') => ({ token: org.admin.token[env] });

async function endpointFor(org: TestOrg, r: Receiver, body: Record<string, unknown> = {}, env: 'live' | 'sandbox' = 'sandbox') {
  const res = await rest(gw, 'POST', ENDPOINTS, { url: `${r.url}/hooks`, ...body }, admin(org, env));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  r.secrets.push(res.body.secret);
  return res.body as { endpoint_id: string; secret: string; status: string };
}

/** An API key creation through the admin route: one api_key.created event. */
const createKey = (org: TestOrg, env: 'live' | 'sandbox' = 'sandbox') => rest(gw, 'POST', '/v1/admin/api-keys', { name: 'hooked' }, admin(org, env));

const eventsOf = (r: Receiver) => r.received.map((x) => JSON.parse(x.body) as { id: string; type: string; tenant_id: string; environment: string; data: any });

describe('webhook endpoints', () => {
  it('creates an endpoint whose whsec_ secret is shown once, lists and reads it without the secret (REST and GraphQL)', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    const created = await rest(gw, 'POST', ENDPOINTS, { url: `${r.url}/hooks`, description: 'orders', event_types: ['intent.funded', 'api_key.created', 'intent.funded'] }, admin(org));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ url: `${r.url}/hooks`, description: 'orders', event_types: ['api_key.created', 'intent.funded'], status: 'active', disabled_reason: null, consecutive_failures: 0 });
    expect(created.body.endpoint_id).toMatch(/^whe_/);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body.secret_hint).toBe(created.body.secret.slice(-4));
    const secret = created.body.secret as string;
    const id = created.body.endpoint_id as string;

    const list = await rest(gw, 'GET', ENDPOINTS, undefined, admin(org));
    expect(list.status).toBe(200);
    expect(list.body.endpoints.map((e: { endpoint_id: string }) => e.endpoint_id)).toEqual([id]);
    const one = await rest(gw, 'GET', `${ENDPOINTS}/${id}`, undefined, admin(org));
    expect(one.body).toMatchObject({ endpoint_id: id, status: 'active' });
    const viaGraphql = await gqlOk(gw, '{ webhookEndpoints(first: 5) { edges { node { endpointId url status eventTypes } } } }', {}, admin(org));
    expect(viaGraphql.webhookEndpoints.edges).toEqual([{ node: { endpointId: id, url: `${r.url}/hooks`, status: 'active', eventTypes: ['api_key.created', 'intent.funded'] } }]);
    for (const body of [list.body, one.body, viaGraphql]) expect(JSON.stringify(body)).not.toContain(secret);

    // Stored sealed, never in clear, and never in an audit row.
    const row = await gw.runtime.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(row.secretSealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, resource: 'webhook_endpoint' } });
    expect(audit.map((a) => a.eventType)).toEqual(['webhook.endpoint.created']);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(6));
    expect(JSON.stringify(audit)).not.toContain(r.url);
  });

  it('refuses bad input with stable codes, and non-admin credentials', async () => {
    const org = await createOrg(gw);
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'https://hooks.example.com' }), 401, 'unauthenticated');
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'https://hooks.example.com' }, { token: org.apiKey.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'GET', ENDPOINTS, undefined, { token: org.apiKey.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', ENDPOINTS, {}, admin(org)), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'not a url' }, admin(org)), 400, 'webhook_url_invalid');
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'ftp://hooks.example.com/x' }, admin(org)), 400, 'webhook_url_scheme_not_allowed');
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'https://user:pw@hooks.example.com/x' }, admin(org)), 400, 'webhook_url_credentials_not_allowed');
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'https://hooks.example.com:22/x' }, admin(org)), 400, 'webhook_url_port_not_allowed');
    // Metadata addresses stay refused even where private networks are allowed.
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'http://169.254.169.254/latest' }, admin(org)), 400, 'webhook_url_address_not_allowed');
    const unknown = await rest(gw, 'POST', ENDPOINTS, { url: 'https://hooks.example.com', event_types: ['intent.exploded'] }, admin(org));
    expectError(unknown, 400, 'webhook_event_type_unknown');
    expect(unknown.body.error.details).toMatchObject({ type: 'intent.exploded' });
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: 'https://hooks.example.com', description: 'x'.repeat(501) }, admin(org)), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', `${ENDPOINTS}/whe_missing/rotate-secret`, { overlap_seconds: 8 * 86400 }, admin(org)), 400, 'invalid_request');
    expect(await gw.runtime.db.webhookEndpoint.count({ where: { tenantId: org.tenants.sandbox } })).toBe(0);
    // GraphQL: a business refusal is a userError.
    const viaGraphql = await gqlOk(gw, 'mutation { webhookEndpointCreate(input: { url: "gopher://x.example" }) { endpoint { endpointId } secret userErrors { code field } } }', {}, admin(org));
    expect(viaGraphql.webhookEndpointCreate).toEqual({ endpoint: null, secret: null, userErrors: [{ code: 'WEBHOOK_URL_SCHEME_NOT_ALLOWED', field: ['url'] }] });
  });

  it('another tenant’s endpoint is not found on every route; the other environment is another tenant', async () => {
    const owner = await createOrg(gw);
    const other = await createOrg(gw);
    const r = await receiver();
    const { endpoint_id: id } = await endpointFor(owner, r);
    await createKey(owner);
    await drainDeliveries(gw.runtime);
    const delivery = await gw.runtime.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
    const routes: Array<[string, string, unknown?]> = [
      ['GET', `${ENDPOINTS}/${id}`],
      ['PATCH', `${ENDPOINTS}/${id}`, { description: 'mine now' }],
      ['DELETE', `${ENDPOINTS}/${id}`],
      ['POST', `${ENDPOINTS}/${id}/rotate-secret`, {}],
      ['GET', `${ENDPOINTS}/${id}/deliveries`],
      ['POST', `${ENDPOINTS}/${id}/test`, {}],
      ['POST', `${ENDPOINTS}/${id}/deliveries/${delivery.id}/redeliver`, {}],
    ];
    for (const [method, path, body] of routes) {
      expectError(await rest(gw, method, path, body, admin(other)), 404, 'not_found');
      expectError(await rest(gw, method, path, body, admin(owner, 'live')), 404, 'not_found');
    }
    expect((await rest(gw, 'GET', ENDPOINTS, undefined, admin(other))).body.endpoints).toEqual([]);
    expect((await rest(gw, 'GET', ENDPOINTS, undefined, admin(owner, 'live'))).body.endpoints).toEqual([]);
    // The owner's delivery of another endpoint id is not found either.
    const second = await endpointFor(owner, r);
    expectError(await rest(gw, 'POST', `${ENDPOINTS}/${second.endpoint_id}/deliveries/${delivery.id}/redeliver`, {}, admin(owner)), 404, 'not_found');
    expect((await rest(gw, 'GET', `${ENDPOINTS}/${id}`, undefined, admin(owner))).body.description).toBeNull();
  });
});

describe('the outbox', () => {
  it('a committed change is delivered, signed for the receiver; a rolled-back change sends nothing', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    const { endpoint_id: id } = await endpointFor(org, r);
    const principal = adminPrincipal(org, org.admin.userId, 'sandbox');
    const ctx = { runtime: gw.runtime, principal, requestId: 'req_test' };
    const insertKey = async (tx: Parameters<Parameters<typeof gw.runtime.db.$transaction>[0]>[0], keyId: string) => {
      await tx.apiKey.create({ data: { id: keyId, tenantId: org.tenants.sandbox, name: 'tx key', secretHash: 'x', hint: 'abcd', createdAt: clock.now() } });
      await recordAudit(tx, ctx, { tenantId: org.tenants.sandbox, eventType: 'api_key.created', resource: 'api_key', resourceId: keyId });
    };
    const rolledBack = newId('key');
    await expect(
      gw.runtime.db.$transaction(async (tx) => {
        await insertKey(tx, rolledBack);
        // The observer wrote the event in this transaction...
        expect(await tx.webhookEvent.count({ where: { tenantId: org.tenants.sandbox } })).toBe(1);
        throw new Error('the change fails after its event was written');
      }),
    ).rejects.toThrow('the change fails');
    // ...and it went with the transaction.
    expect(await gw.runtime.db.webhookEvent.count({ where: { tenantId: org.tenants.sandbox } })).toBe(0);
    const committed = newId('key');
    await gw.runtime.db.$transaction((tx) => insertKey(tx, committed));
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(1);
    const [event] = eventsOf(r);
    expect(event).toMatchObject({ type: 'api_key.created', tenant_id: org.tenants.sandbox, environment: 'sandbox', data: { api_key: { id: committed, name: 'tx key', hint: 'abcd', status: 'active' } } });
    expect(r.received[0]!.verified).toEqual([true]);
    expect(r.received[0]!.headers['webhook-id']).toBe(event!.id);
    expect(r.received[0]!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(JSON.stringify(r.received)).not.toContain(rolledBack);

    const attempts = await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries`, undefined, admin(org));
    expect(attempts.status).toBe(200);
    expect(attempts.body.deliveries).toHaveLength(1);
    expect(attempts.body.deliveries[0]).toMatchObject({ event_id: event!.id, event_type: 'api_key.created', attempt: 1, status: 'delivered', status_code: 200, error: null, response_excerpt: 'ok', next_attempt_at: null });
    expect(attempts.body.deliveries[0].delivery_id).toMatch(/^whd_/);
    expect(typeof attempts.body.deliveries[0].latency_ms).toBe('number');
    // Nothing is sent twice.
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(1);
  });

  it('Harbor lifecycle changes become intent events with the intent after the change; the event type filter applies', async () => {
    const org = await createOrg(gw);
    const all = await receiver();
    const fundedOnly = await receiver();
    await endpointFor(org, all);
    await endpointFor(org, fundedOnly, { event_types: ['intent.funded'] });
    const actor = await harborActor(gw, org);
    const intent = await createIntent(gw, actor);
    const fund = await harborWrite(gw, actor, `/harbor/intents/${intent.intent_id}/fund`, {});
    expect(fund.status, JSON.stringify(fund.body)).toBe(200);
    await drainDeliveries(gw.runtime);
    const types = eventsOf(all)
      .filter((e) => e.type.startsWith('intent.'))
      .map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['intent.created', 'intent.funded']));
    const created = eventsOf(all).find((e) => e.type === 'intent.created')!;
    expect(created.data).toMatchObject({ previous_state: null, intent: { intent_id: intent.intent_id, state: 'created' } });
    const funded = eventsOf(all).find((e) => e.type === 'intent.funded')!;
    expect(funded.data).toMatchObject({ previous_state: 'created', intent: { intent_id: intent.intent_id, state: 'funded' }, funding: { attempt: 1 } });
    expect(eventsOf(fundedOnly).map((e) => e.type)).toEqual(['intent.funded']);
    expect(fundedOnly.received[0]!.verified).toEqual([true]);
    // Same event, same webhook-id at both endpoints.
    expect(fundedOnly.received[0]!.headers['webhook-id']).toBe(funded.id);

    // A second intent whose funding fails in the simulator: pending, then failed.
    const second = await createIntent(gw, actor);
    const failed = await rest(gw, 'POST', '/v1/sandbox/simulator/events', { event_type: 'funding_failed', intent_id: second.intent_id }, { token: org.apiKey.sandbox });
    expect(failed.status, JSON.stringify(failed.body)).toBe(201);
    await drainDeliveries(gw.runtime);
    const ofSecond = eventsOf(all).filter((e) => e.data.intent?.intent_id === second.intent_id);
    expect(ofSecond.map((e) => e.type).sort()).toEqual(['intent.created', 'intent.funding_failed', 'intent.funding_pending']);
    expect(ofSecond.find((e) => e.type === 'intent.funding_failed')!.data).toMatchObject({
      previous_state: 'funding_pending',
      intent: { state: 'funding_failed' },
      funding: { attempt: 1, failure_code: null },
    });
    expect(eventsOf(fundedOnly)).toHaveLength(1);
  });

  it('API key, guardrail policy and settlement configuration changes are events too', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    await endpointFor(org, r, { event_types: ['api_key.rotated', 'api_key.revoked', 'guardrail.policy_version.created', 'settlement.config_version.created'] });
    const key = await createKey(org);
    const rotated = await rest(gw, 'POST', `/v1/admin/api-keys/${key.body.api_key_id}/rotate`, {}, admin(org));
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect((await rest(gw, 'DELETE', `/v1/admin/api-keys/${rotated.body.api_key_id}`, undefined, admin(org))).status).toBe(200);
    expect((await rest(gw, 'PUT', '/v1/admin/guardrails/policy', { mode: 'observe' }, admin(org))).status).toBe(200);
    expect((await rest(gw, 'PUT', '/v1/admin/settlement/config', { allowed_rails: ['stripe_ach_debit'] }, admin(org))).status).toBe(200);
    await drainDeliveries(gw.runtime);
    const byType = Object.fromEntries(eventsOf(r).map((e) => [e.type, e.data]));
    expect(Object.keys(byType).sort()).toEqual(['api_key.revoked', 'api_key.rotated', 'guardrail.policy_version.created', 'settlement.config_version.created']);
    expect(byType['api_key.rotated']).toMatchObject({ api_key: { id: rotated.body.api_key_id, rotated_from_id: key.body.api_key_id, status: 'active' }, replaced_api_key: { id: key.body.api_key_id, status: 'revoked' } });
    expect(byType['api_key.revoked']).toMatchObject({ api_key: { id: rotated.body.api_key_id, status: 'revoked' } });
    expect(byType['guardrail.policy_version.created']).toMatchObject({ policy: { version: 1, mode: 'observe' } });
    expect(byType['settlement.config_version.created']).toMatchObject({ settlement_config: { version: 1, allowed_rails: ['stripe_ach_debit'] } });
    // Secrets of the keys never travel in an event.
    for (const secret of [key.body.api_key, rotated.body.api_key]) expect(JSON.stringify(r.received)).not.toContain(secret);
  });

  it('every dispute case change is a dispute_case.updated event with the case after it; a refused change is none', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    await endpointFor(org, r, { event_types: ['dispute_case.updated'] });
    const created = await rest(gw, 'POST', '/v1/disputes/cases', { title: 'Vendor did not deliver', reason: 'No booking confirmation', priority: 'high' }, admin(org));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const caseId = created.body.case_id as string;
    expect((await rest(gw, 'POST', `/v1/disputes/cases/${caseId}/notes`, { body: 'Asked the vendor for the booking log.' }, admin(org))).status).toBe(201);
    expect((await rest(gw, 'POST', `/v1/disputes/cases/${caseId}/assign`, { assignee_id: org.admin.userId }, admin(org))).status).toBe(200);
    // Refused (no such assignee): audited as denied, announced nowhere.
    expect((await rest(gw, 'POST', `/v1/disputes/cases/${caseId}/assign`, { assignee_id: 'usr_nobody' }, admin(org))).status).toBeGreaterThanOrEqual(400);
    await drainDeliveries(gw.runtime);
    // Deliveries run concurrently, so they arrive in any order.
    const byChange = Object.fromEntries(eventsOf(r).map((e) => [e.data.change, e]));
    expect(eventsOf(r)).toHaveLength(3);
    expect(Object.keys(byChange).sort()).toEqual(['case_assigned', 'case_created', 'note_added']);
    expect(new Set(eventsOf(r).map((e) => e.type))).toEqual(new Set(['dispute_case.updated']));
    expect(byChange.case_created.data.dispute_case).toMatchObject({ case_id: caseId, intent_id: null, status: 'open', priority: 'high', assignee_id: null, outcome: null });
    expect(byChange.case_assigned.data.dispute_case).toMatchObject({ case_id: caseId, status: 'under_review', assignee_id: org.admin.userId });
    // Note bodies stay out of events.
    expect(JSON.stringify(r.received)).not.toContain('booking log');
  });

  it('an operator review case that changes state is a signal.review_status.changed event; a review event that keeps it is none', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    await endpointFor(org, r, { event_types: ['signal.review_status.changed'] });
    const payee = 'did:example:reviewed-payee';
    await createIntent(gw, await harborActor(gw, org), { payeeDid: payee });
    const review = (body: Record<string, unknown>) => rest(gw, 'POST', `/signal/v1/operators/${encodeURIComponent(payee)}/review-events`, body, admin(org));
    expect((await review({ event_type: 'review_open_requested', summary: 'Customer complaint' })).status).toBe(202);
    expect((await review({ event_type: 'review_open_requested', summary: 'Second complaint, same case' })).status).toBe(202);
    expect((await review({ event_type: 'false_positive', summary: 'Checked: legitimate' })).status).toBe(202);
    await drainDeliveries(gw.runtime);
    const events = eventsOf(r).map((e) => e.data).sort((a, b) => (a.review_status === 'open' ? -1 : b.review_status === 'open' ? 1 : 0));
    expect(events).toEqual([
      { operator_did: payee, review_status: 'open', previous_review_status: 'none', review_outcome: 'none', review_reasons: ['MANUAL_REVIEW'] },
      { operator_did: payee, review_status: 'closed', previous_review_status: 'open', review_outcome: 'false_positive', review_reasons: ['MANUAL_REVIEW'] },
    ]);
    expect(JSON.stringify(r.received)).not.toContain('Customer complaint');
  });

  it('retries a failing receiver with growing delays, then delivers; the deliveries list filters by status', async () => {
    const org = await createOrg(gw);
    let failures = 2;
    const r = await receiver(() => (failures-- > 0 ? { status: 503, body: 'busy '.repeat(500) } : { status: 204 }));
    const { endpoint_id: id } = await endpointFor(org, r);
    await createKey(org);
    const t0 = clock.now().getTime();
    await drainDeliveries(gw.runtime);
    const delivery = await gw.runtime.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 503, lastError: 'http_status' });
    const firstDelay = delivery.nextAttemptAt!.getTime() - t0;
    expect(firstDelay).toBeGreaterThanOrEqual(24_000);
    expect(firstDelay).toBeLessThan(36_000);
    // Not due yet: nothing is sent.
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(1);
    clock.set(delivery.nextAttemptAt!);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(2);
    const again = await gw.runtime.db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    const secondDelay = again.nextAttemptAt!.getTime() - clock.now().getTime();
    expect(secondDelay).toBeGreaterThanOrEqual(96_000);
    expect(secondDelay).toBeGreaterThan(firstDelay);
    clock.set(again.nextAttemptAt!);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1);
    expect(r.received.every((x) => x.verified[0])).toBe(true);
    expect(await gw.runtime.db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: 'delivered', attempts: 3 });

    const list = await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries`, undefined, admin(org));
    expect(list.body.deliveries.map((d: { attempt: number; status: string }) => [d.attempt, d.status])).toEqual([
      [3, 'delivered'],
      [2, 'failed'],
      [1, 'failed'],
    ]);
    const failed = list.body.deliveries[2];
    expect(failed).toMatchObject({ status_code: 503, error: 'http_status' });
    expect(Buffer.byteLength(failed.response_excerpt)).toBe(1024);
    expect(new Date(failed.next_attempt_at).getTime()).toBe(t0 + firstDelay);
    const onlyFailed = await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries?status=failed&limit=1`, undefined, admin(org));
    expect(onlyFailed.body.deliveries.map((d: { attempt: number }) => d.attempt)).toEqual([2]);
    expect(onlyFailed.body.next_cursor).toBeTruthy();
    const page2 = await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries?status=failed&limit=1&cursor=${encodeURIComponent(onlyFailed.body.next_cursor)}`, undefined, admin(org));
    expect(page2.body.deliveries.map((d: { attempt: number }) => d.attempt)).toEqual([1]);
    expectError(await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries?status=lost`, undefined, admin(org)), 400, 'invalid_request');
    expect((await rest(gw, 'GET', `${ENDPOINTS}/${id}`, undefined, admin(org))).body).toMatchObject({ status: 'active', consecutive_failures: 0 });
  });

  it('410 Gone disables the endpoint: its pending deliveries are canceled and new events skip it', async () => {
    const org = await createOrg(gw);
    const r = await receiver(() => ({ status: 410 }));
    const { endpoint_id: id } = await endpointFor(org, r);
    await createKey(org);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(1);
    const endpoint = (await rest(gw, 'GET', `${ENDPOINTS}/${id}`, undefined, admin(org))).body;
    expect(endpoint).toMatchObject({ status: 'disabled', disabled_reason: 'gone', consecutive_failures: 1 });
    expect(await gw.runtime.db.auditEvent.count({ where: { tenantId: org.tenants.sandbox, eventType: 'webhook.endpoint.disabled', resourceId: id } })).toBe(1);
    expect((await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries`, undefined, admin(org))).body.deliveries[0]).toMatchObject({ status_code: 410, error: 'endpoint_gone', next_attempt_at: null });
    await createKey(org);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(1);
    expectError(await rest(gw, 'POST', `${ENDPOINTS}/${id}/test`, {}, admin(org)), 409, 'webhook_endpoint_disabled');
    // Enabled again by an admin: events flow again.
    const enabled = await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { enabled: true }, admin(org));
    expect(enabled.body).toMatchObject({ status: 'active', disabled_reason: null, consecutive_failures: 0 });
    r.reply = () => ({ status: 200 });
    await createKey(org);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(2);
  });

  it('an endpoint that keeps failing is marked failing for its admins until a success; after the last attempt the delivery is given up', async () => {
    const org = await createOrg(gw);
    const r = await receiver(() => ({ status: 500 }));
    const { endpoint_id: id } = await endpointFor(org, r);
    await createKey(org);
    for (let attempt = 1; attempt <= 12; attempt++) {
      await drainDeliveries(gw.runtime);
      expect(r.received).toHaveLength(attempt);
      const delivery = await gw.runtime.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
      if (delivery.nextAttemptAt) clock.set(delivery.nextAttemptAt);
    }
    const delivery = await gw.runtime.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 12, nextAttemptAt: null });
    const row = await gw.runtime.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(row.consecutiveFailures).toBe(12);
    expect(row.failingSince).not.toBeNull();
    expect(await gw.runtime.db.auditEvent.count({ where: { eventType: 'webhook.endpoint.failing', resourceId: id } })).toBe(1);
    // The admin sees it (a fresh session: the clock moved days ahead).
    const session = await gw.runtime.db.$transaction((tx) => openSession(gw.runtime, tx, org.admin.userId, org.tenants.sandbox));
    const status = await gqlOk(gw, 'query($id: ID!) { webhookEndpoint(id: $id) { status consecutiveFailures } }', { id }, { token: session.accessToken });
    expect(status.webhookEndpoint).toEqual({ status: 'failing', consecutiveFailures: 12 });
    const listed = await rest(gw, 'GET', ENDPOINTS, undefined, { token: session.accessToken });
    expect(listed.body.endpoints[0]).toMatchObject({ endpoint_id: id, status: 'failing' });
    // A manual redelivery that succeeds clears the flag.
    r.reply = () => ({ status: 200 });
    await gw.runtime.db.webhookDelivery.update({ where: { id: delivery.id }, data: { status: 'pending', nextAttemptAt: clock.now(), retryBase: 12 } });
    await drainDeliveries(gw.runtime);
    expect(await gw.runtime.db.webhookEndpoint.findUniqueOrThrow({ where: { id } })).toMatchObject({ consecutiveFailures: 0, failingSince: null });
    expect(await gw.runtime.db.auditEvent.count({ where: { eventType: 'webhook.endpoint.recovered', resourceId: id } })).toBe(1);
  });
});

describe('secret rotation, test events, redelivery, update and delete', () => {
  it('during the overlap both secrets sign (each verifies alone); with no overlap only the new one does', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    const { endpoint_id: id, secret: first } = await endpointFor(org, r);
    const rotated = await rest(gw, 'POST', `${ENDPOINTS}/${id}/rotate-secret`, { overlap_seconds: 60 }, admin(org));
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const second = rotated.body.secret as string;
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    expect(new Date(rotated.body.previous_secret_expires_at).getTime()).toBe(clock.now().getTime() + 60_000);
    expect(rotated.body.secret_hint).toBe(second.slice(-4));
    r.secrets.splice(0, r.secrets.length, first, second);
    await createKey(org);
    await drainDeliveries(gw.runtime);
    expect(r.received.at(-1)!.verified).toEqual([true, true]);
    expect(String(r.received.at(-1)!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    // After the overlap the old secret stops signing.
    clock.advance(61);
    expect((await createKey(org)).status).toBe(201);
    await drainDeliveries(gw.runtime);
    expect(r.received.at(-1)!.verified).toEqual([false, true]);
    // Rotation without overlap: only the newest secret signs at once.
    const third = (await rest(gw, 'POST', `${ENDPOINTS}/${id}/rotate-secret`, { overlap_seconds: 0 }, admin(org))).body.secret as string;
    r.secrets.push(third);
    await createKey(org);
    await drainDeliveries(gw.runtime);
    expect(r.received.at(-1)!.verified).toEqual([false, false, true]);
    expect((await rest(gw, 'GET', `${ENDPOINTS}/${id}`, undefined, admin(org))).body.previous_secret_expires_at).toBeNull();
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { resourceId: id, eventType: 'webhook.endpoint.secret_rotated' } });
    expect(audit).toHaveLength(2);
    for (const s of [first, second, third]) expect(JSON.stringify(audit)).not.toContain(s.slice(6));
  });

  it('a sandbox test event is signed, carries the credential’s tenant and environment, and records a simulator rehearsal', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    const { endpoint_id: id } = await endpointFor(org, r);
    const res = await rest(gw, 'POST', `${ENDPOINTS}/${id}/test`, { tenant_id: 'ten_someone_else', environment: 'live' }, admin(org));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ simulated: true });
    expect(res.body.simulator_idempotency_key).toMatch(/^sim_[0-9a-f]{64}$/);
    await drainDeliveries(gw.runtime);
    const [event] = eventsOf(r);
    expect(event).toMatchObject({ id: res.body.event_id, type: 'webhook.test', tenant_id: org.tenants.sandbox, environment: 'sandbox', data: { endpoint_id: id } });
    expect(r.received[0]!.verified).toEqual([true]);
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: org.tenants.sandbox, type: 'simulator.webhook_rehearsal' } });
    expect(ledger).toHaveLength(1);
    expect(await gw.runtime.db.simulatorEvent.count({ where: { tenantId: org.tenants.sandbox, kind: 'webhook_rehearsal' } })).toBe(1);
    const audits = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, eventType: { in: ['sandbox.simulator.webhook_rehearsal', 'webhook.endpoint.tested'] } } });
    expect(audits.map((a) => a.eventType).sort()).toEqual(['sandbox.simulator.webhook_rehearsal', 'webhook.endpoint.tested']);
    // A second test is a second rehearsal.
    expect((await rest(gw, 'POST', `${ENDPOINTS}/${id}/test`, {}, admin(org))).status).toBe(202);
    expect(await gw.runtime.db.simulatorEvent.count({ where: { tenantId: org.tenants.sandbox, kind: 'webhook_rehearsal' } })).toBe(2);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(2);
    // Live: the same signed test, and no simulator rows.
    const live = await endpointFor(org, r, {}, 'live');
    const liveRes = await rest(gw, 'POST', `${ENDPOINTS}/${live.endpoint_id}/test`, {}, admin(org, 'live'));
    expect(liveRes.body).toMatchObject({ simulated: false, simulator_event_id: null });
    await drainDeliveries(gw.runtime);
    expect(eventsOf(r).at(-1)).toMatchObject({ type: 'webhook.test', tenant_id: org.tenants.live, environment: 'live' });
    expect(await gw.runtime.db.simulatorEvent.count({ where: { tenantId: org.tenants.live } })).toBe(0);
  });

  it('redelivers one delivery with the same webhook-id; update and delete work and are audited', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    const { endpoint_id: id } = await endpointFor(org, r);
    await createKey(org);
    await drainDeliveries(gw.runtime);
    const delivery = await gw.runtime.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
    clock.advance(1);
    const again = await rest(gw, 'POST', `${ENDPOINTS}/${id}/deliveries/${delivery.id}/redeliver`, {}, admin(org));
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.body).toMatchObject({ delivery_id: delivery.id, status: 'pending', attempts: 1 });
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(2);
    expect(r.received[1]!.headers['webhook-id']).toBe(r.received[0]!.headers['webhook-id']);
    expect((await rest(gw, 'GET', `${ENDPOINTS}/${id}/deliveries`, undefined, admin(org))).body.deliveries.map((d: { attempt: number }) => d.attempt)).toEqual([2, 1]);
    expectError(await rest(gw, 'POST', `${ENDPOINTS}/${id}/deliveries/whd_nope/redeliver`, {}, admin(org)), 404, 'not_found');

    // Update: URL checked again, filter, disable (pending deliveries canceled).
    expectError(await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { url: 'http://169.254.169.254/' }, admin(org)), 400, 'webhook_url_address_not_allowed');
    expectError(await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { enabled: 'yes' }, admin(org)), 400, 'invalid_request');
    const updated = await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { description: 'renamed', event_types: ['intent.funded'] }, admin(org));
    expect(updated.body).toMatchObject({ description: 'renamed', event_types: ['intent.funded'], status: 'active' });
    await createKey(org);
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(2);
    await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { event_types: [] }, admin(org));
    await createKey(org);
    const disabled = await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { enabled: false }, admin(org));
    expect(disabled.body).toMatchObject({ status: 'disabled', disabled_reason: 'admin' });
    await drainDeliveries(gw.runtime);
    expect(r.received).toHaveLength(2);
    expect(await gw.runtime.db.webhookDelivery.count({ where: { endpointId: id, status: 'canceled' } })).toBe(1);

    const deleted = await rest(gw, 'DELETE', `${ENDPOINTS}/${id}`, undefined, admin(org));
    expect(deleted.status).toBe(200);
    expect(deleted.body.endpoint_id).toBe(id);
    expect(JSON.stringify(deleted.body)).not.toContain('whsec_');
    expectError(await rest(gw, 'GET', `${ENDPOINTS}/${id}`, undefined, admin(org)), 404, 'not_found');
    expect(await gw.runtime.db.webhookDelivery.count({ where: { endpointId: id } })).toBe(0);
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { resourceId: { in: [id, delivery.id] } }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((a) => a.eventType)).toEqual(
      expect.arrayContaining(['webhook.endpoint.created', 'webhook.delivery.redelivered', 'webhook.endpoint.updated', 'webhook.endpoint.deleted']),
    );
  });

  it('rate limits endpoint changes and test events by their own groups', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    const { endpoint_id: id } = await endpointFor(org, r);
    const policy = await rest(
      gw,
      'PUT',
      '/v1/admin/guardrails/policy',
      { mode: 'enforce', rate_limit_profile: { admin_webhook_endpoint_test: { limit: 1, window_seconds: 3600 }, admin_webhook_endpoint_mutation: { limit: 3, window_seconds: 3600 } } },
      admin(org),
    );
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    // The create above counted already: two more changes, then 429.
    expect((await rest(gw, 'POST', `${ENDPOINTS}/${id}/test`, {}, admin(org))).status).toBe(202);
    const limited = await rest(gw, 'POST', `${ENDPOINTS}/${id}/test`, {}, admin(org));
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect((await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { description: 'a' }, admin(org))).status).toBe(200);
    expect((await rest(gw, 'PATCH', `${ENDPOINTS}/${id}`, { description: 'b' }, admin(org))).status).toBe(200);
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: `${r.url}/x` }, admin(org)), 429, 'rate_limited');
  });

  it('a tenant has at most 20 endpoints', async () => {
    const org = await createOrg(gw);
    const r = await receiver();
    await gw.runtime.db.webhookEndpoint.createMany({
      data: Array.from({ length: 20 }, (_, i) => ({ id: `whe_seed${i}_${org.tenants.sandbox}`, tenantId: org.tenants.sandbox, url: r.url, eventTypes: [], secretSealed: 'v1.x', secretHint: 'abcd' })),
    });
    expectError(await rest(gw, 'POST', ENDPOINTS, { url: `${r.url}/x` }, admin(org)), 409, 'webhook_endpoint_limit_reached');
  });

  it('serves the event catalogue as JSON and as the receivers’ guide', async () => {
    const types = await rest(gw, 'GET', '/v1/webhooks/event-types');
    expect(types.status).toBe(200);
    const funded = types.body.event_types.find((t: { type: string }) => t.type === 'intent.funded');
    expect(funded.data_schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(funded.example.type).toBe('intent.funded');
    const guide = await gw.app.fetch('http://gateway/webhooks/events.md');
    expect(guide.status).toBe(200);
    expect(await guide.text()).toContain('### `intent.funded`');
  });
});

describe('SSRF protection when private networks are not allowed', () => {
  let strict: TestGateway;
  beforeAll(async () => {
    strict = await createTestGateway({ env: { WEBHOOK_WORKER: 'off' } });
  });
  afterAll(() => strict.close());

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook', 'loopback'],
    ['a 10.x address', 'http://10.1.2.3/hook', 'private'],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data', 'metadata'],
    ['a name that resolves to loopback', 'http://localhost:8080/hook', 'loopback'],
    ['IPv6 loopback', 'http://[::1]:8080/hook', 'loopback'],
  ])('refuses %s at creation', async (_name, url, category) => {
    const org = await createOrg(strict);
    const res = await rest(strict, 'POST', ENDPOINTS, { url }, { token: org.admin.token.sandbox });
    expectError(res, 400, 'webhook_url_address_not_allowed');
    expect(res.body.error.details).toMatchObject({ category });
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|::1/);
  });

  it('checks again at delivery: an endpoint whose address became private is not called', async () => {
    const org = await createOrg(strict);
    const r = await startReceiver();
    receivers.push(r);
    // A public address passes the creation check (no DNS needed for an IP literal)...
    const created = await rest(strict, 'POST', ENDPOINTS, { url: 'https://93.184.215.14/x' }, { token: org.admin.token.sandbox });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.endpoint_id as string;
    // ...and the target then moves to loopback (as a rebound DNS name would).
    await strict.runtime.db.webhookEndpoint.update({ where: { id }, data: { url: `${r.url}/rebound` } });
    await createKeyOn(strict, org);
    await drainDeliveries(strict.runtime);
    expect(r.received).toHaveLength(0);
    const attempt = await strict.runtime.db.webhookAttempt.findFirstOrThrow({ where: { endpointId: id } });
    expect(attempt).toMatchObject({ status: 'failed', error: 'address_not_allowed', statusCode: null });
  });
});

const createKeyOn = (g: TestGateway, org: TestOrg) => rest(g, 'POST', '/v1/admin/api-keys', { name: 'hooked' }, { token: org.admin.token.sandbox });
