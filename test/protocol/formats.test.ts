import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkMandateCoversIntent, normalizeMandate, signMandate, verifyMandate, type MandateIntentView } from '../../src/areas/protocol/mandate.ts';
import { authorizationReceiptBody, authorizationReceiptId, protocolHarborState, settlementReceiptBody, type SettlementIntentView } from '../../src/areas/protocol/receipt-bodies.ts';
import {
  normalizeTransportBinding,
  publicKeyHex,
  signAuthorizationReceipt,
  signSettlementReceipt,
  verifyAuthorizationReceipt,
  verifyProtocolReceipt,
  verifySettlementReceipt,
} from '../../src/areas/protocol/receipts.ts';
import { classifyReceiptVerifyBody, mandateImportRequest, recognitionVerifyRequest } from '../../src/areas/protocol/requests.ts';
import { ProtocolFormatError, goJson } from '../../src/areas/protocol/wire.ts';

// Golden vectors made by the Paybond Kit SDK itself; test/fixtures/kit/README.md says how.
const load = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/kit/${name}`, import.meta.url), 'utf8'));
const mandates = load('mandates.json');
const receipts = load('receipts.json');
const seed = (name: string) => new Uint8Array(Buffer.from(mandates.keys[name].seed_hex, 'hex'));
const NOW = new Date(mandates.meta.verified_at);
const GATEWAY_KEY = receipts.keys.gateway.public_key_hex as string;
const clone = <T>(v: T): T => structuredClone(v);

type Golden = { name: string; input: unknown; canonical_json: string; digest_sha256_hex: string; signed: Record<string, any> };
type Variant = { name: string; kind?: 'authorization' | 'settlement'; expected_code: string; value: unknown; sdk_verdict: { accepted: boolean } };
const goldenMandates = mandates.golden as Golden[];
const mandateVariants = mandates.variants as Variant[];

describe('AgentMandateV1 golden vectors (signed by the SDK)', () => {
  it.each(goldenMandates)('$name verifies, with the SDK digest and body', (g) => {
    const result = verifyMandate(g.signed, { now: NOW });
    expect(result).toMatchObject({ ok: true, code: 'ok', digestHex: g.digest_sha256_hex, signerPublicKeyHex: g.signed.signing_public_key_ed25519_hex });
    const { signing_algorithm: _a, message_digest_sha256_hex: _d, signing_public_key_ed25519_hex: _k, ed25519_signature_hex: _s, ...body } = g.signed;
    expect(result.body).toEqual(body);
  });

  it.each(goldenMandates)('$name: same canonical bytes and the same signature from the raw input', (g) => {
    expect(goJson(normalizeMandate(g.input))).toBe(g.canonical_json);
    const key = g.signed.signing_public_key_ed25519_hex === mandates.keys.principal.public_key_hex ? seed('principal') : seed('principal2');
    expect(signMandate(g.input, key)).toEqual(g.signed);
  });

  it('escapes as Go does (HTML-safe, U+2028) in the signed bytes', () => {
    const canonical = mandates.golden[0].canonical_json as string;
    expect(canonical).toContain('Travel \\u003cAgent\\u003e \\u0026 Co');
    expect(canonical).toContain('\\u2028');
    expect(canonical).toContain('"expires_at":"2030-01-01T00:00:00Z"');
  });

  it('the SDK accepted every golden mandate', () => {
    for (const g of mandates.golden) expect(g.sdk_verdict_at_now).toEqual({ accepted: true });
  });
});

describe('AgentMandateV1 refusals', () => {
  it.each(mandateVariants)('$name → its code (the SDK refuses it too)', (v) => {
    expect(v.sdk_verdict.accepted).toBe(false);
    const result = verifyMandate(v.value, { now: NOW });
    expect(result.ok).toBe(false);
    expect(result.code).toBe(v.expected_code);
  });

  it('every refusal kind has its own code', () => {
    const codes = new Set(mandates.variants.map((v: Variant) => verifyMandate(v.value, { now: NOW }).code));
    for (const code of ['mandate_expired', 'mandate_digest_mismatch', 'mandate_signature_invalid', 'mandate_unsupported_version', 'mandate_unsupported_algorithm', 'mandate_malformed']) {
      expect(codes).toContain(code);
    }
  });

  it('expiry is exclusive at the second and comes after the signature check', () => {
    const g = mandates.golden[0].signed;
    expect(verifyMandate(g, { now: new Date('2029-12-31T23:59:59.999Z') }).ok).toBe(true);
    expect(verifyMandate(g, { now: new Date('2030-01-01T00:00:00Z') })).toMatchObject({ ok: false, code: 'mandate_expired' });
    const forged = { ...clone(g), nonce: 'x' };
    expect(verifyMandate(forged, { now: new Date('2031-01-01T00:00:00Z') }).code).toBe('mandate_digest_mismatch');
  });

  it('an expired or tampered mandate still reports what it says (digest, body)', () => {
    const expired = mandates.variants.find((v: Variant) => v.name === 'expired');
    const result = verifyMandate(expired.value, { now: NOW });
    expect(result).toMatchObject({ ok: false, code: 'mandate_expired', digestHex: expired.digest_sha256_hex });
    expect(result.body?.nonce).toBe('nonce-expired');
  });

  it('a mandate for another tenant is refused when the tenant is known', () => {
    const g = mandates.golden[0].signed;
    expect(verifyMandate(g, { now: NOW, expectedTenantId: 'tenant-golden' }).ok).toBe(true);
    expect(verifyMandate(g, { now: NOW, expectedTenantId: 'tenant-other' }).code).toBe('mandate_tenant_mismatch');
  });

  it.each([
    ['missing signature fields', (m: any) => delete m.ed25519_signature_hex],
    ['short signature', (m: any) => (m.ed25519_signature_hex = 'ab'.repeat(63))],
    ['non-hex key', (m: any) => (m.signing_public_key_ed25519_hex = 'zz'.repeat(32))],
    ['U+0000 in a field', (m: any) => (m.nonce = 'a\u0000b')],
    ['unpaired surrogate', (m: any) => (m.agent.display_name = '\ud800')],
    ['fractional amount', (m: any) => (m.spend_ceiling.amount_minor = 10.5)],
    ['text amount', (m: any) => (m.spend_ceiling.amount_minor = '1000')],
    ['schema_version as text', (m: any) => (m.schema_version = '1')],
    ['date that is not RFC 3339', (m: any) => (m.expires_at = 'Jan 1 2030')],
    ['default rail outside allowed rails', (m: any) => (m.settlement = { default_rail: 'stripe_mpp', allowed_rails: ['stripe_connect'] })],
    ['tenant mandate naming a principal', (m: any) => (m.authorization = { kind: 'tenant', tenant_id: 'tenant-golden', principal_subject: 'u' })],
    ['nonce over 256', (m: any) => (m.nonce = 'n'.repeat(257))],
  ])('%s → mandate_malformed', (_name, mutate) => {
    const m = clone(mandates.golden[0].signed);
    mutate(m);
    expect(verifyMandate(m, { now: NOW }).code).toBe('mandate_malformed');
  });

  it('a small-order public key does not verify anything', () => {
    const m = { ...clone(mandates.golden[0].signed), signing_public_key_ed25519_hex: '01' + '00'.repeat(31) };
    expect(verifyMandate(m, { now: NOW }).code).toBe('mandate_signature_invalid');
  });
});

describe('mandate against the intent it is imported for', () => {
  const body = normalizeMandate(mandates.golden[0].signed);
  const intent: MandateIntentView = {
    tenantId: 'tenant-golden',
    intentId: '550e8400-e29b-41d4-a716-446655440000',
    amountCents: 250000,
    currency: 'USD',
    settlementRail: 'stripe_connect',
    deadline: new Date('2029-06-01T00:00:00Z'),
  };

  it('covers a matching intent', () => {
    expect(checkMandateCoversIntent(body, intent, 'kid-1')).toBeNull();
  });

  it.each([
    ['protocol_intent_id_invalid', { intentId: 'intent-123' }, 'kid-1'],
    ['mandate_tenant_mismatch', { tenantId: 'tenant-other' }, 'kid-1'],
    ['mandate_agent_key_mismatch', {}, 'kid-2'],
    ['mandate_currency_mismatch', { currency: 'eur' }, 'kid-1'],
    ['mandate_amount_exceeded', { amountCents: 250001 }, 'kid-1'],
    ['mandate_rail_not_allowed', { settlementRail: 'stripe_mpp' }, 'kid-1'],
    ['mandate_expires_before_deadline', { deadline: new Date('2030-01-01T00:00:01Z') }, 'kid-1'],
  ] as const)('%s', (code, change, keyId) => {
    expect(checkMandateCoversIntent(body, { ...intent, ...change }, keyId)?.code).toBe(code);
  });
});

type GoldenReceipt = { name: string; kind: 'authorization' | 'settlement'; input: unknown; sdk_signed: Record<string, any>; gateway_signed: Record<string, any>; sdk_verdict: unknown; sdk_verdict_on_gateway_signed: unknown };
const goldenReceipts = receipts.golden as GoldenReceipt[];
const receiptVariants = receipts.variants as Variant[];

describe('protocol receipts: golden vectors', () => {
  it.each(goldenReceipts)('$name: the SDK-signed receipt verifies', (g) => {
    expect(g.sdk_verdict).toEqual({ accepted: true });
    const verify = g.kind === 'authorization' ? verifyAuthorizationReceipt : verifySettlementReceipt;
    const result = verify(g.sdk_signed, { trustedSignerKeysHex: [GATEWAY_KEY] });
    expect(result).toMatchObject({ ok: true, digestHex: g.sdk_signed.message_digest_sha256_hex, signerPublicKeyHex: GATEWAY_KEY });
    expect(verifyProtocolReceipt(g.sdk_signed).ok).toBe(true);
  });

  it.each(goldenReceipts)('$name: our signature over the same input is the SDK signature', (g) => {
    const sign = g.kind === 'authorization' ? signAuthorizationReceipt : signSettlementReceipt;
    const ours = sign(g.input, seed('gateway'));
    for (const field of ['message_digest_sha256_hex', 'signing_public_key_ed25519_hex', 'ed25519_signature_hex']) expect(ours[field as keyof typeof ours]).toBe(g.sdk_signed[field]);
    // The committed copy of what our module made was accepted by the SDK verifier.
    expect(g.gateway_signed).toEqual(JSON.parse(JSON.stringify(ours)));
    expect(g.sdk_verdict_on_gateway_signed).toEqual({ accepted: true });
  });

  it('receipts built from a verified mandate and an intent were accepted by the SDK', () => {
    for (const built of receipts.gateway_built) {
      expect(built.sdk_verdict).toEqual({ accepted: true });
      expect(verifyProtocolReceipt(built.value, { trustedSignerKeysHex: [GATEWAY_KEY] })).toMatchObject({ ok: true, kind: `paybond.protocol_${built.kind}_receipt_v1` });
    }
  });

  it('empty action lists are signed as null, an absent predicate is not signed', () => {
    const toolsOnly = receipts.golden.find((g: GoldenReceipt) => g.name === 'authorization_tools_only');
    expect(toolsOnly.sdk_signed.allowed_actions).toEqual([]);
    expect(verifyAuthorizationReceipt(toolsOnly.sdk_signed).ok).toBe(true);
    const split = receipts.golden.find((g: GoldenReceipt) => g.name === 'settlement_split_no_predicate');
    expect(verifySettlementReceipt(split.sdk_signed)).toMatchObject({ ok: true, body: { harbor_state: 'resolved_split' } });
    expect('predicate_passed' in (verifySettlementReceipt(split.sdk_signed) as { body: object }).body).toBe(false);
  });
});

describe('protocol receipts: refusals', () => {
  it.each(receiptVariants)('$name → its code (the SDK refuses it too)', (v) => {
    expect(v.sdk_verdict.accepted).toBe(false);
    const verify = v.kind === 'authorization' ? verifyAuthorizationReceipt : verifySettlementReceipt;
    expect(verify(v.value).code).toBe(v.expected_code);
    expect(verifyProtocolReceipt(v.value).code).toBe(v.expected_code);
  });

  it('a receipt signed by some other key is refused when the gateway key is required', () => {
    const g = receipts.golden[0];
    const selfSigned = signAuthorizationReceipt(g.input, seed('other'));
    expect(verifyAuthorizationReceipt(selfSigned).ok).toBe(true);
    expect(verifyAuthorizationReceipt(selfSigned, { trustedSignerKeysHex: [GATEWAY_KEY] }).code).toBe('receipt_signer_untrusted');
  });

  it('another tenant is refused when the tenant is known', () => {
    const s = receipts.golden[2].sdk_signed;
    expect(verifySettlementReceipt(s, { expectedTenantId: 'tenant-golden' }).ok).toBe(true);
    expect(verifySettlementReceipt(s, { expectedTenantId: 'tenant-other' }).code).toBe('receipt_tenant_mismatch');
  });

  it('the kind decides which receipt; unknown kinds and non-objects are refused', () => {
    const a = receipts.golden[0].sdk_signed;
    expect(verifySettlementReceipt(a).code).toBe('receipt_unsupported_kind');
    expect(verifyProtocolReceipt({ ...a, kind: 'paybond.agent_mandate_v1' }).code).toBe('receipt_unsupported_kind');
    expect(verifyProtocolReceipt({ ...a, kind: 7 }).code).toBe('receipt_malformed');
    expect(verifyProtocolReceipt('receipt').code).toBe('receipt_malformed');
    expect(verifyProtocolReceipt({ receipt_id: 'x' }).code).toBe('receipt_malformed');
    const { kind: _k, ...withoutKind } = a;
    expect(verifyProtocolReceipt(withoutKind).ok).toBe(true);
  });

  it('an unknown signing algorithm is refused', () => {
    const a = { ...clone(receipts.golden[0].sdk_signed), signing_algorithm: 'rsa-sha256' };
    expect(verifyAuthorizationReceipt(a).code).toBe('receipt_unsupported_algorithm');
  });
});

describe('receipts made by the gateway round-trip', () => {
  const verified = verifyMandate(mandates.golden[1].signed, { now: NOW });
  if (!verified.ok) throw new Error('golden tenant mandate must verify');
  const { privateKey } = generateKeyPairSync('ed25519');
  const gatewayKeyHex = publicKeyHex(privateKey);
  const intentId = '7F2A9B1E-2F66-4F4F-9C6E-8F4B8E85C401';

  const auth = signAuthorizationReceipt(
    authorizationReceiptBody({
      mandate: verified.body,
      mandateDigestHex: verified.digestHex,
      mandateSignerPublicKeyHex: verified.signerPublicKeyHex,
      intentId,
      issuedAt: new Date('2026-02-03T04:05:06.789Z'),
      transportBinding: { source_protocol: 'ACP', partner_platform: ' stripe ', request_id: '' },
    }),
    privateKey,
  );

  const intent: SettlementIntentView = {
    tenantId: 'tenant-golden',
    intentId,
    state: 'released',
    predicatePassed: null,
    settlementRail: 'x402_usdc_base',
    settlementMode: 'managed',
    principalDid: 'did:principal:alice',
    payeeDid: 'did:payee:bob',
    currency: 'usd',
    amountCents: 900,
  };
  const settlementFor = (changes: Partial<SettlementIntentView>) =>
    settlementReceiptBody({
      intent: { ...intent, ...changes },
      authorizationReceiptId: auth.receipt_id,
      mandateDigestHex: verified.digestHex,
      transportBinding: auth.transport_binding,
      issuedAt: new Date('2026-02-04T00:00:00Z'),
      terminalObservedAt: new Date('2026-02-03T23:00:00Z'),
    });

  it('authorization receipt: signed by the KeyObject, verifies, names the mandate', () => {
    expect(auth).toMatchObject({
      intent_id: intentId.toLowerCase(),
      tenant_id: 'tenant-golden',
      issued_at: '2026-02-03T04:05:06Z',
      status: 'authorized',
      verifier_id: 'paybond-gateway',
      transport_binding: { source_protocol: 'acp', partner_platform: 'stripe' },
      mandate_digest_sha256_hex: verified.digestHex,
      imported_mandate_signing_public_key_ed25519_hex: verified.signerPublicKeyHex,
      signing_public_key_ed25519_hex: gatewayKeyHex,
    });
    expect(auth.transport_binding).not.toHaveProperty('request_id');
    expect(auth.receipt_id).toBe(authorizationReceiptId('tenant-golden', intentId, verified.digestHex));
    expect(verifyAuthorizationReceipt(JSON.parse(JSON.stringify(auth)), { trustedSignerKeysHex: [gatewayKeyHex], expectedTenantId: 'tenant-golden' })).toMatchObject({ ok: true, body: { allowed_actions: [] } });
  });

  it('authorization receipt ids are stable per tenant, intent and mandate', () => {
    const id = authorizationReceiptId('tenant-golden', intentId, verified.digestHex);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(authorizationReceiptId('tenant-golden', intentId.toLowerCase(), verified.digestHex)).toBe(id);
    expect(authorizationReceiptId('tenant-other', intentId, verified.digestHex)).not.toBe(id);
  });

  it.each([
    ['released', {}, 'released'],
    ['settled', { state: 'settled' }, 'released'],
    ['refunded', { state: 'refunded' }, 'refunded'],
    ['dispute resolved by refund', { state: 'resolved', disputeOutcome: 'refund' }, 'refunded'],
    ['dispute resolved by split', { state: 'resolved', disputeOutcome: 'split' }, 'resolved_split'],
  ] as const)('settlement receipt for a %s intent', (_name, change, harborState) => {
    const receipt = signSettlementReceipt(settlementFor(change), privateKey);
    expect(receipt).toMatchObject({ receipt_id: intentId.toLowerCase(), harbor_state: harborState, authorization_receipt_id: auth.receipt_id });
    expect(receipt).not.toHaveProperty('predicate_passed');
    expect(verifyProtocolReceipt(receipt, { trustedSignerKeysHex: [gatewayKeyHex] })).toMatchObject({ ok: true, kind: 'paybond.protocol_settlement_receipt_v1' });
    const tampered = { ...receipt, harbor_state: harborState === 'refunded' ? 'released' : 'refunded' };
    expect(verifySettlementReceipt(tampered).code).toBe('receipt_digest_mismatch');
  });

  it('the predicate outcome is signed when known', () => {
    const receipt = signSettlementReceipt(settlementFor({ predicatePassed: false }), privateKey);
    expect(receipt.predicate_passed).toBe(false);
    expect(verifySettlementReceipt({ ...receipt, predicate_passed: true }).code).toBe('receipt_digest_mismatch');
  });

  it.each(['created', 'funded', 'evidence_submitted', 'settlement_pending', 'disputed', 'voided'])('no settlement receipt while the intent is %s', (state) => {
    expect(protocolHarborState({ state })).toBeNull();
    expect(() => settlementFor({ state })).toThrow(expect.objectContaining({ code: 'protocol_not_terminal' }));
  });

  it('refuses to sign a body the SDK would refuse', () => {
    expect(() => signSettlementReceipt({ ...settlementFor({}), harbor_state: 'settled' }, privateKey)).toThrow(ProtocolFormatError);
    expect(() => signSettlementReceipt(settlementFor({ tenantId: 'Ten_Upper' }), privateKey)).toThrow(/tenant_id/);
    expect(() => signAuthorizationReceipt({ ...auth, intent_id: 'intent-123' }, privateKey)).toThrow(/intent_id/);
    expect(() => signAuthorizationReceipt(auth, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'signing_key_invalid' }));
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => signAuthorizationReceipt(auth, publicKey)).toThrow(expect.objectContaining({ code: 'signing_key_invalid' }));
  });

  it('a raw seed and its KeyObject sign identically', () => {
    const fromSeed = signAuthorizationReceipt(auth, seed('gateway'));
    expect(fromSeed.signing_public_key_ed25519_hex).toBe(GATEWAY_KEY);
    expect(verifyAuthorizationReceipt(fromSeed, { trustedSignerKeysHex: [GATEWAY_KEY] }).ok).toBe(true);
  });
});

describe('transport binding', () => {
  it('defaults to ap2 and drops empty fields', () => {
    expect(normalizeTransportBinding({})).toEqual({ source_protocol: 'ap2' });
    expect(normalizeTransportBinding(undefined)).toEqual({ source_protocol: 'ap2' });
    expect(normalizeTransportBinding({ source_protocol: ' UCP ', external_authorization_id: ' pi_1 ' })).toEqual({ source_protocol: 'ucp', external_authorization_id: 'pi_1' });
  });

  it.each([
    [{ source_protocol: 'not canonical!' }],
    [{ partner_platform: 'p'.repeat(257) }],
    [{ request_id: 5 }],
    ['ap2'],
  ])('refuses %j', (input) => {
    expect(() => normalizeTransportBinding(input)).toThrow(expect.objectContaining({ code: 'transport_binding_invalid' }));
  });
});

// Request shapes exactly as the SDK's protocol client, MCP server and CLI send them.
describe('protocol request bodies', () => {
  const proof = { key_id: 'kid-1', purpose: 'protocol.mandate.import', nonce: 'nonce-proof' };

  it('mandate import: {signed_mandate, intent_id, transport_binding, recognition_proof}', () => {
    const body = { signed_mandate: mandates.golden[0].signed, intent_id: '550e8400-e29b-41d4-a716-446655440000', transport_binding: {}, recognition_proof: proof };
    expect(mandateImportRequest.parse(JSON.parse(JSON.stringify(body)))).toMatchObject({ intent_id: body.intent_id, transport_binding: {} });
    expect(mandateImportRequest.safeParse({ ...body, intent_id: 'intent-123' }).success).toBe(false);
    expect(mandateImportRequest.safeParse({ ...body, recognition_proof: undefined }).success).toBe(false);
    expect(mandateImportRequest.safeParse({ ...body, signed_mandate: [] }).success).toBe(false);
  });

  it('recognition verify: {proof, expected_purpose, expected_verifier, expected_request}', () => {
    const body = {
      proof: { nonce: 'nonce-123' },
      expected_purpose: 'harbor.policy.rollback',
      expected_verifier: { tenant_id: 'tenant-a', verifier_id: 'paybond-gateway' },
      expected_request: { method: 'post', path: '/harbor/policy/v1/rollback', body_digest_sha256_hex: 'AB'.repeat(32) },
    };
    expect(recognitionVerifyRequest.parse(body).expected_request).toEqual({ method: 'POST', path: '/harbor/policy/v1/rollback', body_digest_sha256_hex: 'ab'.repeat(32) });
    expect(recognitionVerifyRequest.safeParse({ ...body, expected_verifier: undefined }).success).toBe(true);
    expect(recognitionVerifyRequest.safeParse({ ...body, expected_request: { ...body.expected_request, path: 'harbor' } }).success).toBe(false);
    expect(recognitionVerifyRequest.safeParse({ ...body, expected_request: { ...body.expected_request, body_digest_sha256_hex: 'ab' } }).success).toBe(false);
    expect(recognitionVerifyRequest.safeParse({ ...body, expected_purpose: '' }).success).toBe(false);
  });

  it('receipt verify: the receipt itself, or only {receipt_id} from the CLI', () => {
    const receipt = receipts.golden[0].sdk_signed;
    expect(classifyReceiptVerifyBody(receipt)).toEqual({ by: 'receipt', receipt });
    expect(classifyReceiptVerifyBody({ receipt_id: ' 550E8400-E29B-41D4-A716-446655440000 ' })).toEqual({ by: 'id', receiptId: '550e8400-e29b-41d4-a716-446655440000' });
    expect(classifyReceiptVerifyBody({ kind: 'bad' })).toEqual({ by: 'receipt', receipt: { kind: 'bad' } });
    expect(classifyReceiptVerifyBody([receipt])).toBeNull();
  });
});
