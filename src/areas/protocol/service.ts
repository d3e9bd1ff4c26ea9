import './errors.ts';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import type { Prisma, ProtocolMandateBinding } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError, notFound, type ErrorCode } from '../../kernel/errors.ts';
import { appendLedgerEvent } from '../harbor/ledger.ts';
import { checkRecognitionProof, consumeProofNonce } from '../harbor/recognition.ts';
import { checkMandateCoversIntent, verifyMandate, type AgentMandateV1, type SignedAgentMandateV1 } from './mandate.ts';
import { authorizationReceiptBody, settlementReceiptBody } from './receipt-bodies.ts';
import {
  normalizeTransportBinding,
  signAuthorizationReceipt,
  signSettlementReceipt,
  verifyProtocolReceipt,
  type ProtocolAuthorizationReceiptV1,
  type ProtocolSettlementReceiptV1,
} from './receipts.ts';
import { GATEWAY_VERIFIER_ID, HEX64, ProtocolFormatError, TENANT_ID, UUID } from './wire.ts';

/**
 * Protocol-v2 services: verification of mandates, recognition proofs and receipts (public), the
 * exactly-once import of a mandate onto a Harbor intent, and the settlement receipt of an intent.
 */

/** Recognition purpose of a mandate import; the proof's body digest is the mandate's digest. */
export const MANDATE_IMPORT_PURPOSE = 'protocol.mandate.import';
export const MANDATE_IMPORT_PATH = '/protocol/v2/mandates';

const jsonObject = z.record(z.string(), z.unknown());

export const mandateImportInput = z.object({
  signedMandate: jsonObject.describe('The signed AgentMandateV1 envelope (its body and the four signing fields).'),
  intentId: z.string().trim().toLowerCase().regex(UUID, 'must be a UUID').describe('The Harbor intent the mandate is bound to.'),
  transportBinding: jsonObject.nullish().describe('Where the mandate came from: source_protocol (default ap2), partner_platform, external_authorization_id, request_id.'),
  recognitionProof: jsonObject.describe(
    `AgentRecognitionProofV1 by the mandate's agent key: purpose ${MANDATE_IMPORT_PURPOSE}, request_envelope POST ${MANDATE_IMPORT_PATH} with body_digest_sha256_hex = the mandate's message_digest_sha256_hex.`,
  ),
});
export type MandateImportInput = z.output<typeof mandateImportInput>;

export const recognitionVerifyInput = z.object({
  proof: jsonObject.describe('The AgentRecognitionProofV1 to verify.'),
  expectedPurpose: z.string().trim().min(1).max(128).describe('The purpose the proof must name.'),
  expectedVerifier: z
    .object({
      tenantId: z.string().trim().min(1).max(256).describe('Tenant that verifies the proof.'),
      verifierId: z.string().trim().min(1).max(128).default(GATEWAY_VERIFIER_ID).describe('Verifier id (paybond-gateway).'),
    })
    .nullish()
    .describe('The verifier context the proof must name (the caller’s tenant when authenticated).'),
  expectedRequest: z
    .object({
      method: z.string().trim().min(1).max(16).describe('HTTP method the proof must be bound to.'),
      path: z.string().trim().startsWith('/').max(2048).describe('Path the proof must be bound to.'),
      bodyDigestSha256Hex: z.string().trim().toLowerCase().regex(HEX64, 'must be 64 hex characters').describe('SHA-256 (hex) of the request body the proof must be bound to.'),
    })
    .describe('The request the proof must be bound to.'),
});
export type RecognitionVerifyInput = z.output<typeof recognitionVerifyInput>;

const fail = (code: string, message: string, details?: Record<string, unknown>) => new DomainError(code as ErrorCode, message, details ? { details } : {});

/** The gateway's protocol tenant rule: ids outside the SDK's charset cannot sign or be signed for. */
function requireProtocolTenant(tenantId: string): void {
  if (!TENANT_ID.test(tenantId)) {
    throw fail('protocol_tenant_id_unsupported', 'This tenant id predates the protocol charset (^[a-z0-9][a-z0-9._-]*$); protocol v2 artifacts cannot name it (see docs/protocol.md)');
  }
}

export interface MandateVerifyResult {
  valid: true;
  mandateDigestSha256Hex: string;
  mandate: AgentMandateV1;
  signingPublicKeyEd25519Hex: string;
  expiresAt: string;
}

