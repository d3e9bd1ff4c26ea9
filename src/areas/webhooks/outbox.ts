import type { ServiceContext } from '../../context.ts';
import { newId } from '../../crypto/hash.ts';
import type { Tx } from '../../db.ts';
import type { ApiKey, HarborIntent } from '../../generated/prisma/client.ts';
import { observeDomainEvents, type DomainEvent } from '../../kernel/events.ts';
import { transactionMemo } from '../../db/request-transaction.ts';
import { apiKeyStatus } from '../identity/api-keys.ts';
import { DISPUTE_CASE_CHANGES } from '../disputes/changes.ts';
import { createEvent, intentEventType, INTENT_STATES, type Environment, type EventEnvelope } from './catalog.ts';

/*
 * The outbox. Every Harbor ledger event and the audit events of API keys and guardrail policy
 * versions are published inside the transaction of the change they record (src/kernel/events.ts);
 * this observer turns each into a webhook event and one pending delivery per subscribed endpoint,
 * with the transaction's own client. A change that rolls back takes its event with it; a change
 * that commits has its event and deliveries committed too, for any worker on any node to send.
 * A tenant with no endpoint for the type writes nothing.
 */

type Subscribed = Array<{ id: string; eventTypes: string[] }>;
/** A transaction's view of each tenant's enabled endpoints (one query per tenant per transaction). */
const endpointsSeen = transactionMemo<Subscribed>();

async function subscribedEndpoints(tx: Tx, tenantId: string): Promise<Subscribed> {
  let endpoints = endpointsSeen.get(tx, tenantId);
  if (!endpoints) {
    endpoints = await tx.webhookEndpoint.findMany({ where: { tenantId, disabledReason: null }, select: { id: true, eventTypes: true } });
    endpointsSeen.set(tx, tenantId, endpoints);
  }
  return endpoints;
}

export const forgetEndpoints = (tx: Tx, tenantId: string) => endpointsSeen.forget(tx, tenantId);

const wants = (endpoint: { eventTypes: string[] }, type: string) => endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(type);

async function environmentOf(tx: Tx, ctx: ServiceContext, tenantId: string): Promise<Environment> {
  if (ctx.principal?.tenantId === tenantId) return ctx.principal.environment;
  const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: { environment: true } });
  return (tenant?.environment ?? 'live') as Environment;
}

export interface EnqueuedEvent {
  event: EventEnvelope;
  deliveryIds: string[];
}

/**
 * Write one event and a pending delivery for each endpoint (of `endpointIds`, or every enabled
 * endpoint subscribed to the type), in the caller's transaction. Null when no endpoint wants it.
 */
export async function enqueueEvent(
  tx: Tx,
  ctx: ServiceContext,
  input: { tenantId: string; type: string; data: () => Promise<unknown> | unknown; occurredAt?: Date; endpointIds?: string[] },
): Promise<EnqueuedEvent | null> {
  const targets = input.endpointIds ?? (await subscribedEndpoints(tx, input.tenantId)).filter((e) => wants(e, input.type)).map((e) => e.id);
  if (targets.length === 0) return null;
  const now = ctx.runtime.clock.now();
  const event = createEvent({
    type: input.type,
    tenantId: input.tenantId,
    environment: await environmentOf(tx, ctx, input.tenantId),
    data: await input.data(),
    occurredAt: input.occurredAt ?? now,
  });
  await tx.webhookEvent.create({ data: { id: event.id, tenantId: event.tenant_id, type: event.type, body: JSON.stringify(event), createdAt: now } });
  const deliveries = targets.map((endpointId) => ({
    id: newId('whd'),
    tenantId: input.tenantId,
    endpointId,
    eventId: event.id,
    eventType: event.type,
    status: 'pending',
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
  }));
  await tx.webhookDelivery.createMany({ data: deliveries });
  return { event, deliveryIds: deliveries.map((d) => d.id) };
}

