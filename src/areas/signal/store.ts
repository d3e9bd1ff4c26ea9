import { Prisma } from '../../generated/prisma/client.ts';
import type { SignalReviewEvent } from '../../generated/prisma/client.ts';
import type { Tx } from '../../db.ts';
import { GENESIS_HASH } from '../../evidence/ledger-format.ts';
import { bindHistory, type DisputeOutcome, type EvidenceRecord, type IntentRecord, type LedgerEventRow, type SignalEvent, type Watermark } from './model/history.ts';
import type { ReviewEventRecord, ReviewEventType, ReviewOutcome } from './model/review.ts';
import type { ReleaseGateMode } from './model/gate.ts';

/**
 * What Signal reads back: the ledger joined with the facts it binds (payee, evidence results,
 * dispute outcomes), review logs, the gate mode and the ledger head. Reads take a Tx so the
 * release-hold check runs inside Harbor's settlement transaction.
 */

/**
 * Bound events of every intent (of one operator, or of the tenant) that has a ledger event after
 * `sinceMs`, each intent's events complete (so its n-th evidence event meets its n-th evidence row).
 * `pending` is the event being appended in this transaction, already bound by the caller (its
 * evidence row, if any, is written after it).
 */
export async function boundEvents(db: Tx, tenantId: string, options: { sinceMs: number; operatorDid?: string; pending?: SignalEvent }): Promise<SignalEvent[]> {
  const since = new Date(Math.max(0, options.sinceMs)).toISOString();
  const operator = options.operatorDid ? Prisma.sql`AND s."operatorDid" = ${options.operatorDid}` : Prisma.empty;
  const rows = await db.$queryRaw<LedgerEventRow[]>`
    SELECT e."seq", e."type", e."intentId", e."amountCents", e."currency", e."occurredAt", e."payloadDigest", e."hash"
    FROM "LedgerEvent" e
    WHERE e."tenantId" = ${tenantId} AND e."intentId" IN (
      SELECT w."intentId" FROM "LedgerEvent" w
      JOIN "SignalIntent" s ON s."tenantId" = w."tenantId" AND s."intentId" = w."intentId"
      WHERE w."tenantId" = ${tenantId} AND w."occurredAt" > ${since} ${operator})
    ORDER BY e."seq"`;
  const pending = options.pending;
  if (!pending) return bindRows(db, tenantId, rows);
  return [...(await bindRows(db, tenantId, rows.filter((r) => r.seq !== pending.seq))), pending];
}

/** Bind ledger rows of one tenant to their intent and evidence rows (events of unknown intents are left out). */
export async function bindRows(db: Tx, tenantId: string, rows: readonly LedgerEventRow[]): Promise<SignalEvent[]> {
  const ids = [...new Set(rows.flatMap((r) => (r.intentId ? [r.intentId] : [])))];
  if (!ids.length) return [];
  const intents = await db.harborIntent.findMany({
    where: { tenantId, intentId: { in: ids } },
    select: { id: true, intentId: true, payeeDid: true, amountCents: true, currency: true, settlementRail: true, disputeOutcome: true, principalDid: true, source: true, predicate: true },
  });
  const byRow = new Map(intents.map((i) => [i.id, i.intentId]));
  const evidence = await db.intentEvidence.findMany({
    where: { intentRowId: { in: intents.map((i) => i.id) } },
    select: { intentRowId: true, predicatePassed: true, schemaValid: true, createdAt: true, payloadDigest: true, artifactsDigest: true },
  });
  const known = new Set(intents.map((i) => i.intentId));
  return bindHistory(
    rows.filter((r) => r.intentId !== null && known.has(r.intentId)),
    intents.map(intentRecord),
    evidence.map((e): EvidenceRecord => ({ ...e, intentId: byRow.get(e.intentRowId)!, createdAt: e.createdAt.toISOString() })),
  );
}

export const intentRecord = (i: { intentId: string; payeeDid: string; amountCents: number; currency: string; settlementRail: string; disputeOutcome: string | null; principalDid: string; source: string; predicate: unknown }): IntentRecord => ({
  intentId: i.intentId,
  payeeDid: i.payeeDid,
  amountCents: i.amountCents,
  currency: i.currency,
  settlementRail: i.settlementRail,
  disputeOutcome: i.disputeOutcome as DisputeOutcome | null,
  principalDid: i.principalDid,
  source: i.source,
  predicate: i.predicate,
});

const reviewRecord = (e: SignalReviewEvent): ReviewEventRecord => ({
  operatorDid: e.operatorDid,
  eventType: e.eventType as ReviewEventType,
  ...(e.reviewOutcome ? { reviewOutcome: e.reviewOutcome as ReviewOutcome } : {}),
  ...(e.signalCode ? { signalCode: e.signalCode } : {}),
  ...(e.intentId ? { intentId: e.intentId } : {}),
  ...(e.providerEventId ? { providerEventId: e.providerEventId } : {}),
  summary: e.summary,
  recordedAt: e.recordedAt.toISOString(),
  accepted: e.accepted,
});

/**
 * Review events in recorded order: the whole tenant log, or what one operator's view needs (its
 * own events plus every label of the tenant, which the gate's reliability reads).
 */
export async function reviewEvents(db: Tx, tenantId: string, operatorDid?: string): Promise<ReviewEventRecord[]> {
  const rows = await db.signalReviewEvent.findMany({
    where: { tenantId, ...(operatorDid ? { OR: [{ operatorDid }, { eventType: 'review_outcome_recorded' }] } : {}) },
    orderBy: [{ recordedAt: 'asc' }, { seq: 'asc' }],
  });
  return rows.map(reviewRecord);
}

export async function gateMode(db: Tx, tenantId: string): Promise<ReleaseGateMode> {
  const row = await db.signalReleaseGate.findUnique({ where: { tenantId } });
  return (row?.mode as ReleaseGateMode | undefined) ?? 'review_only';
}

/** The tenant's ledger head (seq 0 and the genesis hash before its first event). */
export async function ledgerHead(db: Tx, tenantId: string): Promise<Watermark> {
  const head = await db.ledgerHead.findUnique({ where: { tenantId } });
  if (!head || head.seq === 0) return { seq: 0, hash: GENESIS_HASH, occurredAt: '' };
  const event = await db.ledgerEvent.findUnique({ where: { tenantId_seq: { tenantId, seq: head.seq } }, select: { occurredAt: true } });
  return { seq: head.seq, hash: head.hash, occurredAt: event?.occurredAt ?? '' };
}

/** Whether Signal has seen the operator in this tenant (it was the payee of an intent). */
export async function operatorKnown(db: Tx, tenantId: string, operatorDid: string): Promise<boolean> {
  return (await db.signalIntent.findFirst({ where: { tenantId, operatorDid }, select: { intentId: true } })) !== null;
}

export const latestSnapshot = (db: Tx, tenantId: string, operatorDid: string, scoreVersion: string) =>
  db.signalScoreSnapshot.findFirst({ where: { tenantId, operatorDid, scoreVersion }, orderBy: { receiptVersion: 'desc' } });

/** The latest snapshot of every operator of the tenant, by DID. */
export const latestSnapshots = (db: Tx, tenantId: string, scoreVersion: string) =>
  db.signalScoreSnapshot.findMany({ where: { tenantId, scoreVersion }, orderBy: [{ operatorDid: 'asc' }, { receiptVersion: 'desc' }], distinct: ['operatorDid'] });
