import './errors.ts';
import { z } from 'zod';
import { decodePublicKey, decodeSignature, verifyEd25519 } from '../../crypto/ed25519.ts';
import { newId } from '../../crypto/hash.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { HarborIntent, Prisma } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import type { Tx } from '../../db.ts';
import type { ServiceContext } from '../../context.ts';
import { mintCapability } from './capabilities.ts';
import { findIntent, PURPOSE, recognize, transition, type HarborCtx } from './gate.ts';
import { appendLedgerEvent } from './ledger.ts';
import { releaseHold } from '../signal/hold.ts';
import { evaluatePredicate, matchesSchema } from '../../kernel/predicate.ts';
import { settlementModeFor, simulateFunding, type FundingOutcome, type PaymentChallenge, type SettlementOutcome } from './rails.ts';
import { awaitProviderFunding } from '../settlement/routing.ts';
import { nextState, type IntentAction } from './state-machine.ts';
import { artifactsDigest, evidenceSignBytes } from './wire.ts';
import { jsonDigest } from '../../crypto/canonical-json.ts';

/**
 * Apply one state-machine step: compare-and-set, ledger event and audit event, one transaction.
 * Exported for the settlement area, whose simulator and Stripe events move intents the same way.
 */
export async function step(
  ctx: ServiceContext,
  tx: Tx,
  intent: HarborIntent,
  action: IntentAction,
  ledger: { type: string; amountCents?: number | null; payload: unknown },
  data: Record<string, unknown> = {},
): Promise<HarborIntent> {
  const to = nextState(intent.state, action);
  const moved = await transition(tx, intent, to, data, ctx.runtime.clock.now());
  await appendLedgerEvent(tx, ctx, {
    tenantId: intent.tenantId,
    intentId: intent.intentId,
    type: ledger.type,
    amountCents: ledger.amountCents ?? null,
    currency: intent.currency,
    payload: { from: intent.state, to, ...(ledger.payload as object) },
  });
  await recordAudit(tx, ctx, {
    tenantId: intent.tenantId,
    eventType: `harbor.${ledger.type}`,
    resource: 'harbor_intent',
    resourceId: intent.intentId,
    details: { from: intent.state, to },
  });
  return moved;
}

export interface FundResult {
  intent: HarborIntent;
  /** funded (final), pending (the rail reports later) or payment_required (a challenge to answer). */
  outcome: FundingOutcome['kind'];
  funded: boolean;
  capabilityToken: string | null;
  funding: Record<string, unknown>;
  /** What the rail asks for before it funds (payment_required only). */
  challenge: PaymentChallenge | null;
  /** The rail's payment receipt (x402 `payment-response`), when it gave one. */
  paymentResponse: string | null;
}

/**
 * Fund an intent through its rail: funded (with a capability token), pending, or payment required
 * with the rail's challenge. Only the funded answer is final (and so the only one an
 * Idempotency-Key stores); polling with the same key keeps advancing.
 */