// ─── What each domain event means as a webhook ─────────────────────────────

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function intentView(intent: HarborIntent): Record<string, unknown> {
  return {
    intent_id: intent.intentId,
    state: intent.state,
    principal_did: intent.principalDid,
    payee_did: intent.payeeDid,
    amount_cents: intent.amountCents,
    currency: intent.currency,
    settlement_rail: intent.settlementRail,
    settlement_mode: intent.settlementMode,
    deadline: intent.deadline.toISOString(),
    source: intent.source,
    spent_cents: intent.spentCents,
    predicate_passed: intent.predicatePassed,
    settlement_action: intent.settlementAction,
    dispute_outcome: intent.disputeOutcome,
    created_at: intent.createdAt.toISOString(),
    updated_at: intent.updatedAt.toISOString(),
  };
}

const STATES: ReadonlySet<string> = new Set(INTENT_STATES);
type LedgerEvent = Extract<DomainEvent, { kind: 'ledger' }>;

/** The intent's data for a lifecycle event, read in the transaction (the intent row is already moved). */
async function intentEventData(tx: Tx, event: LedgerEvent, type: string, intent: HarborIntent, from: string | null): Promise<Record<string, unknown>> {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  const base = { intent: intentView(intent), previous_state: from };
  switch (type) {
    case 'intent.funding_pending':
    case 'intent.funded':
      return { ...base, funding: { attempt: Math.max(1, intent.fundingAttempts) } };
    case 'intent.funding_failed':
      return { ...base, funding: { attempt: Math.max(1, intent.fundingAttempts), failure_code: typeof payload.failure_code === 'string' ? payload.failure_code : null } };
    case 'intent.evidence_accepted':
    case 'intent.evidence_rejected': {
      const row = await tx.intentEvidence.findFirst({ where: { intentRowId: intent.id }, orderBy: { createdAt: 'desc' } });
      return {
        ...base,
        evidence: {
          evidence_id: row?.id ?? '',
          payload_digest: row?.payloadDigest ?? payload.payload_digest,
          artifacts_digest: row?.artifactsDigest ?? payload.artifacts_digest,
          schema_valid: row?.schemaValid ?? false,
          predicate_passed: row?.predicatePassed ?? payload.predicate_passed === true,
        },
      };
    }
    case 'intent.settlement_pending':
    case 'intent.released':
    case 'intent.settled':
    case 'intent.refunded':
    case 'intent.settlement_failed':
      return { ...base, settlement: { action: intent.settlementAction ?? (type === 'intent.refunded' ? 'refund' : 'release') } };
    case 'dispute.opened':
      return { ...base, dispute: { reason: typeof payload.reason === 'string' ? payload.reason : '', evidence_refs: Array.isArray(payload.evidence_refs) ? payload.evidence_refs : [] } };
    case 'dispute.resolved':
      return { ...base, dispute: { outcome: intent.disputeOutcome ?? payload.outcome, rationale: typeof payload.rationale === 'string' ? payload.rationale : '' } };
    default:
      return base;
  }
}

/** The webhook type of a Harbor ledger event, or null when it reports no intent state change. */
export function ledgerWebhookType(event: Pick<LedgerEvent, 'type' | 'intentId' | 'payload'>): { type: string; from: string | null } | null {
  if (!event.intentId) return null;
  if (event.type === 'intent.created') return { type: 'intent.created', from: null };
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  const to = payload.to;
  const from = payload.from;
  if (typeof to !== 'string' || !STATES.has(to) || typeof from !== 'string' || from === to) return null;
  return { type: intentEventType(to as (typeof INTENT_STATES)[number], payload.predicate_passed === true), from };
}

async function onLedgerEvent(tx: Tx, ctx: ServiceContext, event: LedgerEvent): Promise<void> {
  const mapped = ledgerWebhookType(event);
  if (!mapped) return;
  await enqueueEvent(tx, ctx, {
    tenantId: event.tenantId,
    type: mapped.type,
    occurredAt: new Date(event.occurredAt),
    data: async () => {
      const intent = await tx.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId: event.tenantId, intentId: event.intentId! } } });
      if (!intent) throw new Error(`ledger event ${event.seq} names intent ${event.intentId}, which this transaction cannot read`);
      return intentEventData(tx, event, mapped.type, intent, mapped.from);
    },
  });
}

export function apiKeyView(key: ApiKey, now: Date): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    hint: key.hint,
    status: apiKeyStatus(key, now),
    created_at: key.createdAt.toISOString(),
    expires_at: iso(key.expiresAt),
    revoked_at: iso(key.revokedAt),
    rotated_from_id: key.rotatedFromId,
  };
}

