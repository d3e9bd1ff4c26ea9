import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyBundle } from '../../src/evidence/bundle.ts';
import { checkManifestSignature, manifestSignedPayload } from '../../src/evidence/manifest.ts';
import { readZip } from './zip-tools.ts';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/kit');
const sdk = JSON.parse(fs.readFileSync(path.join(dir, 'sdk-check.json'), 'utf8')) as {
  sdk_result: { verified: boolean; job_id: string; tenant_realm_id: string; manifest_kind: string };
  sdk_core_payload: string;
  sdk_core_sha256: string;
  tampered: Array<{ change: string; manifest: Record<string, unknown>; sdk_verified: boolean }>;
};

describe('agreement with the Paybond Kit SDK offline check (recorded fixture)', () => {
  it('the SDK verified the bundle; so does paybond-verify, fully', async () => {
    expect(sdk.sdk_result.verified).toBe(true);
    const report = await verifyBundle(path.join(dir, 'audit-export.zip'));
    expect(report.failures).toEqual([]);
    expect(report.manifest).toMatchObject({ jobId: sdk.sdk_result.job_id, tenantRealmId: sdk.sdk_result.tenant_realm_id, kind: sdk.sdk_result.manifest_kind });
  });

  it('our signed payload is byte for byte the SDK core, and its digest is signed_payload_sha256_hex', async () => {
    const manifest = JSON.parse((await readZip(path.join(dir, 'audit-export.zip'))).find((e) => e.name === 'manifest.json')!.data.toString('utf8')) as Record<string, unknown>;
    expect(manifestSignedPayload(manifest)).toBe(sdk.sdk_core_payload);
    expect(manifest.signed_payload_sha256_hex).toBe(sdk.sdk_core_sha256);
    expect(checkManifestSignature(manifest)).toBeNull();
  });

  it('every manifest the SDK rejected, we reject too', () => {
    expect(sdk.tampered.length).toBeGreaterThan(0);
    for (const t of sdk.tampered) {
      expect(t.sdk_verified, t.change).toBe(false);
      expect(checkManifestSignature(t.manifest), t.change).not.toBeNull();
    }
  });
});
