import './errors.ts';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { decodePublicKey, decodeSignature, verifyEd25519 } from '../../crypto/ed25519.ts';
import { newId } from '../../crypto/hash.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { HarborIntent, Prisma } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { enforceIntentGuardrails } from '../guardrails/enforce.ts';
import { appendLedgerEvent } from './ledger.ts';
import { validatePredicate } from '../../kernel/predicate.ts';
import { RAW_TEMPLATE } from '../../kernel/policy-templates.ts';
import { settlementModeFor, settlementRail } from './rails.ts';
import { defaultRailFor } from '../settlement/routing.ts';
import { PURPOSE, recognize, type HarborCtx } from './gate.ts';
import { intentSignBytesV6, intentSignBytesV7, type IntentSigningFields } from './wire.ts';
import { publishedHead } from './policies.ts';
import { fundIntent, type FundResult } from './lifecycle.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const jsonObject = z.record(z.string(), z.unknown());

/** Largest amount one intent may carry (integer cents). */
export const MAX_AMOUNT_CENTS = 2_000_000_000;
export const amountCents = z.number().int().min(1).max(MAX_AMOUNT_CENTS).describe('Amount in integer minor units (cents).');
export const currency = z.string().regex(/^[A-Za-z]{3,10}$/, 'must be a currency code such as usd').describe('Currency code, e.g. usd.');

/** The principal-signed create body (the SDK's field set, camelCased). */
export const intentCreateInput = z.object({
  intentId: z.string().regex(UUID, 'must be a UUID').describe('Client-chosen UUID of the intent (unique per tenant).'),
  principalDid: z.string().min(1).max(512).describe('DID of the principal whose money the intent holds.'),
  principalPubkey: z.string().min(1).max(100).describe('Base64 Ed25519 public key that signed the terms.'),
  principalSignature: z.string().min(1).max(200).describe('Base64 Ed25519 signature over the signing layout of the terms.'),
  payeeDid: z.string().min(1).max(512).describe('DID of the payee (the operator paid on release).'),
  payeePubkey: z.string().min(1).max(100).describe('Base64 Ed25519 key that must sign the evidence.'),
  budget: jsonObject.describe('Budget object as signed (e.g. max, approval_threshold_cents).'),
  currency,
  amountCents,
  evidenceSchema: jsonObject.describe('JSON schema the evidence payload must match.'),
  deadline: z.iso.datetime({ offset: true }).describe('RFC 3339 deadline, exactly as signed.'),
  predicateDsl: jsonObject.nullish().describe('Release predicate (signing_version 6).'),
  settlementRail,
  signingVersion: z.union([z.literal(6), z.literal(7)]).describe('6: raw predicate; 7: bound to a published policy version.'),
  policyBinding: z
    .object({
      templateId: z.string().min(1).max(128).describe('Policy template id.'),
      versionSeq: z.number().int().min(1).describe('Published version sequence number.'),
    })
    .nullish()
    .describe('Published policy version the terms bind to (signing_version 7).'),
  allowedTools: z.array(z.string().min(1).max(200)).min(1).max(100).describe('Operations a capability token of this intent may authorise.'),
  predicateRef: z.string().max(512).nullish().describe('Reference of the predicate as signed, if any.'),
  completionPresetId: z.string().max(128).nullish().describe('Completion preset the terms were built from, if any.'),
});
export type IntentCreateInput = z.infer<typeof intentCreateInput>;

