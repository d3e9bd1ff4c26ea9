import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { openPglite, type AdapterHandle } from './adapters.ts';
import { projectRoot } from '../paths.ts';

/**
 * Prisma migrations without Prisma's native schema engine: the same engine compiled to WASM
 * (@prisma/schema-engine-wasm), talking to the database through our driver adapter.
 */

const require = createRequire(import.meta.url);
export const schemaPath = path.join(projectRoot, 'prisma/schema.prisma');
export const migrationsDir = path.join(projectRoot, 'prisma/migrations');
const filters = { externalTables: [], externalEnums: [] };

type EngineRuntime = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');
type SchemaEngine = Awaited<ReturnType<EngineRuntime['SchemaEngine']['new']>>;

// The bindings module is shared by everything in the process, so the WASM behind it must be
// instantiated once per process (not once per copy of this module, e.g. per test project).
const RUNTIME_KEY = Symbol.for('paybond.schema-engine-wasm');
function loadRuntime(): Promise<EngineRuntime> {
  const holder = globalThis as unknown as Record<symbol, Promise<EngineRuntime> | undefined>;
  holder[RUNTIME_KEY] ??= (async () => {
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const module = new WebAssembly.Module(await fs.readFile(wasmPath));
    const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': bindings as never });
    const exports = instance.exports as { __wbindgen_start(): void };
    bindings.__wbg_set_wasm(exports);
    exports.__wbindgen_start();
    return bindings;
  })();
  return holder[RUNTIME_KEY];
}

async function schemaFiles(): Promise<Array<{ path: string; content: string }>> {
  return [{ path: schemaPath, content: await fs.readFile(schemaPath, 'utf8') }];
}

