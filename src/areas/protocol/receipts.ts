import { z } from 'zod';
import { normalizeTenantId, normalizeTokenSet } from './mandate.ts';
import {
  CURRENCY,
  GATEWAY_VERIFIER_ID,
  HEX128,
  HEX64,
  ProtocolFormatError,
  SCOPE_TOKEN,
  UUID,
  canonicalDigest,
  checkSignature,
  findUnsafeText,
  formatTimestamp,
  parseTimestamp,
  publicKeyHex,
  signCanonical,
  type Ed25519PrivateKey,
  type SignatureFields,
} from './wire.ts';

/**
 * The two receipts the gateway signs for protocol-v2 flows:
 * - ProtocolAuthorizationReceiptV1: issued when a signed mandate is bound to a Harbor intent; it
 *   repeats the mandate's terms and names the mandate's digest and signer.
 * - ProtocolSettlementReceiptV1: issued once that intent reaches a protocol-terminal state; its
 *   receipt_id is the intent id.
 * Both are self-describing: the signer's public key travels in the receipt, so a verifier that
 * cares who signed must compare it with the gateway's published key (`trustedSignerKeysHex`).
 */

export const AUTHORIZATION_RECEIPT_KIND = 'paybond.protocol_authorization_receipt_v1';
export const SETTLEMENT_RECEIPT_KIND = 'paybond.protocol_settlement_receipt_v1';
export const RECEIPT_SCHEMA_VERSION = 1;
export const RECEIPT_VERSION = '1';

export const PROTOCOL_TERMINAL_STATES = ['released', 'refunded', 'resolved_split', 'escalated_external'] as const;
export type ProtocolTerminalState = (typeof PROTOCOL_TERMINAL_STATES)[number];

/** Where a mandate came from; `source_protocol` defaults to `ap2`. Empty fields are not signed. */
export interface TransportBindingV1 {
  source_protocol: string;
  partner_platform?: string;
  external_authorization_id?: string;
  request_id?: string;
}

export interface ProtocolAuthorizationReceiptBody {
  schema_version: number;
  kind: string;
  receipt_version: string;
  receipt_id: string;
  issued_at: string;
  status: 'authorized';
  intent_id: string;
  tenant_id: string;
  verifier_id: string;
  transport_binding: TransportBindingV1;
  mandate_digest_sha256_hex: string;
  imported_mandate_signing_public_key_ed25519_hex: string;
  authorization: { kind: string; tenant_id: string; principal_subject: string; principal_type: string };
  agent: { subject: string; issuer: string; key_id: string; display_name: string };
  /** Signed as JSON null when empty. */
  allowed_actions: string[];
  allowed_tools: string[];
  spend_ceiling: { amount_minor: number; currency: string };
  settlement: { default_rail: string; allowed_rails: string[] };
  constraint: { kind: string; id: string; version: string; digest_sha256_hex: string; uri: string };
  expires_at: string;
  nonce: string;
  human_presence_mode: string;
}

export interface ProtocolSettlementReceiptBody {
  schema_version: number;
  kind: string;
  receipt_version: string;
  receipt_id: string;
  issued_at: string;
  intent_id: string;
  tenant_id: string;
  verifier_id: string;
  transport_binding: TransportBindingV1;
  authorization_receipt_id: string;
  mandate_digest_sha256_hex: string;
  harbor_state: ProtocolTerminalState;
  /** Signed only when known. */
  predicate_passed?: boolean;
  settlement_rail: string;
  settlement_mode: string;
  principal_did: string;
  payee_did: string;
  currency: string;
  amount_cents: number;
  terminal_observed_at: string;
}

export type ProtocolAuthorizationReceiptV1 = ProtocolAuthorizationReceiptBody & SignatureFields;
export type ProtocolSettlementReceiptV1 = ProtocolSettlementReceiptBody & SignatureFields;

export type ReceiptErrorCode =
  | 'receipt_malformed'
  | 'receipt_unsupported_kind'
  | 'receipt_unsupported_version'
  | 'receipt_unsupported_algorithm'
  | 'receipt_digest_mismatch'
  | 'receipt_signature_invalid'
  | 'receipt_signer_untrusted'
  | 'receipt_tenant_mismatch';

