import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { openPglite } from './adapters.ts';
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

/** Equivalent of `prisma migrate deploy`; returns the names it applied. */
export async function applyMigrations(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const migrationsList = await listMigrations();
  return withSchemaEngine(factory, async (engine) => {
    const result = await engine.applyMigrations({ migrationsList, filters });
    return result.appliedMigrationNames;
  });
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