/** Verify the principal's signature over the SDK byte layout, with the authenticated tenant. */
async function verifyPrincipalSignature(ctx: HarborCtx, input: IntentCreateInput): Promise<{ predicate: unknown; policy?: { templateId: string; seq: number } }> {
  const principalKey = decodePublicKey(input.principalPubkey, ['base64']);
  const payeeKey = decodePublicKey(input.payeePubkey, ['base64']);
  const signature = decodeSignature(input.principalSignature, ['base64']);
  if (!principalKey || !payeeKey) throw new DomainError('invalid_request', 'principal_pubkey and payee_pubkey must be base64 Ed25519 public keys');
  if (!signature) throw new DomainError('principal_signature_invalid', 'principal_signature must be a base64 Ed25519 signature');
  const fields: IntentSigningFields = {
    intentId: input.intentId,
    principalDid: input.principalDid,
    payeeDid: input.payeeDid,
    amountCents: input.amountCents,
    currency: input.currency,
    deadline: input.deadline,
    budget: input.budget,
    evidenceSchema: input.evidenceSchema,
    predicate: input.predicateDsl,
    predicateRef: input.predicateRef ?? '',
    allowedTools: input.allowedTools,
    settlementRail: input.settlementRail,
    payeePubkey: payeeKey,
  };
  let bytes: Uint8Array;
  let result: { predicate: unknown; policy?: { templateId: string; seq: number } };
  if (input.signingVersion === 6) {
    if (!input.predicateDsl) throw new DomainError('invalid_request', 'predicate_dsl is required with signing_version 6', { field: ['predicateDsl'] });
    if (input.policyBinding) throw new DomainError('invalid_request', 'policy_binding must be null with signing_version 6', { field: ['policyBinding'] });
    bytes = intentSignBytesV6(ctx.principal.tenantId, fields);
    result = { predicate: input.predicateDsl };
  } else {
    if (!input.policyBinding) throw new DomainError('invalid_request', 'policy_binding is required with signing_version 7', { field: ['policyBinding'] });
    // The bound policy's materialised predicate is what the principal signed, from our published head.
    const head = await publishedHead(ctx.runtime.db, ctx.principal.tenantId, input.policyBinding.templateId);
    if (!head || head.seq !== input.policyBinding.versionSeq) {
      throw new DomainError('conflict', `policy_binding does not name the published head of ${input.policyBinding.templateId}`, {
        details: { head_seq: head?.seq ?? null },
      });
    }
    bytes = intentSignBytesV7(ctx.principal.tenantId, { ...fields, predicate: head.predicate }, {
      templateId: head.templateId,
      versionSeq: head.seq,
      contentDigest: Buffer.from(head.digestHex, 'hex'),
    });
    result = { predicate: head.predicate, policy: { templateId: head.templateId, seq: head.seq } };
  }
  if (!verifyEd25519(principalKey, bytes, signature)) {
    throw new DomainError('principal_signature_invalid', 'principal_signature does not verify over the intent terms for this tenant');
  }
  return result;
}

async function insertIntent(ctx: HarborCtx, tx: Prisma.TransactionClient, data: Omit<Prisma.HarborIntentUncheckedCreateInput, 'id' | 'tenantId' | 'state' | 'createdAt' | 'updatedAt'>) {
  const now = ctx.runtime.clock.now();
  // The (tenant, intent_id) unique index decides; a duplicate aborts this transaction.
  const intent = await tx.harborIntent
    .create({ data: { ...data, id: newId('int'), tenantId: ctx.principal.tenantId, state: 'created', createdAt: now, updatedAt: now } })
    .catch((error: unknown) => {
      if ((error as { code?: string }).code === 'P2002') throw new DomainError('conflict', `Intent ${data.intentId} already exists`);
      throw error;
    });
  await appendLedgerEvent(tx, ctx, {
    tenantId: intent.tenantId,
    intentId: intent.intentId,
    type: 'intent.created',
    amountCents: intent.amountCents,
    currency: intent.currency,
    payload: { principal_did: intent.principalDid, payee_did: intent.payeeDid, settlement_rail: intent.settlementRail, source: intent.source, predicate: intent.predicate },
  });
  await recordAudit(tx, ctx, {
    tenantId: intent.tenantId,
    eventType: 'harbor.intent.created',
    resource: 'harbor_intent',
    resourceId: intent.intentId,
    details: { amount_cents: intent.amountCents, currency: intent.currency, settlement_rail: intent.settlementRail, source: intent.source },
  });
  return intent;
}

/** POST /harbor/intents: principal-signed terms; recognition-gated; guardrails first. */
export async function createIntent(ctx: HarborCtx, input: IntentCreateInput, idempotencyKey?: string | null): Promise<HarborIntent> {
  const consume = await recognize(ctx, PURPOSE.create);
  const insert = await checkSignedIntent(ctx, input, { idempotencyKey });
  return ctx.runtime.db.$transaction(async (tx) => {
    await consume(tx);
    return insert(tx);
  });
}

