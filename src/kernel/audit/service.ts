import type { Prisma } from '../../generated/prisma/client.ts';
import type { z } from 'zod';
import { describedEnum } from '../json-schema.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { ServiceContext } from '../../context.ts';
import { redact, redactString } from './redact.ts';
import { publishDomainEvent } from '../events.ts';

import type { Tx } from '../../db.ts';

/** The decision an audit event records. */
export const auditDecision = describedEnum('AuditDecision', 'The decision an audit event records.', {
  allowed: 'The action was allowed and done.',
  denied: 'The action was refused.',
  observed_violation: 'A guardrail in observe mode saw a violation and let the action through.',
  rejected: 'A confirmed-change attempt was refused before anything changed.',
  confirmed: 'A confirmed change passed its preconditions and is about to be made.',
  completed: 'A confirmed change was made.',
});

export interface AuditInput {
  tenantId: string;
  eventType: string;
  resource: string;
  resourceId?: string | null;
  decision?: z.infer<typeof auditDecision>;
  details?: Record<string, unknown>;
  idempotencyKey?: string | null;
  /** Overrides the acting principal (e.g. events written before a principal exists). */
  actor?: { type: string; id: string | null };
}

/**
 * Append one redacted audit event. Call it with the transaction client of the write it
 * describes, so the event and the change commit (or fail) together; observers of domain events
 * (src/kernel/events.ts) see it in that same transaction.
 */
/** Record one redacted audit event; returns its id. */
export async function recordAudit(db: Tx, ctx: ServiceContext, input: AuditInput): Promise<string> {
  const key = ctx.runtime.keys.hmacSecret;
  const row = await db.auditEvent.create({
    data: {
      id: newId('aud'),
      tenantId: input.tenantId,
      eventType: input.eventType,
      resource: input.resource,
      resourceId: input.resourceId ?? null,
      decision: input.decision ?? 'allowed',
      actorType: input.actor?.type ?? ctx.principal?.kind ?? 'anonymous',
      actorId: input.actor ? input.actor.id : (ctx.principal?.subjectId ?? null),
      requestId: redactString(ctx.requestId),
      idempotencyKeySha256: input.idempotencyKey ? sha256Hex(input.idempotencyKey) : null,
      details: redact(input.details ?? {}, key) as Prisma.InputJsonValue,
      createdAt: ctx.runtime.clock.now(),
    },
  });
  await publishDomainEvent(db, ctx, {
    kind: 'audit',
    id: row.id,
    tenantId: row.tenantId,
    eventType: row.eventType,
    resource: row.resource,
    resourceId: row.resourceId,
    decision: row.decision,
    details: row.details,
    occurredAt: row.createdAt,
  });
  return row.id;
}
