import type { Prisma } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId } from '../../crypto/hash.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { observeDomainEvents, type DomainEvent } from '../../kernel/events.ts';
import { transactionMemo } from '../../db/request-transaction.ts';
import { buildExplanationPayload, buildReceiptPayload, signExplanation, signReceipt } from './model/artifacts.ts';
import { attributeChange, type PosteriorStep } from './model/explain.ts';
import { FRAUD_V1_PARAMS } from './model/fraud.ts';
import { parseTime, type DisputeOutcome, type SignalEvent } from './model/history.ts';
import type { SignalModelParams } from './model/params.ts';
import { OperatorAccumulator, SCORING_EVENT_TYPES, snapshotNeeded, type AccumulatorState, type OperatorScore } from './model/score.ts';
import { signalKey } from './keys.ts';
import { foldReviewCase } from './model/review.ts';
import { raiseFlags } from './review.ts';
import { reviewEvents } from './store.ts';
import { isOperatorDid, SCORE_VERSIONS } from './versions.ts';

/**
 * Scores follow the ledger: every Harbor ledger event is folded into its payee's accumulator in
 * the transaction that appends it (src/kernel/events.ts), and each terminal event that changes
 * an operator's score or reason codes appends a signed receipt and explanation. Every update reads
 * and writes one operator row and one intent row, whatever the history length; the sums are exact
 * integers, so the stored state equals a replay of the ledger bit for bit (test/signal/replay.test.ts).
 */

/** The operator row's JSON: aggregate accumulator, the last snapshot and the posterior steps since. */
interface OperatorStateJson {
  acc: AccumulatorState;
  last: { receipt_version: number; score: OperatorScore; sums: { s2: string; f2: string; w: string } } | null;
  steps: Array<{ seq: number; intent_id: string; type: string; s2: string; f2: string; w: string }>;
}

type IntentTrack = AccumulatorState['intents'][string];

/**
 * The rows this observer wrote, kept for the rest of the transaction: a checkout appends two
 * events for one intent and operator, and the second fold reads what the first wrote.
 */
const intentRows = transactionMemo<{ operatorDid: string; tracks: Record<string, IntentTrack> }>();
/** The JSON text of each operator row this transaction wrote (parsed afresh on each read). */
const operatorRows = transactionMemo<string>();

/** Whether the event can raise a high or critical fraud signal (and so open a review case); intent creations are checked by velocityCandidate. */
const mayRaiseSignal = (e: SignalEvent) =>
  e.type === 'settlement.refunded' || e.type === 'dispute.opened' || (e.type === 'dispute.resolved' && e.disputeOutcome === 'refund') || (e.type === 'evidence.submitted' && e.predicatePassed === false);

const payloadOf = (event: Extract<DomainEvent, { kind: 'ledger' }>) => (event.payload ?? {}) as Record<string, unknown>;

export async function foldLedgerEvent(tx: Tx, ctx: ServiceContext, event: Extract<DomainEvent, { kind: 'ledger' }>): Promise<void> {
  if (!event.intentId) return;
  const payload = payloadOf(event);
  let intent: { operatorDid: string; tracks: Record<string, IntentTrack> } | null;
  if (event.type === 'intent.created') {
    const payee = payload.payee_did;
    // Only DIDs can be signed into receipts; anything else is not a scored operator.
    intent = typeof payee === 'string' && isOperatorDid(payee) ? { operatorDid: payee, tracks: {} } : null;
  } else {
    // No row: an intent created before Signal saw the ledger, or with a non-DID payee.
    intent =
      intentRows.get(tx, `${event.tenantId} ${event.intentId}`) ??
      (await tx.$queryRaw<Array<NonNullable<typeof intent>>>`SELECT "operatorDid", "tracks" FROM "SignalIntent" WHERE "tenantId" = ${event.tenantId} AND "intentId" = ${event.intentId}`)[0] ??
      null;
  }
  if (!intent) return;
  const bound: SignalEvent = {
    seq: event.seq,
    type: event.type,
    intentId: event.intentId,
    operatorDid: intent.operatorDid,
    timeMs: parseTime(event.occurredAt),
    occurredAt: event.occurredAt,
    hash: event.hash,
    amountCents: event.amountCents,
    currency: event.currency,
    settlementRail: null,
    ...(event.type === 'evidence.submitted' ? { predicatePassed: payload.predicate_passed === true } : {}),
    ...(event.type === 'dispute.resolved' ? { disputeOutcome: payload.outcome as DisputeOutcome } : {}),
  };
  const tracks = { ...intent.tracks };
  for (const [version, { params }] of SCORE_VERSIONS) {
    tracks[version] = await foldVersion(tx, ctx, event.tenantId, bound, params, intent.tracks[version]);
  }
  intentRows.set(tx, `${event.tenantId} ${event.intentId}`, { operatorDid: intent.operatorDid, tracks });
  if (event.type === 'intent.created') {
    await tx.$executeRaw`INSERT INTO "SignalIntent" ("tenantId", "intentId", "operatorDid", "tracks", "createdAt")
      VALUES (${event.tenantId}, ${event.intentId}, ${intent.operatorDid}, ${JSON.stringify(tracks)}::jsonb, ${new Date(event.occurredAt)})`;
  } else if (canonicalJson(tracks) !== canonicalJson(intent.tracks)) {
    // Most events (evidence, requests, releases) leave the intent's track as it was (compared key-order free: jsonb reorders keys).
    await tx.$executeRaw`UPDATE "SignalIntent" SET "tracks" = ${JSON.stringify(tracks)}::jsonb WHERE "tenantId" = ${event.tenantId} AND "intentId" = ${event.intentId}`;
  }
  if (mayRaiseSignal(bound) || (event.type === 'intent.created' && (await velocityCandidate(tx, event.tenantId, intent.operatorDid, bound.timeMs)))) {
    await raiseFlags(tx, ctx, event.tenantId, bound);
  }
}

