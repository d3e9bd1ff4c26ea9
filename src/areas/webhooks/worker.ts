import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Runtime, ServiceContext } from '../../context.ts';
import { newId } from '../../crypto/hash.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { registerBackgroundTask } from '../../kernel/background.ts';
import { deliverOnce, type DeliveryResult } from './deliver.ts';
import { endpointStatus, planNextAttempt, recordOutcome, type EndpointHealth } from './schedule.ts';
import { activeSecrets, createSecretBox, type SecretBox } from './secrets.ts';
import type { UrlPolicy } from './ssrf.ts';

/*
 * Delivery workers. A delivery is a row; a worker claims due rows with one UPDATE over a
 * `FOR UPDATE SKIP LOCKED` subquery, which gives each row to exactly one of any number of nodes,
 * and stamps them with a lease (a claim token and an expiry). The attempt's result is recorded
 * with an update guarded by that token, so a worker whose lease lapsed (it stalled, or another
 * node took the row over) records nothing. A worker that dies (kill -9) simply stops: once its
 * lease lapses, any node claims the row again. Delivery is therefore at least once; receivers
 * deduplicate on webhook-id, which is the event id on every attempt.
 */

/** This process, as a lease holder. */
export const NODE_ID = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
/** Attempts in flight at once per node. */
const CONCURRENCY = 8;
/** How often an idle node looks for due deliveries. */
const POLL_MS = 100;

interface Claimed {
  id: string;
  tenantId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  attempts: number;
  retryBase: number;
  leaseOwner: string;
}

interface Worker {
  inFlight: Map<string, Promise<void>>;
  abort: AbortController;
  box: SecretBox;
  draining: Promise<number> | null;
}
const workers = new WeakMap<Runtime, Worker>();
const workerOf = (rt: Runtime): Worker => {
  let worker = workers.get(rt);
  if (!worker) workers.set(rt, (worker = { inFlight: new Map(), abort: new AbortController(), box: createSecretBox(rt.keys.hmacSecret), draining: null }));
  return worker;
};

/** The box that seals this gateway's endpoint secrets (keyed from the server secret). */
export const secretBoxOf = (rt: Runtime): SecretBox => workerOf(rt).box;

export const urlPolicyOf = (rt: Runtime): UrlPolicy => ({ production: rt.config.isProduction, allowPrivateNetworks: rt.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS });

/** Take up to `limit` due deliveries under one claim token. */
export async function claimDeliveries(rt: Runtime, limit: number): Promise<Claimed[]> {
  if (limit <= 0) return [];
  const token = `${NODE_ID}:${randomBytes(4).toString('hex')}`;
  return rt.db.$queryRaw<Claimed[]>`
    UPDATE "WebhookDelivery" SET "leaseOwner" = ${token}, "leaseExpiresAt" = now() + make_interval(secs => ${rt.config.WEBHOOK_LEASE_SECONDS})
    WHERE "id" IN (
      SELECT "id" FROM "WebhookDelivery"
      WHERE "status" = 'pending' AND "nextAttemptAt" <= ${rt.clock.now()} AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now())
      ORDER BY "nextAttemptAt" LIMIT ${limit}::int FOR UPDATE SKIP LOCKED)
    RETURNING "id", "tenantId", "endpointId", "eventId", "eventType", "attempts", "retryBase", "leaseOwner"`;
}

const systemCtx = (rt: Runtime, id: string): ServiceContext => ({ runtime: rt, principal: null, requestId: `whd_${id}` });
const SYSTEM = { type: 'system', id: null };

/** Hand a claim back untouched (shutdown): the next worker attempts it without waiting for the lease. */
async function release(rt: Runtime, claimed: Claimed): Promise<void> {
  await rt.db.webhookDelivery.updateMany({ where: { id: claimed.id, leaseOwner: claimed.leaseOwner }, data: { leaseOwner: null, leaseExpiresAt: null } });
}

