import { z } from 'zod';
import {
  CURRENCY,
  HEX128,
  HEX64,
  ProtocolFormatError,
  SCOPE_TOKEN,
  SETTLEMENT_RAILS,
  TENANT_ID,
  TENANT_ID_MAX,
  UUID,
  canonicalDigest,
  checkSignature,
  findUnsafeText,
  formatTimestamp,
  parseTimestamp,
  signCanonical,
  type Ed25519PrivateKey,
  type SignatureFields,
} from './wire.ts';

/**
 * AgentMandateV1: a principal's (or tenant's) signed grant to an agent — what it may do, up to
 * which amount, on which rails, until when. Wire contract of the Paybond Kit SDK; golden vectors
 * made by the SDK are in test/fixtures/kit/.
 */

export const MANDATE_KIND = 'paybond.agent_mandate_v1';
export const MANDATE_SCHEMA_VERSION = 1;

export interface AgentMandateV1 {
  schema_version: number;
  kind: string;
  authorization: { kind: 'principal' | 'tenant'; tenant_id: string; principal_subject: string; principal_type: string };
  agent: { subject: string; issuer: string; key_id: string; display_name: string };
  allowed_actions: string[];
  allowed_tools: string[];
  spend_ceiling: { amount_minor: number; currency: string };
  settlement: { default_rail: string; allowed_rails: string[] };
  constraint: { kind: 'predicate' | 'policy'; id: string; version: string; digest_sha256_hex: string; uri: string };
  /** RFC 3339, UTC, whole seconds. */
  expires_at: string;
  nonce: string;
  human_presence_mode: 'human_present' | 'human_not_present';
}

export type SignedAgentMandateV1 = AgentMandateV1 & SignatureFields;

export type MandateErrorCode =
  | 'mandate_malformed'
  | 'mandate_unsupported_version'
  | 'mandate_unsupported_algorithm'
  | 'mandate_digest_mismatch'
  | 'mandate_signature_invalid'
  | 'mandate_expired'
  | 'mandate_tenant_mismatch';

export type MandateVerification =
  | {
      ok: true;
      code: 'ok';
      message: string;
      /** SHA-256 of the canonical mandate bytes: the mandate's identity. */
      digestHex: string;
      body: AgentMandateV1;
      signerPublicKeyHex: string;
      expiresAt: Date;
    }
  | {
      ok: false;
      code: MandateErrorCode;
      message: string;
      /** Present once the body was understood (it is for expired or tampered mandates). */
      digestHex?: string;
      body?: AgentMandateV1;
    };

// Absent, null and '' mean the same on this wire (the SDK fills omitted strings with '').
const text = z
  .string()
  .nullish()
  .transform((v) => (v ?? '').trim());
const lowerText = text.transform((v) => v.toLowerCase());
const textList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);

const mandateWire = z.object({
  authorization: z.object({ kind: lowerText, tenant_id: text, principal_subject: text, principal_type: lowerText }),
  agent: z.object({ subject: text, issuer: text, key_id: text, display_name: text }),
  allowed_actions: textList,
  allowed_tools: textList,
  spend_ceiling: z.object({ amount_minor: z.number(), currency: lowerText }),
  settlement: z.object({ default_rail: lowerText, allowed_rails: textList }),
  constraint: z.object({ kind: lowerText, id: text, version: text, digest_sha256_hex: lowerText, uri: text }),
  expires_at: z.union([z.string(), z.date()]),
  nonce: text,
  human_presence_mode: lowerText,
});

const signatureWire = z.object({
  signing_algorithm: text,
  message_digest_sha256_hex: lowerText,
  signing_public_key_ed25519_hex: lowerText,
  ed25519_signature_hex: lowerText,
});

const malformed = (message: string) => new ProtocolFormatError('mandate_malformed', `agent mandate: ${message}`);