type Verified<K, B> = {
  ok: true;
  code: 'ok';
  message: string;
  kind: K;
  digestHex: string;
  body: B;
  signerPublicKeyHex: string;
};
type Refused = { ok: false; code: ReceiptErrorCode; message: string; kind?: string; digestHex?: string };

export type AuthorizationReceiptVerification = Verified<typeof AUTHORIZATION_RECEIPT_KIND, ProtocolAuthorizationReceiptBody> | Refused;
export type SettlementReceiptVerification = Verified<typeof SETTLEMENT_RECEIPT_KIND, ProtocolSettlementReceiptBody> | Refused;
export type ReceiptVerification = AuthorizationReceiptVerification | SettlementReceiptVerification;

export interface ReceiptVerifyOptions {
  /** Lower-case hex public keys the receipt must be signed by (the gateway's current and retired keys). */
  trustedSignerKeysHex?: readonly string[];
  expectedTenantId?: string;
}

const text = z
  .string()
  .nullish()
  .transform((v) => (v ?? '').trim());
const lowerText = text.transform((v) => v.toLowerCase());
const textList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);
const timestamp = z.union([z.string(), z.date()]).nullish();

const transportWire = z
  .object({ source_protocol: lowerText, partner_platform: text, external_authorization_id: text, request_id: text })
  .nullish()
  .transform((v) => v ?? { source_protocol: '', partner_platform: '', external_authorization_id: '', request_id: '' });

const headerWire = {
  receipt_id: lowerText,
  issued_at: timestamp,
  intent_id: text,
  tenant_id: text,
  verifier_id: lowerText,
  transport_binding: transportWire,
  mandate_digest_sha256_hex: lowerText,
};

const authorizationWire = z.object({
  ...headerWire,
  status: lowerText,
  imported_mandate_signing_public_key_ed25519_hex: lowerText,
  authorization: z.object({ kind: lowerText, tenant_id: text, principal_subject: text, principal_type: lowerText }),
  agent: z.object({ subject: text, issuer: text, key_id: text, display_name: text }),
  allowed_actions: textList,
  allowed_tools: textList,
  spend_ceiling: z.object({ amount_minor: z.number(), currency: lowerText }),
  settlement: z.object({ default_rail: lowerText, allowed_rails: textList }),
  constraint: z.object({ kind: lowerText, id: text, version: text, digest_sha256_hex: lowerText, uri: text }),
  expires_at: timestamp,
  nonce: text,
  human_presence_mode: lowerText,
});

const settlementWire = z.object({
  ...headerWire,
  authorization_receipt_id: lowerText,
  harbor_state: lowerText,
  predicate_passed: z.boolean().nullish(),
  settlement_rail: lowerText,
  settlement_mode: text,
  principal_did: text,
  payee_did: text,
  currency: lowerText,
  amount_cents: z.number(),
  terminal_observed_at: timestamp,
});

const signatureWire = z.object({
  signing_algorithm: lowerText,
  message_digest_sha256_hex: lowerText,
  signing_public_key_ed25519_hex: lowerText,
  ed25519_signature_hex: lowerText,
});

type Label = 'authorization' | 'settlement';
const labels: Record<Label, string> = { authorization: 'protocol authorization receipt', settlement: 'protocol settlement receipt' };
const malformedError = (label: Label) => (message: string) => new ProtocolFormatError('receipt_malformed', `${labels[label]}: ${message}`);

function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

