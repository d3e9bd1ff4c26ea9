import './errors.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { HarborIntent } from '../../generated/prisma/client.ts';
import type { Tx } from '../../db.ts';
import { consumeProofNonce, verifyRecognitionProof, type RequestBinding } from './recognition.ts';

export type HarborCtx = ServiceContext & { principal: Principal; binding: RequestBinding };

/** Recognition purposes of the gated Harbor writes (as the SDK signs them). */
export const PURPOSE = {
  create: 'harbor.intent.create',
  fund: 'harbor.intent.fund',
  evidence: 'harbor.intent.evidence.submit',
  settle: 'harbor.intent.settlement.confirm',
  disputeOpen: 'harbor.intent.dispute.open',
  disputeResolve: 'harbor.intent.dispute.resolve',
} as const;

/**
 * The recognition gate. A signed agent request (X-Agent-Signature, verified by the credentials
 * plugin) passes; otherwise a valid AgentRecognitionProofV1 for this request and purpose is
 * required. Runs before anything is written; returns the step that consumes the proof inside the
 * write's transaction, so a write that fails leaves the proof usable for the client's retry.
 */
export async function recognize(ctx: HarborCtx, purpose: string): Promise<(tx: Tx) => Promise<void>> {
  if (ctx.principal.kind === 'agent' && ctx.principal.signed) return async () => undefined;
  const proof = await verifyRecognitionProof(ctx.runtime, ctx.principal, ctx.binding, purpose);
  return (tx) => consumeProofNonce(tx, ctx.principal.tenantId, proof);
}

/** An intent of the caller's tenant by its intent_id; another tenant's is simply not found. */
export async function findIntent(db: Pick<Tx, 'harborIntent'>, tenantId: string, intentId: string): Promise<HarborIntent> {
  const intent = await db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId } } });
  if (!intent) throw notFound('Intent');
  return intent;
}

/**
 * Move an intent from the state we read to the next one, only if nobody moved it meanwhile
 * (compare-and-set): of concurrent requests, exactly one wins; the others get 409.
 */
export async function transition(tx: Tx, intent: HarborIntent, to: string, data: Record<string, unknown> = {}, now: Date): Promise<HarborIntent> {
  const { count } = await tx.harborIntent.updateMany({
    where: { id: intent.id, state: intent.state },
    data: { ...data, state: to, updatedAt: now },
  });
  if (count !== 1) {
    throw new DomainError('invalid_state_transition', `The intent changed state concurrently (it is no longer ${intent.state})`, {
      details: { state: intent.state },
    });
  }
  return { ...intent, ...data, state: to, updatedAt: now } as HarborIntent;
}