function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** A set of scope tokens: lower-cased, de-duplicated, sorted. */
export function normalizeTokenSet(values: string[], field: string, allowed?: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const raw of values) {
    const value = raw.trim().toLowerCase();
    if (allowed ? !allowed.has(value) : !SCOPE_TOKEN.test(value)) {
      throw malformed(`${field} value ${JSON.stringify(raw)} is ${allowed ? 'not a known settlement rail' : 'not a canonical token'}`);
    }
    out.add(value);
  }
  return [...out].sort();
}

export function normalizeTenantId(raw: string, field: string, error = malformed): string {
  const value = raw.trim();
  if (!value) throw error(`${field} is missing`);
  if (value.length > TENANT_ID_MAX) throw error(`${field} is longer than ${TENANT_ID_MAX}`);
  if (!TENANT_ID.test(value)) throw error(`${field} must match ^[a-z0-9][a-z0-9._-]*$`);
  return value;
}

function checkVersion(raw: Record<string, unknown>): void {
  const version = raw.schema_version;
  if (version !== undefined && version !== null && typeof version !== 'number') throw malformed('schema_version must be a number');
  if (version !== undefined && version !== null && version !== 0 && version !== MANDATE_SCHEMA_VERSION) {
    throw new ProtocolFormatError('mandate_unsupported_version', `agent mandate: schema_version ${String(version)} is not supported`);
  }
  const kind = raw.kind;
  if (kind !== undefined && kind !== null && typeof kind !== 'string') throw malformed('kind must be a string');
  if (typeof kind === 'string' && kind.trim() !== '' && kind.trim() !== MANDATE_KIND) {
    throw new ProtocolFormatError('mandate_unsupported_version', `agent mandate: kind ${JSON.stringify(kind.trim())} is not supported`);
  }
}

/**
 * Validate a mandate body and bring it to canonical form (what is hashed and signed). Throws
 * ProtocolFormatError `mandate_malformed` or `mandate_unsupported_version`.
 */