/** Verify a signed mandate (public): normalized digest and body, or the refusal's own code. */
export function verifyMandateEnvelope(rt: Runtime, input: unknown, principal: Principal | null): MandateVerifyResult {
  const result = verifyMandate(input, { now: rt.clock.now(), ...(principal ? { expectedTenantId: principal.tenantId } : {}) });
  if (!result.ok) throw fail(result.code, result.message, result.digestHex ? { mandate_digest_sha256_hex: result.digestHex } : undefined);
  return {
    valid: true,
    mandateDigestSha256Hex: result.digestHex,
    mandate: result.body,
    signingPublicKeyEd25519Hex: result.signerPublicKeyHex,
    expiresAt: result.body.expires_at,
  };
}

/** The gateway keys receipts may be signed by (today: the current signing key). */
const trustedKeys = (rt: Runtime) => [rt.keys.signing.publicKeyHex];

export interface ReceiptVerifyResult {
  valid: true;
  kind: string;
  receiptId: string;
  tenantId: string;
  receiptDigestSha256Hex: string;
  receipt: Record<string, unknown>;
}

/**
 * Verify a protocol receipt (public): the receipt itself, or `{receipt_id}` (the SDK CLI's form),
 * which looks the receipt up for the caller's tenant (a credential is then required).
 */
export async function verifyReceiptEnvelope(rt: Runtime, input: Record<string, unknown>, principal: Principal | null): Promise<ReceiptVerifyResult> {
  let receipt: Record<string, unknown> = input;
  const keys = Object.keys(input);
  if (keys.length === 1 && typeof input.receipt_id === 'string') {
    if (!principal) throw new DomainError('unauthenticated', 'Verifying a receipt by id needs a credential; post the receipt itself to verify it anonymously');
    const id = input.receipt_id.trim().toLowerCase();
    const stored =
      (await rt.db.protocolSettlementReceipt.findUnique({ where: { tenantId_receiptId: { tenantId: principal.tenantId, receiptId: id } } }))?.receipt ??
      (await rt.db.protocolMandateBinding.findFirst({ where: { tenantId: principal.tenantId, authorizationReceiptId: id } }))?.authorizationReceipt;
    if (!stored) throw notFound('Receipt');
    receipt = stored as Record<string, unknown>;
  }
  const result = verifyProtocolReceipt(receipt, { trustedSignerKeysHex: trustedKeys(rt), ...(principal ? { expectedTenantId: principal.tenantId } : {}) });
  if (!result.ok) throw fail(result.code, result.message);
  return {
    valid: true,
    kind: result.kind,
    receiptId: result.body.receipt_id,
    tenantId: result.body.tenant_id,
    receiptDigestSha256Hex: result.digestHex,
    receipt: { ...result.body, signing_algorithm: 'ed25519-sha256-json-v1', message_digest_sha256_hex: result.digestHex, signing_public_key_ed25519_hex: result.signerPublicKeyHex, ed25519_signature_hex: (receipt.ed25519_signature_hex as string).trim().toLowerCase() },
  };
}

export interface RecognitionVerifyResult {
  valid: true;
  keyId: string;
  purpose: string;
  tenantId: string;
  verifierId: string;
  nonceConsumed: true;
  expiresAt: string;
}

/**
 * Verify a recognition proof (public) against the expected purpose, verifier and request, and
 * consume its nonce in the store the recognition gate uses: a proof verifies once. The tenant is
 * the caller's when authenticated (an expected verifier naming another tenant is refused);
 * anonymously, the expected verifier's. Unknown tenants and keys get one answer, so the route
 * does not reveal which tenants or keys exist.
 */
export async function verifyRecognition(ctx: ServiceContext, input: RecognitionVerifyInput): Promise<RecognitionVerifyResult> {
  const rt = ctx.runtime;
  const tenantId = ctx.principal?.tenantId ?? input.expectedVerifier?.tenantId ?? (typeof (input.proof.verifier_context as { tenant_id?: unknown } | undefined)?.tenant_id === 'string' ? String((input.proof.verifier_context as { tenant_id: string }).tenant_id) : '');
  if (ctx.principal && input.expectedVerifier && input.expectedVerifier.tenantId !== ctx.principal.tenantId) {
    throw fail('recognition_proof_invalid', 'Recognition proof rejected: expected_verifier names another tenant');
  }
  if (input.expectedVerifier && input.expectedVerifier.verifierId !== GATEWAY_VERIFIER_ID) {
    throw fail('recognition_proof_invalid', `Recognition proof rejected: this gateway verifies for ${GATEWAY_VERIFIER_ID}`);
  }
  let verified;
  try {
    verified = await checkRecognitionProof(rt, tenantId, input.proof, {
      purpose: input.expectedPurpose,
      method: input.expectedRequest.method,
      path: input.expectedRequest.path,
      bodyDigestHex: input.expectedRequest.bodyDigestSha256Hex,
    });
  } catch (error) {
    if (error instanceof DomainError && (error.code === 'unregistered_key' || error.code === 'revoked_key')) {
      throw fail('recognition_key_unknown', 'Recognition proof rejected: the key is not an active trusted agent key of the verifying tenant');
    }
    throw error;
  }
  await rt.db.$transaction((tx) => consumeProofNonce(tx, tenantId, verified));
  return {
    valid: true,
    keyId: verified.keyId,
    purpose: input.expectedPurpose,
    tenantId,
    verifierId: GATEWAY_VERIFIER_ID,
    nonceConsumed: true,
    expiresAt: new Date(Date.parse((input.proof as { expires_at: string }).expires_at)).toISOString(),
  };
}

