import './errors.ts';
import { z } from 'zod';
import type { Principal, ServiceContext } from '../../context.ts';
import { newId } from '../../crypto/hash.ts';
import type { Tx } from '../../db.ts';
import type { SimulatorEvent, WebhookDelivery, WebhookEndpoint } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { appendLedgerEvent } from '../harbor/ledger.ts';
import { insertSimulatorEvent } from '../sandbox/simulator-events.ts';
import { EVENT_CATALOG } from './catalog.ts';
import { toDomainError } from './errors.ts';
import { enqueueEvent, forgetEndpoints } from './outbox.ts';
import { endpointStatus as statusOfHealth, type EndpointStatus } from './schedule.ts';
import { DEFAULT_ROTATION_OVERLAP_MS, issueSecret, MAX_ROTATION_OVERLAP_MS, rotateSecret, secretHint } from './secrets.ts';
import { MAX_URL_LENGTH, resolveTarget } from './ssrf.ts';
import { secretBoxOf, urlPolicyOf } from './worker.ts';

type Ctx = ServiceContext & { principal: Principal };

/** Endpoints per tenant (each event fans out to every subscribed one). */
export const MAX_ENDPOINTS = 20;

const eventTypes = z
  .array(z.string().min(1).max(100))
  .max(50)
  .describe('Event types to receive (see GET /v1/webhooks/event-types); empty or absent: every type.');

export const endpointCreateInput = z.object({
  url: z.string().trim().min(1).max(MAX_URL_LENGTH).describe('Where events are POSTed: https (http only outside production); never a private, loopback or metadata address.'),
  description: z.string().trim().max(500).optional().describe('A note for people.'),
  eventTypes: eventTypes.optional(),
});
export type EndpointCreateInput = z.infer<typeof endpointCreateInput>;

export const endpointUpdateInput = z.object({
  url: z.string().trim().min(1).max(MAX_URL_LENGTH).optional().describe('A new URL (checked like at creation).'),
  description: z.string().trim().max(500).nullable().optional().describe('A new note; null clears it.'),
  eventTypes: eventTypes.optional(),
  enabled: z.boolean().optional().describe('false stops deliveries (pending ones are canceled); true re-enables the endpoint and clears its failure run.'),
});
export type EndpointUpdateInput = z.infer<typeof endpointUpdateInput>;

export const secretRotateInput = z.object({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_ROTATION_OVERLAP_MS / 1000)
    .optional()
    .describe(`How long the previous secret keeps signing beside the new one (seconds, default ${DEFAULT_ROTATION_OVERLAP_MS / 1000}; 0 stops it at once).`),
});
export type SecretRotateInput = z.infer<typeof secretRotateInput>;

export const attemptStatus = describedEnum('WebhookAttemptStatus', 'How one delivery attempt ended.', {
  delivered: 'The receiver answered 2xx.',
  failed: 'Any other answer, a timeout, a connection error or a refused address.',
});

export const endpointStatus = describedEnum('WebhookEndpointStatus', 'Whether an endpoint receives events.', {
  active: 'Enabled and delivering.',
  failing: 'Enabled, but its deliveries have kept failing (retries continue; the first success clears it).',
  disabled: 'Receives nothing: switched off by an admin, or the receiver answered 410 Gone.',
});

export const statusOf = (e: WebhookEndpoint): EndpointStatus =>
  statusOfHealth({ disabledReason: e.disabledReason as 'gone' | 'admin' | null, consecutiveFailures: e.consecutiveFailures, firstFailureAt: e.firstFailureAt, failingSince: e.failingSince });

function checkEventTypes(types: string[] | undefined): string[] {
  const unique = [...new Set(types ?? [])];
  const unknown = unique.find((t) => !EVENT_CATALOG.has(t));
  if (unknown !== undefined) throw new DomainError('webhook_event_type_unknown', `Unknown event type ${unknown}`, { field: ['eventTypes'], details: { type: unknown } });
  return unique.sort();
}

/** The URL checks of creation and update: syntax, scheme, port, and every address its name resolves to. */
async function checkEndpointUrl(ctx: Ctx, url: string): Promise<string> {
  try {
    return (await resolveTarget(url, urlPolicyOf(ctx.runtime))).url.href;
  } catch (error) {
    throw toDomainError(error, 'url');
  }
}

/** An endpoint of the caller's tenant; another tenant's is simply not found. */
export async function findEndpoint(db: Pick<Tx, 'webhookEndpoint'>, principal: Principal, id: string): Promise<WebhookEndpoint> {
  const endpoint = await db.webhookEndpoint.findFirst({ where: { id, tenantId: principal.tenantId } });
  if (!endpoint) throw notFound('Webhook endpoint');
  return endpoint;
}

/** Details for audit rows: never the URL (it may hold an address or a token), never a secret. */
const auditOf = (e: Pick<WebhookEndpoint, 'eventTypes' | 'url'>) => ({ event_types: e.eventTypes, scheme: e.url.split(':')[0] });

