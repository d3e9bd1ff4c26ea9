import './errors.ts';
import { z } from 'zod';
import type { HttpBinding, Principal, ServiceContext } from '../../context.ts';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { Tx } from '../../db.ts';
import type { HarborIntent, SimulatorEvent } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { findIntent } from '../harbor/gate.ts';
import { refuseLiveMaterial, sentBody } from './guard.ts';
import { appendLedgerEvent } from '../harbor/ledger.ts';
import { settlementRail } from '../harbor/rails.ts';
import { applySteps } from '../settlement/apply.ts';
import { planSimulatorEvent, simulatorIdempotencyKey, SimulatorError, type SimulatorEventKind } from '../settlement/simulator.ts';

type Ctx = ServiceContext & { principal: Principal };
export type SandboxCtx = Ctx & { http: HttpBinding };

export const simulatorEventType = describedEnum('SimulatorEventType', 'A lifecycle or webhook event the sandbox simulator records.', {
  funding_pending: 'The rail accepted funding and reports later (ACH debit: funding is pending for days).',
  funding_succeeded: 'Funding succeeded (on a created ACH intent: pending first, then succeeded).',
  funding_failed: 'Funding failed (on a created intent: pending first, then failed).',
  release: 'Settle to the payee (requested, released and final at once).',
  refund: 'Return the money to the principal.',
  void: 'Cancel an intent whose funding never completed.',
  dispute_opened: 'Open a dispute.',
  dispute_resolved: 'Resolve a dispute with an outcome (release, refund or split).',
  webhook_rehearsal: 'Moves nothing: records one simulator.webhook_rehearsal ledger and audit row (webhook flows fire on it).',
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const simulatorEventInput = z.object({
  eventType: simulatorEventType,
  intentId: z.string().regex(UUID, 'must be a UUID').optional().describe('The sandbox intent the event is about (optional for webhook_rehearsal only).'),
  sequence: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1)
    .describe('Which occurrence of this event for this intent: the same sequence again is the same event (written once); repeat deliberately with the next one.'),
  settlementRail: settlementRail.optional().describe("The rail being rehearsed; must be the intent's own rail (e.g. stripe_ach_debit for delayed funding)."),
  outcome: z.enum(['release', 'refund', 'split']).optional().describe('dispute_resolved: where the money goes.'),
});
export type SimulatorEventInput = z.infer<typeof simulatorEventInput>;

export interface SimulatorEventResult {
  event: SimulatorEvent;
  intent: HarborIntent | null;
  /** True when the event's idempotency key was recorded before: nothing was written again. */
  replayed: boolean;
}

/** What else a caller may vary under one key (the rail as it applies, the outcome): the same key with other inputs is refused. */
const requestHashOf = (rail: string | null, outcome: string | null | undefined) => sha256Hex(canonicalJson({ settlement_rail: rail, outcome: outcome ?? null }));

async function replay(ctx: Ctx, stored: SimulatorEvent, input: SimulatorEventInput): Promise<SimulatorEventResult> {
  if (stored.requestHash !== requestHashOf(input.settlementRail ?? stored.settlementRail, input.outcome)) {
    throw new DomainError('idempotency_key_mismatch', 'This simulator event (same intent, event type and sequence) was recorded with other inputs; use the next sequence');
  }
  const intent = stored.intentId ? await ctx.runtime.db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId: stored.tenantId, intentId: stored.intentId } } }) : null;
  return { event: stored, intent, replayed: true };
}

const storedEvent = (ctx: Ctx, key: string) => ctx.runtime.db.simulatorEvent.findUnique({ where: { tenantId_idempotencyKey: { tenantId: ctx.principal.tenantId, idempotencyKey: key } } });

/**
 * Record a simulator event for a sandbox intent: its steps go through the Harbor state machine
 * (an illegal one is a 409 and nothing is written), each with a ledger and an audit event marked
 * simulated, in one transaction with the event row. Tenant, environment and livemode come from
 * the credential. The idempotency key is a hash of tenant, intent, event type and sequence, so
 * the same rehearsal sent twice is written once and the second answer is the first one.
 */