export async function listMigrations(dir = migrationsDir) {
  const lockPath = path.join(dir, 'migration_lock.toml');
  const names = existsSync(dir)
    ? (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? await fs.readFile(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await fs.readFile(path.join(dir, name, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

/** Run `fn` with a schema engine connected through `factory`; closes what the engine opened. */
export async function withSchemaEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const bindings = await loadRuntime();
  // The engine does not dispose the connections it opens; track and close them ourselves.
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = Object.create(factory);
  tracked.connect = async () => {
    const connection = await factory.connect();
    opened.push(connection);
    return connection;
  };
  tracked.connectToShadowDb = async () => {
    const connection = await factory.connectToShadowDb();
    opened.push(connection);
    return connection;
  };
  const bound = bindMigrationAwareSqlAdapterFactory(tracked);
  const log = (line: string) => {
    if (process.env.DEBUG_SCHEMA_ENGINE) process.stderr.write(`${line}\n`);
  };
  const files = await schemaFiles();
  const engine = await bindings.SchemaEngine.new(
    { datamodels: files.map((f) => [f.path, f.content]) },
    log,
    bound as never,
  );
  try {
    return await fn(engine);
  } catch (error) {
    // Driver errors reach us as "External error id#N"; attach the real cause.
    const match = /External error id#(\d+)/.exec((error as Error)?.message ?? '');
    const external = match ? bound.errorRegistry.consumeError(Number(match[1])) : undefined;
    if (external && error instanceof Error) {
      const cause = external.error as { message?: string; cause?: { message?: string } };
      error.message += `\nDatabase error: ${cause?.cause?.message ?? cause?.message ?? JSON.stringify(cause)}`;
    }
    throw error;
  } finally {
    engine.free();
    for (const connection of opened) await connection.dispose().catch(() => undefined);
  }
}

/** `_prisma_migrations` exactly as Prisma creates it, so Prisma's own tools read our history. */
const HISTORY_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {}

/** Advisory lock key serialising migrators (any constant; "PBMG"). */
const MIGRATION_LOCK = 0x50424d47;

/**
 * Equivalent of `prisma migrate deploy`; returns the names it applied. Each pending migration runs
 * as one script in its own transaction together with its history row (PostgreSQL DDL is
 * transactional), so a failing migration leaves nothing behind. History rows carry the same
 * checksum (SHA-256 of migration.sql) Prisma writes, and an applied migration whose file changed
 * since is refused, as Prisma does. Done directly rather than through the schema engine: loading
 * the engine costs most of a first start (see `npm run bootstrap`), and applying SQL files needs
 * nothing of it; migrations are still created and diagnosed by the engine.
 */
/** One connection, held for the whole run (an advisory lock belongs to its session). */
interface MigrationSession {
  exec(script: string): Promise<void>;
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

async function openSession(handle: AdapterHandle): Promise<MigrationSession> {
  if (handle.pglite) {
    const pglite = handle.pglite;
    return { exec: async (script) => void (await pglite.exec(script)), rows: async (sql) => (await pglite.query<Record<string, unknown>>(sql)).rows, close: async () => {} };
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: handle.url });
  await client.connect();
  return { exec: async (script) => void (await client.query(script)), rows: async (sql) => (await client.query(sql)).rows, close: () => client.end() };
}

/** Names of the migrations recorded as finished (empty when there is no history table yet). */
export async function finishedMigrations(handle: AdapterHandle): Promise<string[]> {
  const session = await openSession(handle);
  try {
    const rows = await session.rows('SELECT "migration_name" FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL').catch(() => []);
    return rows.map((r) => String(r.migration_name));
  } finally {
    await session.close();
  }
}

export async function applyMigrations(handle: AdapterHandle, dir = migrationsDir): Promise<string[]> {
  const { migrationDirectories } = await listMigrations(dir);
  const session = await openSession(handle);
  try {
    // Two nodes starting with MIGRATE_ON_START take turns; the second then finds nothing pending.
    await session.exec(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
    await session.exec(HISTORY_TABLE);
    const rows = await session.rows('SELECT "migration_name", "checksum", "finished_at", "rolled_back_at" FROM "_prisma_migrations"');
    const history = new Map(rows.map((r) => [String(r.migration_name), { checksum: String(r.checksum), finished: r.finished_at !== null, rolledBack: r.rolled_back_at !== null }]));
    const applied: string[] = [];
    for (const migration of migrationDirectories) {
      const sql = migration.migrationFile.content.value;
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = history.get(migration.path);
      if (previous?.finished) {
        if (previous.checksum !== checksum) throw new MigrationError(`Migration ${migration.path} was changed after it was applied; restore its migration.sql.`);
        continue;
      }
      if (previous && !previous.rolledBack) throw new MigrationError(`Migration ${migration.path} failed earlier; resolve it before applying more (see npm run db:status).`);
      if (!/^[0-9a-z_]+$/.test(migration.path)) throw new MigrationError(`Migration folder names are [0-9a-z_] only: ${migration.path}`);
      await session
        .exec(
          `BEGIN;\n${sql}\n;\nINSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "applied_steps_count") VALUES ('${randomUUID()}', '${checksum}', now(), '${migration.path}', 1);\nCOMMIT;`,
        )
        .catch(async (error: unknown) => {
          await session.exec('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`Migration ${migration.path} failed and was rolled back: ${(error as Error).message}`);
        });
      applied.push(migration.path);
    }
    return applied;
  } finally {
    await session.exec(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => undefined);
    await session.close();
  }
}

/** Migration folder names not yet recorded as finished in `_prisma_migrations`. */
export async function pendingMigrations(
  query: (sql: string) => Promise<Array<{ migration_name: string }>>,
): Promise<string[]> {
  const { migrationDirectories } = await listMigrations();
  let applied: Set<string>;
  try {
    const rows = await query('SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL');
    applied = new Set(rows.map((r) => r.migration_name));
  } catch {
    applied = new Set();
  }
  return migrationDirectories.map((d) => d.path).filter((name) => !applied.has(name));
}

/**
 * New migration = diff(existing migrations replayed into an in-memory PGlite → schema).
 * Needs no real database. Returns the created folder, or null when nothing changed.
 */
export async function createMigration(name: string, now = new Date()): Promise<string | null> {
  const scratch = await openPglite();
  try {
    const migrationsList = await listMigrations();
    const files = await schemaFiles();
    const sql = await withSchemaEngine(scratch.factory, async (engine) => {
      if (migrationsList.migrationDirectories.length) await engine.applyMigrations({ migrationsList, filters });
      const diff = await engine.diff({
        from: { tag: 'schemaDatasource', files, configDir: path.dirname(schemaPath) },
        to: { tag: 'schemaDatamodel', files },
        script: true,
        exitCode: true,
        filters,
      } as never);
      return diff.exitCode === 0 ? null : diff.stdout;
    });
    if (!sql) return null;
    const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = path.join(migrationsDir, `${stamp}_${name.replace(/\W+/g, '_')}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'migration.sql'), sql);
    const lock = path.join(migrationsDir, 'migration_lock.toml');
    if (!existsSync(lock)) {
      await fs.writeFile(lock, '# Managed by npm run db:migration; keep in version control.\nprovider = "postgresql"\n');
    }
    return dir;
  } finally {
    await scratch.close();
  }
}

/** Migration status as the engine sees it (drift, failed or pending migrations). */
export async function diagnose(factory: SqlMigrationAwareDriverAdapterFactory) {
  const migrationsList = await listMigrations();
  return withSchemaEngine(factory, (engine) =>
    engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters } as never),
  );
}