function checkEnvelope(raw: Record<string, unknown>, label: Label, expectedKind: string): void {
  const fail = malformedError(label);
  const unsupported = (message: string) => new ProtocolFormatError('receipt_unsupported_version', `${labels[label]}: ${message}`);
  const { schema_version: version, kind, receipt_version: receiptVersion } = raw;
  if (version !== undefined && version !== null && typeof version !== 'number') throw fail('schema_version must be a number');
  if (version !== undefined && version !== null && version !== 0 && version !== RECEIPT_SCHEMA_VERSION) throw unsupported(`schema_version ${String(version)} is not supported`);
  if (kind !== undefined && kind !== null && typeof kind !== 'string') throw fail('kind must be a string');
  if (typeof kind === 'string' && kind.trim() !== '' && kind.trim() !== expectedKind) {
    throw new ProtocolFormatError('receipt_unsupported_kind', `${labels[label]}: kind ${JSON.stringify(kind.trim())} is not ${expectedKind}`);
  }
  if (receiptVersion !== undefined && receiptVersion !== null && typeof receiptVersion !== 'string') throw fail('receipt_version must be a string');
  if (typeof receiptVersion === 'string' && receiptVersion.trim() !== '' && receiptVersion.trim() !== RECEIPT_VERSION) {
    throw unsupported(`receipt_version ${JSON.stringify(receiptVersion.trim())} is not supported`);
  }
}

function prepare<T extends z.ZodType>(input: unknown, label: Label, expectedKind: string, schema: T): z.output<T> {
  const fail = malformedError(label);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw fail('must be a JSON object');
  const unsafe = findUnsafeText(input);
  if (unsafe) throw fail(`${unsafe} contains U+0000 or an unpaired surrogate`);
  checkEnvelope(input as Record<string, unknown>, label, expectedKind);
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw fail(zodMessage(parsed.error));
  return parsed.data;
}

function requireToken(value: string, field: string, fail: (m: string) => Error): string {
  if (!value) throw fail(`${field} is required`);
  if (!SCOPE_TOKEN.test(value)) throw fail(`${field} ${JSON.stringify(value)} is not a canonical token`);
  return value;
}

function requireTimestamp(value: unknown, field: string, fail: (m: string) => Error): string {
  const parsed = parseTimestamp(value);
  if (!parsed) throw fail(`${field} must be an RFC 3339 timestamp`);
  return formatTimestamp(parsed);
}

function header(r: z.output<z.ZodObject<typeof headerWire>>, label: Label) {
  const fail = malformedError(label);
  const receiptId = requireToken(r.receipt_id, 'receipt_id', fail);
  if (!UUID.test(r.intent_id)) throw fail('intent_id must be a UUID');
  const issuedAt = requireTimestamp(r.issued_at, 'issued_at', fail);
  const tenantId = normalizeTenantId(r.tenant_id, 'tenant_id', fail);
  const verifierId = requireToken(r.verifier_id, 'verifier_id', fail);
  const transport = normalizeTransportBinding(r.transport_binding, fail);
  if (!HEX64.test(r.mandate_digest_sha256_hex)) throw fail('mandate_digest_sha256_hex must be 64 hex characters');
  return { receiptId, intentId: r.intent_id.toLowerCase(), issuedAt, tenantId, verifierId, transport };
}

/**
 * Validate a transport binding (as sent with a mandate import) and bring it to signed form:
 * `source_protocol` lower-cased (default `ap2`), empty optional fields dropped, each at most 256.
 */
export function normalizeTransportBinding(
  input: unknown,
  fail: (message: string) => Error = (m) => new ProtocolFormatError('transport_binding_invalid', `transport_binding: ${m}`),
): TransportBindingV1 {
  const parsed = transportWire.safeParse(input);
  if (!parsed.success) throw fail(zodMessage(parsed.error));
  const t = parsed.data;
  const out: TransportBindingV1 = { source_protocol: requireToken(t.source_protocol || 'ap2', 'transport_binding.source_protocol', fail) };
  for (const field of ['partner_platform', 'external_authorization_id', 'request_id'] as const) {
    const value = t[field];
    if (value.length > 256) throw fail(`transport_binding.${field} must be at most 256 characters`);
    if (value) out[field] = value;
  }
  return out;
}

