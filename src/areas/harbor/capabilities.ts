import './errors.ts';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import { signToken, verifyToken } from '../../crypto/jwt.ts';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { HarborIntent, SpendDecision } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { appendLedgerEvent } from './ledger.ts';
import { SPENDABLE } from './state-machine.ts';
import { normalizeTools } from './wire.ts';

/**
 * Capability tokens: minted when an intent is funded, scoped to that intent, its allowed
 * operations and its amount as the spend ceiling. `POST /verify` reserves spend atomically (the
 * ceiling can never be exceeded under concurrency); a decision is later consumed or released.
 */
const MAX_TTL_SECONDS = 30 * 86_400;

interface CapabilityClaims {
  tid: string;
  iid: string;
  ops: string[];
  ceil: number;
  cur: string;
}

export async function mintCapability(rt: Runtime, intent: HarborIntent): Promise<string> {
  const now = rt.clock.now();
  const ttl = Math.max(60, Math.min(MAX_TTL_SECONDS, Math.floor((intent.deadline.getTime() - now.getTime()) / 1000)));
  const issued = await signToken(
    rt.keys,
    'capability',
    { sub: intent.intentId, jti: newId('cap'), tid: intent.tenantId, iid: intent.id, ops: normalizeTools(intent.allowedTools), ceil: intent.amountCents, cur: intent.currency },
    now,
    ttl,
  );
  return issued.token;
}

export const verifyInput = z.object({
  intentId: z.string().min(1).max(64).describe('The intent the capability token was minted for.'),
  token: z.string().min(1).max(4096).describe('Capability token from funding.'),
  operation: z.string().trim().min(1).max(200).describe('Operation (tool) about to run.'),
  requestedSpendCents: z.number().int().min(0).max(2_000_000_000).default(0).describe('Spend to reserve, in cents.'),
  idempotencyKey: z.string().min(1).max(255).optional().describe('Repeat-safe key: the same key returns the same decision.'),
  toolName: z.string().max(200).optional().describe('Tool name, for the audit trail.'),
  currency: z.string().max(10).optional().describe('Currency the caller expects; must match the intent.'),
});

export interface SpendDecisionView {
  tenantId: string;
  intentId: string;
  allow: boolean;
  code: string | null;
  message: string | null;
  decisionId: string | null;
  remainingCents: number | null;
  reasonCodes: string[];
  /** Id of the audit event that records the decision (`audit_id`). */
  auditId?: string | null;
}

const deny = (tenantId: string, intentId: string, code: string, message: string, extra: Partial<SpendDecisionView> = {}): SpendDecisionView => ({
  tenantId,
  intentId,
  allow: false,
  code,
  message,
  decisionId: null,
  remainingCents: null,
  reasonCodes: [code],
  ...extra,
});

type Ctx = ServiceContext & { principal: Principal };

/** A refusal before any intent is read (bad or foreign token), audited so the caller gets an audit_id. */
async function auditedDeny(ctx: Ctx, input: { intentId: string; operation: string; requestedSpendCents: number }, code: string, message: string): Promise<SpendDecisionView> {
  const auditId = await recordAudit(ctx.runtime.db, ctx, {
    tenantId: ctx.principal.tenantId,
    eventType: 'capability.denied',
    resource: 'harbor_intent',
    resourceId: input.intentId,
    decision: 'denied',
    details: { code, operation: input.operation.toLowerCase(), requested_spend_cents: input.requestedSpendCents },
  });
  return deny(ctx.principal.tenantId, input.intentId, code, message, { auditId });
}