/**
 * What createIntent checks before it writes (rail, predicate, principal signature, guardrails),
 * returning the insert to run in the caller's transaction. `templateId` names the managed-policy
 * template a signing_version 6 predicate was materialised from by the gateway itself (the sandbox
 * bootstrap), so guardrails judge it as that template rather than as a raw predicate.
 */
export async function checkSignedIntent(
  ctx: HarborCtx,
  input: IntentCreateInput,
  options: { idempotencyKey?: string | null; templateId?: string } = {},
): Promise<(tx: Prisma.TransactionClient) => Promise<HarborIntent>> {
  const settlementMode = await settlementModeFor(ctx.runtime, ctx.principal, input.settlementRail);
  if (input.predicateDsl) validatePredicate(input.predicateDsl);
  const signed = await verifyPrincipalSignature(ctx, input);
  await enforceIntentGuardrails(ctx, {
    amountCents: input.amountCents,
    currency: input.currency,
    rawPredicate: input.signingVersion === 6 && (!options.templateId || options.templateId === RAW_TEMPLATE),
    templateId: signed.policy?.templateId ?? options.templateId ?? null,
    intentId: input.intentId,
    idempotencyKey: options.idempotencyKey,
  });
  return (tx) =>
    insertIntent(ctx, tx, {
      intentId: input.intentId.toLowerCase(),
      principalDid: input.principalDid,
      principalPubkey: input.principalPubkey,
      payeeDid: input.payeeDid,
      payeePubkey: input.payeePubkey,
      amountCents: input.amountCents,
      currency: input.currency,
      settlementRail: input.settlementRail,
      settlementMode,
      deadline: new Date(input.deadline),
      budget: input.budget as Prisma.InputJsonValue,
      evidenceSchema: input.evidenceSchema as Prisma.InputJsonValue,
      predicate: signed.predicate as Prisma.InputJsonValue,
      predicateRef: input.predicateRef ?? null,
      allowedTools: input.allowedTools,
      policyTemplateId: signed.policy?.templateId ?? null,
      policyVersionSeq: signed.policy?.seq ?? null,
      signingVersion: input.signingVersion,
      source: 'principal_signed',
      createdBy: ctx.principal.subjectId,
    });
}

export const checkoutInput = z.object({
  amountCents,
  currency,
  recipient: z.string().trim().min(1).max(512).describe('Who is paid: the payee DID or merchant identifier.'),
  memo: z.string().trim().min(1).max(500).describe('What the payment is for.'),
  reference: z.string().trim().max(200).optional().describe('Caller reference, e.g. an order id.'),
  settlementRail: settlementRail.optional(),
});
export type CheckoutInput = z.infer<typeof checkoutInput>;

/**
 * Agent checkout: the signed agent request is the authorisation (there is no principal signature);
 * guardrails apply as for any intent. Creates the intent and funds it in one transaction.
 */
export async function checkout(ctx: HarborCtx, input: CheckoutInput, idempotencyKey?: string | null): Promise<FundResult> {
  const rail = input.settlementRail ?? (await defaultRailFor(ctx.runtime, ctx.principal.tenantId)) ?? 'stripe_connect';
  const settlementMode = await settlementModeFor(ctx.runtime, ctx.principal, rail);
  const intentId = randomUUID();
  await enforceIntentGuardrails(ctx, { amountCents: input.amountCents, currency: input.currency, rawPredicate: false, templateId: null, intentId, idempotencyKey });
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const intent = await insertIntent(ctx, tx, {
      intentId,
      principalDid: `agent:${ctx.principal.subjectId}`,
      payeeDid: input.recipient,
      amountCents: input.amountCents,
      currency: input.currency,
      settlementRail: rail,
      settlementMode,
      deadline: new Date(now.getTime() + 7 * 86_400_000),
      budget: { max: input.amountCents, memo: input.memo, reference: input.reference ?? null },
      evidenceSchema: {},
      predicate: { version: 1, root: { op: 'true' } },
      allowedTools: ['*'],
      source: 'agent_checkout',
      createdBy: ctx.principal.subjectId,
    });
    return fundIntent(ctx, intent.intentId, {}, { skipGate: true, tx, intent });
  });
}
