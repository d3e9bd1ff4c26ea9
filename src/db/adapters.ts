import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

export type DatabaseKind = 'pglite' | 'postgres';

/** A driver-adapter factory plus what it takes to close the connection(s) behind it. */
export interface AdapterHandle {
  kind: DatabaseKind;
  factory: SqlMigrationAwareDriverAdapterFactory;
  /** Set for PGlite: the embedded instance (tests clone it; shutdown closes it). */
  pglite?: PGlite;
  /** Set for PostgreSQL: where it is (migrations take a connection of their own). */
  url?: string;
  close(): Promise<void>;
}

/**
 * Open the embedded database. `dataDir` undefined = in memory; `loadDataDir` restores a dump
 * (tests clone one migrated template per file this way).
 */
export async function openPglite(dataDir?: string, loadDataDir?: Blob): Promise<AdapterHandle> {
  if (dataDir) fs.mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
  const pglite = await PGlite.create({ dataDir, loadDataDir });
  const factory = new PrismaPGlite(pglite);
  const connect = factory.connect.bind(factory);
  // pglite-prisma-adapter 0.7.2 runs executeScript() without awaiting exec(), so a failing
  // migration would be reported as applied. Await it and route the error through onError.
  factory.connect = async () => {
    const adapter = (await connect()) as SqlDriverAdapter & { onError(e: unknown): never };
    adapter.executeScript = (script: string) =>
      pglite.exec(script).then(
        () => undefined,
        (error: unknown) => adapter.onError(error),
      );
    return adapter;
  };
  return { kind: 'pglite', factory, pglite, close: () => pglite.close() };
}

export async function openPostgres(connectionString: string, poolSize?: number): Promise<AdapterHandle> {
  // Loaded on demand: the embedded default never pays for the PostgreSQL driver.
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const factory = new PrismaPg({ connectionString, max: poolSize });
  const connect = factory.connect.bind(factory);
  // adapter-pg 7.10 rejects the catalog type "char" (oid 18) that schema introspection reads;
  // present it as text. Application queries never select that type.
  factory.connect = async () => {
    const adapter = await connect();
    const io = adapter as unknown as { performIO(query: unknown): Promise<{ fields: Array<{ dataTypeID: number }> }> };
    // adapter-pg splits scripts on ";", which breaks dollar-quoted function bodies in migrations.
    // PostgreSQL's simple query protocol runs a multi-statement script as it is.
    const driver = adapter as unknown as { underlyingDriver(): { query(sql: string): Promise<unknown> }; onError(e: unknown): never };
    adapter.executeScript = async (script: string) => {
      try {
        await driver.underlyingDriver().query(script);
      } catch (error) {
        driver.onError(error);
      }
    };
    const performIO = io.performIO.bind(adapter);
    io.performIO = async (query) => {
      const result = await performIO(query);
      for (const field of result.fields) if (field.dataTypeID === 18) field.dataTypeID = 25;
      return result;
    };
    return adapter;
  };
  return { kind: 'postgres', factory, url: connectionString, close: async () => {} };
}