export async function createEndpoint(ctx: Ctx, input: EndpointCreateInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const types = checkEventTypes(input.eventTypes);
  const url = await checkEndpointUrl(ctx, input.url);
  const id = newId('whe');
  const { stored, secret } = issueSecret(secretBoxOf(ctx.runtime), id);
  const now = ctx.runtime.clock.now();
  const endpoint = await ctx.runtime.db.$transaction(async (tx) => {
    const count = await tx.webhookEndpoint.count({ where: { tenantId: ctx.principal.tenantId } });
    if (count >= MAX_ENDPOINTS) throw new DomainError('webhook_endpoint_limit_reached', `A tenant has at most ${MAX_ENDPOINTS} webhook endpoints`, { details: { max: MAX_ENDPOINTS } });
    const row = await tx.webhookEndpoint.create({
      data: {
        id,
        tenantId: ctx.principal.tenantId,
        url,
        description: input.description || null,
        eventTypes: types,
        secretSealed: stored.current,
        secretHint: secretHint(secret),
        createdBy: ctx.principal.subjectId,
        createdAt: now,
        updatedAt: now,
      },
    });
    forgetEndpoints(tx, row.tenantId);
    await recordAudit(tx, ctx, { tenantId: row.tenantId, eventType: 'webhook.endpoint.created', resource: 'webhook_endpoint', resourceId: id, details: auditOf(row) });
    return row;
  });
  return { endpoint, secret };
}

export async function updateEndpoint(ctx: Ctx, id: string, input: EndpointUpdateInput): Promise<WebhookEndpoint> {
  const existing = await findEndpoint(ctx.runtime.db, ctx.principal, id);
  const types = input.eventTypes === undefined ? undefined : checkEventTypes(input.eventTypes);
  const url = input.url === undefined ? undefined : await checkEndpointUrl(ctx, input.url);
  const now = ctx.runtime.clock.now();
  const enable = input.enabled === true && existing.disabledReason !== null;
  const disable = input.enabled === false && existing.disabledReason === null;
  return ctx.runtime.db.$transaction(async (tx) => {
    const row = await tx.webhookEndpoint.update({
      where: { id: existing.id },
      data: {
        ...(url !== undefined ? { url } : {}),
        ...(input.description !== undefined ? { description: input.description || null } : {}),
        ...(types !== undefined ? { eventTypes: types } : {}),
        ...(enable ? { disabledReason: null, consecutiveFailures: 0, firstFailureAt: null, failingSince: null } : {}),
        ...(disable ? { disabledReason: 'admin' } : {}),
        updatedAt: now,
      },
    });
    if (disable) {
      await tx.webhookDelivery.updateMany({
        where: { endpointId: row.id, status: 'pending' },
        data: { status: 'canceled', lastError: 'endpoint_disabled', nextAttemptAt: null, leaseOwner: null, leaseExpiresAt: null, updatedAt: now },
      });
    }
    forgetEndpoints(tx, row.tenantId);
    const changed = Object.entries(input)
      .filter(([, v]) => v !== undefined)
      .map(([k]) => k);
    await recordAudit(tx, ctx, {
      tenantId: row.tenantId,
      eventType: 'webhook.endpoint.updated',
      resource: 'webhook_endpoint',
      resourceId: row.id,
      details: { ...auditOf(row), changed, ...(enable ? { enabled: true } : disable ? { enabled: false } : {}) },
    });
    return row;
  });
}

export async function deleteEndpoint(ctx: Ctx, id: string): Promise<WebhookEndpoint> {
  return ctx.runtime.db.$transaction(async (tx) => {
    const existing = await findEndpoint(tx, ctx.principal, id);
    // Its deliveries and their attempts go with it (a delivery in flight records nothing).
    await tx.webhookEndpoint.delete({ where: { id: existing.id } });
    forgetEndpoints(tx, existing.tenantId);
    await recordAudit(tx, ctx, { tenantId: existing.tenantId, eventType: 'webhook.endpoint.deleted', resource: 'webhook_endpoint', resourceId: existing.id, details: auditOf(existing) });
    return existing;
  });
}

export async function rotateEndpointSecret(ctx: Ctx, id: string, input: SecretRotateInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<Array<{ id: string }>>`SELECT "id" FROM "WebhookEndpoint" WHERE "id" = ${id} AND "tenantId" = ${ctx.principal.tenantId} FOR UPDATE`;
    if (!locked) throw notFound('Webhook endpoint');
    const existing = await findEndpoint(tx, ctx.principal, id);
    const overlapMs = (input.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_MS / 1000) * 1000;
    const previousActive = existing.previousSecretSealed && existing.previousSecretExpiresAt && existing.previousSecretExpiresAt > now ? existing.previousSecretSealed : null;
    const rotated = rotateSecret(
      { current: existing.secretSealed, previous: previousActive, previousExpiresAt: previousActive ? existing.previousSecretExpiresAt : null },
      secretBoxOf(ctx.runtime),
      existing.id,
      { now, overlapMs },
    );
    const endpoint = await tx.webhookEndpoint.update({
      where: { id: existing.id },
      data: {
        secretSealed: rotated.stored.current,
        secretHint: secretHint(rotated.secret),
        previousSecretSealed: rotated.stored.previous,
        previousSecretExpiresAt: rotated.stored.previousExpiresAt,
        secretRotatedAt: now,
        updatedAt: now,
      },
    });
    await recordAudit(tx, ctx, {
      tenantId: endpoint.tenantId,
      eventType: 'webhook.endpoint.secret_rotated',
      resource: 'webhook_endpoint',
      resourceId: endpoint.id,
      details: { overlap_seconds: overlapMs / 1000, previous_secret_expires_at: endpoint.previousSecretExpiresAt?.toISOString() ?? null },
    });
    return { endpoint, secret: rotated.secret };
  });
}

