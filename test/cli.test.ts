import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The operator commands as a user runs them: npm scripts, real processes, an embedded database of their own. */
const root = path.join(import.meta.dirname, '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-cli-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync('node', ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: '', ...env },
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('operator commands', { timeout: 180_000 }, () => {
  it.each(['bootstrap', 'admin', 'db', 'ledger-verify'])('%s --help prints its usage and exits 0', (script) => {
    const res = run(script, ['--help']);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^usage:/);
  });

  it('answers a user mistake with one line and its usage, never a stack trace (exit 2)', () => {
    for (const [script, args] of [
      ['bootstrap', ['--bogus']],
      ['bootstrap', ['--org', 'A', '--email', 'not-an-email']],
      ['admin', ['frobnicate', '--tenant', 't', '--as', 'a@b.test']],
      ['admin', ['pat', '--tenant', 't', '--as', 'a@b.test']],
      ['ledger-verify', ['extra']],
    ] as const) {
      const res = run(script, [...args]);
      expect(res.code, `${script} ${args.join(' ')}: ${res.err}`).toBe(2);
      expect(res.err).not.toMatch(/\n\s+at /);
    }
  });

  it('bootstraps an organization, then creates a PAT for an agent with no hand-written HTTP', () => {
    const boot = run('bootstrap', ['--org', 'Acme', '--email', 'ops@acme.test']);
    expect(boot.code, boot.err).toBe(0);
    expect(boot.out).toMatch(/paybond_sk_sandbox_key_/);
    expect(boot.err).toMatch(/opening the embedded database/);
    const tenant = /sandbox (ten_\w+)/.exec(boot.out)![1]!;
    const pat = run('admin', ['pat', '--tenant', tenant, '--as', 'ops@acme.test', '--name', 'my agent', '--enable-agent-mode']);
    expect(pat.code, pat.err).toBe(0);
    expect(pat.out).toMatch(/Agent Security Mode is on/);
    expect(pat.out).toMatch(/paybond_pat_\w+/);
    const key = run('admin', ['api-key', '--tenant', tenant, '--as', 'ops@acme.test', '--name', 'ci']);
    expect(key.out).toMatch(/paybond_sk_sandbox_key_/);
    const stranger = run('admin', ['api-key', '--tenant', tenant, '--as', 'nobody@acme.test', '--name', 'x']);
    expect(stranger.code).toBe(2);
    expect(stranger.err).toMatch(/is not a tenant admin/);
  }, 240_000);

  it('says an unreachable database is unreachable (not "pending migrations")', () => {
    const res = run('admin', ['api-key', '--tenant', 't', '--as', 'a@b.test', '--name', 'x'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' });
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/Cannot reach the database at 127\.0\.0\.1:1\/nothing/);
    expect(res.err).not.toMatch(/pending migration|\n\s+at /);
  });
});
