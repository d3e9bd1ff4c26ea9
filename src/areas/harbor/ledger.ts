import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { ServiceContext } from '../../context.ts';
import type { SqlQuery } from '../../db.ts';
import type { Tx } from '../../db.ts';
import { publishDomainEvent } from '../../kernel/events.ts';
import { transactionMemo } from '../../db/request-transaction.ts';
import { GENESIS_HASH, ledgerChainHash, ledgerEventBody, type LedgerEventRecord } from '../../evidence/ledger-format.ts';

export { GENESIS_HASH };

/** The stored event: the exported ledger row format (src/evidence/ledger-format.ts defines its hashed bytes). */
type StoredEvent = LedgerEventRecord;

export interface LedgerEventInput {
  tenantId: string;
  intentId: string | null;
  type: string;
  amountCents?: number | null;
  currency?: string | null;
  payload: unknown;
}

/**
 * Append one event to the tenant's chain, in the caller's transaction (so it commits with the
 * state change it records). The head row is locked for the rest of the transaction, which
 * serialises appends per tenant. There is no update or delete path; the database refuses both.
 */
/** Every string stored in a ledger event: never needs JSON escaping (see SQL_EVENT_BODY). */
const SAFE_VALUE = /^[A-Za-z0-9._:@+-]*$/;

/** Chain heads already locked by a transaction (appends in one transaction reuse the lock). */
const lockedHeads = transactionMemo<{ seq: number; hash: string }>();

async function lockHead(tx: Tx, tenantId: string): Promise<{ seq: number; hash: string }> {
  const held = lockedHeads.get(tx, tenantId);
  if (held) return held;
  const select = () => tx.$queryRaw<Array<{ seq: number; hash: string }>>`SELECT "seq", "hash" FROM "LedgerHead" WHERE "tenantId" = ${tenantId} FOR UPDATE`;
  let [head] = await select();
  if (!head) {
    await tx.$executeRaw`INSERT INTO "LedgerHead" ("tenantId", "seq", "hash") VALUES (${tenantId}, 0, ${GENESIS_HASH}) ON CONFLICT DO NOTHING`;
    [head] = await select();
  }
  lockedHeads.set(tx, tenantId, head!);
  return head!;
}