export async function fundIntent(
  ctx: HarborCtx,
  intentId: string,
  payment: { paymentSignature?: string | null; paymentAuthorization?: string | null } = {},
  options: { skipGate?: boolean; tx?: Tx; intent?: HarborIntent } = {},
): Promise<FundResult> {
  const consume = options.skipGate ? async () => undefined : await recognize(ctx, PURPOSE.fund);
  const intent = options.intent ?? (await findIntent(ctx.runtime.db, ctx.principal.tenantId, intentId));
  // The settlement configuration may have changed since creation (a caller passing its own
  // transaction has just created the intent under the rule).
  if (!options.tx) await settlementModeFor(ctx.runtime, ctx.principal, intent.settlementRail);
  // A live rail funded the intent on its own (the provider reported it): the poll gets its token.
  if (intent.state === 'funded' && intent.settlementMode === 'live') {
    await ctx.runtime.db.$transaction((tx) => consume(tx));
    return providerFunded(ctx, intent);
  }
  // Reject before touching the rail when the state does not allow funding at all.
  nextState(intent.state, 'fund_succeeded');
  const outcome: FundingOutcome =
    intent.settlementMode === 'simulated'
      ? simulateFunding(intent.settlementRail, intent, { ...payment, attempt: intent.fundingAttempts + 1 })
      : awaitProviderFunding(intent.settlementRail);
  const run = async (tx: Tx): Promise<FundResult> => {
    await consume(tx);
    let current = intent;
    let capabilityToken: string | null = null;
    if (outcome.kind === 'pending' && intent.state !== 'funding_pending') {
      current = await step(ctx, tx, intent, 'fund_started', { type: 'funding.pending', amountCents: intent.amountCents, payload: outcome.funding }, {
        fundingAttempts: intent.fundingAttempts + 1,
      });
    } else if (outcome.kind === 'pending') {
      const { count } = await tx.harborIntent.updateMany({ where: { id: intent.id, state: intent.state, fundingAttempts: intent.fundingAttempts }, data: { fundingAttempts: intent.fundingAttempts + 1 } });
      if (count !== 1) throw new DomainError('invalid_state_transition', 'The intent changed state concurrently');
    } else if (outcome.kind === 'funded') {
      current = await step(ctx, tx, intent, 'fund_succeeded', { type: 'funding.succeeded', amountCents: intent.amountCents, payload: outcome.funding }, {
        fundingAttempts: intent.fundingAttempts + 1,
      });
      capabilityToken = await mintCapability(ctx.runtime, current);
    }
    return {
      intent: current,
      outcome: outcome.kind,
      funded: outcome.kind === 'funded',
      capabilityToken,
      funding: outcome.funding,
      challenge: outcome.kind === 'payment_required' ? outcome.challenge : null,
      paymentResponse: outcome.kind === 'funded' ? (outcome.paymentResponse ?? null) : null,
    };
  };
  return options.tx ? run(options.tx) : ctx.runtime.db.$transaction(run);
}

async function providerFunded(ctx: HarborCtx, intent: HarborIntent): Promise<FundResult> {
  const funding = { settlement_rail: intent.settlementRail, settlement_mode: intent.settlementMode, status: 'authorization_succeeded' };
  return { intent, outcome: 'funded', funded: true, capabilityToken: await mintCapability(ctx.runtime, intent), funding, challenge: null, paymentResponse: null };
}

export const fundInput = z.object({
  paymentSignature: z.string().max(8192).optional().describe('x402 payment-signature answering a 402 challenge.'),
  paymentAuthorization: z.string().max(8192).optional().describe('MPP credential (the part after "Payment ").'),
});

export const evidenceInput = z.object({
  payload: z.record(z.string(), z.unknown()).describe('The evidence the predicate is evaluated against.'),
  artifacts: z
    .array(z.string().regex(/^([0-9a-f]{2})+$/i, 'artifact hashes are hex'))
    .max(100)
    .default([])
    .describe('Hex digests of artifacts the evidence refers to.'),
  payeeDid: z.string().min(1).max(512).optional().describe('Payee DID (required when the intent has a payee key).'),
  payeePubkey: z.string().max(100).optional().describe('Payee key (base64), as in the intent.'),
  payeeSignature: z.string().max(200).optional().describe('Base64 Ed25519 signature of the payee over the evidence layout.'),
  submittedAt: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
    .optional()
    .describe('RFC 3339 UTC time the payee signed.'),
});

export interface EvidenceResult {
  intent: HarborIntent;
  predicatePassed: boolean;
  schemaValid: boolean;
  payloadDigest: string;
  artifactsDigest: string;
}

/**
 * Record evidence and evaluate the intent's predicate against it. An intent created with a payee
 * key accepts only evidence signed by that key (EvidenceSignV1 over the SDK byte layout).
 */
