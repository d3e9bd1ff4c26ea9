import './errors.ts';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import { sha256Hex } from '../../crypto/hash.ts';
import type { Tx } from '../../db.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { applySteps } from './apply.ts';
import { refreshDestination } from './destinations.ts';
import { verifyStripeWebhook, type PaymentIntentState, type StripeEventEnvelope } from './stripe.ts';
import { classifyStripeEvent, planFromDispute, type StripeEventEffect } from './stripe-outcomes.ts';
import { stripeClient, stripeConfigured } from './stripe-runtime.ts';
import { STRIPE_RAILS, syncPaymentIntent } from './stripe-sync.ts';

/**
 * Inbound Stripe webhooks. Every verified event is stored once by its id, and what it means is
 * applied in the same transaction as that row: state-machine steps with their ledger and audit
 * events, or a destination refresh. A later delivery of a stored id only counts as a replay.
 * A verified event is always answered 2xx (Stripe retries only on errors); an event that could
 * not be applied is kept as a failed row for triage (webhook-failures) and for reconcile. A
 * database failure is a 500, so Stripe delivers the event again.
 */

export type WebhookStatus = 'processed' | 'ignored' | 'failed';

export interface WebhookReceipt {
  eventId: string;
  type: string;
  status: WebhookStatus;
  /** True when this id was stored before: nothing was applied again. */
  replayed: boolean;
  errorCode: string | null;
}

/** A verified event that cannot be applied: stored as a failed row with this code. */
class WebhookFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Attribution {
  tenantId: string | null;
  intentId: string | null;
}

interface Outcome {
  status: Exclude<WebhookStatus, 'failed'>;
  effect: Record<string, unknown>;
}

const STRIPE_ACTOR = { type: 'stripe', id: null };

/** The PaymentIntent an event is about, if any. */
function paymentIntentOf(effect: StripeEventEffect, fresh: PaymentIntentState | null): { id: string | null; pi: PaymentIntentState | null } {
  if (effect.kind === 'payment_intent') return { id: effect.payment_intent.payment_intent_id, pi: fresh ?? effect.payment_intent };
  if (effect.kind === 'charge_refunded' || effect.kind === 'dispute') return { id: effect.payment_intent_id, pi: fresh };
  return { id: null, pi: null };
}

/**
 * The intent a PaymentIntent pays for: a stored link, else the paybond_* metadata the platform
 * set on it, which is then stored as the link. The link is kept even when the event itself cannot
 * be applied, so reconcile can pick the intent up later.
 */
async function resolveIntent(rt: Runtime, event: StripeEventEnvelope, effect: StripeEventEffect, fresh: PaymentIntentState | null, who: Attribution): Promise<boolean> {
  const { id, pi } = paymentIntentOf(effect, fresh);
  if (!id) return false;
  const link = await rt.db.stripePaymentIntentLink.findUnique({ where: { paymentIntentId: id } });
  const tenantId = link?.tenantId ?? pi?.metadata.paybond_tenant_id;
  const intentId = link?.intentId ?? pi?.metadata.paybond_intent_id?.toLowerCase();
  if (!tenantId || !intentId) return false;
  who.tenantId = tenantId;
  who.intentId = intentId;
  const intent = await rt.db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId } } });
  if (!intent) throw new WebhookFailure('stripe_intent_unknown', 'The PaymentIntent names an intent that does not exist');
  if (intent.settlementMode !== 'live' || !STRIPE_RAILS.has(intent.settlementRail)) {
    throw new WebhookFailure('stripe_intent_not_live', 'The PaymentIntent names an intent that does not settle on a live Stripe rail');
  }
  if (!event.livemode || (pi && !pi.livemode)) throw new WebhookFailure('stripe_event_mode_mismatch', 'A test-mode event cannot move a live intent');
  if (!link) {
    const now = rt.clock.now();
    await rt.db.stripePaymentIntentLink.create({ data: { paymentIntentId: id, tenantId, intentId, livemode: true, createdAt: now, checkedAt: now } }).catch(async (error: unknown) => {
      if ((error as { code?: string }).code !== 'P2002') throw error;
      // Linked meanwhile by a concurrent delivery (fine), or the intent is paid by another PaymentIntent.
      const existing = await rt.db.stripePaymentIntentLink.findUnique({ where: { paymentIntentId: id } });
      if (!existing) throw new WebhookFailure('stripe_intent_already_linked', 'The intent is already paid by another PaymentIntent');
    });
  }
  return true;
}

