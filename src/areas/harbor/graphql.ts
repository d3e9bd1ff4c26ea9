import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { connectionArgs, ONE_TIME_SECRET, policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import type { RequestContext } from '../../context.ts';
import type { HarborIntent, SpendDecision } from '../../generated/prisma/client.ts';
import { prismaSql } from '../../db.ts';
import { IDEMPOTENCY_HEADER } from '../../kernel/http/headers.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { HARBOR_WRITER, READER } from '../../kernel/policy.ts';
import { checkout, checkoutInput, createIntent, intentCreateInput } from './intents.ts';
import {
  confirmSettlement,
  disputeOpenInput,
  disputeResolveInput,
  evidenceInput,
  fundInput,
  fundIntent,
  openDispute,
  resolveDispute,
  settlementInput,
  submitEvidence,
  type EvidenceResult,
  type FundResult,
} from './lifecycle.ts';
import { completeDecision, completeInput, verifyInput, verifySpend, type SpendDecisionView } from './capabilities.ts';
import type { HarborCtx } from './gate.ts';
import { settlementRail } from './rails.ts';
import { intentState } from './state-machine.ts';
import { verifyLedgerChain, type ChainReport } from './ledger.ts';

import './limits.ts';
import './policies.graphql.ts';

export const AREA = 'harbor' as const;

/** The request a Harbor write is bound to (recognition proofs sign method, path and raw body). */
const harborCtx = (ctx: RequestContext): HarborCtx => ({ ...ctx, principal: principalOf(ctx), binding: ctx.http });

const WRITE = { ...HARBOR_WRITER, rateLimit: 'harbor_intent_mutation' } as const;

const IntentStateEnum = enumFromZod(intentState);
const SettlementRailEnum = enumFromZod(settlementRail);

export const HarborIntentType = builder.prismaNode('HarborIntent', {
  description: 'A payment intent: principal-signed terms, money held on a rail, released or refunded on evidence.',
  id: { field: 'id' },
  // Another tenant's intent resolves to null, like one that does not exist.
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    intentId: t.exposeString('intentId', { description: 'Client-chosen UUID, unique per tenant.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant that owns the intent.' }),
    tenant: t.relation('tenant', { description: 'Tenant that owns the intent.' }),
    state: t.field({ type: IntentStateEnum, description: 'Lifecycle state.', resolve: (i) => i.state as z.infer<typeof intentState> }),
    principalDid: t.exposeString('principalDid', { description: 'DID of the principal whose money is held.' }),
    payeeDid: t.exposeString('payeeDid', { description: 'DID of the payee.' }),
    amountCents: t.exposeInt('amountCents', { description: 'Amount in cents.' }),
    currency: t.exposeString('currency', { description: 'Currency code.' }),
    settlementRail: t.field({ type: SettlementRailEnum, description: 'Rail the money moves on.', resolve: (i) => i.settlementRail as z.infer<typeof settlementRail> }),
    settlementMode: t.exposeString('settlementMode', { description: 'simulated (sandbox) or live.' }),
    deadline: t.expose('deadline', { type: 'DateTime', description: 'Deadline as signed.' }),
    budget: t.expose('budget', { type: 'JSON', description: 'Budget object as signed.' }),
    evidenceSchema: t.expose('evidenceSchema', { type: 'JSON', description: 'JSON schema the evidence must match.' }),
    predicate: t.expose('predicate', { type: 'JSON', description: 'Release predicate evaluated against evidence.' }),
    predicateRef: t.exposeString('predicateRef', { nullable: true, description: 'Predicate reference as signed.' }),
    allowedTools: t.exposeStringList('allowedTools', { description: 'Operations its capability token may authorise.' }),
    policyTemplateId: t.exposeString('policyTemplateId', { nullable: true, description: 'Template of the bound policy version (signing_version 7).' }),
    policyVersionSeq: t.exposeInt('policyVersionSeq', { nullable: true, description: 'Sequence of the bound policy version.' }),
    policyVersion: t.prismaField({
      type: 'PolicyVersion',
      nullable: true,
      description: 'The published policy version the terms are bound to (signing_version 7).',
      resolve: (query, i, _a, ctx) =>
        i.policyTemplateId && i.policyVersionSeq
          ? ctx.runtime.db.policyVersion.findUnique({
              ...query,
              where: { tenantId_templateId_seq: { tenantId: i.tenantId, templateId: i.policyTemplateId, seq: i.policyVersionSeq } },
            })
          : null,
    }),
    source: t.exposeString('source', { description: 'principal_signed or agent_checkout.' }),
    spentCents: t.exposeInt('spentCents', { description: 'Capability spend reserved or consumed.' }),
    remainingCents: t.int({ description: 'Budget left for capability spend.', resolve: (i) => i.amountCents - i.spentCents }),
    predicatePassed: t.exposeBoolean('predicatePassed', { nullable: true, description: 'Result of the latest evidence evaluation.' }),
    settlementAction: t.exposeString('settlementAction', { nullable: true, description: 'release or refund, once settlement is requested.' }),
    disputeOutcome: t.exposeString('disputeOutcome', { nullable: true, description: 'release, refund or split, once a dispute is resolved.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the intent was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the intent last changed.' }),
  }),
});