/** One attempt of one claimed delivery, and its record. */
export async function attemptDelivery(rt: Runtime, claimed: Claimed, signal?: AbortSignal): Promise<DeliveryResult | null> {
  const [endpoint, event] = await Promise.all([
    rt.db.webhookEndpoint.findUnique({ where: { id: claimed.endpointId } }),
    rt.db.webhookEvent.findUnique({ where: { id: claimed.eventId } }),
  ]);
  // Deleted meanwhile: the delivery row went with it.
  if (!endpoint || !event) return null;
  if (endpoint.disabledReason) {
    await rt.db.webhookDelivery.updateMany({
      where: { id: claimed.id, leaseOwner: claimed.leaseOwner },
      data: { status: 'canceled', lastError: 'endpoint_disabled', nextAttemptAt: null, leaseOwner: null, leaseExpiresAt: null, updatedAt: rt.clock.now() },
    });
    return null;
  }
  const box = secretBoxOf(rt);
  const secrets = activeSecrets(
    { current: endpoint.secretSealed, previous: endpoint.previousSecretSealed, previousExpiresAt: endpoint.previousSecretExpiresAt },
    box,
    endpoint.id,
    rt.clock.now(),
  );
  // webhook-timestamp is wall-clock time: receivers compare it with their own clock.
  const result = await deliverOnce({ url: endpoint.url, webhookId: event.id, body: event.body, secrets, policy: urlPolicyOf(rt), timestamp: new Date(), signal });
  if (result.error === 'aborted') {
    await release(rt, claimed);
    return result;
  }
  await recordAttempt(rt, claimed, result);
  return result;
}

async function recordAttempt(rt: Runtime, claimed: Claimed, result: DeliveryResult): Promise<void> {
  const now = rt.clock.now();
  const attempt = claimed.attempts + 1;
  const next = planNextAttempt({ attempt: attempt - claimed.retryBase, outcome: result.outcome, now, retryAfterMs: result.retryAfterMs });
  const status = next.status === 'delivered' ? 'delivered' : next.status === 'retry' ? 'pending' : 'failed';
  const nextAttemptAt = next.status === 'retry' ? next.nextAttemptAt : null;
  const error = next.status === 'endpoint_gone' ? 'endpoint_gone' : result.error;
  await rt.db.$transaction(async (tx) => {
    const { count } = await tx.webhookDelivery.updateMany({
      where: { id: claimed.id, leaseOwner: claimed.leaseOwner },
      data: {
        status,
        attempts: attempt,
        nextAttemptAt,
        leaseOwner: null,
        leaseExpiresAt: null,
        lastStatusCode: result.statusCode,
        lastError: error,
        deliveredAt: status === 'delivered' ? now : undefined,
        updatedAt: now,
      },
    });
    // The lease lapsed and another worker owns the row now: its attempt is the one on record.
    if (count !== 1) return;
    await tx.webhookAttempt.create({
      data: {
        id: newId('wha'),
        tenantId: claimed.tenantId,
        deliveryId: claimed.id,
        endpointId: claimed.endpointId,
        eventId: claimed.eventId,
        eventType: claimed.eventType,
        attempt,
        status: result.outcome === 'delivered' ? 'delivered' : 'failed',
        statusCode: result.statusCode,
        latencyMs: result.latencyMs,
        error,
        responseExcerpt: result.responseExcerpt,
        nextAttemptAt,
        createdAt: now,
      },
    });
    // The endpoint's health, under its row lock (attempts to one endpoint finish concurrently).
    const [row] = await tx.$queryRaw<Array<EndpointHealth & { tenantId: string }>>`
      SELECT "tenantId", "disabledReason", "consecutiveFailures", "firstFailureAt", "failingSince" FROM "WebhookEndpoint" WHERE "id" = ${claimed.endpointId} FOR UPDATE`;
    if (!row) return;
    const before: EndpointHealth = { disabledReason: row.disabledReason as EndpointHealth['disabledReason'], consecutiveFailures: row.consecutiveFailures, firstFailureAt: row.firstFailureAt, failingSince: row.failingSince };
    const after = recordOutcome(before, result.outcome, now);
    await tx.webhookEndpoint.update({
      where: { id: claimed.endpointId },
      data: {
        disabledReason: after.disabledReason,
        consecutiveFailures: after.consecutiveFailures,
        firstFailureAt: after.firstFailureAt,
        failingSince: after.failingSince,
        ...(result.outcome === 'delivered' ? { lastSuccessAt: now } : { lastFailureAt: now }),
      },
    });
    const ctx = systemCtx(rt, claimed.id);
    if (after.disabledReason === 'gone' && before.disabledReason !== 'gone') {
      await tx.webhookDelivery.updateMany({
        where: { endpointId: claimed.endpointId, status: 'pending' },
        data: { status: 'canceled', lastError: 'endpoint_disabled', nextAttemptAt: null, leaseOwner: null, leaseExpiresAt: null, updatedAt: now },
      });
      await recordAudit(tx, ctx, {
        tenantId: row.tenantId,
        eventType: 'webhook.endpoint.disabled',
        resource: 'webhook_endpoint',
        resourceId: claimed.endpointId,
        actor: SYSTEM,
        details: { reason: 'gone', status_code: result.statusCode, delivery_id: claimed.id },
      });
    } else if (endpointStatus(after) !== endpointStatus(before) && (endpointStatus(after) === 'failing' || endpointStatus(before) === 'failing')) {
      await recordAudit(tx, ctx, {
        tenantId: row.tenantId,
        eventType: endpointStatus(after) === 'failing' ? 'webhook.endpoint.failing' : 'webhook.endpoint.recovered',
        resource: 'webhook_endpoint',
        resourceId: claimed.endpointId,
        actor: SYSTEM,
        details: { consecutive_failures: after.consecutiveFailures },
      });
    }
  });
  rt.log.debug({ delivery_id: claimed.id, endpoint_id: claimed.endpointId, attempt, outcome: result.outcome, error, status_code: result.statusCode }, 'webhook attempt');
}