export async function recordSimulatorEvent(ctx: SandboxCtx, input: SimulatorEventInput): Promise<SimulatorEventResult> {
  await refuseLiveMaterial(ctx.runtime, ctx.principal, sentBody(ctx.http, input));
  const kind: SimulatorEventKind = input.eventType;
  if (!input.intentId && kind !== 'webhook_rehearsal') throw new DomainError('invalid_request', `${kind} needs intent_id`, { field: ['intentId'] });
  const intentId = input.intentId?.toLowerCase() ?? null;
  const key = simulatorIdempotencyKey({ tenantId: ctx.principal.tenantId, intentId, kind, sequence: input.sequence });
  const stored = await storedEvent(ctx, key);
  if (stored) return replay(ctx, stored, input);

  const intent = intentId ? await findIntent(ctx.runtime.db, ctx.principal.tenantId, intentId) : null;
  let plan: ReturnType<typeof planSimulatorEvent> | null = null;
  if (intent) {
    try {
      plan = planSimulatorEvent(kind, { state: intent.state, settlementRail: intent.settlementRail, settlementAction: intent.settlementAction as 'release' | 'refund' | null }, { settlementRail: input.settlementRail, disputeOutcome: input.outcome });
    } catch (error) {
      if (error instanceof SimulatorError) throw new DomainError(error.code, error.message, { field: error.field ? [error.field] : undefined });
      throw error;
    }
  }
  const rail = intent?.settlementRail ?? input.settlementRail ?? null;
  const marks = { simulated: true, livemode: false, environment: 'sandbox', idempotency_key: key, kind, sequence: input.sequence, settlement_rail: rail };
  try {
    return await ctx.runtime.db.$transaction(async (tx) => {
      const moved = intent && plan ? await applySteps(ctx, tx, intent, plan.steps, marks) : intent;
      if (kind === 'webhook_rehearsal') {
        await appendLedgerEvent(tx, ctx, { tenantId: ctx.principal.tenantId, intentId, type: 'simulator.webhook_rehearsal', payload: marks });
      }
      const event = await insertSimulatorEvent(tx, ctx, {
        intentId,
        kind,
        sequence: input.sequence,
        outcome: input.outcome,
        settlementRail: rail,
        fromState: intent?.state ?? null,
        toState: moved?.state ?? null,
        steps: plan?.steps.map((s) => s.action) ?? [],
      });
      return { event, intent: moved, replayed: false };
    });
  } catch (error) {
    // The same event sent concurrently: the first one wrote it (our steps found the intent moved, or the key taken).
    const raced = (error as { code?: string }).code === 'P2002' || (error instanceof DomainError && error.code === 'invalid_state_transition');
    const now = raced ? await storedEvent(ctx, key) : null;
    if (now) return replay(ctx, now, input);
    throw error;
  }
}

/**
 * Store a simulator event under its deterministic key, with its audit row, in the caller's
 * transaction (the sandbox guardrail bootstrap records its funding this way too).
 */
export async function insertSimulatorEvent(
  tx: Tx,
  ctx: Ctx,
  e: { intentId: string | null; kind: SimulatorEventKind; sequence: number; outcome?: string | null; settlementRail: string | null; fromState: string | null; toState: string | null; steps: string[] },
): Promise<SimulatorEvent> {
  const tenantId = ctx.principal.tenantId;
  const idempotencyKey = simulatorIdempotencyKey({ tenantId, intentId: e.intentId, kind: e.kind, sequence: e.sequence });
  const event = await tx.simulatorEvent.create({
    data: {
      id: newId('sim'),
      tenantId,
      intentId: e.intentId,
      kind: e.kind,
      sequence: e.sequence,
      idempotencyKey,
      requestHash: requestHashOf(e.settlementRail, e.outcome),
      settlementRail: e.settlementRail,
      fromState: e.fromState,
      toState: e.toState,
      steps: e.steps,
      createdBy: ctx.principal.subjectId,
      createdAt: ctx.runtime.clock.now(),
    },
  });
  await recordAudit(tx, ctx, {
    tenantId,
    eventType: `sandbox.simulator.${event.kind}`,
    resource: event.intentId ? 'harbor_intent' : 'sandbox_simulator',
    resourceId: event.intentId,
    details: {
      simulated: true,
      livemode: false,
      environment: 'sandbox',
      idempotency_key: idempotencyKey,
      sequence: event.sequence,
      settlement_rail: event.settlementRail,
      from: event.fromState,
      to: event.toState,
      steps: event.steps,
    },
  });
  return event;
}