/** Intent states a mandate may still be bound in (before evidence moves money). */
const IMPORTABLE_STATES: ReadonlySet<string> = new Set(['created', 'funding_pending', 'funded', 'evidence_submitted']);

export interface MandateImportResult {
  valid: true;
  intentId: string;
  mandateDigestSha256Hex: string;
  mandate: AgentMandateV1;
  authorizationReceipt: ProtocolAuthorizationReceiptV1;
  binding: ProtocolMandateBinding;
}

/**
 * Import a signed mandate and bind it to a Harbor intent, exactly once: verify the mandate (for
 * the caller's tenant), the agent's recognition proof (its key is the mandate's agent key), that
 * the mandate covers the intent (amount, currency, rail, expiry), then write the binding, the
 * signed authorization receipt, the ledger event and the audit event in one transaction, with the
 * proof's nonce. A second import for the intent, or of the mandate anywhere, is a 409.
 */
export async function importMandate(ctx: ServiceContext & { principal: Principal }, input: MandateImportInput): Promise<MandateImportResult> {
  const rt = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  requireProtocolTenant(tenantId);
  const now = rt.clock.now();
  const verified = verifyMandate(input.signedMandate, { now, expectedTenantId: tenantId });
  if (!verified.ok) throw fail(verified.code, verified.message);

  const proof = await checkRecognitionProof(rt, tenantId, input.recognitionProof, {
    purpose: MANDATE_IMPORT_PURPOSE,
    method: 'POST',
    path: MANDATE_IMPORT_PATH,
    bodyDigestHex: verified.digestHex,
  });

  const intent = await rt.db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId: input.intentId } } });
  if (!intent) throw notFound('Intent');
  if (!IMPORTABLE_STATES.has(intent.state)) {
    throw new DomainError('invalid_state_transition', `A mandate is bound before settlement; the intent is ${intent.state}`, { details: { state: intent.state } });
  }
  const mismatch = checkMandateCoversIntent(
    verified.body,
    { tenantId, intentId: intent.intentId, amountCents: intent.amountCents, currency: intent.currency, settlementRail: intent.settlementRail, deadline: intent.deadline },
    proof.keyId,
  );
  if (mismatch) throw fail(mismatch.code, mismatch.message);

  let transport;
  try {
    transport = normalizeTransportBinding(input.transportBinding ?? {});
  } catch (error) {
    if (error instanceof ProtocolFormatError) throw fail(error.code, error.message);
    throw error;
  }
  const receipt = signAuthorizationReceipt(
    authorizationReceiptBody({
      mandate: verified.body,
      mandateDigestHex: verified.digestHex,
      mandateSignerPublicKeyHex: verified.signerPublicKeyHex,
      intentId: intent.intentId,
      issuedAt: now,
      transportBinding: transport,
    }),
    rt.keys.signing.privateKey,
  );
  const signedMandate: SignedAgentMandateV1 = {
    ...verified.body,
    signing_algorithm: 'ed25519-sha256-json-v1',
    message_digest_sha256_hex: verified.digestHex,
    signing_public_key_ed25519_hex: verified.signerPublicKeyHex,
    ed25519_signature_hex: String(input.signedMandate.ed25519_signature_hex).trim().toLowerCase(),
  };

  const binding = await rt.db.$transaction(async (tx) => {
    const [forIntent, forMandate] = await Promise.all([
      tx.protocolMandateBinding.findUnique({ where: { tenantId_intentId: { tenantId, intentId: intent.intentId } } }),
      tx.protocolMandateBinding.findUnique({ where: { mandateDigestHex: verified.digestHex } }),
    ]);
    if (forIntent) throw fail('mandate_already_bound', 'A mandate is already bound to this intent');
    if (forMandate) throw fail('mandate_already_imported', 'This mandate is already bound to an intent');
    await consumeProofNonce(tx, tenantId, proof);
    const row = await tx.protocolMandateBinding
      .create({
        data: {
          id: newId('pmb'),
          tenantId,
          intentId: intent.intentId,
          mandateDigestHex: verified.digestHex,
          signedMandate: signedMandate as unknown as Prisma.InputJsonValue,
          mandateSignerKeyHex: verified.signerPublicKeyHex,
          agentKeyId: proof.keyId,
          authorizationReceiptId: receipt.receipt_id,
          authorizationReceipt: receipt as unknown as Prisma.InputJsonValue,
          transportBinding: transport as unknown as Prisma.InputJsonValue,
          expiresAt: verified.expiresAt,
          createdAt: now,
        },
      })
      .catch((error: unknown) => {
        // Two concurrent imports: the unique indexes decide, the loser gets the same 409.
        if ((error as { code?: string }).code === 'P2002') throw fail('mandate_already_bound', 'A mandate is already bound to this intent');
        throw error;
      });
    await appendLedgerEvent(tx, ctx, {
      tenantId,
      intentId: intent.intentId,
      type: 'protocol.mandate_imported',
      amountCents: intent.amountCents,
      currency: intent.currency,
      payload: { mandate_digest_sha256_hex: verified.digestHex, authorization_receipt_id: receipt.receipt_id, agent_key_id: proof.keyId },
    });
    await recordAudit(tx, ctx, {
      tenantId,
      eventType: 'protocol.mandate_imported',
      resource: 'harbor_intent',
      resourceId: intent.intentId,
      details: { mandate_digest_sha256_hex: verified.digestHex, authorization_receipt_id: receipt.receipt_id, agent_key_id: proof.keyId },
    });
    return row;
  });
  return { valid: true, intentId: intent.intentId, mandateDigestSha256Hex: verified.digestHex, mandate: verified.body, authorizationReceipt: receipt, binding };
}