type AuditEvent = Extract<DomainEvent, { kind: 'audit' }>;

const AUDIT_EVENTS: Record<string, string> = {
  'api_key.created': 'api_key.created',
  'api_key.rotated': 'api_key.rotated',
  'api_key.revoked': 'api_key.revoked',
  'guardrail.policy_updated': 'guardrail.policy_version.created',
  'settlement.config_updated': 'settlement.config_version.created',
  ...Object.fromEntries(DISPUTE_CASE_CHANGES.map((change) => [`disputes.${change}`, 'dispute_case.updated'])),
  'signal.review_status.changed': 'signal.review_status.changed',
};

async function onAuditEvent(tx: Tx, ctx: ServiceContext, event: AuditEvent): Promise<void> {
  const type = AUDIT_EVENTS[event.eventType];
  if (!type || event.decision !== 'allowed' || !event.resourceId) return;
  const resourceId = event.resourceId;
  const now = ctx.runtime.clock.now();
  await enqueueEvent(tx, ctx, {
    tenantId: event.tenantId,
    type,
    occurredAt: event.occurredAt,
    data: async () => {
      if (type === 'settlement.config_version.created') {
        const row = await tx.settlementConfigVersion.findUnique({ where: { tenantId_version: { tenantId: event.tenantId, version: Number(resourceId) } } });
        if (!row) throw new Error(`settlement configuration version ${resourceId} is not readable in its transaction`);
        return { settlement_config: { version: row.version, allowed_rails: row.allowedRails, default_rail: row.defaultRail, created_at: row.createdAt.toISOString() } };
      }
      if (type === 'signal.review_status.changed') {
        // The audit details are the announcement, except the operator, which audit redaction keys:
        // it is read from the review event that moved the case.
        const row = await tx.signalReviewEvent.findFirst({ where: { id: resourceId, tenantId: event.tenantId }, select: { operatorDid: true } });
        if (!row) throw new Error(`signal review event ${resourceId} is not readable in its transaction`);
        return { ...(event.details as Record<string, unknown>), operator_did: row.operatorDid };
      }
      if (type === 'dispute_case.updated') {
        const row = await tx.disputeCase.findFirst({ where: { id: resourceId, tenantId: event.tenantId } });
        if (!row) throw new Error(`dispute case ${resourceId} is not readable in its transaction`);
        return {
          dispute_case: { case_id: row.id, intent_id: row.intentId, status: row.status, priority: row.priority, assignee_id: row.assigneeId, outcome: row.outcome, updated_at: row.updatedAt.toISOString() },
          change: event.eventType.slice('disputes.'.length),
        };
      }
      if (type === 'guardrail.policy_version.created') {
        const row = await tx.guardrailPolicyVersion.findUnique({ where: { tenantId_version: { tenantId: event.tenantId, version: Number(resourceId) } } });
        if (!row) throw new Error(`guardrail policy version ${resourceId} is not readable in its transaction`);
        return {
          policy: {
            version: row.version,
            mode: row.mode,
            allowed_templates: row.allowedTemplates,
            allow_raw_predicates: row.allowRawPredicates,
            max_intent_amount_cents: row.maxIntentAmountCents,
            lifecycle_confirmations: row.lifecycleConfirmations,
            rate_limit_profile: row.rateLimitProfile,
            created_at: row.createdAt.toISOString(),
            created_by: row.createdBy,
          },
        };
      }
      const key = await tx.apiKey.findFirst({ where: { id: resourceId, tenantId: event.tenantId } });
      if (!key) throw new Error(`API key ${resourceId} is not readable in its transaction`);
      if (type !== 'api_key.rotated') return { api_key: apiKeyView(key, now) };
      const replaced = key.rotatedFromId ? await tx.apiKey.findFirst({ where: { id: key.rotatedFromId, tenantId: event.tenantId } }) : null;
      if (!replaced) throw new Error(`the key replaced by ${resourceId} is not readable in its transaction`);
      return { api_key: apiKeyView(key, now), replaced_api_key: apiKeyView(replaced, now) };
    },
  });
}

observeDomainEvents('webhooks', async (tx, ctx, event) => {
  if (event.kind === 'ledger') await onLedgerEvent(tx, ctx, event);
  else await onAuditEvent(tx, ctx, event);
});