/**
 * Deliver everything due now: claim up to CONCURRENCY rows at a time and attempt them in
 * parallel, claiming more as attempts finish, until nothing is due. Resolves with the number of
 * attempts made. One drain per runtime at a time.
 */
export function drainDeliveries(rt: Runtime): Promise<number> {
  const worker = workerOf(rt);
  worker.draining ??= (async () => {
    let attempts = 0;
    try {
      for (;;) {
        if (worker.abort.signal.aborted) break;
        const claimed = await claimDeliveries(rt, CONCURRENCY - worker.inFlight.size);
        for (const row of claimed) {
          const run = attemptDelivery(rt, row, worker.abort.signal)
            .then(() => undefined)
            .catch((error: unknown) => rt.log.error({ err: error, delivery_id: row.id }, 'webhook attempt failed'))
            .finally(() => worker.inFlight.delete(row.id));
          worker.inFlight.set(row.id, run);
          attempts += 1;
        }
        if (worker.inFlight.size === 0) break;
        // Wait for a slot, or a poll period when every slot is busy with slow receivers.
        await Promise.race([...worker.inFlight.values(), ...(claimed.length === 0 ? [new Promise((r) => setTimeout(r, POLL_MS).unref())] : [])]);
      }
    } finally {
      worker.draining = null;
    }
    return attempts;
  })();
  return worker.draining;
}

/** Stop attempts in flight (their claims are handed back) and wait for them. */
export async function stopDeliveries(rt: Runtime): Promise<void> {
  const worker = workerOf(rt);
  worker.abort.abort();
  await worker.draining?.catch(() => 0);
  await Promise.all(worker.inFlight.values());
}

registerBackgroundTask({
  name: 'webhooks',
  intervalMs: POLL_MS,
  async run(rt) {
    if (rt.config.WEBHOOK_WORKER === 'off') return;
    await drainDeliveries(rt);
  },
  stop: stopDeliveries,
});
