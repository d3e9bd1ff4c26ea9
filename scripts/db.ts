/**
 * Offline migration CLI (no native Prisma engine):
 *   npm run db:migrate               apply pending migrations to the configured database
 *   npm run db:migration -- <name>   create a migration from schema changes (needs no database)
 *   npm run db:status                report applied/pending migrations and drift
 */
import { loadConfig, ConfigError } from '../src/config.ts';
import { openPglite, openPostgres, type AdapterHandle } from '../src/db/adapters.ts';
import { applyMigrations, createMigration, diagnose } from '../src/db/migrate.ts';
import { lockDataDir, StartupError } from '../src/db.ts';
import path from 'node:path';

async function open(): Promise<{ handle: AdapterHandle; release: () => void }> {
  const config = loadConfig();
  if (config.database.kind === 'postgres') return { handle: await openPostgres(config.database.url, 2), release: () => {} };
  const release = config.database.dir ? lockDataDir(path.dirname(config.database.dir)) : () => {};
  return { handle: await openPglite(config.database.dir), release };
}

async function main(): Promise<number> {
  const [command, name] = process.argv.slice(2);
  switch (command) {
    case 'create': {
      if (!name) {
        console.error('usage: npm run db:migration -- <name>');
        return 2;
      }
      const dir = await createMigration(name);
      console.log(dir ? `Created ${path.relative(process.cwd(), dir)}/migration.sql` : 'No schema changes.');
      return 0;
    }
    case 'deploy':
    case 'status': {
      const { handle, release } = await open();
      try {
        if (command === 'deploy') {
          const applied = await applyMigrations(handle);
          console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
        } else {
          console.log(JSON.stringify(await diagnose(handle.factory), null, 2));
        }
      } finally {
        await handle.close();
        release();
      }
      return 0;
    }
    default:
      console.error('usage: scripts/db.ts deploy | create <name> | status');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof ConfigError || error instanceof StartupError ? error.message : error);
    process.exit(1);
  },
);
