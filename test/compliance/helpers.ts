import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { appendLedgerEvent } from '../../src/areas/harbor/ledger.ts';
import { rest, type TestGateway } from '../helpers/gateway.ts';
import { jobsSettled } from '../../src/areas/compliance/runner.ts';
import { CHUNK_BYTES } from '../../src/areas/compliance/storage.ts';

/** Append `n` ledger events for `tenantId` (one transaction each, as Harbor writes them). */
export async function appendEvents(gw: TestGateway, tenantId: string, n: number, intentId: string | null = randomUUID()): Promise<void> {
  const ctx = { runtime: gw.runtime, principal: null, requestId: 'test' };
  for (let i = 0; i < n; i++) {
    await gw.runtime.db.$transaction((tx) =>
      appendLedgerEvent(tx, ctx, { tenantId, intentId, type: i % 2 ? 'intent.funded' : 'intent.created', amountCents: 100 + i, currency: 'usd', payload: { i } }),
    );
  }
}

/** Tamper as an attacker with database access would: bypass an append-only trigger. */
export async function tamper(gw: TestGateway, table: 'LedgerEvent' | 'LedgerCheckpoint', sql: string, ...params: unknown[]) {
  await gw.runtime.db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`ALTER TABLE "${table}" DISABLE TRIGGER "${table}_append_only"`);
    await tx.$executeRawUnsafe(sql, ...params);
    await tx.$executeRawUnsafe(`ALTER TABLE "${table}" ENABLE TRIGGER "${table}_append_only"`);
  });
}

export const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-compliance-')), name);

export interface ExportJob {
  id: string;
  status: string;
  tenant_realm_id: string;
  disclosure_tier: string;
  expires_at: string;
  created_at: string;
  manifest_sha256: string | null;
  bundle_sha256: string | null;
  bundle_size_bytes: number | null;
  download_token: string | null;
  download_token_expires_at: string | null;
  download_path: string;
  error: string | null;
  attempts: number;
}

/**
 * Wait until a job is built or failed. On PostgreSQL every test file's gateway shares the database,
 * so another file's node may be the one building it: wait for the row, not only for this node.
 */
export async function waitUntilBuilt(gw: TestGateway, jobId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await jobsSettled(gw.runtime);
    const { status } = await gw.runtime.db.complianceExportJob.findUniqueOrThrow({ where: { id: jobId } });
    if (status !== 'pending' && status !== 'running') return;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** POST /v1/compliance/audit-exports, then wait until it is built; returns the job as created and as built. */
export async function exportAndWait(gw: TestGateway, token: string, body: Record<string, unknown> = { filter: {} }) {
  const created = await rest<{ job: ExportJob }>(gw, 'POST', '/v1/compliance/audit-exports', body, { token });
  if (created.status !== 201) throw new Error(`create export: ${created.status} ${JSON.stringify(created.body)}`);
  await waitUntilBuilt(gw, created.body.job.id);
  const built = await rest<{ job: ExportJob }>(gw, 'GET', `/v1/compliance/audit-exports/${created.body.job.id}`, undefined, { token });
  return { created: created.body.job, job: built.body.job };
}

/** GET the bundle with a download token (raw bytes; `rest` would decode them as text). */
export async function download(gw: TestGateway, jobId: string, token: string, init: { method?: string; bearer?: boolean; headers?: Record<string, string> } = {}) {
  const url = `http://gateway/v1/compliance/audit-exports/${jobId}/bundle${init.bearer ? '' : `?token=${encodeURIComponent(token)}`}`;
  const headers = { ...init.headers, ...(init.bearer ? { authorization: `Bearer ${token}` } : {}) };
  const response = await gw.app.fetch(url, { method: init.method ?? 'GET', headers });
  const bytes = Buffer.from(await response.arrayBuffer());
  const json = response.headers.get('content-type')?.includes('json') ? JSON.parse(bytes.toString('utf8')) : undefined;
  return { status: response.status, headers: response.headers, bytes, body: json };
}

/** Replace a ready job's stored bundle (as someone with database access could). */
export async function storeBundle(gw: TestGateway, jobId: string, bytes: Buffer): Promise<void> {
  const job = await gw.runtime.db.complianceExportJob.findUniqueOrThrow({ where: { id: jobId } });
  await gw.runtime.db.complianceExportChunk.deleteMany({ where: { jobId } });
  for (let seq = 0, at = 0; at < bytes.length; seq++, at += CHUNK_BYTES) {
    await gw.runtime.db.complianceExportChunk.create({ data: { jobId, attempt: job.attempts, seq, data: new Uint8Array(bytes.subarray(at, at + CHUNK_BYTES)) } });
  }
}

export const writeTemp = (name: string, bytes: Buffer) => {
  const file = tempFile(name);
  fs.writeFileSync(file, bytes);
  return file;
};
