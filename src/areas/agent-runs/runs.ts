import './errors.ts';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import type { AgentRun, Prisma } from '../../generated/prisma/client.ts';
import { redact } from '../../kernel/audit/redact.ts';
import { DomainError } from '../../kernel/errors.ts';

/**
 * Agent runs and their trace events, as the Paybond Kit SDK's gateway trace reporter sends them
 * (`PUT /v1/agent-runs/{run_id}`, `POST /v1/agent-runs/{run_id}/trace-events`). Stored per tenant,
 * bounded, and passed through the audit redaction (src/kernel/audit/redact.ts) before storage.
 */

export const MAX_EVENTS_PER_RUN = 1000;
export const MAX_EVENTS_PER_CALL = 50;
export const MAX_EVENT_BYTES = 8 * 1024;
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const runIdSchema = z.string().trim().regex(RUN_ID, 'must be 1-128 characters of letters, digits, . _ : -');

export const agentRunUpsertInput = z.object({
  intentId: z.string().trim().max(128).optional().describe('The Harbor intent the run works under.'),
  operation: z.string().trim().max(128).default('').describe('The operation the run performs.'),
  sandbox: z.boolean().default(false).describe('True for a sandbox run.'),
  allowedTools: z.array(z.string().trim().min(1).max(128)).max(100).default([]).describe('Tools the run may call.'),
  completionPreset: z.string().trim().max(128).default('').describe('Completion preset of the run’s evidence.'),
});

export const traceEventsInput = z.object({
  events: z
    .array(z.record(z.string(), z.unknown()))
    .min(1)
    .max(MAX_EVENTS_PER_CALL)
    .describe(`Trace events (the SDK's PaybondTraceEvent objects, at most ${MAX_EVENTS_PER_CALL} per call, each at most ${MAX_EVENT_BYTES} bytes).`),
});

type Ctx = ServiceContext & { principal: Principal };

function checkRunId(runId: string): string {
  const parsed = runIdSchema.safeParse(runId);
  if (!parsed.success) throw new DomainError('invalid_request', `run_id ${parsed.error.issues[0]!.message}`, { field: ['runId'] });
  return parsed.data;
}

/** Create or update a run (idempotent upsert: the SDK registers a run once per bind). */
export async function upsertAgentRun(ctx: Ctx, runIdRaw: string, input: z.output<typeof agentRunUpsertInput>): Promise<AgentRun> {
  const runId = checkRunId(runIdRaw);
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  const data = {
    intentId: input.intentId || null,
    operation: input.operation,
    sandbox: input.sandbox,
    allowedTools: input.allowedTools,
    completionPreset: input.completionPreset,
    updatedAt: now,
  };
  return ctx.runtime.db.agentRun.upsert({
    where: { tenantId_runId: { tenantId, runId } },
    create: { id: newId('run'), tenantId, runId, ...data, createdAt: now },
    update: data,
  });
}

const str = (v: unknown, max = 128): string | null => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : null);

/**
 * Append trace events to a run (created on first sight: the SDK's register and report calls race).
 * Each event is redacted like an audit row; a run holds at most MAX_EVENTS_PER_RUN events.
 */
export async function appendTraceEvents(ctx: Ctx, runIdRaw: string, input: z.output<typeof traceEventsInput>): Promise<{ run: AgentRun; accepted: number }> {
  const runId = checkRunId(runIdRaw);
  const tenantId = ctx.principal.tenantId;
  const key = ctx.runtime.keys.hmacSecret;
  input.events.forEach((event, i) => {
    if (Buffer.byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES) {
      throw new DomainError('agent_run_event_too_large', `events[${i}] is larger than ${MAX_EVENT_BYTES} bytes`, { field: ['events', String(i)] });
    }
  });
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    await tx.agentRun.upsert({
      where: { tenantId_runId: { tenantId, runId } },
      create: { id: newId('run'), tenantId, runId, createdAt: now, updatedAt: now },
      update: {},
    });
    // Serialise appends to one run: the counter row is the lock.
    const [locked] = await tx.$queryRaw<Array<{ id: string; eventCount: number }>>`SELECT "id", "eventCount" FROM "AgentRun" WHERE "tenantId" = ${tenantId} AND "runId" = ${runId} FOR UPDATE`;
    if (locked!.eventCount + input.events.length > MAX_EVENTS_PER_RUN) {
      throw new DomainError('agent_run_event_limit', `a run holds at most ${MAX_EVENTS_PER_RUN} trace events`, { details: { event_count: locked!.eventCount } });
    }
    let seq = locked!.eventCount;
    for (const event of input.events) {
      seq += 1;
      const recorded = str(event.recordedAt ?? event.recorded_at, 64);
      const at = recorded && !Number.isNaN(Date.parse(recorded)) ? new Date(recorded) : null;
      await tx.agentRunTraceEvent.create({
        data: {
          id: newId('rte'),
          tenantId,
          agentRunId: locked!.id,
          seq,
          eventType: str(event.type, 64) ?? 'unknown',
          occurredAt: at,
          data: redact(event, key) as Prisma.InputJsonValue,
          createdAt: now,
        },
      });
    }
    const run = await tx.agentRun.update({ where: { id: locked!.id }, data: { eventCount: seq, updatedAt: now } });
    return { run, accepted: input.events.length };
  });
}
