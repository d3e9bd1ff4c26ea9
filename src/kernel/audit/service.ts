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
 * Append one redacted audit event; returns its id. Call it with the transaction client of the
 * write it describes, so the event and the change commit (or fail) together; observers of domain
 * events (src/kernel/events.ts) see it in that same transaction. One plain INSERT: audit rows are
 * on every write's path, and Prisma's model create costs twice the CPU of a raw statement.
 */
export async function recordAudit(db: Tx, ctx: ServiceContext, input: AuditInput): Promise<string> {
  const row = {
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
    details: redact(input.details ?? {}, ctx.runtime.keys.hmacSecret),
    createdAt: ctx.runtime.clock.now(),
  };
  await db.$executeRaw`INSERT INTO "AuditEvent" ("id", "tenantId", "eventType", "resource", "resourceId", "decision", "actorType", "actorId", "requestId", "idempotencyKeySha256", "details", "createdAt")
    VALUES (${row.id}, ${row.tenantId}, ${row.eventType}, ${row.resource}, ${row.resourceId}, ${row.decision}, ${row.actorType}, ${row.actorId}, ${row.requestId}, ${row.idempotencyKeySha256}, ${JSON.stringify(row.details)}::jsonb, ${row.createdAt})`;
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