/**
 * Whether an intent creation should evaluate the operator's signals: a velocity spike needs at
 * least `min_count` intents created in the last hour (one indexed count), and a spike already
 * listed in the operator's open case would add nothing to it (one read of the small review log).
 * Without the second check every creation during a burst re-read the operator's whole 92-day
 * window inside the ledger transaction (bench/README.md, "the velocity re-check").
 */
async function velocityCandidate(tx: Tx, tenantId: string, operatorDid: string, nowMs: number): Promise<boolean> {
  const v = FRAUD_V1_PARAMS.velocity;
  const [{ recent }] = await tx.$queryRaw<[{ recent: number }]>`SELECT count(*)::int AS recent FROM "SignalIntent"
    WHERE "tenantId" = ${tenantId} AND "operatorDid" = ${operatorDid} AND "createdAt" > ${new Date(nowMs - v.window_seconds * 1000)}`;
  if (recent < v.min_count) return false;
  const open = foldReviewCase(operatorDid, await reviewEvents(tx, tenantId, operatorDid));
  return !((open.review_state === 'open' || open.review_state === 'in_review') && open.review_reasons.includes('VELOCITY_SPIKE'));
}

const bigSums = (s: { s2: string; f2: string; w: string }) => ({ s2: BigInt(s.s2), f2: BigInt(s.f2), w: BigInt(s.w) });
const textSums = (s: { s2: bigint; f2: bigint; w: bigint }) => ({ s2: s.s2.toString(), f2: s.f2.toString(), w: s.w.toString() });