const SpendScopeType = builder.objectRef<{ scopeType: string; scopeKey: string }>('SpendScope').implement({
  description: 'What a spend decision counted against.',
  fields: (t) => ({
    scopeType: t.exposeString('scopeType', { description: 'Kind of budget (intent).' }),
    scopeKey: t.exposeString('scopeKey', { description: 'Its identifier.' }),
  }),
});

const SpendDecisionType = builder.objectRef<SpendDecisionView>('SpendDecision').implement({
  description: 'Allow or deny for one spend under a capability token.',
  fields: (t) => ({
    tenant: t.exposeString('tenantId', { description: 'Tenant of the intent.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant of the intent.' }),
    intentId: t.exposeString('intentId', { description: 'Intent the spend counts against.' }),
    allow: t.exposeBoolean('allow', { description: 'Whether the spend may go ahead.' }),
    code: t.exposeString('code', { nullable: true, description: 'Refusal code when denied.' }),
    message: t.exposeString('message', { nullable: true, description: 'Refusal message when denied.' }),
    decisionId: t.exposeString('decisionId', { nullable: true, description: 'Id of the recorded decision (complete it later).' }),
    remainingCents: t.exposeInt('remainingCents', { nullable: true, description: 'Budget left after this decision.' }),
    reasonCodes: t.exposeStringList('reasonCodes', { description: 'Every reason behind the decision.' }),
    auditId: t.string({ nullable: true, description: 'Id of the audit event recording the decision.', resolve: (d) => d.auditId ?? null }),
    spendScope: t.field({ type: SpendScopeType, description: 'What the spend counted against.', resolve: (d) => ({ scopeType: 'intent', scopeKey: d.intentId }) }),
  }),
});

const DecisionRecordType = builder.objectRef<SpendDecision>('SpendDecisionRecord').implement({
  description: 'A stored spend decision.',
  fields: (t) => ({
    decisionId: t.exposeString('id', { description: 'Decision id.' }),
    status: t.exposeString('status', { description: 'reserved, consumed, released or denied.' }),
    operation: t.exposeString('operation', { description: 'Operation the spend was for.' }),
    requestedCents: t.exposeInt('requestedCents', { description: 'Spend requested, in cents.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it was consumed or released.' }),
  }),
});

const LedgerBreakType = builder.objectRef<NonNullable<ChainReport['firstBreak']>>('LedgerBreak').implement({
  description: 'Where a hash chain stops verifying.',
  fields: (t) => ({
    seq: t.exposeInt('seq', { description: 'First sequence number that does not verify.' }),
    reason: t.exposeString('reason', { description: 'What is wrong there.' }),
    expectedHash: t.exposeString('expectedHash', { nullable: true, description: 'Hash the chain implies.' }),
    storedHash: t.exposeString('storedHash', { nullable: true, description: 'Hash stored in the row.' }),
  }),
});