/**
 * The signed settlement receipt of an intent (receipt_id = intent id) of the caller's tenant. It
 * exists once a mandate was imported for the intent and the intent reached a protocol-terminal
 * state; it is signed once, stored, and served identically afterwards.
 */
export async function settlementReceipt(ctx: ServiceContext & { principal: Principal }, receiptIdRaw: string): Promise<ProtocolSettlementReceiptV1> {
  const rt = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const receiptId = receiptIdRaw.trim().toLowerCase();
  if (!UUID.test(receiptId)) throw notFound('Receipt');
  const stored = await rt.db.protocolSettlementReceipt.findUnique({ where: { tenantId_receiptId: { tenantId, receiptId } } });
  if (stored) return stored.receipt as unknown as ProtocolSettlementReceiptV1;
  const binding = await rt.db.protocolMandateBinding.findUnique({ where: { tenantId_intentId: { tenantId, intentId: receiptId } } });
  if (!binding) throw notFound('Receipt');
  const intent = await rt.db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId: receiptId } } });
  if (!intent) throw notFound('Receipt');
  const now = rt.clock.now();
  let receipt: ProtocolSettlementReceiptV1;
  try {
    receipt = signSettlementReceipt(
      settlementReceiptBody({
        intent: {
          tenantId,
          intentId: intent.intentId,
          state: intent.state,
          disputeOutcome: intent.disputeOutcome,
          predicatePassed: intent.predicatePassed,
          settlementRail: intent.settlementRail,
          settlementMode: intent.settlementMode,
          principalDid: intent.principalDid,
          payeeDid: intent.payeeDid,
          currency: intent.currency,
          amountCents: intent.amountCents,
        },
        authorizationReceiptId: binding.authorizationReceiptId,
        mandateDigestHex: binding.mandateDigestHex,
        transportBinding: binding.transportBinding,
        issuedAt: now,
        terminalObservedAt: intent.updatedAt,
      }),
      rt.keys.signing.privateKey,
    );
  } catch (error) {
    if (error instanceof ProtocolFormatError && error.code === 'protocol_not_terminal') {
      throw fail('protocol_not_terminal', `The intent has not reached a protocol-terminal state (it is ${intent.state}); the settlement receipt exists once it is released, refunded or resolved`, { state: intent.state });
    }
    throw error;
  }
  // First reader stores it; a concurrent reader keeps the stored one.
  await rt.db.protocolSettlementReceipt
    .create({ data: { id: newId('psr'), tenantId, intentId: intent.intentId, receiptId, receipt: receipt as unknown as Prisma.InputJsonValue, issuedAt: now } })
    .catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'P2002') throw error;
    });
  const final = await rt.db.protocolSettlementReceipt.findUnique({ where: { tenantId_receiptId: { tenantId, receiptId } } });
  return final!.receipt as unknown as ProtocolSettlementReceiptV1;
}

/** The mandate binding of an intent (dashboard), or null. */
export const mandateBindingOf = (db: Runtime['db'], tenantId: string, intentId: string) =>
  db.protocolMandateBinding.findUnique({ where: { tenantId_intentId: { tenantId, intentId } } });