/** Validate an authorization receipt body and bring it to canonical (signed) form. */
export function normalizeAuthorizationReceipt(input: unknown): ProtocolAuthorizationReceiptBody {
  const fail = malformedError('authorization');
  const r = prepare(input, 'authorization', AUTHORIZATION_RECEIPT_KIND, authorizationWire);
  const h = header(r, 'authorization');
  if (r.status !== '' && r.status !== 'authorized') throw fail(`status ${JSON.stringify(r.status)} is not supported`);
  if (!HEX64.test(r.imported_mandate_signing_public_key_ed25519_hex)) throw fail('imported_mandate_signing_public_key_ed25519_hex must be 64 hex characters');
  const auth = r.authorization;
  if (auth.kind !== 'principal' && auth.kind !== 'tenant') throw fail('authorization.kind must be "principal" or "tenant"');
  if (normalizeTenantId(auth.tenant_id, 'authorization.tenant_id', fail) !== h.tenantId) throw fail('authorization.tenant_id must equal tenant_id');
  if (!r.agent.subject) throw fail('agent.subject is required');
  const actions = tokenSet(r.allowed_actions, 'allowed_actions', fail);
  const tools = tokenSet(r.allowed_tools, 'allowed_tools', fail);
  if (actions.length === 0 && tools.length === 0) throw fail('at least one allowed action or allowed tool is required');
  const amount = r.spend_ceiling.amount_minor;
  if (!Number.isSafeInteger(amount) || amount <= 0) throw fail('spend_ceiling.amount_minor must be a positive integer');
  if (!CURRENCY.test(r.spend_ceiling.currency)) throw fail('spend_ceiling.currency is not canonical');
  if (!r.settlement.default_rail) throw fail('settlement.default_rail is required');
  const rails = tokenSet(r.settlement.allowed_rails, 'settlement.allowed_rails', fail);
  if (!r.constraint.kind) throw fail('constraint.kind is required');
  const expiresAt = requireTimestamp(r.expires_at, 'expires_at', fail);
  if (!r.nonce) throw fail('nonce is required');
  if (r.human_presence_mode !== 'human_present' && r.human_presence_mode !== 'human_not_present') {
    throw fail('human_presence_mode must be "human_present" or "human_not_present"');
  }
  // Field order here is the signed byte order.
  return {
    schema_version: RECEIPT_SCHEMA_VERSION,
    kind: AUTHORIZATION_RECEIPT_KIND,
    receipt_version: RECEIPT_VERSION,
    receipt_id: h.receiptId,
    issued_at: h.issuedAt,
    status: 'authorized',
    intent_id: h.intentId,
    tenant_id: h.tenantId,
    verifier_id: h.verifierId,
    transport_binding: h.transport,
    mandate_digest_sha256_hex: r.mandate_digest_sha256_hex,
    imported_mandate_signing_public_key_ed25519_hex: r.imported_mandate_signing_public_key_ed25519_hex,
    authorization: { kind: auth.kind, tenant_id: h.tenantId, principal_subject: auth.principal_subject, principal_type: auth.principal_type },
    agent: { subject: r.agent.subject, issuer: r.agent.issuer, key_id: r.agent.key_id, display_name: r.agent.display_name },
    allowed_actions: actions,
    allowed_tools: tools,
    spend_ceiling: { amount_minor: amount, currency: r.spend_ceiling.currency },
    settlement: { default_rail: r.settlement.default_rail, allowed_rails: rails },
    constraint: { kind: r.constraint.kind, id: r.constraint.id, version: r.constraint.version, digest_sha256_hex: r.constraint.digest_sha256_hex, uri: r.constraint.uri },
    expires_at: expiresAt,
    nonce: r.nonce,
    human_presence_mode: r.human_presence_mode,
  };
}

function tokenSet(values: string[], field: string, fail: (m: string) => Error): string[] {
  try {
    return normalizeTokenSet(values, field);
  } catch (error) {
    throw error instanceof ProtocolFormatError ? fail(`${field} holds a value that is not a canonical token`) : error;
  }
}

