import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openPglite, openPostgres } from '../../src/db/adapters.ts';
import { applyMigrations } from '../../src/db/migrate.ts';

export type TestDatabaseInfo = { kind: 'pglite'; template: string } | { kind: 'postgres'; url: string };

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: TestDatabaseInfo;
    testDir: string;
  }
}

/**
 * Once per run and project. Embedded: migrate an in-memory PGlite and dump it as a template that
 * each test file clones (fast, fully isolated). PostgreSQL: a fresh database for this run, dropped
 * at the end. Values reach the tests through provide/inject, so the two projects never mix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-test-'));
  project.provide('testDir', dir);
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (project.name === 'postgres') {
    if (!serverUrl) throw new Error('the postgres project needs TEST_DATABASE_URL');
    const name = `paybond_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    // Databases of runs that died before their teardown (older than an hour).
    const stale = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'paybond_test_%'");
    for (const { datname } of stale.rows) {
      const started = Number(datname.split('_')[2]);
      if (started && Date.now() - started > 3600_000) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const handle = await openPostgres(url.toString(), 2);
    await applyMigrations(handle);
    project.provide('testDatabase', { kind: 'postgres', url: url.toString() });
    return async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const template = await openPglite();
  await applyMigrations(template);
  const dump = await template.pglite!.dumpDataDir('none');
  const file = path.join(dir, 'template.tar');
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await template.close();
  project.provide('testDatabase', { kind: 'pglite', template: file });
  return async () => fs.rmSync(dir, { recursive: true, force: true });
}
