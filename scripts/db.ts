/**
 * Offline migration CLI (no native Prisma engine):
 *   npm run db:migrate               apply pending migrations to the configured database
 *   npm run db:migration -- <name>   create a migration from schema changes (needs no database)
 *   npm run db:status                applied, pending, failed and edited migrations
 */
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { openPglite, openPostgres, type AdapterHandle } from '../src/db/adapters.ts';
import { applyMigrations, createMigration, diagnose, finishedMigrations, listMigrations } from '../src/db/migrate.ts';
import { lockDataDir } from '../src/db.ts';
import { progress, runCommand, UsageError } from './cli.ts';

const usage = `usage:
  npm run db:migrate               apply pending migrations to DATABASE_URL (or the embedded database)
  npm run db:migration -- <name>   create prisma/migrations/<timestamp>_<name> from schema changes
  npm run db:status                applied, pending, failed and edited migrations`;

async function open(): Promise<{ handle: AdapterHandle; where: string; release: () => void }> {
  const config = loadConfig();
  if (config.database.kind === 'postgres') {
    const url = new URL(config.database.url);
    return { handle: await openPostgres(config.database.url, 2), where: `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}`, release: () => {} };
  }
  const release = config.database.dir ? lockDataDir(path.dirname(config.database.dir)) : () => {};
  return { handle: await openPglite(config.database.dir), where: `embedded database ${config.database.dir ?? '(memory)'}`, release };
}

async function status(handle: AdapterHandle, where: string) {
  const { migrationDirectories } = await listMigrations();
  const applied = new Set(await finishedMigrations(handle));
  const report = await diagnose(handle.factory);
  const names = migrationDirectories.map((d) => d.path);
  const pending = names.filter((n) => !applied.has(n));
  const lines = [
    `Database    ${where}`,
    `Migrations  ${names.length} in prisma/migrations, ${names.length - pending.length} applied`,
    `Pending     ${pending.length ? `${pending.join(', ')} (npm run db:migrate)` : 'none'}`,
    `Failed      ${report.failedMigrationNames.length ? report.failedMigrationNames.join(', ') : 'none'}`,
    `Edited      ${report.editedMigrationNames.length ? `${report.editedMigrationNames.join(', ')} (changed after they were applied)` : 'none'}`,
  ];
  if (!report.hasMigrationsTable) lines.push('The database has no migration history yet: npm run db:migrate creates it.');
  console.log(lines.join('\n'));
  return report.failedMigrationNames.length || report.editedMigrationNames.length ? 1 : 0;
}

runCommand({
  usage,
  positionals: true,
  options: {},
  async run({ positionals: [command, name, ...rest] }) {
    if (rest.length) throw new UsageError(`Unexpected argument ${rest[0]}`);
    if (command === 'create') {
      if (!name) throw new UsageError('Name the migration: npm run db:migration -- add_widgets');
      progress('diffing prisma/schema.prisma against prisma/migrations');
      const dir = await createMigration(name);
      console.log(dir ? `Created ${path.relative(process.cwd(), dir)}/migration.sql` : 'No schema changes.');
      return 0;
    }
    if (command !== 'deploy' && command !== 'status') throw new UsageError(`Unknown command ${command ?? '(none)'}`);
    const { handle, where, release } = await open();
    try {
      if (command === 'status') return await status(handle, where);
      const applied = await applyMigrations(handle);
      console.log(applied.length ? `Applied to ${where}: ${applied.join(', ')}` : `No pending migrations (${where}).`);
      return 0;
    } finally {
      await handle.close();
      release();
    }
  },
});
