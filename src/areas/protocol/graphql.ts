import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { connectionArgs, policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { inputFromZod } from '../../graphql/inputs.ts';
import type { RequestContext } from '../../context.ts';
import type { ProtocolMandateBinding, ProtocolSettlementReceipt } from '../../generated/prisma/client.ts';
import { DomainError } from '../../kernel/errors.ts';
import { PUBLIC, READER } from '../../kernel/policy.ts';
import { agentCard, findTaskContract, gatewayJwks, taskContractPage, type TaskContract } from './card.ts';
import {
  importMandate,
  mandateImportInput,
  recognitionVerifyInput,
  settlementReceipt,
  verifyMandateEnvelope,
  verifyReceiptEnvelope,
  verifyRecognition,
  type MandateImportResult,
  type MandateVerifyResult,
  type ReceiptVerifyResult,
  type RecognitionVerifyResult,
} from './service.ts';
import './errors.ts';

export const AREA = 'protocol' as const;

const VERIFY = { ...PUBLIC, rateLimit: null } as const;
const IMPORT = { principals: ['user', 'api_key', 'harbor', 'agent'], scope: 'harbor:write', rateLimit: 'harbor_intent_mutation' } as const;

const baseUrl = (ctx: RequestContext) => ctx.runtime.config.PUBLIC_BASE_URL;

const jsonObject = (value: unknown, what: string): Record<string, unknown> => {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new DomainError('invalid_request', `${what} must be a JSON object`);
  return value as Record<string, unknown>;
};

// ─── Types ──────────────────────────────────────────────────────────────────

const TaskContractType = builder.objectRef<TaskContract>('TaskContract').implement({
  description: 'A published A2A settlement task contract (delegated workflow), built from a completion preset and its policy template.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Contract id (harbor.<completion preset>).' }),
    version: t.exposeString('version', { description: 'Contract version.' }),
    title: t.exposeString('title', { description: 'Human title.' }),
    description: t.exposeString('description', { description: 'What the contract settles.' }),
    operation: t.exposeString('operation', { description: 'The delegated operation.' }),
    templateId: t.string({ description: 'Managed-policy template of the predicate.', resolve: (c) => c.predicateTemplate.templateId }),
    parameters: t.field({ type: 'JSON', description: 'Template parameters.', resolve: (c) => c.predicateTemplate.parameters }),
    evidenceSchema: t.field({ type: 'JSON', description: 'JSON schema of the evidence.', resolve: (c) => c.evidenceSchema }),
    settlementRails: t.exposeStringList('settlementRails', { description: 'Settlement rails allowed.' }),
    contentDigestSha256Hex: t.exposeString('contentDigestSha256Hex', { description: 'SHA-256 (hex) of the contract’s RFC 8785 form (without this field).' }),
    document: t.field({ type: 'JSON', description: 'The contract as REST serves it (A2ASettlementTaskContractV1).', resolve: (c) => c }),
  }),
});

const TaskContractCatalog = builder
  .objectRef<ReturnType<typeof taskContractPage>>('TaskContractCatalog')
  .implement({
    description: 'A page of the task-contract catalogue.',
    fields: (t) => ({
      contracts: t.field({ type: [TaskContractType], description: 'Contracts, ordered by id.', resolve: (p) => p.contracts }),
      totalCount: t.exposeInt('totalCount', { description: 'Contracts published in all.' }),
      nextCursor: t.exposeString('nextCursor', { nullable: true, description: 'Pass as `after` for the next page.' }),
      agentCardUrl: t.exposeString('agentCardUrl', { description: 'Where the agent card is.' }),
    }),
  });

const MandateVerification = builder.objectRef<MandateVerifyResult>('ProtocolMandateVerification').implement({
  description: 'A verified AgentMandateV1.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Always true (a refusal is an error with its own code).' }),
    mandateDigestSha256Hex: t.exposeString('mandateDigestSha256Hex', { description: 'SHA-256 (hex) of the canonical mandate bytes.' }),
    mandate: t.field({ type: 'JSON', description: 'The normalized mandate body.', resolve: (r) => r.mandate }),
    signingPublicKeyEd25519Hex: t.exposeString('signingPublicKeyEd25519Hex', { description: 'The signer’s Ed25519 public key (hex).' }),
    expiresAt: t.exposeString('expiresAt', { description: 'When the mandate expires (RFC 3339).' }),
  }),
});

const ReceiptVerification = builder.objectRef<ReceiptVerifyResult>('ProtocolReceiptVerification').implement({
  description: 'A verified protocol receipt.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Always true (a refusal is an error with its own code).' }),
    kind: t.exposeString('kind', { description: 'paybond.protocol_authorization_receipt_v1 or paybond.protocol_settlement_receipt_v1.' }),
    receiptId: t.exposeString('receiptId', { description: 'The receipt id.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant the receipt names.' }),
    receiptDigestSha256Hex: t.exposeString('receiptDigestSha256Hex', { description: 'SHA-256 (hex) of the receipt’s canonical bytes.' }),
    receipt: t.field({ type: 'JSON', description: 'The normalized receipt.', resolve: (r) => r.receipt }),
  }),
});

