import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestGateway, isPostgres, rest, testConfig, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { fundedIntent, harborActor, type HarborActor } from '../helpers/harbor.ts';
import { appendLedgerEvent, verifyLedgerChain } from '../../src/areas/harbor/ledger.ts';
import { openSql, prismaSql, TRANSACTION_OPTIONS } from '../../src/db.ts';
import { inRequestTransaction } from '../../src/db/request-transaction.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

async function chainOf(events: number): Promise<HarborActor> {
  const actor = await harborActor(gw, await createOrg(gw));
  for (let i = 0; i < events / 2; i++) await fundedIntent(gw, actor);
  return actor;
}

/** Tamper as an attacker with database access would: bypass the append-only trigger. */
async function tamper(sql: string, ...params: unknown[]) {
  await gw.runtime.db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('ALTER TABLE "LedgerEvent" DISABLE TRIGGER "LedgerEvent_append_only"');
    await tx.$executeRawUnsafe(sql, ...params);
    await tx.$executeRawUnsafe('ALTER TABLE "LedgerEvent" ENABLE TRIGGER "LedgerEvent_append_only"');
  });
}

describe('hash-chained ledger', () => {
  it('an untouched chain passes, per tenant, via REST and GraphQL', async () => {
    const actor = await chainOf(6);
    const report = await verifyLedgerChain(prismaSql(gw.runtime.db), actor.tenantId);
    expect(report).toMatchObject({ ok: true, eventsChecked: 6, headSeq: 6, firstBreak: null });
    const res = await rest(gw, 'GET', '/v1/compliance/ledger/verify', undefined, { token: actor.token });
    expect(res.body).toMatchObject({ tenant_id: actor.tenantId, status: 'pass', events_checked: 6, head_seq: 6, first_break: null });
  });

  it('an append after a rolled-back savepoint of the same request transaction locks and links afresh', async () => {
    // The rollback undoes the first append and releases the head lock it took; the request then goes on.
    const actor = await chainOf(2);
    const ctx = { runtime: gw.runtime, requestId: 'savepoint-test', principal: null };
    const append = (tx: Parameters<typeof appendLedgerEvent>[0], type: string) => appendLedgerEvent(tx, ctx, { tenantId: actor.tenantId, intentId: null, type, payload: {} });
    await inRequestTransaction(
      gw.runtime.db,
      async () => {
        await expect(gw.runtime.db.$transaction(async (tx) => {
          await append(tx, 'test.rolled_back');
          throw new Error('fails after its append');
        })).rejects.toThrow('fails after its append');
        await gw.runtime.db.$transaction((tx) => append(tx, 'test.kept'));
      },
      TRANSACTION_OPTIONS,
    );
    const events = await gw.runtime.db.ledgerEvent.findMany({ where: { tenantId: actor.tenantId }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'intent.created'], [2, 'funding.succeeded'], [3, 'test.kept']]);
    expect(await verifyLedgerChain(prismaSql(gw.runtime.db), actor.tenantId)).toMatchObject({ ok: true, headSeq: 3 });
  });

  it('the database refuses updates and deletes', async () => {
    const actor = await chainOf(2);
    await expect(gw.runtime.db.$executeRawUnsafe('UPDATE "LedgerEvent" SET "amountCents" = 1 WHERE "tenantId" = $1', actor.tenantId)).rejects.toThrow(/append-only/);
    await expect(gw.runtime.db.$executeRawUnsafe('DELETE FROM "LedgerEvent" WHERE "tenantId" = $1', actor.tenantId)).rejects.toThrow(/append-only/);
  });

  it('tampering with one event makes the check fail at exactly that event', async () => {
    const actor = await chainOf(8);
    await tamper('UPDATE "LedgerEvent" SET "amountCents" = "amountCents" + 1 WHERE "tenantId" = $1 AND "seq" = 5', actor.tenantId);
    const report = await verifyLedgerChain(prismaSql(gw.runtime.db), actor.tenantId);
    expect(report).toMatchObject({ ok: false, eventsChecked: 4, firstBreak: { seq: 5, reason: 'event content does not match its hash' } });
    const res = await rest(gw, 'GET', '/v1/compliance/ledger/verify', undefined, { token: actor.token });
    expect(res.body).toMatchObject({ status: 'fail', first_break: { seq: 5 } });
    // Other tenants' chains are unaffected.
    const other = await chainOf(2);
    expect((await verifyLedgerChain(prismaSql(gw.runtime.db), other.tenantId)).ok).toBe(true);
  });

  it('detects a recomputed hash (broken link), a deleted event, and a truncated tip', async () => {
    const relinked = await chainOf(6);
    await tamper(`UPDATE "LedgerEvent" SET "hash" = repeat('a', 64) WHERE "tenantId" = $1 AND "seq" = 3`, relinked.tenantId);
    expect((await verifyLedgerChain(prismaSql(gw.runtime.db), relinked.tenantId)).firstBreak).toMatchObject({ seq: 3 });

    const gap = await chainOf(6);
    await tamper('DELETE FROM "LedgerEvent" WHERE "tenantId" = $1 AND "seq" = 4', gap.tenantId);
    expect((await verifyLedgerChain(prismaSql(gw.runtime.db), gap.tenantId)).firstBreak).toMatchObject({ seq: 4, reason: 'missing event (gap in seq)' });

    const tip = await chainOf(6);
    await tamper('DELETE FROM "LedgerEvent" WHERE "tenantId" = $1 AND "seq" = 6', tip.tenantId);
    expect((await verifyLedgerChain(prismaSql(gw.runtime.db), tip.tenantId)).firstBreak).toMatchObject({ seq: 6 });
  });

  // On PGlite the test database is an in-memory clone no second connection can open; the
  // embedded path of `npm run ledger:verify` is covered end to end in test/e2e/agent-runtime.test.ts.
  it.runIf(isPostgres())('the bare-driver path (npm run ledger:verify) reports exactly what the gateway does', async () => {
    const intact = await chainOf(4);
    const tampered = await chainOf(5);
    await tamper('UPDATE "LedgerEvent" SET "currency" = \'eur\' WHERE "tenantId" = $1 AND "seq" = 2', tampered.tenantId);
    const info = inject('testDatabase');
    const sql = await openSql(testConfig({ DATABASE_URL: info.kind === 'postgres' ? info.url : '' }));
    try {
      for (const { tenantId } of [intact, tampered]) {
        expect(await verifyLedgerChain(sql.query, tenantId)).toEqual(await verifyLedgerChain(prismaSql(gw.runtime.db), tenantId));
      }
      expect(await verifyLedgerChain(sql.query, tampered.tenantId)).toMatchObject({ ok: false, firstBreak: { seq: 2 } });
    } finally {
      await sql.close();
    }
  });
});