export async function submitEvidence(
  ctx: HarborCtx,
  intentId: string,
  input: z.infer<typeof evidenceInput>,
  options: { skipGate?: boolean; schemaValid?: boolean } = {},
): Promise<EvidenceResult> {
  const consume = options.skipGate ? async () => undefined : await recognize(ctx, PURPOSE.evidence);
  const intent = await findIntent(ctx.runtime.db, ctx.principal.tenantId, intentId);
  nextState(intent.state, 'evidence');
  if (intent.payeePubkey) {
    if (input.payeeDid !== intent.payeeDid || input.payeePubkey !== intent.payeePubkey || !input.payeeSignature || !input.submittedAt) {
      throw new DomainError('evidence_signature_invalid', 'Evidence for this intent must be signed by its payee (payee_did, payee_pubkey, payee_signature, submitted_at)');
    }
    const key = decodePublicKey(intent.payeePubkey, ['base64']);
    const signature = decodeSignature(input.payeeSignature, ['base64']);
    const bytes = evidenceSignBytes(ctx.principal.tenantId, {
      intentId: intent.intentId,
      payeeDid: intent.payeeDid,
      payload: input.payload,
      artifacts: input.artifacts,
      submittedAt: input.submittedAt,
    });
    if (!key || !signature || !verifyEd25519(key, bytes, signature)) {
      throw new DomainError('evidence_signature_invalid', 'payee_signature does not verify over this evidence');
    }
  }
  // A caller may have checked more than the intent's schema (the sandbox's forbidden evidence fields).
  const schemaValid = matchesSchema(intent.evidenceSchema, input.payload) && options.schemaValid !== false;
  const predicatePassed = schemaValid && evaluatePredicate(intent.predicate, input.payload, { amountCents: intent.amountCents });
  const payloadDigest = Buffer.from(jsonDigest(input.payload)).toString('hex');
  const artifacts = Buffer.from(artifactsDigest(input.artifacts)).toString('hex');
  return ctx.runtime.db.$transaction(async (tx) => {
    await consume(tx);
    await tx.intentEvidence.create({
      data: {
        id: newId('evd'),
        tenantId: intent.tenantId,
        intentRowId: intent.id,
        payload: input.payload as Prisma.InputJsonValue,
        payloadDigest,
        artifacts: input.artifacts,
        artifactsDigest: artifacts,
        payeeDid: input.payeeDid ?? intent.payeeDid,
        submittedAt: input.submittedAt ?? ctx.runtime.clock.now().toISOString(),
        predicatePassed,
        schemaValid,
        createdAt: ctx.runtime.clock.now(),
      },
    });
    // The evidence row is written first, so observers of the ledger event (webhooks) can read it.
    const moved = await step(ctx, tx, intent, 'evidence', { type: 'evidence.submitted', payload: { payload_digest: payloadDigest, artifacts_digest: artifacts, predicate_passed: predicatePassed } }, {
      predicatePassed,
    });
    return { intent: moved, predicatePassed, schemaValid, payloadDigest, artifactsDigest: artifacts };
  });
}

export const settlementInput = z.object({
  simulatorOutcome: z.enum(['succeeded', 'failed', 'unknown']).optional().describe('Sandbox only: what the simulated rail reports (default succeeded).'),
  note: z.string().max(500).optional().describe('Free-text note for the audit trail.'),
});

/**
 * Confirm the settlement that the evidence evaluation implies: release to the payee when the
 * predicate passed, refund to the principal otherwise. The rail's outcome drives the rest; an
 * unknown outcome leaves the intent in settlement_pending (confirm again to re-poll).
 */
