import { createHash, createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, flattenedVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/crypto/canonical-json.ts';
import { signMandate } from '../../src/areas/protocol/mandate.ts';
import { verifyProtocolReceipt } from '../../src/areas/protocol/receipts.ts';
import { TENANT_ID } from '../../src/areas/protocol/wire.ts';
import { createTestGateway, expectError, gql, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { createIntent, fundedIntent, harborActor, harborWrite, recognitionProof, signedEvidence, type HarborActor, type ProofOptions } from '../helpers/harbor.ts';

// Golden vectors made by the Paybond Kit SDK itself (test/fixtures/kit/README.md says how).
const load = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/kit/${name}`, import.meta.url), 'utf8'));
const mandates = load('mandates.json');
const receipts = load('receipts.json');
const seed = (name: string) => new Uint8Array(Buffer.from(mandates.keys[name].seed_hex, 'hex'));
const pemOf = (seedHex: string) =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();

let gw: TestGateway;
let org: TestOrg;
let other: TestOrg;
let actor: HarborActor;
let otherActor: HarborActor;

beforeAll(async () => {
  // The gateway signs with the fixture "gateway" key, so the SDK-signed golden receipts are this gateway's.
  gw = await createTestGateway({ env: { GATEWAY_SIGNING_KEY: pemOf(receipts.keys.gateway.seed_hex) } });
  org = await createOrg(gw);
  other = await createOrg(gw, 'Other Org');
  actor = await harborActor(gw, org);
  otherActor = await harborActor(gw, other);
});
afterAll(() => gw.close());

/** An AgentMandateV1 for a tenant, signed with the SDK's algorithm (byte-identical to the SDK: formats.test.ts). */
function mandateFor(a: HarborActor, overrides: Record<string, unknown> = {}, key = seed('principal')) {
  return signMandate(
    {
      authorization: { kind: 'principal', tenant_id: a.tenantId, principal_subject: 'user-1', principal_type: 'user' },
      agent: { subject: 'agent:travel', issuer: 'https://agents.example', key_id: a.keyId, display_name: 'Travel agent' },
      allowed_actions: ['harbor.intent.fund'],
      allowed_tools: ['vendor.book'],
      spend_ceiling: { amount_minor: 10_000, currency: 'usd' },
      settlement: { default_rail: 'stripe_connect', allowed_rails: ['stripe_connect'] },
      constraint: { kind: 'predicate', id: 'completion_budget_v1', version: '1', digest_sha256_hex: '', uri: '' },
      expires_at: '2032-01-01T00:00:00Z',
      nonce: randomUUID(),
      human_presence_mode: 'human_not_present',
      ...overrides,
    },
    key,
  );
}

const proofObject = (a: HarborActor, mandate: { message_digest_sha256_hex: string }, options: ProofOptions = {}) =>
  JSON.parse(
    Buffer.from(recognitionProof(a, 'POST', '/protocol/v2/mandates', '', { purpose: 'protocol.mandate.import', bodyDigest: mandate.message_digest_sha256_hex, ...options }), 'base64url').toString(),
  );

/** POST /protocol/v2/mandates exactly as the SDK's importAgentMandateV1 sends it. */
const importMandate = (a: HarborActor, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  rest(gw, 'POST', '/protocol/v2/mandates', body, { token: a.token, headers: { 'x-tenant-id': a.tenantId, ...headers } });

const sdkImportBody = (a: HarborActor, intentId: string, mandate = mandateFor(a)) => ({
  signed_mandate: mandate,
  intent_id: intentId,
  transport_binding: {},
  recognition_proof: proofObject(a, mandate),
});

describe('tenant ids', () => {
  it('new tenants get ids the SDK accepts in signed artifacts', () => {
    for (const id of [...Object.values(org.tenants), ...Object.values(other.tenants)]) expect(id).toMatch(TENANT_ID);
  });
});

describe('agent card and JWKS', () => {
  it('serves a signed card whose JWS verifies with the published JWKS (jose), with ETag and Cache-Control', async () => {
    const res = await rest(gw, 'GET', '/.well-known/agent-card.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const card = res.body;
    expect(card).toMatchObject({ name: 'Paybond Gateway', version: expect.any(String), capabilities: expect.any(Object) });
    expect(card.securitySchemes).toHaveProperty('bearer');
    expect(card.securitySchemes).toHaveProperty('agentSignature');
    expect(card.links.map((l: { href: string }) => l.href)).toEqual(expect.arrayContaining(['/openapi.json', '/agent-docs/INDEX.md']));
    const catalog = await rest(gw, 'GET', '/protocol/v2/a2a/task-contracts?limit=100');
    expect(card.skills.map((s: { id: string }) => s.id)).toEqual(catalog.body.contracts.map((c: { id: string }) => c.id));

    const jwks = await rest(gw, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    const { signatures, ...unsigned } = card;
    const verified = await flattenedVerify(
      { protected: signatures[0].protected, signature: signatures[0].signature, payload: Buffer.from(canonicalJson(unsigned)).toString('base64url') },
      createLocalJWKSet(jwks.body),
    );
    expect(verified.protectedHeader).toMatchObject({ alg: 'EdDSA', kid: jwks.body.keys[0].kid });
    // The JWKS key is the gateway signing key (the one protocol receipts name).
    expect(Buffer.from(jwks.body.keys[0].x, 'base64url').toString('hex')).toBe(receipts.keys.gateway.public_key_hex);

    // A changed card no longer verifies.
    const tampered = { ...unsigned, name: 'Evil Gateway' };
    await expect(
      flattenedVerify({ protected: signatures[0].protected, signature: signatures[0].signature, payload: Buffer.from(canonicalJson(tampered)).toString('base64url') }, createLocalJWKSet(jwks.body)),
    ).rejects.toThrow();

    const alias = await rest(gw, 'GET', '/protocol/v2/a2a/agent-card');
    expect(alias.body).toEqual(card);
    expect(alias.headers.get('etag')).toBe(res.headers.get('etag'));
    expect((await gqlOk(gw, '{ agentCard }')).agentCard).toEqual(card);
  });
});

describe('task contracts', () => {
  it('lists contracts built from the completion presets, a page at a time, and serves each by id', async () => {
    const first = await rest(gw, 'GET', '/protocol/v2/a2a/task-contracts?limit=5');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ schemaVersion: 1, kind: 'paybond.a2a_task_contract_catalog_v1', agentCardUrl: '/.well-known/agent-card.json' });
    expect(first.body.contracts).toHaveLength(5);
    const all: any[] = [...first.body.contracts];
    let cursor = first.body.next_cursor;
    while (cursor) {
      const page = await rest(gw, 'GET', `/protocol/v2/a2a/task-contracts?limit=5&cursor=${encodeURIComponent(cursor)}`);
      all.push(...page.body.contracts);
      cursor = page.body.next_cursor;
    }
    const { PRESETS } = await import('../../src/areas/sandbox/presets.ts');
    const published = [...PRESETS.values()].filter((p) => !p.deprecated);
    expect(all.map((c) => c.completionPresetId).sort()).toEqual(published.map((p) => p.preset_id).sort());
    const contract = all.find((c) => c.id === 'harbor.api_response_ok');
    expect(contract).toMatchObject({
      version: '1',
      operation: 'harbor.delegated_settlement',
      predicateTemplate: { templateId: 'api_response_v1', parameters: PRESETS.get('api_response_ok')!.parameters },
      evidenceSchema: PRESETS.get('api_response_ok')!.evidence_schema,
    });
    const { contentDigestSha256Hex, ...rest0 } = contract;
    expect(contentDigestSha256Hex).toBe(createHash('sha256').update(canonicalJson(rest0)).digest('hex'));

    const one = await rest(gw, 'GET', '/protocol/v2/a2a/task-contracts/harbor.api_response_ok');
    expect(one.status).toBe(200);
    expect(one.body).toEqual(contract);
    expectError(await rest(gw, 'GET', '/protocol/v2/a2a/task-contracts/harbor.nope'), 404, 'task_contract_not_found');
    expectError(await rest(gw, 'GET', '/protocol/v2/a2a/task-contracts?limit=0'), 400, 'invalid_request');
    const gq = await gqlOk(gw, '{ taskContracts(first: 2) { totalCount nextCursor contracts { id templateId contentDigestSha256Hex } } }');
    expect(gq.taskContracts.totalCount).toBe(all.length);
    expect(gq.taskContracts.contracts[0].id).toBe(all[0].id);
  });
});

describe('POST /protocol/v2/mandates/verify', () => {
  it('verifies every SDK-signed golden mandate: digest and normalized body', async () => {
    for (const g of mandates.golden) {
      const res = await rest(gw, 'POST', '/protocol/v2/mandates/verify', g.signed);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const { signing_algorithm: _a, message_digest_sha256_hex: _d, signing_public_key_ed25519_hex: _k, ed25519_signature_hex: _s, ...body } = g.signed;
      expect(res.body).toMatchObject({ valid: true, mandate_digest_sha256_hex: g.digest_sha256_hex, mandate: body, signing_public_key_ed25519_hex: g.signed.signing_public_key_ed25519_hex });
    }
  });

  it('refuses each tampered SDK variant with its own code (one byte, wrong key, expired, version, algorithm, malformed)', async () => {
    for (const v of mandates.variants) {
      if (v.name === 'not_an_object') {
        expectError(await rest(gw, 'POST', '/protocol/v2/mandates/verify', undefined, { raw: JSON.stringify(v.value), headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
        continue;
      }
      const res = await rest(gw, 'POST', '/protocol/v2/mandates/verify', v.value);
      const status = ['mandate_malformed', 'mandate_unsupported_version', 'mandate_unsupported_algorithm'].includes(v.expected_code) ? 400 : 422;
      expectError(res, status, v.expected_code);
    }
  });

  it('with the caller’s credential, another tenant’s mandate is mandate_tenant_mismatch', async () => {
    const res = await rest(gw, 'POST', '/protocol/v2/mandates/verify', mandateFor(otherActor), { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expectError(res, 422, 'mandate_tenant_mismatch');
    const own = await rest(gw, 'POST', '/protocol/v2/mandates/verify', mandateFor(actor), { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(own.status).toBe(200);
  });
});

describe('POST /protocol/v2/receipts/verify', () => {
  it('verifies SDK-signed receipts of both kinds and ours', async () => {
    for (const g of receipts.golden) {
      for (const receipt of [g.sdk_signed, g.gateway_signed]) {
        const res = await rest(gw, 'POST', '/protocol/v2/receipts/verify', receipt);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toMatchObject({ valid: true, kind: receipt.kind, receipt_id: receipt.receipt_id, tenant_id: receipt.tenant_id, receipt_digest_sha256_hex: receipt.message_digest_sha256_hex });
      }
    }
  });

  it('refuses tampered receipts with distinct codes', async () => {
    for (const v of receipts.variants) {
      const status = v.expected_code.startsWith('receipt_malformed') || v.expected_code.startsWith('receipt_unsupported') ? 400 : 422;
      expectError(await rest(gw, 'POST', '/protocol/v2/receipts/verify', v.value), status, v.expected_code);
    }
  });
});

describe('mandate import and receipts (the SDK flow)', () => {
  it('imports an SDK-shaped mandate once, returns a signed authorization receipt, and serves the settlement receipt once the intent is released', async () => {
    const { intentId } = await fundedIntent(gw, actor, { amountCents: 3000 });
    const mandate = mandateFor(actor);
    const res = await importMandate(actor, sdkImportBody(actor, intentId, mandate));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // What the SDK's importAgentMandateV1 requires.
    expect(res.body.intent_id).toBe(intentId);
    expect(res.body.mandate.authorization.tenant_id).toBe(actor.tenantId);
    expect(res.body).toMatchObject({ valid: true, mandate_digest_sha256_hex: mandate.message_digest_sha256_hex });
    const receipt = res.body.authorization_receipt;
    expect(receipt).toMatchObject({ kind: 'paybond.protocol_authorization_receipt_v1', status: 'authorized', intent_id: intentId, tenant_id: actor.tenantId, mandate_digest_sha256_hex: mandate.message_digest_sha256_hex });
    expect(verifyProtocolReceipt(receipt, { trustedSignerKeysHex: [receipts.keys.gateway.public_key_hex], expectedTenantId: actor.tenantId })).toMatchObject({ ok: true });
    const ledger = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: actor.tenantId, intentId }, orderBy: { seq: 'asc' } });
    expect(ledger.map((e) => e.type)).toContain('protocol.mandate_imported');
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: actor.tenantId, resourceId: intentId, eventType: 'protocol.mandate_imported' } });
    expect(audit).toHaveLength(1);

    // The receipt verifies through the route too, and by id for its tenant.
    const verified = await rest(gw, 'POST', '/protocol/v2/receipts/verify', receipt, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(verified.body).toMatchObject({ valid: true, kind: 'paybond.protocol_authorization_receipt_v1', receipt_id: receipt.receipt_id });
    const byId = await rest(gw, 'POST', '/protocol/v2/receipts/verify', { receipt_id: receipt.receipt_id }, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(byId.body).toMatchObject({ valid: true, receipt_id: receipt.receipt_id });
    expectError(await rest(gw, 'POST', '/protocol/v2/receipts/verify', { receipt_id: receipt.receipt_id }, { token: otherActor.token, headers: { 'x-tenant-id': otherActor.tenantId } }), 404, 'not_found');
    // The other tenant cannot pass it off as theirs.
    expectError(await rest(gw, 'POST', '/protocol/v2/receipts/verify', receipt, { token: otherActor.token, headers: { 'x-tenant-id': otherActor.tenantId } }), 422, 'receipt_tenant_mismatch');

    // Before the intent is terminal: 409 with a clear code.
    const early = await rest(gw, 'GET', `/protocol/v2/receipts/${intentId}`, undefined, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expectError(early, 409, 'protocol_not_terminal');

    await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'completed', cost_cents: 1000 }));
    const settle = await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {});
    expect(settle.body.state).toBe('settled');

    const got = await rest(gw, 'GET', `/protocol/v2/receipts/${intentId}`, undefined, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    // What the SDK's getSettlementReceiptV1 requires, and the protocol terminal state of a settled intent.
    expect(got.body).toMatchObject({ receipt_id: intentId, tenant_id: actor.tenantId, harbor_state: 'released', predicate_passed: true, authorization_receipt_id: receipt.receipt_id, amount_cents: 3000 });
    expect(verifyProtocolReceipt(got.body, { trustedSignerKeysHex: [receipts.keys.gateway.public_key_hex] })).toMatchObject({ ok: true, kind: 'paybond.protocol_settlement_receipt_v1' });
    const again = await rest(gw, 'GET', `/protocol/v2/receipts/${intentId}`, undefined, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } });
    expect(again.body).toEqual(got.body);
    const settleVerify = await rest(gw, 'POST', '/protocol/v2/receipts/verify', got.body);
    expect(settleVerify.body).toMatchObject({ valid: true, kind: 'paybond.protocol_settlement_receipt_v1' });

    // Another tenant's receipt is a 404; no credential is a 401.
    expectError(await rest(gw, 'GET', `/protocol/v2/receipts/${intentId}`, undefined, { token: otherActor.token, headers: { 'x-tenant-id': otherActor.tenantId } }), 404, 'not_found');
    expectError(await rest(gw, 'GET', `/protocol/v2/receipts/${intentId}`), 401, 'unauthenticated');

    // Dashboard twin: mandate and receipt on the intent.
    const data = await gqlOk(gw, 'query($id: String!) { intent(intentId: $id) { protocolMandate { mandateDigestSha256Hex authorizationReceiptId agentKeyId } protocolSettlementReceipt } }', { id: intentId }, { token: org.admin.token.sandbox });
    expect(data.intent.protocolMandate).toMatchObject({ mandateDigestSha256Hex: mandate.message_digest_sha256_hex, authorizationReceiptId: receipt.receipt_id, agentKeyId: actor.keyId });
    expect(data.intent.protocolSettlementReceipt).toEqual(got.body);
  });

  it('binds exactly once: a second mandate for the intent, or the same mandate elsewhere, is a 409', async () => {
    const a = await createIntent(gw, actor, { amountCents: 2000 });
    const b = await createIntent(gw, actor, { amountCents: 2000 });
    const mandate = mandateFor(actor);
    expect((await importMandate(actor, sdkImportBody(actor, a.intent_id, mandate))).status).toBe(200);
    expectError(await importMandate(actor, sdkImportBody(actor, a.intent_id)), 409, 'mandate_already_bound');
    expectError(await importMandate(actor, sdkImportBody(actor, b.intent_id, mandate)), 409, 'mandate_already_imported');
    expect(await gw.runtime.db.protocolMandateBinding.count({ where: { tenantId: actor.tenantId, intentId: b.intent_id } })).toBe(0);
  });

  it('replays the same answer under the same Idempotency-Key', async () => {
    const { intent_id } = await createIntent(gw, actor, { amountCents: 2000 });
    const body = sdkImportBody(actor, intent_id);
    const first = await importMandate(actor, body, { 'idempotency-key': `imp-${intent_id}` });
    const second = await importMandate(actor, body, { 'idempotency-key': `imp-${intent_id}` });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
  });

  it('refuses mandates that do not cover the intent, tampered or expired mandates and bad proofs, writing nothing', async () => {
    const { intent_id } = await createIntent(gw, actor, { amountCents: 5000 });
    const count = () => gw.runtime.db.protocolMandateBinding.count({ where: { tenantId: actor.tenantId } });
    const before = await count();
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [sdkImportBody(actor, intent_id, mandateFor(actor, { spend_ceiling: { amount_minor: 4999, currency: 'usd' } })), 422, 'mandate_amount_exceeded'],
      [sdkImportBody(actor, intent_id, mandateFor(actor, { spend_ceiling: { amount_minor: 9000, currency: 'eur' } })), 422, 'mandate_currency_mismatch'],
      [sdkImportBody(actor, intent_id, mandateFor(actor, { settlement: { default_rail: 'x402_usdc_base', allowed_rails: ['x402_usdc_base'] } })), 422, 'mandate_rail_not_allowed'],
      [sdkImportBody(actor, intent_id, mandateFor(actor, { expires_at: '2030-06-01T00:00:00Z' })), 422, 'mandate_expires_before_deadline'],
      [sdkImportBody(actor, intent_id, mandateFor(actor, { expires_at: '2026-01-01T00:00:00Z' })), 422, 'mandate_expired'],
      [sdkImportBody(actor, intent_id, mandateFor(actor, { agent: { subject: 'agent:x', issuer: '', key_id: 'kid-someone-else', display_name: '' } })), 422, 'mandate_agent_key_mismatch'],
      [sdkImportBody(actor, intent_id, mandateFor(otherActor)), 422, 'mandate_tenant_mismatch'],
      [{ ...sdkImportBody(actor, intent_id), intent_id: randomUUID() }, 404, 'not_found'],
      [{ ...sdkImportBody(actor, intent_id), intent_id: 'not-a-uuid' }, 400, 'invalid_request'],
      [{ ...sdkImportBody(actor, intent_id), transport_binding: { source_protocol: 'NOT A TOKEN' } }, 400, 'transport_binding_invalid'],
    ];
    const good = mandateFor(actor);
    const tampered = { ...good, spend_ceiling: { amount_minor: 10_001, currency: 'usd' } };
    cases.push([{ signed_mandate: tampered, intent_id, transport_binding: {}, recognition_proof: proofObject(actor, good) }, 422, 'mandate_digest_mismatch']);
    const badSig = { ...good, ed25519_signature_hex: (good.ed25519_signature_hex[0] === '0' ? '1' : '0') + good.ed25519_signature_hex.slice(1) };
    cases.push([{ signed_mandate: badSig, intent_id, transport_binding: {}, recognition_proof: proofObject(actor, good) }, 422, 'mandate_signature_invalid']);
    // Proofs: wrong purpose, bound to another mandate, another tenant's verifier, an unknown key.
    cases.push([{ signed_mandate: good, intent_id, transport_binding: {}, recognition_proof: proofObject(actor, good, { purpose: 'harbor.intent.fund' }) }, 401, 'recognition_proof_invalid']);
    cases.push([{ signed_mandate: good, intent_id, transport_binding: {}, recognition_proof: proofObject(actor, { message_digest_sha256_hex: 'a'.repeat(64) }) }, 401, 'recognition_proof_invalid']);
    cases.push([{ signed_mandate: good, intent_id, transport_binding: {}, recognition_proof: proofObject(actor, good, { tenantId: otherActor.tenantId }) }, 401, 'recognition_proof_invalid']);
    cases.push([{ signed_mandate: good, intent_id, transport_binding: {}, recognition_proof: proofObject(actor, good, { keyId: 'kid-unknown' }) }, 401, 'unregistered_key']);
    for (const [body, status, code] of cases) expectError(await importMandate(actor, body), status, code);
    expect(await count()).toBe(before);

    // A proof is bound to the mandate it was made for: it cannot carry another one.
    const proof = proofObject(actor, good);
    expect((await importMandate(actor, { signed_mandate: good, intent_id, transport_binding: {}, recognition_proof: proof })).status).toBe(200);
    const { intent_id: next } = await createIntent(gw, actor, { amountCents: 5000 });
    expectError(await importMandate(actor, { signed_mandate: mandateFor(actor), intent_id: next, transport_binding: {}, recognition_proof: proof }), 401, 'recognition_proof_invalid');
  });

  it('needs a credential with harbor:write; another tenant’s intent is a 404', async () => {
    const { intent_id } = await createIntent(gw, actor);
    expectError(await rest(gw, 'POST', '/protocol/v2/mandates', sdkImportBody(actor, intent_id)), 401, 'unauthenticated');
    expectError(await importMandate(otherActor, sdkImportBody(otherActor, intent_id)), 404, 'not_found');
  });

  it('an intent past settlement cannot take a mandate', async () => {
    const { intentId } = await fundedIntent(gw, actor, { amountCents: 1000 });
    await harborWrite(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status: 'failed' }));
    await harborWrite(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`, {});
    expectError(await importMandate(actor, sdkImportBody(actor, intentId)), 409, 'invalid_state_transition');
  });

  it('a settlement receipt needs an imported mandate', async () => {
    const { intentId } = await fundedIntent(gw, actor, { amountCents: 1000 });
    expectError(await rest(gw, 'GET', `/protocol/v2/receipts/${intentId}`, undefined, { token: actor.token, headers: { 'x-tenant-id': actor.tenantId } }), 404, 'not_found');
  });
});