export function normalizeMandate(input: unknown): AgentMandateV1 {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw malformed('must be a JSON object');
  const unsafe = findUnsafeText(input);
  if (unsafe) throw malformed(`${unsafe} contains U+0000 or an unpaired surrogate`);
  checkVersion(input as Record<string, unknown>);
  const parsed = mandateWire.safeParse(input);
  if (!parsed.success) throw malformed(zodMessage(parsed.error));
  const m = parsed.data;

  const { authorization: auth } = m;
  if (auth.kind !== 'principal' && auth.kind !== 'tenant') throw malformed('authorization.kind must be "principal" or "tenant"');
  const tenantId = normalizeTenantId(auth.tenant_id, 'authorization.tenant_id');
  if (auth.kind === 'principal') {
    if (!auth.principal_subject) throw malformed('authorization.principal_subject is required for a principal mandate');
    if (auth.principal_type && !SCOPE_TOKEN.test(auth.principal_type)) throw malformed('authorization.principal_type is not a canonical token');
  } else if (auth.principal_subject || auth.principal_type) {
    throw malformed('a tenant mandate must not name principal_subject or principal_type');
  }

  if (!m.agent.subject) throw malformed('agent.subject is required');

  const allowedActions = normalizeTokenSet(m.allowed_actions, 'allowed_actions');
  const allowedTools = normalizeTokenSet(m.allowed_tools, 'allowed_tools');
  if (allowedActions.length === 0 && allowedTools.length === 0) throw malformed('at least one allowed action or allowed tool is required');

  const amount = m.spend_ceiling.amount_minor;
  if (!Number.isSafeInteger(amount) || amount <= 0) throw malformed('spend_ceiling.amount_minor must be a positive integer');
  if (!CURRENCY.test(m.spend_ceiling.currency)) throw malformed('spend_ceiling.currency is not canonical');

  const rails = normalizeTokenSet(m.settlement.allowed_rails, 'settlement.allowed_rails', SETTLEMENT_RAILS);
  if (!m.settlement.default_rail) throw malformed('settlement.default_rail is required');
  if (rails.length === 0) throw malformed('settlement.allowed_rails must name at least one rail');
  if (!rails.includes(m.settlement.default_rail)) throw malformed('settlement.default_rail must be one of settlement.allowed_rails');

  const c = m.constraint;
  if (c.kind !== 'predicate' && c.kind !== 'policy') throw malformed('constraint.kind must be "predicate" or "policy"');
  if (c.digest_sha256_hex && !HEX64.test(c.digest_sha256_hex)) throw malformed('constraint.digest_sha256_hex must be 64 hex characters');
  if (!c.id && !c.uri && !c.digest_sha256_hex) throw malformed('constraint must set id, uri or digest_sha256_hex');

  if (!m.nonce) throw malformed('nonce is required');
  // UTF-16 length, as the SDK measures it.
  if (m.nonce.length > 256) throw malformed('nonce must be at most 256 characters');

  if (m.human_presence_mode !== 'human_present' && m.human_presence_mode !== 'human_not_present') {
    throw malformed('human_presence_mode must be "human_present" or "human_not_present"');
  }
  const expires = parseTimestamp(m.expires_at);
  if (!expires) throw malformed('expires_at must be an RFC 3339 timestamp');

  // Field order here is the signed byte order.
  return {
    schema_version: MANDATE_SCHEMA_VERSION,
    kind: MANDATE_KIND,
    authorization: { kind: auth.kind, tenant_id: tenantId, principal_subject: auth.principal_subject, principal_type: auth.principal_type },
    agent: { subject: m.agent.subject, issuer: m.agent.issuer, key_id: m.agent.key_id, display_name: m.agent.display_name },
    allowed_actions: allowedActions,
    allowed_tools: allowedTools,
    spend_ceiling: { amount_minor: amount, currency: m.spend_ceiling.currency },
    settlement: { default_rail: m.settlement.default_rail, allowed_rails: rails },
    constraint: { kind: c.kind, id: c.id, version: c.version, digest_sha256_hex: c.digest_sha256_hex, uri: c.uri },
    expires_at: formatTimestamp(expires),
    nonce: m.nonce,
    human_presence_mode: m.human_presence_mode,
  };
}

/** SHA-256 (hex) of the canonical bytes of a mandate body. */
export const mandateDigestHex = (input: unknown): string => canonicalDigest(normalizeMandate(input)).hex;

/** Normalise and sign a mandate (as a principal or tenant would; tests and tooling). */
export function signMandate(input: unknown, key: Ed25519PrivateKey): SignedAgentMandateV1 {
  const body = normalizeMandate(input);
  return { ...body, ...signCanonical(body, key) };
}

/**
 * Verify a signed AgentMandateV1: shape, version, digest, Ed25519 signature by the key it names,
 * then expiry (only an authentic mandate is reported as expired). Never throws.
 */