async function apply(ctx: ServiceContext, tx: Tx, event: StripeEventEnvelope, effect: StripeEventEffect, fresh: PaymentIntentState | null, who: Attribution, linked: boolean): Promise<Outcome> {
  const now = ctx.runtime.clock.now();
  const source = { source: 'stripe_webhook', stripe_event_id: event.id, stripe_event_type: event.type };
  if (effect.kind === 'payment_intent' || effect.kind === 'charge_refunded' || effect.kind === 'dispute') {
    if (!linked) return { status: 'ignored', effect: { kind: effect.kind, reason: 'not_a_paybond_payment' } };
    const intent = await tx.harborIntent.findUniqueOrThrow({ where: { tenantId_intentId: { tenantId: who.tenantId!, intentId: who.intentId! } } });
    if (effect.kind === 'dispute') {
      const plan = planFromDispute(intent.state, effect);
      if (plan.kind === 'mismatch') throw new WebhookFailure(plan.reason, `The dispute event does not fit the intent (${plan.reason.replace(/_/g, ' ')})`);
      if (plan.kind === 'advance') {
        await applySteps(ctx, tx, intent, plan.actions.map((action) => ({ action, ...(plan.outcome ? { disputeOutcome: plan.outcome } : {}) })), { ...source, dispute_id: effect.dispute_id, dispute_status: effect.status });
      }
      return { status: 'processed', effect: { kind: effect.kind, dispute_id: effect.dispute_id, phase: effect.phase, plan: plan.kind } };
    }
    const { pi } = paymentIntentOf(effect, fresh);
    if (!pi) throw new WebhookFailure('stripe_not_configured', 'A refund is read from its PaymentIntent, which needs STRIPE_SECRET_KEY; reconcile once it is set');
    const result = await syncPaymentIntent(ctx, tx, intent, pi, source);
    if (result.kind === 'mismatch') throw new WebhookFailure(result.reason, `Stripe's PaymentIntent contradicts the intent (${result.reason.replace(/_/g, ' ')})`);
    const { kind: plan, ...detail } = result;
    return { status: plan === 'stale' ? 'ignored' : 'processed', effect: { kind: effect.kind, payment_intent_id: pi.payment_intent_id, plan, ...detail } };
  }
  if (effect.kind === 'account' || effect.kind === 'capability') {
    const tenantId = await refreshDestination(tx, now, effect.kind === 'account' ? { account: effect.account } : { accountId: effect.account_id, capability: effect.capability, status: effect.status });
    if (!tenantId) return { status: 'ignored', effect: { kind: effect.kind, reason: 'account_not_linked' } };
    who.tenantId = tenantId;
    const accountId = effect.kind === 'account' ? effect.account.account_id : effect.account_id;
    await recordAudit(tx, ctx, { tenantId, eventType: 'settlement.stripe_destination_refreshed', resource: 'stripe_destination', resourceId: accountId, actor: STRIPE_ACTOR, details: { stripe_event_id: event.id, stripe_event_type: event.type } });
    return { status: 'processed', effect: { kind: effect.kind, account_id: accountId } };
  }
  return { status: 'ignored', effect };
}