export async function appendLedgerEvent(tx: Tx, ctx: ServiceContext, input: LedgerEventInput): Promise<StoredEvent> {
  const head = await lockHead(tx, input.tenantId);
  const event = {
    tenantId: input.tenantId,
    seq: head.seq + 1,
    intentId: input.intentId,
    type: input.type,
    amountCents: input.amountCents ?? null,
    currency: input.currency ?? null,
    actorType: ctx.principal?.kind ?? 'system',
    actorId: ctx.principal?.subjectId ?? null,
    payloadDigest: sha256Hex(canonicalJson(input.payload ?? {})),
    occurredAt: ctx.runtime.clock.now().toISOString(),
  };
  for (const value of [event.tenantId, event.intentId, event.type, event.currency, event.actorType, event.actorId]) {
    if (value !== null && !SAFE_VALUE.test(value)) throw new Error(`ledger value outside the safe charset: ${JSON.stringify(value)}`);
  }
  const hash = ledgerChainHash(head.hash, ledgerEventBody(event));
  const stored = { ...event, prevHash: head.hash, hash };
  // The event and the head move in one statement (one round trip); the head row is already locked.
  const moved = await tx.$executeRaw`WITH appended AS (
      INSERT INTO "LedgerEvent" ("id", "tenantId", "seq", "intentId", "type", "amountCents", "currency", "actorType", "actorId", "payloadDigest", "occurredAt", "prevHash", "hash")
      VALUES (${newId('led')}, ${stored.tenantId}, ${stored.seq}, ${stored.intentId}, ${stored.type}, ${stored.amountCents}, ${stored.currency}, ${stored.actorType}, ${stored.actorId}, ${stored.payloadDigest}, ${stored.occurredAt}, ${stored.prevHash}, ${stored.hash})
      RETURNING "tenantId", "seq", "hash")
    UPDATE "LedgerHead" SET "seq" = appended."seq", "hash" = appended."hash" FROM appended WHERE "LedgerHead"."tenantId" = appended."tenantId"`;
  if (moved !== 1) throw new Error(`ledger head of ${input.tenantId} did not move`);
  head.seq = event.seq;
  head.hash = hash;
  await publishDomainEvent(tx, ctx, {
    kind: 'ledger',
    tenantId: stored.tenantId,
    seq: stored.seq,
    hash: stored.hash,
    intentId: stored.intentId,
    type: stored.type,
    amountCents: stored.amountCents,
    currency: stored.currency,
    occurredAt: stored.occurredAt,
    payload: input.payload ?? {},
  });
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
 * The event body of ledgerEventBody(), built by the database for every stored row. Ledger string fields
 * are drawn from a charset that JSON never escapes (SAFE_VALUE, enforced on append), so plain
 * concatenation yields exactly the JCS bytes. Any tampering changes the recomputed hash, however
 * the tampered value is written.
 */
const quoted = (column: string) => `coalesce('"' || "${column}" || '"', 'null')`;
const SQL_EVENT_BODY = `concat('{"actor":{"id":', ${quoted('actorId')}, ',"type":"', "actorType", '"},"amount_cents":', coalesce("amountCents"::text, 'null'),
  ',"currency":', ${quoted('currency')}, ',"intent_id":', ${quoted('intentId')}, ',"occurred_at":"', "occurredAt",
  '","payload_digest_sha256_hex":"', "payloadDigest", '","schema_version":1,"seq":', "seq", ',"tenant_id":"', "tenantId", '","type":"', "type", '"}')`;

const SQL_FIRST_BREAK = `
  WITH walked AS (
    SELECT "seq", "prevHash", "hash",
      lag("hash") OVER chain AS linked_hash,
      lag("seq") OVER chain AS linked_seq,
      encode(sha256(decode("prevHash", 'hex') || convert_to(${SQL_EVENT_BODY}, 'UTF8')), 'hex') AS recomputed
    FROM "LedgerEvent" WHERE "tenantId" = $1
    WINDOW chain AS (ORDER BY "seq"))
  SELECT "seq", "prevHash" AS prev_hash, "hash", linked_hash, linked_seq, recomputed FROM walked
  WHERE "seq" <> coalesce(linked_seq, 0) + 1 OR "prevHash" <> coalesce(linked_hash, '${GENESIS_HASH}') OR recomputed <> "hash"
  ORDER BY "seq" LIMIT 1`;

/**
 * Walk a tenant's chain in seq order, recomputing every hash, and report the first break: a changed
 * event, a missing or reordered seq, a broken link, or a head that does not match the tip. The walk
 * runs inside the database (one streaming pass over the (tenant, seq) index), so nothing is
 * loaded into the application however long the chain is. `query` is Prisma (`prismaSql`) in the
 * gateway, or the bare driver (`openSql`) in `npm run ledger:verify`.
 */
export async function verifyLedgerChain(query: SqlQuery, tenantId: string): Promise<ChainReport> {
  const [broken] = await query<{ seq: number; prev_hash: string; hash: string; linked_hash: string | null; linked_seq: number | null; recomputed: string }>(SQL_FIRST_BREAK, [tenantId]);
  const [tip] = await query<{ count: number; seq: number | null; hash: string | null }>(
    `SELECT count(*)::int AS count, max("seq") AS seq, (SELECT "hash" FROM "LedgerEvent" WHERE "tenantId" = $1 ORDER BY "seq" DESC LIMIT 1) AS hash
     FROM "LedgerEvent" WHERE "tenantId" = $1`,
    [tenantId],
  );
  const [head] = await query<{ seq: number; hash: string }>(`SELECT "seq", "hash" FROM "LedgerHead" WHERE "tenantId" = $1`, [tenantId]);
  if (broken) {
    const expectedSeq = (broken.linked_seq ?? 0) + 1;
    const firstBreak =
      broken.seq !== expectedSeq
        ? { seq: expectedSeq, reason: 'missing event (gap in seq)' }
        : broken.prev_hash !== (broken.linked_hash ?? GENESIS_HASH)
          ? { seq: broken.seq, reason: 'prev_hash does not link to the previous event', expectedHash: broken.linked_hash ?? GENESIS_HASH, storedHash: broken.prev_hash }
          : { seq: broken.seq, reason: 'event content does not match its hash', expectedHash: broken.recomputed, storedHash: broken.hash };
    return { tenantId, ok: false, eventsChecked: firstBreak.seq - 1, headSeq: firstBreak.seq - 1, headHash: broken.linked_hash ?? GENESIS_HASH, firstBreak };
  }
  const lastSeq = tip?.seq ?? 0;
  const lastHash = tip?.hash ?? GENESIS_HASH;
  if (head && (head.seq !== lastSeq || head.hash !== lastHash)) {
    return {
      tenantId,
      ok: false,
      eventsChecked: tip?.count ?? 0,
      headSeq: lastSeq,
      headHash: lastHash,
      firstBreak: { seq: lastSeq + 1, reason: 'chain head does not match the last event (events missing at the tip)', expectedHash: head.hash, storedHash: lastHash },
    };
  }
  return { tenantId, ok: true, eventsChecked: tip?.count ?? 0, headSeq: lastSeq, headHash: lastHash, firstBreak: null };
}