/** Validate a settlement receipt body and bring it to canonical (signed) form. */
export function normalizeSettlementReceipt(input: unknown): ProtocolSettlementReceiptBody {
  const fail = malformedError('settlement');
  const r = prepare(input, 'settlement', SETTLEMENT_RECEIPT_KIND, settlementWire);
  const h = header(r, 'settlement');
  if (h.receiptId !== h.intentId) throw fail('receipt_id must equal intent_id');
  const authorizationReceiptId = requireToken(r.authorization_receipt_id, 'authorization_receipt_id', fail);
  if (!(PROTOCOL_TERMINAL_STATES as readonly string[]).includes(r.harbor_state)) throw fail(`harbor_state must be one of ${PROTOCOL_TERMINAL_STATES.join(', ')}`);
  if (!r.settlement_rail) throw fail('settlement_rail is required');
  if (!r.settlement_mode) throw fail('settlement_mode is required');
  if (!r.currency) throw fail('currency is required');
  if (!Number.isSafeInteger(r.amount_cents) || r.amount_cents <= 0) throw fail('amount_cents must be a positive integer');
  const terminalObservedAt = requireTimestamp(r.terminal_observed_at, 'terminal_observed_at', fail);
  // Field order here is the signed byte order; predicate_passed is signed only when known.
  const body: ProtocolSettlementReceiptBody = {
    schema_version: RECEIPT_SCHEMA_VERSION,
    kind: SETTLEMENT_RECEIPT_KIND,
    receipt_version: RECEIPT_VERSION,
    receipt_id: h.receiptId,
    issued_at: h.issuedAt,
    intent_id: h.intentId,
    tenant_id: h.tenantId,
    verifier_id: h.verifierId,
    transport_binding: h.transport,
    authorization_receipt_id: authorizationReceiptId,
    mandate_digest_sha256_hex: r.mandate_digest_sha256_hex,
    harbor_state: r.harbor_state as ProtocolTerminalState,
    predicate_passed: r.predicate_passed ?? undefined,
    settlement_rail: r.settlement_rail,
    settlement_mode: r.settlement_mode,
    principal_did: r.principal_did,
    payee_did: r.payee_did,
    currency: r.currency,
    amount_cents: r.amount_cents,
    terminal_observed_at: terminalObservedAt,
  };
  if (body.predicate_passed === undefined) delete body.predicate_passed;
  return body;
}

/** The signed form differs from the body in one place: empty action/tool lists are JSON null. */
function authorizationCanonical(body: ProtocolAuthorizationReceiptBody): unknown {
  return { ...body, allowed_actions: body.allowed_actions.length ? body.allowed_actions : null, allowed_tools: body.allowed_tools.length ? body.allowed_tools : null };
}

/** Normalise and sign an authorization receipt. Throws ProtocolFormatError on an invalid body. */
export function signAuthorizationReceipt(input: unknown, key: Ed25519PrivateKey): ProtocolAuthorizationReceiptV1 {
  const body = normalizeAuthorizationReceipt(input);
  return { ...body, ...signCanonical(authorizationCanonical(body), key) };
}

/** Normalise and sign a settlement receipt. Throws ProtocolFormatError on an invalid body. */
export function signSettlementReceipt(input: unknown, key: Ed25519PrivateKey): ProtocolSettlementReceiptV1 {
  const body = normalizeSettlementReceipt(input);
  return { ...body, ...signCanonical(body, key) };
}

function checkSigned(input: unknown, canonical: unknown, label: Label, options: ReceiptVerifyOptions, tenantId: string): Refused | { signer: string; digestHex: string } {
  const digestHex = canonicalDigest(canonical).hex;
  const refuse = (code: ReceiptErrorCode, message: string): Refused => ({ ok: false, code, message: `${labels[label]}: ${message}`, digestHex });
  const sig = signatureWire.safeParse(input);
  if (!sig.success) return refuse('receipt_malformed', zodMessage(sig.error));
  const fields = { ...sig.data, signing_algorithm: sig.data.signing_algorithm || 'ed25519-sha256-json-v1' };
  if (fields.signing_algorithm !== 'ed25519-sha256-json-v1') return refuse('receipt_unsupported_algorithm', 'signing_algorithm must be "ed25519-sha256-json-v1"');
  for (const [name, pattern] of [
    ['message_digest_sha256_hex', HEX64],
    ['signing_public_key_ed25519_hex', HEX64],
    ['ed25519_signature_hex', HEX128],
  ] as const) {
    if (!pattern.test(fields[name])) return refuse('receipt_malformed', `${name} is not lower-case hex of the right length`);
  }
  const check = checkSignature(fields, digestHex);
  if (check === 'digest_mismatch') return refuse('receipt_digest_mismatch', 'message_digest_sha256_hex does not match the receipt');
  if (check !== 'ok') return refuse('receipt_signature_invalid', 'the Ed25519 signature does not verify');
  if (options.trustedSignerKeysHex && !options.trustedSignerKeysHex.includes(fields.signing_public_key_ed25519_hex)) {
    return refuse('receipt_signer_untrusted', 'the receipt was not signed by this gateway');
  }
  if (options.expectedTenantId !== undefined && tenantId !== options.expectedTenantId) return refuse('receipt_tenant_mismatch', 'tenant_id names another tenant');
  return { signer: fields.signing_public_key_ed25519_hex, digestHex };
}

