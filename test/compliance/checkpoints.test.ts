import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { createOrg } from '../helpers/factories.ts';
import { checkpointLedger, checkpointOrigin, checkpointSigner, extendCheckpoint, ledgerEvidence } from '../../src/areas/compliance/checkpoints.ts';
import { ARBITRATION_PACKAGE_KIND, noteVerifier, parseCheckpoint, parseNote, verifyBundle, verifyCheckpoint, writeBundle } from '../../src/evidence/index.ts';
import { appendEvents, tamper, tempFile } from './helpers.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

const tenant = async () => (await createOrg(gw)).tenants.live;
const publicKey = () => new Uint8Array(Buffer.from(gw.runtime.keys.signing.publicKeyHex, 'hex'));
const checkpointsOf = (tenantId: string) => gw.runtime.db.ledgerCheckpoint.findMany({ where: { tenantId }, orderBy: { treeSize: 'asc' } });

describe('ledger checkpoints', () => {
  it('signs the head with the gateway signing key under the tenant origin, and reuses it until the head moves', async () => {
    const tenantId = await tenant();
    await appendEvents(gw, tenantId, 5);
    const first = await checkpointLedger(gw.runtime, tenantId, 'export');
    const cp = verifyCheckpoint(first.checkpoint.note, noteVerifier(checkpointOrigin(gw.runtime.config, tenantId), publicKey()));
    expect(cp.treeSize).toBe(5);
    expect(Buffer.from(cp.rootHash).equals(Buffer.from(first.tree.root()))).toBe(true);
    expect(first.previousCheckpoints).toEqual([]);
    const again = await checkpointLedger(gw.runtime, tenantId, 'export');
    expect(again.checkpoint.id).toBe(first.checkpoint.id);
    await appendEvents(gw, tenantId, 2);
    const later = await checkpointLedger(gw.runtime, tenantId, 'verifier_pack');
    expect(later.checkpoint.treeSize).toBe(7);
    expect(later.previousCheckpoints).toEqual([first.checkpoint.note]);
    expect((await checkpointsOf(tenantId)).map((c) => [c.treeSize, c.reason])).toEqual([[5, 'export'], [7, 'verifier_pack']]);
  });

  it('extends the newest checkpoint from its stored subtree roots to the same root a full rebuild gives', async () => {
    const tenantId = await tenant();
    expect(await extendCheckpoint(gw.runtime, tenantId, 'scheduled')).toBeNull();
    await appendEvents(gw, tenantId, 3);
    const a = await extendCheckpoint(gw.runtime, tenantId, 'scheduled');
    expect(a?.treeSize).toBe(3);
    expect(await extendCheckpoint(gw.runtime, tenantId, 'scheduled')).toBeNull();
    await appendEvents(gw, tenantId, 10);
    const b = (await extendCheckpoint(gw.runtime, tenantId, 'scheduled'))!;
    const rebuilt = await checkpointLedger(gw.runtime, tenantId, 'export');
    expect(rebuilt.checkpoint.id).toBe(b.id);
    expect(b.treeSize).toBe(13);
    expect(b.rootHash).toBe(Buffer.from(rebuilt.tree.root()).toString('base64'));
  });

  it('is append-only in the database', async () => {
    const tenantId = await tenant();
    await appendEvents(gw, tenantId, 1);
    await checkpointLedger(gw.runtime, tenantId, 'export');
    await expect(gw.runtime.db.$executeRawUnsafe('UPDATE "LedgerCheckpoint" SET "reason" = $2 WHERE "tenantId" = $1', tenantId, 'x')).rejects.toThrow(/append-only/);
    await expect(gw.runtime.db.$executeRawUnsafe('DELETE FROM "LedgerCheckpoint" WHERE "tenantId" = $1', tenantId)).rejects.toThrow(/append-only/);
  });

  it('refuses to re-sign a ledger whose checkpointed events were changed, and stored subtree roots that do not fold to the signed root', async () => {
    const tenantId = await tenant();
    await appendEvents(gw, tenantId, 4);
    await checkpointLedger(gw.runtime, tenantId, 'export');
    await tamper(gw, 'LedgerEvent', `UPDATE "LedgerEvent" SET "hash" = repeat('b', 64) WHERE "tenantId" = $1 AND "seq" = 2`, tenantId);
    await expect(checkpointLedger(gw.runtime, tenantId, 'export')).rejects.toMatchObject({ code: 'ledger_checkpoint_mismatch' });

    const other = await tenant();
    await appendEvents(gw, other, 4);
    await extendCheckpoint(gw.runtime, other, 'scheduled');
    await tamper(gw, 'LedgerCheckpoint', `UPDATE "LedgerCheckpoint" SET "subtrees" = ARRAY[repeat('c', 64)] WHERE "tenantId" = $1`, other);
    await appendEvents(gw, other, 1);
    await expect(extendCheckpoint(gw.runtime, other, 'scheduled')).rejects.toMatchObject({ code: 'ledger_checkpoint_mismatch' });
  });

  it('reports a gap below the head instead of signing a tree without it', async () => {
    const tenantId = await tenant();
    await appendEvents(gw, tenantId, 3);
    await tamper(gw, 'LedgerEvent', 'DELETE FROM "LedgerEvent" WHERE "tenantId" = $1 AND "seq" = 2', tenantId);
    await expect(checkpointLedger(gw.runtime, tenantId, 'export')).rejects.toMatchObject({ code: 'ledger_incomplete' });
    expect(await checkpointsOf(tenantId)).toEqual([]);
  });
});

describe('ledgerEvidence (for arbitration packages)', () => {
  it('gives one intent’s events with inclusion proofs against a fresh checkpoint, and older checkpoints with consistency proofs', async () => {
    const tenantId = await tenant();
    const intentId = randomUUID();
    await appendEvents(gw, tenantId, 3);
    await checkpointLedger(gw.runtime, tenantId, 'export');
    await appendEvents(gw, tenantId, 2, intentId);
    await appendEvents(gw, tenantId, 2);
    await appendEvents(gw, tenantId, 1, intentId);
    const ledger = await ledgerEvidence(gw.runtime, tenantId, { intentId });
    expect(parseCheckpoint(parseNote(ledger.checkpoint).text).treeSize).toBe(8);
    const file = tempFile('package.zip');
    await writeBundle(
      {
        kind: ARBITRATION_PACKAGE_KIND,
        tenantRealmId: tenantId,
        jobId: 'case_1',
        generatedAt: new Date(),
        gatewayBuildVersion: 'test',
        scoreModelVersion: 'none',
        disclosureTier: 'standard',
        redactionProfile: 'standard_v1',
        exportFilter: { case_id: 'case_1' },
        artifacts: [],
        ledger,
        signer: checkpointSigner(gw.runtime),
      },
      file,
    );
    const report = await verifyBundle(file, { publicKey: publicKey() });
    expect(report.failures).toEqual([]);
    expect(report.ledger).toEqual({ events: 3, proofMode: 'inclusion', previousCheckpoints: 1 });
  });
});
