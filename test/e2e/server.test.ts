import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runScript, startServer } from '../helpers/server.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-e2e-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('a real gateway process on the embedded database', () => {
  it('bootstraps, serves, refuses a second process on the data dir, and shuts down gracefully', async () => {
    const env = { DATA_DIR: dataDir };
    const boot = await runScript(['scripts/bootstrap.ts', '--org', 'E2E Co', '--email', 'admin@e2e.test'], env);
    expect(boot.code, boot.output).toBe(0);
    const apiKey = /paybond_sk_sandbox_\S+/.exec(boot.output)?.[0];
    expect(apiKey).toBeDefined();
    // Secrets are generated once and persisted, never logged.
    const secrets = fs.statSync(path.join(dataDir, 'secrets.json'));
    expect(secrets.mode & 0o077).toBe(0);

    const server = await startServer(env);
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const principal = await fetch(`${server.url}/v1/auth/principal`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(principal.status).toBe(200);
      expect(await principal.json()).toMatchObject({ environment: 'sandbox' });

      const second = await runScript(['scripts/bootstrap.ts', '--org', 'Other', '--email', 'other@e2e.test'], env);
      expect(second.code).toBe(1);
      expect(second.output).toMatch(/in use by process \d+/);
      expect(second.output).not.toMatch(/\bat .*\.ts:\d+/); // a message, not a stack trace

      // An in-flight request finishes during shutdown.
      const slow = fetch(`${server.url}/readyz`);
      const code = await server.stop('SIGTERM');
      expect((await slow).status).toBe(200);
      expect(code).toBe(0);
      expect(server.output()).toContain('stopped');
      expect(server.output()).not.toContain(apiKey!);
      expect(server.output()).not.toMatch(/PRIVATE KEY|server_secret/);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 120_000);

  it('stops with one clear line on a bad setting', async () => {
    const result = await runScript(['dist/main.js'], { PORT: 'abc', DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.output.trim()).toMatch(/^Invalid configuration: PORT /);
    expect(result.output.trim().split('\n')).toHaveLength(1);
  });

});

// PostgreSQL behaviour belongs to the PostgreSQL project (.ci/run sets TEST_DATABASE_URL).
const database = inject('testDatabase');
if (database.kind === 'postgres') {
  describe('a real gateway process on PostgreSQL', () => {
  it('refuses to start with pending migrations unless told to migrate', async () => {
    const url = database.url;
    const name = `paybond_e2e_${Date.now()}`;
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const target = new URL(url);
      target.pathname = `/${name}`;
      const refused = await runScript(['dist/main.js'], { DATABASE_URL: target.toString(), DATA_DIR: dataDir, PORT: '0' });
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/pending migration/);
      const server = await startServer({ DATABASE_URL: target.toString(), DATA_DIR: dataDir, MIGRATE_ON_START: 'true' });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await server.stop()).toBe(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 120_000);
  });
}