/** Fold one event into one score version; returns the intent's new track. */
async function foldVersion(tx: Tx, ctx: ServiceContext, tenantId: string, event: SignalEvent, params: SignalModelParams, track: IntentTrack | undefined): Promise<IntentTrack> {
  const did = event.operatorDid!;
  const memoKey = `${tenantId} ${did} ${params.score_version}`;
  const written = operatorRows.get(tx, memoKey);
  const stored = (
    written !== undefined
      ? JSON.parse(written)
      : (await tx.$queryRaw<Array<{ state: unknown }>>`SELECT "state" FROM "SignalOperatorState" WHERE "tenantId" = ${tenantId} AND "operatorDid" = ${did} AND "scoreVersion" = ${params.score_version}`)[0]?.state
  ) as OperatorStateJson | undefined;
  const acc = stored
    ? OperatorAccumulator.fromState({ ...stored.acc, intents: track ? { [event.intentId!]: track } : {} }, params)
    : new OperatorAccumulator(did, params);
  const state: OperatorStateJson = stored ? { ...stored, steps: [...stored.steps] } : { acc: acc.toState({ intentIds: [] }), last: null, steps: [] };
  const delta = acc.apply(event);
  if (delta.s2 !== 0n || delta.f2 !== 0n || delta.w !== 0n) state.steps.push({ seq: event.seq, intent_id: event.intentId!, type: event.type, ...textSums(delta) });
  if (SCORING_EVENT_TYPES.has(event.type)) {
    const current = acc.scoreAt({ seq: event.seq, occurredAt: event.occurredAt, hash: event.hash });
    const last = state.last;
    if (snapshotNeeded(last ? { score: last.score.score, reasonCodes: last.score.reasonCodes } : null, current)) {
      const receiptVersion = await appendSnapshot(tx, ctx, tenantId, params, current, state);
      state.last = { receipt_version: receiptVersion, score: current, sums: textSums(acc.sums()) };
      state.steps = [];
    }
  }
  state.acc = acc.toState({ intentIds: [] });
  const now = ctx.runtime.clock.now();
  const json = JSON.stringify(state);
  operatorRows.set(tx, memoKey, json);
  if (stored) {
    await tx.$executeRaw`UPDATE "SignalOperatorState" SET "lastSeq" = ${event.seq}, "state" = ${json}::jsonb, "updatedAt" = ${now}
      WHERE "tenantId" = ${tenantId} AND "operatorDid" = ${did} AND "scoreVersion" = ${params.score_version}`;
  } else {
    await tx.$executeRaw`INSERT INTO "SignalOperatorState" ("tenantId", "operatorDid", "scoreVersion", "lastSeq", "state", "firstSeenAt", "updatedAt")
      VALUES (${tenantId}, ${did}, ${params.score_version}, ${event.seq}, ${json}::jsonb, ${new Date(event.timeMs)}, ${now})`;
  }
  return acc.toState({ intentIds: [event.intentId!] }).intents[event.intentId!]!;
}

/** Sign the receipt and explanation of a new score and append them (with their audit event). */
async function appendSnapshot(tx: Tx, ctx: ServiceContext, tenantId: string, params: SignalModelParams, current: OperatorScore, state: OperatorStateJson): Promise<number> {
  const key = signalKey(ctx.runtime.keys.signalSigning);
  const receiptVersion = (state.last?.receipt_version ?? 0) + 1;
  const steps: PosteriorStep[] = state.steps.map((s) => ({ seq: s.seq, intentId: s.intent_id, type: s.type, delta: bigSums(s) }));
  const previous = state.last ? { score: state.last.score, sums: bigSums(state.last.sums) } : null;
  const { delta, attribution } = attributeChange({ params, previous, steps, current });
  const receipt = signReceipt(buildReceiptPayload({ tenantId, score: current, params, receiptVersion, explanationDelta: delta, keyId: key.keyId }), key);
  const explanation = signExplanation(
    buildExplanationPayload({ tenantId, params, explanation: { current, delta, attribution }, receiptMessageDigestHex: receipt.message_digest_hex, keyId: key.keyId }),
    key,
  );
  await tx.signalScoreSnapshot.create({
    data: {
      id: newId('sig'),
      tenantId,
      operatorDid: current.operatorDid,
      scoreVersion: params.score_version,
      receiptVersion,
      watermarkSeq: current.watermark.seq,
      watermarkHash: current.watermark.hash,
      watermarkAt: current.watermark.occurredAt,
      score: current.score,
      alpha: current.alpha,
      beta: current.beta,
      nEff: current.nEff,
      reasonCodes: current.reasonCodes,
      confidenceBand: current.confidence.band,
      supportDepthBand: current.supportDepth.band,
      metrics: current.metrics as unknown as Prisma.InputJsonValue,
      receipt: receipt as unknown as Prisma.InputJsonValue,
      explanation: explanation as unknown as Prisma.InputJsonValue,
      receiptDigest: receipt.message_digest_hex,
      keyId: key.keyId,
      createdAt: ctx.runtime.clock.now(),
    },
  });
  await recordAudit(tx, ctx, {
    tenantId,
    eventType: 'signal.snapshot.recorded',
    resource: 'signal_operator',
    details: {
      operator_did: current.operatorDid,
      score_version: params.score_version,
      receipt_version: receiptVersion,
      score: current.score,
      score_delta: delta.score_delta,
      ledger_watermark_seq: current.watermark.seq,
      receipt_message_digest_sha256: receipt.message_digest_hex,
    },
  });
  return receiptVersion;
}

observeDomainEvents('signal', async (tx, ctx, event) => {
  if (event.kind === 'ledger') await foldLedgerEvent(tx, ctx, event);
});
