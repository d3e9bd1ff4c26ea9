import { builder } from '../builder.ts';
import type { RequestContext } from '../context.ts';
import type { HarborIntent, SpendDecision } from '../generated/prisma/client.ts';
import { requestState } from '../plugins/request-state.ts';
import { checkout, checkoutInput, createIntent, intentCreateInput } from '../domain/harbor/intents.ts';
import {
  confirmSettlement,
  disputeOpenInput,
  disputeResolveInput,
  evidenceInput,
  fundIntent,
  openDispute,
  resolveDispute,
  settlementInput,
  submitEvidence,
  type FundResult,
} from '../domain/harbor/lifecycle.ts';
import { completeDecision, completeInput, verifyInput, verifySpend, type SpendDecisionView } from '../domain/harbor/capabilities.ts';
import type { HarborCtx } from '../domain/harbor/gate.ts';
import { INTENT_STATES } from '../domain/harbor/state-machine.ts';
import { verifyLedgerChain, type ChainReport } from '../domain/harbor/ledger.ts';
import { prismaSql } from '../db.ts';
import { IDEMPOTENCY_HEADER } from '../plugins/idempotency.ts';
import { authed, compact, connectionArgs, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from './common.ts';
import { z } from 'zod';

/** The request a Harbor write is bound to (recognition proofs sign method, path and raw body). */
function harborCtx(ctx: RequestContext): HarborCtx {
  return {
    ...authed(ctx),
    binding: {
      method: ctx.request.method,
      path: new URL(ctx.request.url).pathname,
      rawBody: requestState(ctx.request).rawBody,
      headers: ctx.request.headers,
    },
  };
}

// harbor:write is held by admin sessions, API keys, Harbor tokens and key-bound agents (never PATs or read-only members).
const writer = { harborWrite: true } as const;
const reader = { harborRead: true } as const;

export const HarborIntentType = builder.prismaNode('HarborIntent', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    intentId: t.exposeString('intentId'),
    tenantId: t.exposeString('tenantId'),
    state: t.exposeString('state'),
    principalDid: t.exposeString('principalDid'),
    payeeDid: t.exposeString('payeeDid'),
    amountCents: t.exposeInt('amountCents'),
    currency: t.exposeString('currency'),
    settlementRail: t.exposeString('settlementRail'),
    settlementMode: t.exposeString('settlementMode'),
    deadline: t.expose('deadline', { type: 'DateTime' }),
    budget: t.expose('budget', { type: 'JSON' }),
    evidenceSchema: t.expose('evidenceSchema', { type: 'JSON' }),
    predicate: t.expose('predicate', { type: 'JSON' }),
    predicateRef: t.exposeString('predicateRef', { nullable: true }),
    allowedTools: t.exposeStringList('allowedTools'),
    policyTemplateId: t.exposeString('policyTemplateId', { nullable: true }),
    policyVersionSeq: t.exposeInt('policyVersionSeq', { nullable: true }),
    source: t.exposeString('source'),
    spentCents: t.exposeInt('spentCents'),
    remainingCents: t.int({ resolve: (i) => i.amountCents - i.spentCents }),
    predicatePassed: t.exposeBoolean('predicatePassed', { nullable: true }),
    settlementAction: t.exposeString('settlementAction', { nullable: true }),
    disputeOutcome: t.exposeString('disputeOutcome', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const SpendDecisionType = builder.objectRef<SpendDecisionView>('SpendDecision').implement({
  fields: (t) => ({
    tenant: t.exposeString('tenantId'),
    intentId: t.exposeString('intentId'),
    allow: t.exposeBoolean('allow'),
    code: t.exposeString('code', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    decisionId: t.exposeString('decisionId', { nullable: true }),
    remainingCents: t.exposeInt('remainingCents', { nullable: true }),
    reasonCodes: t.exposeStringList('reasonCodes'),
  }),
});

const DecisionRecordType = builder.objectRef<SpendDecision>('SpendDecisionRecord').implement({
  fields: (t) => ({
    decisionId: t.exposeString('id'),
    status: t.exposeString('status'),
    operation: t.exposeString('operation'),
    requestedCents: t.exposeInt('requestedCents'),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

const LedgerBreakType = builder.objectRef<NonNullable<ChainReport['firstBreak']>>('LedgerBreak').implement({
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    reason: t.exposeString('reason'),
    expectedHash: t.exposeString('expectedHash', { nullable: true }),
    storedHash: t.exposeString('storedHash', { nullable: true }),
  }),
});

const LedgerVerificationType = builder.objectRef<ChainReport>('LedgerVerification').implement({
  fields: (t) => ({
    tenantId: t.exposeString('tenantId'),
    ok: t.exposeBoolean('ok'),
    eventsChecked: t.exposeInt('eventsChecked'),
    headSeq: t.exposeInt('headSeq'),
    headHash: t.exposeString('headHash'),
    firstBreak: t.field({ type: LedgerBreakType, nullable: true, resolve: (r) => r.firstBreak }),
  }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

const IntentStateEnum = builder.enumType('IntentState', { values: INTENT_STATES });

builder.queryFields((t) => ({
  intent: t.prismaField({
    type: 'HarborIntent',
    nullable: true,
    authScopes: reader,
    args: { intentId: t.arg.string({ required: true }) },
    resolve: (query, _r, { intentId }, ctx) =>
      ctx.runtime.db.harborIntent.findUnique({ ...query, where: { tenantId_intentId: { tenantId: principalOf(ctx).tenantId, intentId: intentId.toLowerCase() } } }),
  }),
  intents: t.prismaConnection({
    type: 'HarborIntent',
    cursor: 'id',
    // The SDK pages intents up to 200 at a time.
    maxSize: 200,
    authScopes: reader,
    args: {
      state: t.arg({ type: IntentStateEnum, required: false }),
      payeeDid: t.arg.string({ required: false }),
      createdAfter: t.arg({ type: 'DateTime', required: false }),
      createdBefore: t.arg({ type: 'DateTime', required: false }),
    },
    validate: connectionArgs.extend({ first: z.number().int().min(1).max(200).nullish(), state: z.string().nullish(), payeeDid: z.string().max(512).nullish(), createdAfter: z.date().nullish(), createdBefore: z.date().nullish() }),
    resolve: (query, _r, args, ctx) =>
      ctx.runtime.db.harborIntent.findMany({
        ...query,
        where: {
          tenantId: principalOf(ctx).tenantId,
          ...(args.state ? { state: args.state } : {}),
          ...(args.payeeDid ? { payeeDid: args.payeeDid } : {}),
          ...(args.createdAfter || args.createdBefore
            ? { createdAt: { ...(args.createdAfter ? { gte: args.createdAfter } : {}), ...(args.createdBefore ? { lt: args.createdBefore } : {}) } }
            : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }, { fields: (c) => ({ tenantId: c.string({ resolve: (_conn, _a, ctx) => principalOf(ctx).tenantId }) }) }),
  ledgerVerification: t.field({
    type: LedgerVerificationType,
    description: 'Walk this tenant’s hash-chained ledger and report the first break, if any.',
    authScopes: reader,
    resolve: (_r, _a, ctx) => verifyLedgerChain(prismaSql(ctx.runtime.db), principalOf(ctx).tenantId),
  }),
}));

// ─── Payloads and inputs ────────────────────────────────────────────────────

const IntentPayload = builder.objectRef<{ intent?: HarborIntent; userErrors: UserErrorShape[] }>('IntentPayload').implement({
  fields: (t) => ({
    intent: t.field({ type: HarborIntentType, nullable: true, resolve: (p) => p.intent ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const FundPayload = builder.objectRef<Partial<FundResult> & { userErrors: UserErrorShape[] }>('IntentFundPayload').implement({
  fields: (t) => ({
    intent: t.field({ type: HarborIntentType, nullable: true, resolve: (p) => p.intent ?? null }),
    funded: t.boolean({ resolve: (p) => p.funded ?? false }),
    httpStatus: t.int({ nullable: true, description: '200 funded, 202 pending, 402 payment required.', resolve: (p) => p.status ?? null }),
    capabilityToken: t.string({ nullable: true, resolve: (p) => p.capabilityToken ?? null }),
    funding: t.field({ type: 'JSON', nullable: true, resolve: (p) => p.funding ?? null }),
    paymentChallenge: t.field({ type: 'JSON', nullable: true, description: 'payment-required / www-authenticate values of a 402.', resolve: (p) => p.headers ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const EvidencePayload = builder
  .objectRef<{ intent?: HarborIntent; predicatePassed?: boolean; schemaValid?: boolean; payloadDigest?: string; artifactsDigest?: string; userErrors: UserErrorShape[] }>('IntentEvidencePayload')
  .implement({
    fields: (t) => ({
      intent: t.field({ type: HarborIntentType, nullable: true, resolve: (p) => p.intent ?? null }),
      predicatePassed: t.boolean({ nullable: true, resolve: (p) => p.predicatePassed ?? null }),
      schemaValid: t.boolean({ nullable: true, resolve: (p) => p.schemaValid ?? null }),
      payloadDigest: t.string({ nullable: true, resolve: (p) => p.payloadDigest ?? null }),
      artifactsDigest: t.string({ nullable: true, resolve: (p) => p.artifactsDigest ?? null }),
      userErrors: userErrorsField(t),
    }),
  });

const VerifyPayload = builder.objectRef<{ decision?: SpendDecisionView; userErrors: UserErrorShape[] }>('CapabilityVerifyPayload').implement({
  fields: (t) => ({
    decision: t.field({ type: SpendDecisionType, nullable: true, resolve: (p) => p.decision ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const CompletePayload = builder.objectRef<{ decision?: SpendDecision; userErrors: UserErrorShape[] }>('SpendDecisionCompletePayload').implement({
  fields: (t) => ({
    decision: t.field({ type: DecisionRecordType, nullable: true, resolve: (p) => p.decision ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PolicyBindingInput = builder.inputType('PolicyBindingInput', {
  fields: (t) => ({ templateId: t.string(), versionSeq: t.int() }),
});

const IntentCreateInput = builder.inputType('IntentCreateInput', {
  description: 'The principal-signed create body (signing_version 6: raw predicate; 7: policy binding).',
  fields: (t) => ({
    intentId: t.string(),
    principalDid: t.string(),
    principalPubkey: t.string(),
    principalSignature: t.string(),
    payeeDid: t.string(),
    payeePubkey: t.string(),
    budget: t.field({ type: 'JSON' }),
    currency: t.string(),
    amountCents: t.int(),
    evidenceSchema: t.field({ type: 'JSON' }),
    deadline: t.string({ description: 'RFC 3339, exactly as signed.' }),
    predicateDsl: t.field({ type: 'JSON', required: false }),
    settlementRail: t.string(),
    signingVersion: t.int(),
    policyBinding: t.field({ type: PolicyBindingInput, required: false }),
    allowedTools: t.stringList(),
    predicateRef: t.string({ required: false }),
    completionPresetId: t.string({ required: false }),
  }),
});

const FundInput = builder.inputType('IntentFundInput', {
  fields: (t) => ({
    paymentSignature: t.string({ required: false, description: 'x402 payment-signature for a 402 challenge.' }),
    paymentAuthorization: t.string({ required: false, description: 'MPP credential (Payment …).' }),
  }),
});

const EvidenceInput = builder.inputType('IntentEvidenceInput', {
  fields: (t) => ({
    payload: t.field({ type: 'JSON' }),
    artifacts: t.stringList({ required: false }),
    payeeDid: t.string({ required: false }),
    payeePubkey: t.string({ required: false }),
    payeeSignature: t.string({ required: false }),
    submittedAt: t.string({ required: false }),
  }),
});

const SettlementInput = builder.inputType('IntentSettlementInput', {
  fields: (t) => ({
    simulatorOutcome: t.string({ required: false, description: 'Sandbox only: succeeded | failed | unknown.' }),
    note: t.string({ required: false }),
  }),
});

const DisputeOpenInput = builder.inputType('IntentDisputeOpenInput', {
  fields: (t) => ({ reason: t.string(), evidenceRefs: t.stringList({ required: false }) }),
});
const DisputeResolveInput = builder.inputType('IntentDisputeResolveInput', {
  fields: (t) => ({ outcome: t.string({ description: 'release | refund | split' }), rationale: t.string() }),
});

const VerifyInput = builder.inputType('CapabilityVerifyInput', {
  fields: (t) => ({
    intentId: t.string(),
    token: t.string(),
    operation: t.string(),
    requestedSpendCents: t.int({ required: false }),
    idempotencyKey: t.string({ required: false }),
    toolName: t.string({ required: false }),
    currency: t.string({ required: false }),
  }),
});

const CheckoutInput = builder.inputType('AgentCheckoutInput', {
  fields: (t) => ({
    amountCents: t.int(),
    currency: t.string(),
    recipient: t.string(),
    memo: t.string(),
    reference: t.string({ required: false }),
    settlementRail: t.string({ required: false }),
  }),
});

const idempotencyKeyOf = (ctx: RequestContext) => ctx.request.headers.get(IDEMPOTENCY_HEADER);

/** A 202/402 answer is provisional: expose the rail's headers, and keep Idempotency-Key from storing it. */
function shapeFund(ctx: RequestContext, result: FundResult): FundResult {
  const state = requestState(ctx.request);
  for (const [name, value] of Object.entries(result.headers)) state.responseHeaders.set(name, value);
  if (!result.funded) state.notFinal = true;
  return result;
}

// ─── Mutations ──────────────────────────────────────────────────────────────

builder.mutationFields((t) => ({
  intentCreate: t.field({
    type: IntentPayload,
    description: 'Create an intent from principal-signed terms. Recognition-gated; guardrails apply first.',
    authScopes: writer,
    args: { input: t.arg({ type: IntentCreateInput, required: true, validate: intentCreateInput }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => ({ intent: await createIntent(harborCtx(ctx), compact(input) as never, idempotencyKeyOf(ctx)) })),
  }),
  intentFund: t.field({
    type: FundPayload,
    authScopes: writer,
    args: { intentId: t.arg.string({ required: true }), input: t.arg({ type: FundInput, required: false }) },
    resolve: (_r, { intentId, input }, ctx) =>
      withUserErrors(async () => shapeFund(ctx, await fundIntent(harborCtx(ctx), intentId.toLowerCase(), compact(input ?? {})))),
  }),
  intentEvidenceSubmit: t.field({
    type: EvidencePayload,
    authScopes: writer,
    args: { intentId: t.arg.string({ required: true }), input: t.arg({ type: EvidenceInput, required: true, validate: evidenceInput }) },
    resolve: (_r, { intentId, input }, ctx) => withUserErrors(() => submitEvidence(harborCtx(ctx), intentId.toLowerCase(), compact(input) as never)),
  }),
  intentSettlementConfirm: t.field({
    type: IntentPayload,
    authScopes: writer,
    args: { intentId: t.arg.string({ required: true }), input: t.arg({ type: SettlementInput, required: false, validate: settlementInput.nullish() }) },
    resolve: (_r, { intentId, input }, ctx) =>
      withUserErrors(async () => ({ intent: await confirmSettlement(harborCtx(ctx), intentId.toLowerCase(), compact(input ?? {}) as never) })),
  }),
  intentDisputeOpen: t.field({
    type: IntentPayload,
    authScopes: writer,
    args: { intentId: t.arg.string({ required: true }), input: t.arg({ type: DisputeOpenInput, required: true, validate: disputeOpenInput }) },
    resolve: (_r, { intentId, input }, ctx) =>
      withUserErrors(async () => ({ intent: await openDispute(harborCtx(ctx), intentId.toLowerCase(), compact(input) as never) })),
  }),
  intentDisputeResolve: t.field({
    type: IntentPayload,
    authScopes: writer,
    args: { intentId: t.arg.string({ required: true }), input: t.arg({ type: DisputeResolveInput, required: true, validate: disputeResolveInput }) },
    resolve: (_r, { intentId, input }, ctx) =>
      withUserErrors(async () => ({ intent: await resolveDispute(harborCtx(ctx), intentId.toLowerCase(), input as never) })),
  }),
  capabilityVerify: t.field({
    type: VerifyPayload,
    description: 'Allow / deny / approval-required for a spend under a capability token; reserves the spend when allowed.',
    authScopes: reader,
    args: { input: t.arg({ type: VerifyInput, required: true, validate: verifyInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ decision: await verifySpend(authed(ctx), compact(input) as never) })),
  }),
  spendDecisionComplete: t.field({
    type: CompletePayload,
    authScopes: reader,
    args: { decisionId: t.arg.string({ required: true }), input: t.arg({ type: builder.inputType('SpendDecisionCompleteInput', { fields: (f) => ({ outcome: f.string() }) }), required: true, validate: completeInput }) },
    resolve: (_r, { decisionId, input }, ctx) => withUserErrors(async () => ({ decision: await completeDecision(authed(ctx), decisionId, input as never) })),
  }),
  agentCheckoutCreate: t.field({
    type: FundPayload,
    description: 'High-risk: create and fund a payment intent. Needs a key-bound agent JWT and a signed request.',
    authScopes: { signedAgent: true },
    args: { input: t.arg({ type: CheckoutInput, required: true, validate: checkoutInput }) },
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => shapeFund(ctx, await checkout(harborCtx(ctx), compact(input) as never, idempotencyKeyOf(ctx)))),
  }),
}));