/** Allow / deny / approval-required for one spend, reserving it when allowed. */
export async function verifySpend(ctx: Ctx, input: z.infer<typeof verifyInput>): Promise<SpendDecisionView> {
  const { runtime: rt, principal } = ctx;
  const tenantId = principal.tenantId;
  let claims: CapabilityClaims & { sub: string; jti: string };
  try {
    claims = await verifyToken<CapabilityClaims>(rt.keys, 'capability', input.token, rt.clock.now());
  } catch {
    return auditedDeny(ctx, input, 'capability_invalid', 'The capability token is invalid or expired');
  }
  // Another tenant's genuine token is answered exactly like a forged one: /verify is no oracle.
  if (claims.tid !== tenantId) return auditedDeny(ctx, input, 'capability_invalid', 'The capability token is invalid or expired');
  if (claims.sub !== input.intentId) {
    return auditedDeny(ctx, input, 'capability_mismatch', 'The capability token belongs to another intent');
  }
  const intent = await rt.db.harborIntent.findUnique({ where: { id: claims.iid } });
  if (!intent || intent.tenantId !== tenantId) throw notFound('Intent');
  const view = (d: SpendDecision, remaining: number, auditId: string | null = null): SpendDecisionView => ({
    tenantId,
    intentId: intent.intentId,
    allow: d.allow,
    code: d.code,
    message: d.allow ? null : `spend ${d.code}`,
    decisionId: d.id,
    remainingCents: remaining,
    reasonCodes: d.code ? [d.code] : [],
    auditId,
  });
  if (input.idempotencyKey) {
    const previous = await rt.db.spendDecision.findUnique({ where: { intentRowId_idempotencyKey: { intentRowId: intent.id, idempotencyKey: input.idempotencyKey } } });
    if (previous) {
      const audit = await rt.db.auditEvent.findFirst({
        where: { tenantId, resourceId: intent.intentId, eventType: { in: ['capability.allowed', 'capability.denied'] }, details: { path: ['decision_id'], equals: previous.id } },
        select: { id: true },
      });
      return view(previous, intent.amountCents - intent.spentCents, audit?.id ?? null);
    }
  }
  const operation = input.operation.toLowerCase();
  let refusal: string | null = null;
  if (!SPENDABLE.has(intent.state)) refusal = 'intent_not_spendable';
  else if (!claims.ops.includes('*') && !claims.ops.includes(operation)) refusal = 'operation_not_allowed';
  else if (input.currency && input.currency.toLowerCase() !== intent.currency.toLowerCase()) refusal = 'currency_mismatch';
  const threshold = (intent.budget as { approval_threshold_cents?: unknown }).approval_threshold_cents;
  if (!refusal && typeof threshold === 'number' && input.requestedSpendCents > threshold) refusal = 'approval_required';

  return rt.db.$transaction(async (tx) => {
    let allow = false;
    if (!refusal) {
      // Reserve atomically: the row only changes if the ceiling still holds.
      const reserved = await tx.$executeRaw`UPDATE "HarborIntent" SET "spentCents" = "spentCents" + ${input.requestedSpendCents}
        WHERE "id" = ${intent.id} AND "spentCents" + ${input.requestedSpendCents} <= "amountCents" AND "state" IN ('funded', 'evidence_submitted')`;
      allow = reserved === 1;
      if (!allow) refusal = 'budget_exceeded';
    }
    const decision = await tx.spendDecision.create({
      data: {
        id: newId('dec'),
        tenantId,
        intentRowId: intent.id,
        capabilityJti: claims.jti,
        operation,
        requestedCents: input.requestedSpendCents,
        allow,
        code: refusal,
        status: allow ? 'reserved' : 'denied',
        idempotencyKey: input.idempotencyKey ?? null,
        createdAt: rt.clock.now(),
      },
    });
    const fresh = await tx.harborIntent.findUniqueOrThrow({ where: { id: intent.id }, select: { spentCents: true } });
    let auditId: string;
    if (allow) {
      auditId = await recordAudit(tx, ctx, {
        tenantId,
        eventType: 'capability.allowed',
        resource: 'harbor_intent',
        resourceId: intent.intentId,
        decision: 'allowed',
        details: { decision_id: decision.id, operation, requested_spend_cents: input.requestedSpendCents },
      });
      await appendLedgerEvent(tx, ctx, {
        tenantId,
        intentId: intent.intentId,
        type: 'spend.reserved',
        amountCents: input.requestedSpendCents,
        currency: intent.currency,
        payload: { decision_id: decision.id, operation },
      });
    } else {
      auditId = await recordAudit(tx, ctx, {
        tenantId,
        eventType: 'capability.denied',
        resource: 'harbor_intent',
        resourceId: intent.intentId,
        decision: 'denied',
        details: { decision_id: decision.id, code: refusal, operation, requested_spend_cents: input.requestedSpendCents },
      });
    }
    return view(decision, intent.amountCents - fresh.spentCents, auditId);
  });
}

export const completeInput = z.object({ outcome: z.enum(['consumed', 'released']).describe('consumed keeps the spend; released returns it to the budget.') });

/** Finish a reserved decision: consumed keeps the spend; released gives it back to the budget. */
export async function completeDecision(ctx: Ctx, decisionId: string, input: z.infer<typeof completeInput>): Promise<SpendDecision> {
  const { runtime: rt, principal } = ctx;
  const decision = await rt.db.spendDecision.findFirst({ where: { id: decisionId, tenantId: principal.tenantId }, include: { intent: true } });
  if (!decision) throw notFound('Spend decision');
  if (decision.status === input.outcome) return decision;
  if (decision.status !== 'reserved') {
    throw new DomainError('conflict', `Decision is ${decision.status}; it can no longer be ${input.outcome}`);
  }
  return rt.db.$transaction(async (tx) => {
    const { count } = await tx.spendDecision.updateMany({ where: { id: decision.id, status: 'reserved' }, data: { status: input.outcome, completedAt: rt.clock.now() } });
    if (count !== 1) throw new DomainError('conflict', 'Decision was completed concurrently');
    if (input.outcome === 'released') {
      await tx.$executeRaw`UPDATE "HarborIntent" SET "spentCents" = "spentCents" - ${decision.requestedCents} WHERE "id" = ${decision.intentRowId}`;
    }
    await appendLedgerEvent(tx, ctx, {
      tenantId: principal.tenantId,
      intentId: decision.intent.intentId,
      type: `spend.${input.outcome}`,
      amountCents: decision.requestedCents,
      currency: decision.intent.currency,
      payload: { decision_id: decision.id },
    });
    return tx.spendDecision.findUniqueOrThrow({ where: { id: decision.id } });
  });
}