/** Count another delivery of a stored event; nothing is applied again. */
async function countReplay(rt: Runtime, event: StripeEventEnvelope): Promise<WebhookReceipt> {
  const row = await rt.db.stripeWebhookEvent.update({
    where: { id: event.id },
    data: { replayCount: { increment: 1 }, lastReceivedAt: rt.clock.now() },
  });
  return { eventId: row.id, type: row.type, status: row.status as WebhookStatus, replayed: true, errorCode: row.errorCode };
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === 'P2002';

export async function receiveStripeWebhook(rt: Runtime, requestId: string, rawBody: Uint8Array, signature: string | null): Promise<WebhookReceipt> {
  // A delivery without a signature is malformed whatever this gateway's configuration.
  if (!signature) throw new DomainError('stripe_signature_missing', 'The Stripe-Signature header is missing');
  const verified = verifyStripeWebhook(rawBody, signature, rt.config.STRIPE_WEBHOOK_SECRET, {
    now: rt.clock.now(),
    toleranceSeconds: rt.config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
  });
  if (!verified.ok) {
    rt.log.warn({ request_id: requestId, code: verified.code }, 'Stripe webhook refused');
    throw new DomainError(verified.code, verified.message);
  }
  const event = verified.event;
  if (await rt.db.stripeWebhookEvent.findUnique({ where: { id: event.id }, select: { id: true } })) return countReplay(rt, event);

  const effect = classifyStripeEvent(event);
  const ctx: ServiceContext = { runtime: rt, principal: null, requestId };
  const now = rt.clock.now();
  const row = {
    id: event.id,
    type: event.type,
    livemode: event.livemode,
    account: event.account,
    stripeCreated: new Date(event.created * 1000),
    payloadSha256: sha256Hex(rawBody),
    receivedAt: now,
    lastReceivedAt: now,
  };
  const who: Attribution = { tenantId: null, intentId: null };
  try {
    // Stripe delivers events late and out of order: plan from the PaymentIntent as it is now when we can read it.
    const fresh = await currentPaymentIntent(rt, effect);
    const linked = await resolveIntent(rt, event, effect, fresh, who);
    return await rt.db.$transaction(async (tx) => {
      // Claimed first: a concurrent delivery of the same id waits here, then counts as a replay.
      await tx.stripeWebhookEvent.create({ data: { ...row, status: 'processed', effect: {} } });
      const outcome = await apply(ctx, tx, event, effect, fresh, who, linked);
      await tx.stripeWebhookEvent.update({ where: { id: event.id }, data: { status: outcome.status, effect: outcome.effect as Prisma.InputJsonValue, ...who } });
      return { eventId: event.id, type: event.type, status: outcome.status, replayed: false, errorCode: null };
    });
  } catch (error) {
    if (isUniqueViolation(error)) return countReplay(rt, event);
    const failure = error instanceof WebhookFailure ? error : error instanceof DomainError ? new WebhookFailure(error.code, error.message) : null;
    if (!failure) throw error;
    try {
      await rt.db.stripeWebhookEvent.create({
        data: { ...row, ...who, status: 'failed', errorCode: failure.code, errorMessage: failure.message, effect: { kind: effect.kind } },
      });
    } catch (stored) {
      if (isUniqueViolation(stored)) return countReplay(rt, event);
      throw stored;
    }
    rt.log.warn({ request_id: requestId, stripe_event_id: event.id, code: failure.code }, 'Stripe webhook not applied');
    return { eventId: event.id, type: event.type, status: 'failed', replayed: false, errorCode: failure.code };
  }
}

/**
 * The PaymentIntent as Stripe has it now, when a key is configured: a refund is only visible on
 * the PaymentIntent's latest charge, and a re-read makes out-of-order deliveries harmless.
 */
async function currentPaymentIntent(rt: Runtime, effect: StripeEventEffect): Promise<PaymentIntentState | null> {
  const id = effect.kind === 'payment_intent' ? effect.payment_intent.payment_intent_id : effect.kind === 'charge_refunded' ? effect.payment_intent_id : null;
  if (!id || !stripeConfigured(rt)) return null;
  try {
    return await stripeClient(rt).retrievePaymentIntent(id);
  } catch (error) {
    rt.log.warn({ err: error, payment_intent_id: id }, 'Stripe PaymentIntent re-read failed; planning from the event');
    return null;
  }
}

// ─── Health and triage ──────────────────────────────────────────────────────

type Ctx = ServiceContext & { principal: Principal };

export const HEALTH_WINDOWS = [
  { window: '1h', seconds: 3600 },
  { window: '24h', seconds: 86_400 },
  { window: '7d', seconds: 7 * 86_400 },
] as const;

export interface HealthWindow {
  window: string;
  since: Date;
  /** Events first received in the window, and how they ended. */
  received: number;
  processed: number;
  ignored: number;
  failed: number;
  /** Repeated deliveries of events whose latest delivery falls in the window. */
  replayed: number;
}

export interface WebhookHealth {
  /** Whether STRIPE_WEBHOOK_SECRET is set (without it every delivery is refused with 503). */
  configured: boolean;
  lastEventAt: Date | null;
  lastFailureAt: Date | null;
  windows: HealthWindow[];
}

/** Delivery and replay health of the tenant's Stripe events over the last hour, day and week. */
export async function webhookHealth(ctx: Ctx): Promise<WebhookHealth> {
  const { tenantId } = ctx.principal;
  const now = ctx.runtime.clock.now().getTime();
  const since = HEALTH_WINDOWS.map((w) => new Date(now - w.seconds * 1000));
  const rows = await ctx.runtime.db.$queryRaw<Array<{ window: string; received: number; processed: number; ignored: number; failed: number; replayed: number }>>`
    SELECT w.name AS "window",
      count(e."id") FILTER (WHERE e."receivedAt" >= w.since)::int AS received,
      count(e."id") FILTER (WHERE e."receivedAt" >= w.since AND e."status" = 'processed')::int AS processed,
      count(e."id") FILTER (WHERE e."receivedAt" >= w.since AND e."status" = 'ignored')::int AS ignored,
      count(e."id") FILTER (WHERE e."receivedAt" >= w.since AND e."status" = 'failed')::int AS failed,
      coalesce(sum(e."replayCount"), 0)::int AS replayed
    FROM (VALUES ('1h', ${since[0]}::timestamptz), ('24h', ${since[1]}::timestamptz), ('7d', ${since[2]}::timestamptz)) AS w(name, since)
    LEFT JOIN "StripeWebhookEvent" e ON e."tenantId" = ${tenantId} AND e."lastReceivedAt" >= w.since
    GROUP BY w.name`;
  const [last, lastFailure] = await Promise.all([
    ctx.runtime.db.stripeWebhookEvent.aggregate({ where: { tenantId }, _max: { lastReceivedAt: true } }),
    ctx.runtime.db.stripeWebhookEvent.aggregate({ where: { tenantId, status: 'failed' }, _max: { receivedAt: true } }),
  ]);
  return {
    configured: Boolean(ctx.runtime.config.STRIPE_WEBHOOK_SECRET),
    lastEventAt: last._max.lastReceivedAt,
    lastFailureAt: lastFailure._max.receivedAt,
    windows: HEALTH_WINDOWS.map((w, i) => {
      const row = rows.find((r) => r.window === w.window);
      return { window: w.window, since: since[i]!, received: row?.received ?? 0, processed: row?.processed ?? 0, ignored: row?.ignored ?? 0, failed: row?.failed ?? 0, replayed: row?.replayed ?? 0 };
    }),
  };
}
