import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { PrismaClient, type Prisma } from './generated/prisma/client.ts';
import { openPglite, openPostgres, type AdapterHandle } from './db/adapters.ts';
import { applyMigrations, pendingMigrations } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { metrics } from './kernel/metrics.ts';

/** A transaction client: what every write inside `db.$transaction` receives. */
export type Tx = Prisma.TransactionClient;

export class StartupError extends Error {}

/**
 * The embedded database has one connection: under load a transaction may wait its turn well past
 * Prisma's 2 s default. Waiting is correct there; failing the request is not.
 */
export const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 15_000 };

/**
 * PGlite is one process per data directory. A lock file holding our pid makes a second process
 * (a second server, or `npm run bootstrap` while the server runs) stop with a clear message.
 */
export function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'paybond.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new StartupError(
          `The embedded database in ${dir} is in use by process ${holder} (a running gateway?). ` +
            'Stop it first, or point DATABASE_URL at PostgreSQL to run several processes.',
        );
      }
      fs.rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new StartupError(`Could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One parameterized statement ($1, $2…) → its rows. */
export type SqlQuery = <T>(sql: string, params: unknown[]) => Promise<T[]>;

export const prismaSql =
  (db: PrismaClient): SqlQuery =>
  (sql, params) =>
    db.$queryRawUnsafe(sql, ...params);

/**
 * The configured database through its bare driver, without Prisma or a migration check: for
 * read-only operator tools (ledger verification) that must stay small. The embedded database is
 * locked like a server start, so it cannot run beside a gateway on the same data directory.
 */
export async function openSql(config: Config): Promise<{ query: SqlQuery; close(): Promise<void> }> {
  if (config.database.kind === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const dir = config.database.dir;
    const unlock = dir ? lockDataDir(path.dirname(dir)) : () => {};
    try {
      const pglite = await PGlite.create({ dataDir: dir });
      return {
        query: async <T>(sql: string, params: unknown[]) => (await pglite.query<T>(sql, params)).rows,
        close: async () => {
          await pglite.close();
          unlock();
        },
      };
    } catch (error) {
      unlock();
      throw error;
    }
  }
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: config.database.url, max: 1 });
  return { query: async <T>(sql: string, params: unknown[]) => (await pool.query(sql, params)).rows as T[], close: () => pool.end() };
}

export interface Database {
  db: PrismaClient;
  handle: AdapterHandle;
  close(): Promise<void>;
}

/** The Prisma client on an adapter, with statement latency reported to the metrics. */
export function newPrismaClient(handle: AdapterHandle): PrismaClient {
  const db = new PrismaClient({ adapter: handle.factory, transactionOptions: TRANSACTION_OPTIONS, log: [{ emit: 'event', level: 'query' }] });
  db.$on('query', (event) => metrics.dbQueryDuration.observe(event.duration / 1000));
  return db;
}

/** host:port/database of a connection URL, never its credentials. */
const safeLocation = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
};

/** What went wrong reaching the database, in one line (the driver's own words, no credentials). */
const describeDbError = (error: unknown): string => {
  const e = error as { meta?: { driverAdapterError?: { cause?: { kind?: string; originalMessage?: string } } }; message?: string };
  const cause = e.meta?.driverAdapterError?.cause;
  if (cause?.kind) return cause.originalMessage ? `${cause.kind}: ${cause.originalMessage}` : cause.kind;
  return (e.message ?? String(error)).trim().split('\n').at(-1)!;
};

/** Open the configured database, apply or check migrations, and return a Prisma client on it. */
export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let unlock = () => {};
  let handle: AdapterHandle;
  if (config.database.kind === 'pglite') {
    if (config.database.dir) unlock = lockDataDir(path.dirname(config.database.dir));
    try {
      handle = await openPglite(config.database.dir);
    } catch (error) {
      unlock();
      throw new StartupError(`Could not open the embedded database in ${config.database.dir ?? 'memory'}: ${(error as Error).message}`);
    }
  } else {
    handle = await openPostgres(config.database.url, config.DATABASE_POOL_SIZE);
  }
  const db = newPrismaClient(handle);
  const close = async () => {
    await db.$disconnect().catch(() => undefined);
    await handle.close().catch(() => undefined);
    unlock();
  };
  try {
    await db.$queryRawUnsafe('SELECT 1').catch((error: unknown) => {
      throw new StartupError(`Cannot reach the database${config.database.kind === 'postgres' ? ` at ${safeLocation(config.database.url)}` : ''}: ${describeDbError(error)}`);
    });
    const pending = await pendingMigrations((sql) => db.$queryRawUnsafe(sql));
    if (pending.length && config.migrateOnStart) {
      const applied = await applyMigrations(handle);
      if (applied.length) log.info({ migrations: applied }, 'database migrated');
    } else if (pending.length) {
      throw new StartupError(
        `The database has ${pending.length} pending migration(s) (${pending.join(', ')}). ` +
          'Run `npm run db:migrate` or start with MIGRATE_ON_START=true.',
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { db, handle, close };
}