const LedgerStatusEnum = builder.enumType('LedgerCheckStatus', {
  description: 'Outcome of a ledger continuity check.',
  values: { pass: { value: 'pass', description: 'The chain verifies from genesis to head.' }, fail: { value: 'fail', description: 'The chain breaks at firstBreak.' } } as const,
});

const LedgerVerificationType = builder.objectRef<ChainReport>('LedgerVerification').implement({
  description: 'A continuity check of the tenant’s hash-chained ledger.',
  fields: (t) => ({
    tenantId: t.exposeString('tenantId', { description: 'Tenant checked.' }),
    ok: t.exposeBoolean('ok', { description: 'True when the whole chain verifies.' }),
    status: t.field({ type: LedgerStatusEnum, description: 'pass or fail.', resolve: (r) => (r.ok ? 'pass' : 'fail') }),
    eventsChecked: t.exposeInt('eventsChecked', { description: 'Events that verified.' }),
    headSeq: t.exposeInt('headSeq', { description: 'Last verified sequence number.' }),
    headHash: t.exposeString('headHash', { description: 'Hash at headSeq.' }),
    firstBreak: t.field({ type: LedgerBreakType, nullable: true, description: 'The first break, if any.', resolve: (r) => r.firstBreak }),
    guidance: t.string({
      description: 'What to do about the result.',
      resolve: (r) =>
        r.ok
          ? 'The hash chain is continuous from genesis to the head: no event was changed, removed or reordered.'
          : 'The chain breaks at first_break.seq: treat events from there on as untrusted and investigate the database.',
    }),
  }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  intent: t.prismaField({
    ...policy(READER),
    type: 'HarborIntent',
    nullable: true,
    description: 'One intent of the caller’s tenant by its intent_id (null when there is none).',
    args: { intentId: t.arg.string({ required: true, description: 'The intent’s UUID.' }) },
    resolve: (query, _r, { intentId }, ctx) =>
      ctx.runtime.db.harborIntent.findUnique({ ...query, where: { tenantId_intentId: { tenantId: principalOf(ctx).tenantId, intentId: intentId.toLowerCase() } } }),
  }),
  intents: t.prismaConnection(
    {
      ...policy(READER),
      type: 'HarborIntent',
      cursor: 'id',
      description: 'The tenant’s intents, newest first.',
      // The SDK pages intents up to 200 at a time.
      maxSize: 200,
      totalCount: (_p, args, ctx) => ctx.runtime.db.harborIntent.count({ where: intentFilter(principalOf(ctx).tenantId, args) }),
      args: {
        state: t.arg({ type: IntentStateEnum, required: false, description: 'Only intents in this state.' }),
        payeeDid: t.arg.string({ required: false, description: 'Only intents paying this DID.' }),
        createdAfter: t.arg({ type: 'DateTime', required: false, description: 'Created at or after.' }),
        createdBefore: t.arg({ type: 'DateTime', required: false, description: 'Created before.' }),
      },
      validate: connectionArgs.extend({
        first: z.number().int().min(1).max(200).nullish(),
        payeeDid: z.string().max(512).nullish(),
      }).passthrough(),
      resolve: (query, _r, args, ctx) =>
        ctx.runtime.db.harborIntent.findMany({
          ...query,
          where: intentFilter(principalOf(ctx).tenantId, args),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    {
      name: 'HarborIntentConnection',
      description: 'A page of intents.',
      fields: (c) => ({ tenantId: c.string({ description: 'Tenant of the intents.', resolve: (_conn, _a, ctx) => principalOf(ctx).tenantId }) }),
    },
    { name: 'HarborIntentEdge', description: 'An intent in a page.' },
  ),
  ledgerVerification: t.field({
    ...policy(READER),
    type: LedgerVerificationType,
    description: 'Walk this tenant’s hash-chained ledger and report the first break, if any.',
    resolve: (_r, _a, ctx) => verifyLedgerChain(prismaSql(ctx.runtime.db), principalOf(ctx).tenantId),
  }),
}));

function intentFilter(tenantId: string, args: { state?: string | null; payeeDid?: string | null; createdAfter?: Date | null; createdBefore?: Date | null }) {
  return {
    tenantId,
    ...(args.state ? { state: args.state } : {}),
    ...(args.payeeDid ? { payeeDid: args.payeeDid } : {}),
    ...(args.createdAfter || args.createdBefore
      ? { createdAt: { ...(args.createdAfter ? { gte: args.createdAfter } : {}), ...(args.createdBefore ? { lt: args.createdBefore } : {}) } }
      : {}),
  };
}

// ─── Payloads and inputs ────────────────────────────────────────────────────

const IntentPayload = builder.objectRef<{ intent?: HarborIntent; userErrors: UserErrorShape[] }>('IntentPayload').implement({
  description: 'An intent after a lifecycle change.',
  fields: (t) => ({
    intent: t.field({ type: HarborIntentType, nullable: true, description: 'The intent, when the change was made.', resolve: (p) => p.intent ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const FundingOutcomeEnum = builder.enumType('FundingOutcome', {
  description: 'What funding did.',
  values: {
    funded: { value: 'funded', description: 'Money is held; a capability token was minted (REST 200/201).' },
    pending: { value: 'pending', description: 'The rail reports the outcome later; fund again to poll (REST 202).' },
    payment_required: { value: 'payment_required', description: 'Answer the payment challenge, then fund again (REST 402).' },
  } as const,
});

/** The x402 / MPP response headers a payment challenge or receipt travels in. */
function paymentHeaders(result: Pick<FundResult, 'challenge' | 'paymentResponse'>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (result.challenge?.kind === 'x402') headers['payment-required'] = JSON.stringify(result.challenge.requirements);
  if (result.challenge?.kind === 'mpp') {
    const c = result.challenge;
    headers['www-authenticate'] = `Payment id="${c.id}", realm="${c.realm}", method="${c.method}", intent="${c.intent}"`;
  }
  if (result.paymentResponse) headers['payment-response'] = result.paymentResponse;
  return headers;
}

const FundPayload = builder.objectRef<Partial<FundResult> & { userErrors: UserErrorShape[] }>('IntentFundPayload').implement({
  description: 'The result of funding (or of an agent checkout).',
  fields: (t) => ({
    intent: t.field({ type: HarborIntentType, nullable: true, description: 'The intent.', resolve: (p) => p.intent ?? null }),
    outcome: t.field({ type: FundingOutcomeEnum, nullable: true, description: 'funded, pending or payment_required.', resolve: (p) => p.outcome ?? null }),
    funded: t.boolean({ description: 'True once money is held.', resolve: (p) => p.funded ?? false }),
    capabilityToken: t.string({
      ...ONE_TIME_SECRET,
      nullable: true,
      description: 'Capability token for spend checks (funded only; never replayed from an idempotency record).',
      resolve: (p) => p.capabilityToken ?? null,
    }),
    funding: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the rail reported, and where to poll.',
      resolve: (p) => (p.funding && p.intent ? { ...p.funding, harbor_fund_endpoint: `/harbor/intents/${p.intent.intentId}/fund` } : null),
    }),
    paymentChallenge: t.field({
      type: 'JSON',
      nullable: true,
      description: 'payment-required / www-authenticate / payment-response values (also sent as response headers).',
      resolve: (p) => {
        const headers = paymentHeaders({ challenge: p.challenge ?? null, paymentResponse: p.paymentResponse ?? null });
        return Object.keys(headers).length ? headers : null;
      },
    }),
    userErrors: userErrorsField(t),
  }),
});

const SchemaValidationType = builder.objectRef<{ canonicalSchemaOk: boolean }>('EvidenceSchemaValidation').implement({
  description: 'How the evidence matched its schema.',
  fields: (t) => ({ canonicalSchemaOk: t.exposeBoolean('canonicalSchemaOk', { description: 'The payload matches the intent’s evidence schema.' }) }),
});

const EvidencePayload = builder.objectRef<Partial<EvidenceResult> & { userErrors: UserErrorShape[] }>('IntentEvidencePayload').implement({
  description: 'The evaluation of submitted evidence.',
  fields: (t) => ({
    intent: t.field({ type: HarborIntentType, nullable: true, description: 'The intent after the evidence.', resolve: (p) => p.intent ?? null }),
    predicatePassed: t.boolean({ nullable: true, description: 'Whether the predicate held.', resolve: (p) => p.predicatePassed ?? null }),
    schemaValid: t.boolean({ nullable: true, description: 'Whether the payload matched the evidence schema.', resolve: (p) => p.schemaValid ?? null }),
    schemaValidation: t.field({
      type: SchemaValidationType,
      nullable: true,
      description: 'Schema checks.',
      resolve: (p) => (p.schemaValid === undefined ? null : { canonicalSchemaOk: p.schemaValid }),
    }),
    payloadDigest: t.string({ nullable: true, description: 'Hex BLAKE3 digest of the canonical payload.', resolve: (p) => p.payloadDigest ?? null }),
    artifactsDigest: t.string({ nullable: true, description: 'Hex digest of the artifact list.', resolve: (p) => p.artifactsDigest ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const VerifyPayload = builder.objectRef<{ decision?: SpendDecisionView; userErrors: UserErrorShape[] }>('CapabilityVerifyPayload').implement({
  description: 'A capability check.',
  fields: (t) => ({
    decision: t.field({ type: SpendDecisionType, nullable: true, description: 'The decision.', resolve: (p) => p.decision ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const CompletePayload = builder.objectRef<{ decision?: SpendDecision; userErrors: UserErrorShape[] }>('SpendDecisionCompletePayload').implement({
  description: 'A completed spend decision.',
  fields: (t) => ({
    decision: t.field({ type: DecisionRecordType, nullable: true, description: 'The decision.', resolve: (p) => p.decision ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const IntentCreateInput = inputFromZod('IntentCreateInput', intentCreateInput, 'The principal-signed create body (signing_version 6: raw predicate; 7: policy binding).');
const FundInput = inputFromZod('IntentFundInput', fundInput, 'How the client answered a payment challenge, if it did.');
const EvidenceInput = inputFromZod('IntentEvidenceInput', evidenceInput, 'Evidence for an intent.');
const SettlementInput = inputFromZod('IntentSettlementInput', settlementInput, 'A settlement confirmation.');
const DisputeOpenInput = inputFromZod('IntentDisputeOpenInput', disputeOpenInput, 'Why a dispute is opened.');
const DisputeResolveInput = inputFromZod('IntentDisputeResolveInput', disputeResolveInput, 'How a dispute is resolved.');
const VerifyInput = inputFromZod('CapabilityVerifyInput', verifyInput, 'A spend to check under a capability token.');
const CompleteInput = inputFromZod('SpendDecisionCompleteInput', completeInput, 'How a reserved spend ends.');
const CheckoutInput = inputFromZod('AgentCheckoutInput', checkoutInput, 'An automated checkout.');

const idempotencyKeyOf = (ctx: RequestContext) => ctx.http.headers.get(IDEMPOTENCY_HEADER);

/** A payment challenge or receipt goes out in its headers; an unfunded answer is provisional. */
function shapeFund(ctx: RequestContext, result: FundResult): FundResult {
  for (const [name, value] of Object.entries(paymentHeaders(result))) ctx.http.setResponseHeader(name, value);
  if (!result.funded) ctx.http.markProvisional();
  return result;
}


// ─── Mutations ──────────────────────────────────────────────────────────────

builder.mutationFields((t) => ({
  intentCreate: t.field({
    ...policy(WRITE),
    type: IntentPayload,
    description: 'Create an intent from principal-signed terms. Recognition-gated; guardrails apply first.',
    args: { input: t.arg({ type: IntentCreateInput, required: true, description: 'The signed terms.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ intent: await createIntent(harborCtx(ctx), input, idempotencyKeyOf(ctx)) })),
  }),
  intentFund: t.field({
    ...policy(WRITE),
    type: FundPayload,
    description: 'Fund an intent through its rail: funded, pending, or a payment challenge to answer. Recognition-gated.',
    args: { intentId: t.arg.string({ required: true, description: 'The intent’s UUID.' }), input: t.arg({ type: FundInput, required: false, description: 'The answer to a payment challenge.' }) },
    resolve: (_r, { intentId, input }, ctx) => withUserErrors(async () => shapeFund(ctx, await fundIntent(harborCtx(ctx), intentId.toLowerCase(), input ?? {}))),
  }),
  intentEvidenceSubmit: t.field({
    ...policy(WRITE),
    type: EvidencePayload,
    description: 'Submit evidence; the intent’s predicate is evaluated and the result recorded. Recognition-gated.',
    args: { intentId: t.arg.string({ required: true, description: 'The intent’s UUID.' }), input: t.arg({ type: EvidenceInput, required: true, description: 'The evidence.' }) },
    resolve: (_r, { intentId, input }, ctx) => withUserErrors(() => submitEvidence(harborCtx(ctx), intentId.toLowerCase(), input)),
  }),
  intentSettlementConfirm: t.field({
    ...policy(WRITE),
    type: IntentPayload,
    description: 'Confirm the settlement the evidence implies (release or refund). Recognition-gated.',
    args: { intentId: t.arg.string({ required: true, description: 'The intent’s UUID.' }), input: t.arg({ type: SettlementInput, required: false, description: 'Options.' }) },
    resolve: (_r, { intentId, input }, ctx) =>
      withUserErrors(async () => ({ intent: await confirmSettlement(harborCtx(ctx), intentId.toLowerCase(), input ?? {}) })),
  }),
  intentDisputeOpen: t.field({
    ...policy(WRITE),
    type: IntentPayload,
    description: 'Open a dispute on an intent. Recognition-gated.',
    args: { intentId: t.arg.string({ required: true, description: 'The intent’s UUID.' }), input: t.arg({ type: DisputeOpenInput, required: true, description: 'Why.' }) },
    resolve: (_r, { intentId, input }, ctx) => withUserErrors(async () => ({ intent: await openDispute(harborCtx(ctx), intentId.toLowerCase(), input) })),
  }),
  intentDisputeResolve: t.field({
    ...policy(WRITE),
    type: IntentPayload,
    description: 'Resolve a dispute: release, refund or split. Recognition-gated.',
    args: { intentId: t.arg.string({ required: true, description: 'The intent’s UUID.' }), input: t.arg({ type: DisputeResolveInput, required: true, description: 'The outcome.' }) },
    resolve: (_r, { intentId, input }, ctx) => withUserErrors(async () => ({ intent: await resolveDispute(harborCtx(ctx), intentId.toLowerCase(), input) })),
  }),
  capabilityVerify: t.field({
    ...policy({ ...READER, rateLimit: null }),
    type: VerifyPayload,
    description: 'Allow / deny / approval-required for a spend under a capability token; reserves the spend when allowed.',
    args: { input: t.arg({ type: VerifyInput, required: true, description: 'The spend.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ decision: await verifySpend({ ...ctx, principal: principalOf(ctx) }, input) })),
  }),
  spendDecisionComplete: t.field({
    ...policy({ ...READER, rateLimit: null }),
    type: CompletePayload,
    description: 'Finish a reserved spend decision: consumed keeps it, released returns it to the budget.',
    args: {
      decisionId: t.arg.string({ required: true, description: 'The decision to complete.' }),
      input: t.arg({ type: CompleteInput, required: true, description: 'How it ends.' }),
    },
    resolve: (_r, { decisionId, input }, ctx) => withUserErrors(async () => ({ decision: await completeDecision({ ...ctx, principal: principalOf(ctx) }, decisionId, input) })),
  }),
  agentCheckoutCreate: t.field({
    ...policy({ principals: ['agent'], signed: true, rateLimit: 'harbor_intent_mutation' }),
    type: FundPayload,
    description: 'High-risk: create and fund a payment intent. Needs a key-bound agent JWT and a signed request.',
    args: { input: t.arg({ type: CheckoutInput, required: true, description: 'The checkout.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => shapeFund(ctx, await checkout(harborCtx(ctx), input, idempotencyKeyOf(ctx)))),
  }),
}));