const RecognitionVerification = builder.objectRef<RecognitionVerifyResult>('ProtocolRecognitionVerification').implement({
  description: 'A verified (and now consumed) AgentRecognitionProofV1.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Always true (a refusal is an error with its own code).' }),
    keyId: t.exposeString('keyId', { description: 'The trusted agent key that signed it.' }),
    purpose: t.exposeString('purpose', { description: 'Its purpose.' }),
    tenantId: t.exposeString('tenantId', { description: 'Verifying tenant.' }),
    verifierId: t.exposeString('verifierId', { description: 'Verifier id.' }),
    nonceConsumed: t.exposeBoolean('nonceConsumed', { description: 'The nonce is now used: the proof verifies only once.' }),
    expiresAt: t.exposeString('expiresAt', { description: 'When the proof expires.' }),
  }),
});

const MandateBindingType = builder.objectRef<ProtocolMandateBinding>('ProtocolMandateBinding').implement({
  description: 'A signed AgentMandateV1 bound to an intent, with the authorization receipt the gateway issued.',
  fields: (t) => ({
    intentId: t.exposeString('intentId', { description: 'The intent.' }),
    mandateDigestSha256Hex: t.exposeString('mandateDigestHex', { description: 'SHA-256 (hex) of the canonical mandate bytes.' }),
    mandate: t.field({ type: 'JSON', description: 'The signed mandate as imported.', resolve: (b) => b.signedMandate }),
    agentKeyId: t.exposeString('agentKeyId', { description: 'The agent key that presented it.' }),
    authorizationReceiptId: t.exposeString('authorizationReceiptId', { description: 'Id of the authorization receipt.' }),
    authorizationReceipt: t.field({ type: 'JSON', description: 'The signed ProtocolAuthorizationReceiptV1.', resolve: (b) => b.authorizationReceipt }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the mandate expires.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was imported.' }),
  }),
});

const ImportPayload = builder.objectRef<Partial<MandateImportResult> & { userErrors: UserErrorShape[] }>('ProtocolMandateImportPayload').implement({
  description: 'The result of a mandate import.',
  fields: (t) => ({
    valid: t.boolean({ nullable: true, description: 'True when imported.', resolve: (p) => p.valid ?? null }),
    intentId: t.string({ nullable: true, description: 'The intent the mandate is bound to.', resolve: (p) => p.intentId ?? null }),
    mandateDigestSha256Hex: t.string({ nullable: true, description: 'SHA-256 (hex) of the canonical mandate bytes.', resolve: (p) => p.mandateDigestSha256Hex ?? null }),
    mandate: t.field({ type: 'JSON', nullable: true, description: 'The normalized mandate body.', resolve: (p) => p.mandate ?? null }),
    authorizationReceipt: t.field({ type: 'JSON', nullable: true, description: 'The signed ProtocolAuthorizationReceiptV1.', resolve: (p) => p.authorizationReceipt ?? null }),
    binding: t.field({ type: MandateBindingType, nullable: true, description: 'The stored binding.', resolve: (p) => p.binding ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const RecognitionPayload = builder.objectRef<Partial<{ verification: RecognitionVerifyResult }> & { userErrors: UserErrorShape[] }>('ProtocolRecognitionVerifyPayload').implement({
  description: 'The result of a recognition proof verification.',
  fields: (t) => ({
    verification: t.field({ type: RecognitionVerification, nullable: true, description: 'The verification, when the proof holds.', resolve: (p) => p.verification ?? null }),
    userErrors: userErrorsField(t),
  }),
});

// ─── Intent fields (dashboard) ──────────────────────────────────────────────

builder.prismaObjectFields('HarborIntent', (t) => ({
  protocolMandate: t.field({
    type: MandateBindingType,
    nullable: true,
    description: 'The signed agent mandate bound to this intent, with its authorization receipt.',
    resolve: (i, _a, ctx) => ctx.runtime.db.protocolMandateBinding.findUnique({ where: { tenantId_intentId: { tenantId: i.tenantId, intentId: i.intentId } } }),
  }),
  protocolSettlementReceipt: t.field({
    type: 'JSON',
    nullable: true,
    description: 'The signed ProtocolSettlementReceiptV1, once it was issued.',
    resolve: async (i, _a, ctx) =>
      ((await ctx.runtime.db.protocolSettlementReceipt.findUnique({ where: { tenantId_intentId: { tenantId: i.tenantId, intentId: i.intentId } } })) as ProtocolSettlementReceipt | null)?.receipt ?? null,
  }),
}));

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  agentCard: t.field({
    ...policy(PUBLIC),
    type: 'JSON',
    description: 'The gateway’s signed A2A agent card (JWS in `signatures`, verifiable with protocolJwks).',
    resolve: (_r, _a, ctx) => agentCard(ctx.runtime.keys.signing, baseUrl(ctx)).card,
  }),
  protocolJwks: t.field({
    ...policy(PUBLIC),
    type: 'JSON',
    description: 'The JWKS of the gateway signing key (verifies the agent card and protocol receipts).',
    resolve: (_r, _a, ctx) => gatewayJwks(ctx.runtime.keys.signing),
  }),
  taskContracts: t.field({
    ...policy(PUBLIC),
    type: TaskContractCatalog,
    description: 'The task-contract catalogue, a page at a time.',
    args: {
      first: t.arg.int({ required: false, description: 'Page size (1–100, default 50).' }),
      after: t.arg.string({ required: false, description: 'Cursor from nextCursor.' }),
    },
    validate: connectionArgs.pick({ first: true, after: true }),
    resolve: (_r, { first, after }, ctx) => taskContractPage(baseUrl(ctx), first ?? 50, after),
  }),
  taskContract: t.field({
    ...policy(PUBLIC),
    type: TaskContractType,
    nullable: true,
    description: 'One published task contract by id (null when there is none).',
    args: { contractId: t.arg.string({ required: true, description: 'The contract id.' }) },
    resolve: (_r, { contractId }, ctx) => findTaskContract(baseUrl(ctx), contractId),
  }),
  protocolMandateVerify: t.field({
    ...policy(VERIFY),
    type: MandateVerification,
    description: 'Verify a signed AgentMandateV1: its normalized digest and body, or an error naming what failed.',
    args: { mandate: t.arg({ type: 'JSON', required: true, description: 'The signed mandate envelope.' }) },
    resolve: (_r, { mandate }, ctx) => verifyMandateEnvelope(ctx.runtime, jsonObject(mandate, 'mandate'), ctx.principal),
  }),
  protocolReceiptVerify: t.field({
    ...policy(VERIFY),
    type: ReceiptVerification,
    description: 'Verify a ProtocolAuthorizationReceiptV1 or ProtocolSettlementReceiptV1 (signed by this gateway), or `{receipt_id}` of the caller’s tenant.',
    args: { receipt: t.arg({ type: 'JSON', required: true, description: 'The receipt, or {receipt_id}.' }) },
    resolve: (_r, { receipt }, ctx) => verifyReceiptEnvelope(ctx.runtime, jsonObject(receipt, 'receipt'), ctx.principal),
  }),
  protocolSettlementReceipt: t.field({
    ...policy(READER),
    type: 'JSON',
    nullable: true,
    description: 'The signed ProtocolSettlementReceiptV1 of an intent with an imported mandate, once the intent is protocol-terminal (409 protocol_not_terminal before).',
    args: { receiptId: t.arg.string({ required: true, description: 'The receipt id (the intent id).' }) },
    resolve: async (_r, { receiptId }, ctx) => {
      try {
        return await settlementReceipt({ ...ctx, principal: principalOf(ctx) }, receiptId);
      } catch (error) {
        if (error instanceof DomainError && error.code === 'not_found') return null;
        throw error;
      }
    },
  }),
}));

// ─── Mutations ──────────────────────────────────────────────────────────────

const MandateImportInput = inputFromZod('ProtocolMandateImportInput', mandateImportInput, 'A signed mandate to bind to an intent, with the agent’s recognition proof.');
const RecognitionVerifyInput = inputFromZod('ProtocolRecognitionVerifyInput', recognitionVerifyInput, 'A recognition proof and what it must be bound to.');

builder.mutationFields((t) => ({
  protocolMandateImport: t.field({
    ...policy(IMPORT),
    type: ImportPayload,
    description: 'Import a signed AgentMandateV1 and bind it to a Harbor intent exactly once; returns a signed ProtocolAuthorizationReceiptV1.',
    args: { input: t.arg({ type: MandateImportInput, required: true, description: 'The mandate, the intent and the proof.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(() => importMandate({ ...ctx, principal: principalOf(ctx) }, input as z.output<typeof mandateImportInput>)),
  }),
  protocolRecognitionVerify: t.field({
    ...policy(VERIFY),
    type: RecognitionPayload,
    description: 'Verify an AgentRecognitionProofV1 against the expected purpose, verifier and request, and consume its nonce (replay-safe).',
    args: { input: t.arg({ type: RecognitionVerifyInput, required: true, description: 'The proof and its expectations.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ verification: await verifyRecognition(ctx, input as z.output<typeof recognitionVerifyInput>) })),
  }),
}));
