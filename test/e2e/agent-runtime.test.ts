import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript, startServer, type RunningServer } from '../helpers/server.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-agent-e2e-'));
let server: RunningServer | undefined;
afterAll(async () => {
  await server?.stop('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function json(url: string, init: RequestInit & { token?: string } = {}) {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers as object) },
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('examples/agent-runtime.ts against a real server', () => {
  it('a human signs in, turns on Agent Security Mode, issues a PAT; the example agent pays', async () => {
    const password = 'e2e-password-123456';
    const boot = await runScript(['scripts/bootstrap.ts', '--org', 'Runtime Co', '--email', 'admin@runtime.test', '--password', password], { DATA_DIR: dataDir });
    expect(boot.code, boot.output).toBe(0);
    server = await startServer({ DATA_DIR: dataDir });
    const base = server.url;

    const start = await json(`${base}/v1/public/auth/login/start`, { method: 'POST', body: JSON.stringify({ email: 'admin@runtime.test', password }) });
    expect(start.status).toBe(202);
    let code: string | undefined;
    for (let i = 0; i < 50 && !code; i++) {
      const outbox = path.join(dataDir, 'outbox');
      const files = fs.existsSync(outbox) ? fs.readdirSync(outbox) : [];
      code = files.map((f) => /Your code is (\d{8})/.exec(fs.readFileSync(path.join(outbox, f), 'utf8'))?.[1]).find(Boolean);
      if (!code) await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBeDefined();
    const session = await json(`${base}/v1/public/auth/challenges/verify`, { method: 'POST', body: JSON.stringify({ challenge_id: start.body.challenge_id, code }) });
    expect(session.status).toBe(200);
    const token = session.body.access_token;
    expect((await json(`${base}/api/agent/security-mode`, { method: 'POST', token, body: JSON.stringify({ enabled: true }) })).status).toBe(200);
    const pat = await json(`${base}/api/agent/pats`, { method: 'POST', token, body: JSON.stringify({ name: 'example runtime', expiresInDays: 1 }) });
    expect(pat.status).toBe(201);

    const run = await runScript(['examples/agent-runtime.ts'], { GATEWAY_URL: base, PAYBOND_PAT: pat.body.token });
    expect(run.code, run.output).toBe(0);
    const result = JSON.parse(run.output.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({ state: 'funded', funded: true, amount_cents: 1250, currency: 'usd' });

    const intent = await json(`${base}/harbor/operator/v1/intents/${result.intent_id}`, { token });
    expect(intent.body).toMatchObject({ source: 'agent_checkout', state: 'funded' });
    expect(server.output()).not.toContain(pat.body.token);
  }, 120_000);

  it('npm run ledger:verify checks the ledgers on the data dir, refuses a held database, and reports tampering', async () => {
    const held = await runScript(['scripts/ledger-verify.ts'], { DATA_DIR: dataDir });
    expect(held.code, held.output).toBe(2);
    expect(held.output).toMatch(/in use by process/);
    await server!.stop();
    server = undefined;

    const intact = await runScript(['scripts/ledger-verify.ts'], { DATA_DIR: dataDir });
    expect(intact.code, intact.output).toBe(0);
    const jsonLines = (output: string) => output.split('\n').filter((line) => line.startsWith('{'));
    const reports = jsonLines(intact.output).map((line) => JSON.parse(line));
    expect(reports.length).toBeGreaterThan(0);
    for (const report of reports) expect(report).toMatchObject({ ok: true, firstBreak: null });
    const paid = reports.find((r) => r.eventsChecked > 0);
    expect(paid).toBeDefined();

    const pglite = await PGlite.create({ dataDir: path.join(dataDir, 'pglite') });
    await pglite.transaction(async (tx) => {
      await tx.exec('ALTER TABLE "LedgerEvent" DISABLE TRIGGER "LedgerEvent_append_only"');
      await tx.query('UPDATE "LedgerEvent" SET "amountCents" = 1 WHERE "tenantId" = $1 AND "seq" = 1', [paid.tenantId]);
      await tx.exec('ALTER TABLE "LedgerEvent" ENABLE TRIGGER "LedgerEvent_append_only"');
    });
    await pglite.close();
    const broken = await runScript(['scripts/ledger-verify.ts', '--tenant', paid.tenantId], { DATA_DIR: dataDir });
    expect(broken.code, broken.output).toBe(1);
    expect(JSON.parse(jsonLines(broken.output)[0]!)).toMatchObject({ tenantId: paid.tenantId, ok: false, firstBreak: { seq: 1, reason: 'event content does not match its hash' } });
  }, 120_000);
});
