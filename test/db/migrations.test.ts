import { describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/adapters.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations, createMigration, diagnose, listMigrations, MigrationError, pendingMigrations } from '../../src/db/migrate.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';

describe('offline migrations', { timeout: 120_000 }, () => {
  it('schema.prisma and prisma/migrations agree (no migration would be created)', async () => {
    expect(await createMigration('drift_check')).toBeNull();
  });

  it('applies every migration to an empty database, reports none pending, and is idempotent', async () => {
    const handle = await openPglite();
    const db = new PrismaClient({ adapter: handle.factory });
    try {
      const { migrationDirectories } = await listMigrations();
      const query = (sql: string) => db.$queryRawUnsafe<Array<{ migration_name: string }>>(sql);
      expect(await pendingMigrations(query)).toEqual(migrationDirectories.map((d) => d.path));
      expect(await applyMigrations(handle)).toEqual(migrationDirectories.map((d) => d.path));
      expect(await pendingMigrations(query)).toEqual([]);
      expect(await applyMigrations(handle)).toEqual([]);
      const status = await diagnose(handle.factory);
      expect(status).toMatchObject({ failedMigrationNames: [], editedMigrationNames: [], hasMigrationsTable: true });
    } finally {
      await db.$disconnect();
      await handle.close();
    }
  });

  it('rolls a failing migration back whole and refuses one changed after it was applied', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-migrations-'));
    const write = (name: string, sql: string) => {
      fs.mkdirSync(path.join(dir, name), { recursive: true });
      fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
    };
    const handle = await openPglite();
    try {
      write('20260101000000_one', 'CREATE TABLE "A" ("id" TEXT PRIMARY KEY);');
      write('20260102000000_two', 'CREATE TABLE "B" ("id" TEXT PRIMARY KEY);\nINSERT INTO "Missing" VALUES (1);');
      await expect(applyMigrations(handle, dir)).rejects.toThrow(/20260102000000_two failed and was rolled back/);
      const tables = (await handle.pglite!.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.t);
      expect(tables).toEqual(['A', '_prisma_migrations']);
      write('20260102000000_two', 'CREATE TABLE "B" ("id" TEXT PRIMARY KEY);');
      expect(await applyMigrations(handle, dir)).toEqual(['20260102000000_two']);
      write('20260101000000_one', 'CREATE TABLE "A" ("id" TEXT PRIMARY KEY, "x" INT);');
      await expect(applyMigrations(handle, dir)).rejects.toBeInstanceOf(MigrationError);
    } finally {
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