describe('POST /protocol/v2/recognition/verify', () => {
  const body = (a: HarborActor, options: ProofOptions = {}) => {
    const raw = JSON.stringify({ hello: 'world' });
    const proof = JSON.parse(Buffer.from(recognitionProof(a, 'POST', '/harbor/intents', raw, options), 'base64url').toString());
    return {
      proof,
      expected_purpose: 'harbor.intent.create',
      expected_verifier: { tenant_id: a.tenantId, verifier_id: 'paybond-gateway' },
      expected_request: { method: 'POST', path: '/harbor/intents', body_digest_sha256_hex: createHash('sha256').update(raw).digest('hex') },
    };
  };

  it('verifies a proof once (public, as the SDK MCP server sends it); the replay is refused', async () => {
    const b = body(actor);
    const res = await rest(gw, 'POST', '/protocol/v2/recognition/verify', b, { headers: { 'x-tenant-id': actor.tenantId } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ valid: true, key_id: actor.keyId, purpose: 'harbor.intent.create', tenant_id: actor.tenantId, nonce_consumed: true });
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', b), 401, 'recognition_proof_replayed');
  });

  it('refuses wrong purpose, request, tenant, key and expired proofs with distinct codes', async () => {
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', { ...body(actor), expected_purpose: 'harbor.intent.fund' }), 401, 'recognition_proof_invalid');
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', { ...body(actor), expected_request: { method: 'POST', path: '/harbor/intents', body_digest_sha256_hex: 'b'.repeat(64) } }), 401, 'recognition_proof_invalid');
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', body(actor, { issuedAtMs: Date.now() - 3600_000 })), 401, 'recognition_proof_expired');
    // A proof for another tenant, or by a key the named tenant does not have: one answer, nothing revealed.
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', { ...body(actor), expected_verifier: { tenant_id: otherActor.tenantId, verifier_id: 'paybond-gateway' } }), 422, 'recognition_key_unknown');
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', body(actor, { keyId: 'kid-nobody' })), 422, 'recognition_key_unknown');
    // An authenticated caller verifies for its own tenant only.
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', body(actor), { token: otherActor.token, headers: { 'x-tenant-id': otherActor.tenantId } }), 401, 'recognition_proof_invalid');
    expectError(await rest(gw, 'POST', '/protocol/v2/recognition/verify', { proof: {} }), 400, 'invalid_request');
  });

  it('has a GraphQL twin', async () => {
    const b = body(actor);
    const data = await gqlOk(
      gw,
      'mutation($input: ProtocolRecognitionVerifyInput!) { protocolRecognitionVerify(input: $input) { verification { valid keyId } userErrors { code } } }',
      {
        input: {
          proof: b.proof,
          expectedPurpose: b.expected_purpose,
          expectedVerifier: { tenantId: actor.tenantId, verifierId: 'paybond-gateway' },
          expectedRequest: { method: 'POST', path: '/harbor/intents', bodyDigestSha256Hex: b.expected_request.body_digest_sha256_hex },
        },
      },
    );
    expect(data.protocolRecognitionVerify).toMatchObject({ verification: { valid: true, keyId: actor.keyId }, userErrors: [] });
    const replay = await gql(gw, 'mutation($input: ProtocolRecognitionVerifyInput!) { protocolRecognitionVerify(input: $input) { userErrors { code } } }', {
      input: { proof: b.proof, expectedPurpose: b.expected_purpose, expectedRequest: { method: 'POST', path: '/harbor/intents', bodyDigestSha256Hex: b.expected_request.body_digest_sha256_hex } },
    });
    expect(replay.errors?.[0]?.extensions?.code ?? replay.data?.protocolRecognitionVerify?.userErrors?.[0]?.code).toMatch(/RECOGNITION_PROOF_REPLAYED|recognition_proof_replayed/);
  });
});
