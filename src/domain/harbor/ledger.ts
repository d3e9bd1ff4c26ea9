import { createHash } from 'node:crypto';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { ServiceContext } from '../../context.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Tx } from '../audit/service.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface LedgerEventInput {
  tenantId: string;
  intentId: string | null;
  type: string;
  amountCents?: number | null;
  currency?: string | null;
  payload: unknown;
}

interface StoredEvent {
  tenantId: string;
  seq: number;
  intentId: string | null;
  type: string;
  amountCents: number | null;
  currency: string | null;
  actorType: string;
  actorId: string | null;
  payloadDigest: string;
  occurredAt: string;
  prevHash: string;
  hash: string;
}

/** The exact bytes that are hashed: JCS of these fields. Never change their set or meaning. */
export function eventBody(e: Omit<StoredEvent, 'prevHash' | 'hash'>): string {
  return canonicalJson({
    schema_version: 1,
    tenant_id: e.tenantId,
    seq: e.seq,
    intent_id: e.intentId,
    type: e.type,
    amount_cents: e.amountCents,
    currency: e.currency,
    actor: { type: e.actorType, id: e.actorId },
    payload_digest_sha256_hex: e.payloadDigest,
    occurred_at: e.occurredAt,
  });
}

/** hash = SHA-256(prev_hash bytes || JCS(event)). */
export const chainHash = (prevHash: string, body: string): string =>
  createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(body, 'utf8').digest('hex');

/**
 * Append one event to the tenant's chain, in the caller's transaction (so it commits with the
 * state change it records). The head row is locked for the rest of the transaction, which
 * serialises appends per tenant. There is no update or delete path; the database refuses both.
 */
export async function appendLedgerEvent(tx: Tx, ctx: ServiceContext, input: LedgerEventInput): Promise<StoredEvent> {
  await tx.$executeRaw`INSERT INTO "LedgerHead" ("tenantId", "seq", "hash") VALUES (${input.tenantId}, 0, ${GENESIS_HASH}) ON CONFLICT DO NOTHING`;
  const [head] = await tx.$queryRaw<Array<{ seq: number; hash: string }>>`SELECT "seq", "hash" FROM "LedgerHead" WHERE "tenantId" = ${input.tenantId} FOR UPDATE`;
  const event = {
    tenantId: input.tenantId,
    seq: head!.seq + 1,
    intentId: input.intentId,
    type: input.type,
    amountCents: input.amountCents ?? null,
    currency: input.currency ?? null,
    actorType: ctx.principal?.kind ?? 'system',
    actorId: ctx.principal?.subjectId ?? null,
    payloadDigest: sha256Hex(canonicalJson(input.payload ?? {})),
    occurredAt: ctx.runtime.clock.now().toISOString(),
  };
  const hash = chainHash(head!.hash, eventBody(event));
  const stored = { ...event, prevHash: head!.hash, hash };
  await tx.ledgerEvent.create({ data: { id: newId('led'), ...stored } });
  await tx.ledgerHead.update({ where: { tenantId: input.tenantId }, data: { seq: event.seq, hash } });
  return stored;
}

export interface ChainReport {
  tenantId: string;
  ok: boolean;
  eventsChecked: number;
  headSeq: number;
  headHash: string;
  firstBreak: { seq: number; reason: string; expectedHash?: string; storedHash?: string } | null;
}

/**
 * Walk a tenant's chain in seq order, recomputing every hash; report the first break (a changed
 * event, a missing or reordered seq, a broken link, or a head that does not match the tip).
 * Streams in batches, so memory stays flat however long the chain is.
 */
export async function verifyLedgerChain(db: PrismaClient, tenantId: string, batchSize = 5000): Promise<ChainReport> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  const fail = (seq: number, reason: string, extra: Partial<NonNullable<ChainReport['firstBreak']>> = {}): ChainReport => ({
    tenantId,
    ok: false,
    eventsChecked: checked,
    headSeq: expectedSeq - 1,
    headHash: prevHash,
    firstBreak: { seq, reason, ...extra },
  });
  for (;;) {
    const batch = await db.ledgerEvent.findMany({
      where: { tenantId, seq: { gte: expectedSeq } },
      orderBy: { seq: 'asc' },
      take: batchSize,
      select: {
        tenantId: true, seq: true, intentId: true, type: true, amountCents: true, currency: true, actorType: true,
        actorId: true, payloadDigest: true, occurredAt: true, prevHash: true, hash: true,
      },
    });
    for (const e of batch) {
      if (e.seq !== expectedSeq) return fail(expectedSeq, 'missing event (gap in seq)');
      if (e.prevHash !== prevHash) return fail(e.seq, 'prev_hash does not link to the previous event', { expectedHash: prevHash, storedHash: e.prevHash });
      const recomputed = chainHash(prevHash, eventBody(e));
      if (recomputed !== e.hash) return fail(e.seq, 'event content does not match its hash', { expectedHash: recomputed, storedHash: e.hash });
      prevHash = e.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (batch.length < batchSize) break;
  }
  const head = await db.ledgerHead.findUnique({ where: { tenantId } });
  if (head && (head.seq !== expectedSeq - 1 || head.hash !== prevHash)) {
    return fail(expectedSeq, 'chain head does not match the last event (events missing at the tip)', { expectedHash: head.hash, storedHash: prevHash });
  }
  return { tenantId, ok: true, eventsChecked: checked, headSeq: expectedSeq - 1, headHash: prevHash, firstBreak: null };
}
