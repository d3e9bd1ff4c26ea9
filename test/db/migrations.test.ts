import { describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/adapters.ts';
import { applyMigrations, createMigration, diagnose, listMigrations, pendingMigrations } from '../../src/db/migrate.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';

describe('offline migrations', () => {
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
      expect(await applyMigrations(handle.factory)).toEqual(migrationDirectories.map((d) => d.path));
      expect(await pendingMigrations(query)).toEqual([]);
      expect(await applyMigrations(handle.factory)).toEqual([]);
      const status = await diagnose(handle.factory);
      expect(status).toMatchObject({ failedMigrationNames: [], editedMigrationNames: [], hasMigrationsTable: true });
    } finally {
      await db.$disconnect();
      await handle.close();
    }
  });
});