export function verifyMandate(input: unknown, options: { now?: Date; expectedTenantId?: string } = {}): MandateVerification {
  let body: AgentMandateV1;
  try {
    body = normalizeMandate(input);
  } catch (error) {
    if (error instanceof ProtocolFormatError) return { ok: false, code: error.code as MandateErrorCode, message: error.message };
    throw error;
  }
  const digestHex = canonicalDigest(body).hex;
  const sig = signatureWire.safeParse(input);
  if (!sig.success) return { ok: false, code: 'mandate_malformed', message: `agent mandate: ${zodMessage(sig.error)}`, digestHex, body };
  const fields = sig.data;
  if (fields.signing_algorithm !== 'ed25519-sha256-json-v1') {
    return { ok: false, code: 'mandate_unsupported_algorithm', message: 'agent mandate: signing_algorithm must be "ed25519-sha256-json-v1"', digestHex, body };
  }
  for (const [name, pattern] of [
    ['message_digest_sha256_hex', HEX64],
    ['signing_public_key_ed25519_hex', HEX64],
    ['ed25519_signature_hex', HEX128],
  ] as const) {
    if (!pattern.test(fields[name])) return { ok: false, code: 'mandate_malformed', message: `agent mandate: ${name} is not lower-case hex of the right length`, digestHex, body };
  }
  const check = checkSignature(fields, digestHex);
  if (check === 'digest_mismatch') return { ok: false, code: 'mandate_digest_mismatch', message: 'agent mandate: message_digest_sha256_hex does not match the mandate', digestHex, body };
  if (check !== 'ok') return { ok: false, code: 'mandate_signature_invalid', message: 'agent mandate: the Ed25519 signature does not verify', digestHex, body };

  const expiresAt = new Date(Date.parse(body.expires_at));
  const now = options.now ?? new Date();
  if (expiresAt.getTime() <= now.getTime()) return { ok: false, code: 'mandate_expired', message: `agent mandate: expired at ${body.expires_at}`, digestHex, body };
  if (options.expectedTenantId !== undefined && body.authorization.tenant_id !== options.expectedTenantId) {
    return { ok: false, code: 'mandate_tenant_mismatch', message: 'agent mandate: authorization.tenant_id names another tenant', digestHex, body };
  }
  return { ok: true, code: 'ok', message: 'agent mandate verified', digestHex, body, signerPublicKeyHex: fields.signing_public_key_ed25519_hex, expiresAt };
}

/** What a mandate import checks against: the Harbor intent it binds to. */
export interface MandateIntentView {
  tenantId: string;
  intentId: string;
  amountCents: number;
  currency: string;
  settlementRail: string;
  deadline: Date;
}

export type MandateBindingCode =
  | 'protocol_intent_id_invalid'
  | 'mandate_tenant_mismatch'
  | 'mandate_agent_key_mismatch'
  | 'mandate_amount_exceeded'
  | 'mandate_currency_mismatch'
  | 'mandate_rail_not_allowed'
  | 'mandate_expires_before_deadline';

/**
 * Does a verified mandate cover this intent? First failing rule, or null. `recognitionKeyId` is
 * the key id of the recognition proof that carried the import (the agent must present its own key).
 */
export function checkMandateCoversIntent(
  mandate: AgentMandateV1,
  intent: MandateIntentView,
  recognitionKeyId?: string,
): { code: MandateBindingCode; message: string } | null {
  // Protocol receipts carry the intent id and require a UUID there.
  if (!UUID.test(intent.intentId)) return { code: 'protocol_intent_id_invalid', message: 'protocol receipts need an intent_id that is a UUID' };
  if (mandate.authorization.tenant_id !== intent.tenantId) return { code: 'mandate_tenant_mismatch', message: 'mandate authorization.tenant_id names another tenant' };
  if (recognitionKeyId !== undefined && mandate.agent.key_id !== recognitionKeyId) {
    return { code: 'mandate_agent_key_mismatch', message: 'mandate.agent.key_id must match recognition_proof.key_id' };
  }
  if (mandate.spend_ceiling.currency !== intent.currency.trim().toLowerCase()) {
    return { code: 'mandate_currency_mismatch', message: `mandate currency ${mandate.spend_ceiling.currency} differs from the intent's ${intent.currency}` };
  }
  if (intent.amountCents > mandate.spend_ceiling.amount_minor) {
    return { code: 'mandate_amount_exceeded', message: `intent amount ${intent.amountCents} exceeds the mandate's spend ceiling ${mandate.spend_ceiling.amount_minor}` };
  }
  if (!mandate.settlement.allowed_rails.includes(intent.settlementRail)) {
    return { code: 'mandate_rail_not_allowed', message: `the mandate does not allow settlement rail ${intent.settlementRail}` };
  }
  if (Date.parse(mandate.expires_at) < intent.deadline.getTime()) {
    return { code: 'mandate_expires_before_deadline', message: 'the mandate expires before the intent deadline' };
  }
  return null;
}