function refusal(error: unknown, kind: string): Refused {
  if (error instanceof ProtocolFormatError) return { ok: false, code: error.code as ReceiptErrorCode, message: error.message, kind };
  throw error;
}

/** Verify a ProtocolAuthorizationReceiptV1 (shape, digest, signature, optional signer/tenant). Never throws. */
export function verifyAuthorizationReceipt(input: unknown, options: ReceiptVerifyOptions = {}): AuthorizationReceiptVerification {
  let body: ProtocolAuthorizationReceiptBody;
  try {
    body = normalizeAuthorizationReceipt(input);
  } catch (error) {
    return refusal(error, AUTHORIZATION_RECEIPT_KIND);
  }
  const checked = checkSigned(input, authorizationCanonical(body), 'authorization', options, body.tenant_id);
  if ('ok' in checked) return { ...checked, kind: AUTHORIZATION_RECEIPT_KIND };
  return { ok: true, code: 'ok', message: 'protocol authorization receipt verified', kind: AUTHORIZATION_RECEIPT_KIND, digestHex: checked.digestHex, body, signerPublicKeyHex: checked.signer };
}

/** Verify a ProtocolSettlementReceiptV1 (shape, digest, signature, optional signer/tenant). Never throws. */
export function verifySettlementReceipt(input: unknown, options: ReceiptVerifyOptions = {}): SettlementReceiptVerification {
  let body: ProtocolSettlementReceiptBody;
  try {
    body = normalizeSettlementReceipt(input);
  } catch (error) {
    return refusal(error, SETTLEMENT_RECEIPT_KIND);
  }
  const checked = checkSigned(input, body, 'settlement', options, body.tenant_id);
  if ('ok' in checked) return { ...checked, kind: SETTLEMENT_RECEIPT_KIND };
  return { ok: true, code: 'ok', message: 'protocol settlement receipt verified', kind: SETTLEMENT_RECEIPT_KIND, digestHex: checked.digestHex, body, signerPublicKeyHex: checked.signer };
}

/**
 * Verify either receipt, chosen by `kind`. Without a kind, the fields decide (a settlement receipt
 * has `harbor_state`); an unknown kind is `receipt_unsupported_kind`.
 */
export function verifyProtocolReceipt(input: unknown, options: ReceiptVerifyOptions = {}): ReceiptVerification {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, code: 'receipt_malformed', message: 'protocol receipt: must be a JSON object' };
  const raw = input as Record<string, unknown>;
  if (raw.kind !== undefined && raw.kind !== null && typeof raw.kind !== 'string') return { ok: false, code: 'receipt_malformed', message: 'protocol receipt: kind must be a string' };
  const kind = (raw.kind ?? '').trim();
  if (kind === AUTHORIZATION_RECEIPT_KIND) return verifyAuthorizationReceipt(input, options);
  if (kind === SETTLEMENT_RECEIPT_KIND) return verifySettlementReceipt(input, options);
  if (kind !== '') return { ok: false, code: 'receipt_unsupported_kind', message: `protocol receipt: kind ${JSON.stringify(kind)} is not a protocol receipt kind` };
  return 'harbor_state' in raw ? verifySettlementReceipt(input, options) : verifyAuthorizationReceipt(input, options);
}

export { publicKeyHex };