export async function confirmSettlement(ctx: HarborCtx, intentId: string, input: z.infer<typeof settlementInput>): Promise<HarborIntent> {
  const consume = await recognize(ctx, PURPOSE.settle);
  const intent = await findIntent(ctx.runtime.db, ctx.principal.tenantId, intentId);
  if (intent.state !== 'settlement_pending') nextState(intent.state, 'settlement_requested');
  if (input.simulatorOutcome && intent.settlementMode !== 'simulated') {
    throw new DomainError('invalid_request', 'simulator_outcome is only accepted for simulated (sandbox) settlement', { field: ['simulatorOutcome'] });
  }
  // A live rail reports its outcome later (Stripe events, reconcile): until then it stays pending.
  const outcome: SettlementOutcome = input.simulatorOutcome ?? (intent.settlementMode === 'simulated' ? 'succeeded' : 'unknown');
  // A fraud hold commits with the request (settlement.held in the ledger), then refuses it.
  let held: DomainError | null = null;
  const settled = await ctx.runtime.db.$transaction(async (tx) => {
    await consume(tx);
    let current = intent;
    const action = intent.settlementAction ?? (intent.predicatePassed ? 'release' : 'refund');
    if (current.state !== 'settlement_pending') {
      current = await step(ctx, tx, current, 'settlement_requested', { type: 'settlement.requested', amountCents: intent.amountCents, payload: { action } }, {
        settlementAction: action,
      });
    }
    if ((held = await releaseHold(tx, ctx, current, action))) return current;
    if (outcome === 'unknown') return current;
    if (outcome === 'failed') return step(ctx, tx, current, 'settlement_failed', { type: 'settlement.failed', payload: { action } });
    if (action === 'refund') return step(ctx, tx, current, 'settlement_refunded', { type: 'settlement.refunded', amountCents: intent.amountCents, payload: { action } });
    current = await step(ctx, tx, current, 'settlement_released', { type: 'settlement.released', amountCents: intent.amountCents, payload: { action } });
    // The simulator reports finality at once; a real rail reports it later.
    return step(ctx, tx, current, 'settlement_finalized', { type: 'settlement.settled', amountCents: intent.amountCents, payload: { action } });
  });
  if (held) throw held;
  return settled;
}

export const disputeOpenInput = z.object({
  reason: z.string().trim().min(3).max(2000).describe('Why the dispute is opened.'),
  evidenceRefs: z.array(z.string().max(500)).max(50).optional().describe('References to supporting evidence.'),
});
export const disputeResolveInput = z.object({
  outcome: z.enum(['release', 'refund', 'split']).describe('release to the payee, refund the principal, or split.'),
  rationale: z.string().trim().min(3).max(2000).describe('Why; kept in the ledger and audit trail.'),
});

export async function openDispute(ctx: HarborCtx, intentId: string, input: z.infer<typeof disputeOpenInput>): Promise<HarborIntent> {
  const consume = await recognize(ctx, PURPOSE.disputeOpen);
  const intent = await findIntent(ctx.runtime.db, ctx.principal.tenantId, intentId);
  nextState(intent.state, 'dispute_open');
  return ctx.runtime.db.$transaction(async (tx) => {
    await consume(tx);
    return step(ctx, tx, intent, 'dispute_open', { type: 'dispute.opened', payload: { reason: input.reason, evidence_refs: input.evidenceRefs ?? [] } }, {
      disputedFromState: intent.state,
    });
  });
}

export async function resolveDispute(ctx: HarborCtx, intentId: string, input: z.infer<typeof disputeResolveInput>): Promise<HarborIntent> {
  const consume = await recognize(ctx, PURPOSE.disputeResolve);
  const intent = await findIntent(ctx.runtime.db, ctx.principal.tenantId, intentId);
  nextState(intent.state, 'dispute_resolve');
  return ctx.runtime.db.$transaction(async (tx) => {
    await consume(tx);
    return step(ctx, tx, intent, 'dispute_resolve', { type: 'dispute.resolved', amountCents: intent.amountCents, payload: { outcome: input.outcome, rationale: input.rationale } }, {
      disputeOutcome: input.outcome,
    });
  });
}