export interface TestEventResult {
  eventId: string;
  deliveryId: string;
  /** Sandbox: the simulator rehearsal recorded beside the test event. */
  simulatorEvent: SimulatorEvent | null;
}

export const TEST_MESSAGE = 'Test event from Paybond Gateway';

/**
 * Queue a signed `webhook.test` event for one endpoint (the worker delivers it like any event).
 * Tenant and environment come from the credential. In sandbox the same transaction records a
 * lifecycle rehearsal: a `simulator.webhook_rehearsal` ledger event and a simulator event with its
 * audit row, as POST /v1/sandbox/simulator/events does for `webhook_rehearsal`.
 */
export async function sendTestEvent(ctx: Ctx, id: string): Promise<TestEventResult> {
  const endpoint = await findEndpoint(ctx.runtime.db, ctx.principal, id);
  if (endpoint.disabledReason) throw new DomainError('webhook_endpoint_disabled', 'This endpoint is disabled; enable it before sending a test event', { details: { reason: endpoint.disabledReason } });
  for (let tries = 1; ; tries++) {
    try {
      return await ctx.runtime.db.$transaction(async (tx) => {
        const queued = await enqueueEvent(tx, ctx, {
          tenantId: ctx.principal.tenantId,
          type: 'webhook.test',
          data: () => ({ endpoint_id: endpoint.id, message: TEST_MESSAGE }),
          endpointIds: [endpoint.id],
        });
        let simulatorEvent: SimulatorEvent | null = null;
        if (ctx.principal.environment === 'sandbox') {
          // Each test is a new rehearsal: the next sequence of the tenant's intent-less rehearsals.
          const sequence = 1 + (await tx.simulatorEvent.count({ where: { tenantId: ctx.principal.tenantId, kind: 'webhook_rehearsal', intentId: null } }));
          simulatorEvent = await insertSimulatorEvent(tx, ctx, { intentId: null, kind: 'webhook_rehearsal', sequence, settlementRail: null, fromState: null, toState: null, steps: [] });
          await appendLedgerEvent(tx, ctx, {
            tenantId: ctx.principal.tenantId,
            intentId: null,
            type: 'simulator.webhook_rehearsal',
            payload: { simulated: true, livemode: false, environment: 'sandbox', idempotency_key: simulatorEvent.idempotencyKey, kind: 'webhook_rehearsal', sequence, webhook_event_id: queued!.event.id, endpoint_id: endpoint.id },
          });
        }
        await recordAudit(tx, ctx, {
          tenantId: ctx.principal.tenantId,
          eventType: 'webhook.endpoint.tested',
          resource: 'webhook_endpoint',
          resourceId: endpoint.id,
          details: { event_id: queued!.event.id, environment: ctx.principal.environment, simulated: simulatorEvent !== null },
        });
        return { eventId: queued!.event.id, deliveryId: queued!.deliveryIds[0]!, simulatorEvent };
      });
    } catch (error) {
      // Two tests at once took the same rehearsal sequence: the loser takes the next one.
      if ((error as { code?: string }).code === 'P2002' && tries < 3) continue;
      throw error;
    }
  }
}

/** Send one delivery again now (a new attempt with the same webhook-id); its retry schedule starts over. */
export async function redeliver(ctx: Ctx, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const endpoint = await findEndpoint(tx, ctx.principal, endpointId);
    const delivery = await tx.webhookDelivery.findFirst({ where: { id: deliveryId, endpointId: endpoint.id, tenantId: ctx.principal.tenantId } });
    if (!delivery) throw notFound('Webhook delivery');
    if (endpoint.disabledReason) throw new DomainError('webhook_endpoint_disabled', 'This endpoint is disabled; enable it before redelivering', { details: { reason: endpoint.disabledReason } });
    const updated = await tx.webhookDelivery.update({
      where: { id: delivery.id },
      data: {
        status: 'pending',
        nextAttemptAt: now,
        // A claim in flight keeps its lease; otherwise the row is free for the next poll.
        retryBase: delivery.status === 'pending' ? delivery.retryBase : delivery.attempts,
        updatedAt: now,
      },
    });
    await recordAudit(tx, ctx, {
      tenantId: endpoint.tenantId,
      eventType: 'webhook.delivery.redelivered',
      resource: 'webhook_delivery',
      resourceId: delivery.id,
      details: { endpoint_id: endpoint.id, event_id: delivery.eventId, previous_status: delivery.status },
    });
    return updated;
  });
}
