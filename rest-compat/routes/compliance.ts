import { Readable } from 'node:stream';
import { z } from 'zod';
import { auditExportCreateInput, authorizeDownload, EXPORT_DOWNLOADER, exportStatus } from '../../src/areas/compliance/jobs.ts';
import { verifierPack } from '../../src/areas/compliance/checkpoints.ts';
import { chunkReader } from '../../src/areas/compliance/storage.ts';
import { recordAudit } from '../../src/kernel/audit/service.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';
import { countRouteGroup } from '../../src/plugins/rate-limits.ts';
import { rateLimitHeaders, type LimitState } from '../../src/kernel/limits/limiter.ts';

const rateLimitHeadersOf = (state: LimitState | null) => (state ? rateLimitHeaders(state) : {});
import { handler, operation, snakeFields, type HandlerRoute, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const tag = 'Compliance exports and ledger verification';
const USER_ERRORS = 'userErrors { code message field details }';
const example = { params: { job_id: 'exp_0123456789abcdef01234567' } };

/** One job as the SDK reads it: `id` (and `job_id`), its status, tier, times, digests and where to download. */
const JOB = `id: jobId ${snakeFields('jobId status tenantRealmId disclosureTier filter retentionHours error attempts manifestSha256 bundleSha256 bundleSizeBytes checkpointTreeSize downloadPath createdAt startedAt completedAt expiresAt deletedAt')}`;
const DOWNLOAD = `${snakeFields('downloadToken downloadTokenExpiresAt')}`;
/** `{ "job": { …job, download_token, download_token_expires_at } }`, the form the SDK reads first. */
const JOB_SHAPE = { spread: ['job'], wrap: 'job' };

const VERIFICATION = `${snakeFields('ok status format checks signingPublicKeyHex')}
  failures { file row check message }
  manifest { ${snakeFields('kind tenantRealmId jobId generatedAt disclosureTier')} }
  checkpoint { ${snakeFields('origin treeSize rootHashBase64 time verifierKey')} }
  ledger { ${snakeFields('events proofMode previousCheckpoints')} }
  artifacts { ${snakeFields('path role rows sizeBytes')} }`;

/** The download token arrives as ?token= (links) or as Authorization: Bearer (the SDK's CLI). */
function downloadToken(request: Request): string | null {
  const query = new URL(request.url).searchParams.get('token');
  if (query) return query;
  return /^Bearer[ ]+(\S+)$/i.exec(request.headers.get('authorization')?.trim() ?? '')?.[1] ?? null;
}

const bundleDownload = (method: 'GET' | 'POST'): HandlerRoute =>
  handler({
    method,
    path: '/v1/compliance/audit-exports/{job_id}/bundle',
    summary:
      method === 'GET'
        ? 'Download the export’s ZIP with its download token (?token=…): Content-Length, Content-Disposition and ETag (the bundle SHA-256) set.'
        : 'Download the export’s ZIP with its download token sent as Authorization: Bearer (as the Paybond CLI does).',
    tag,
    auth: PUBLIC,
    ownCredential: true,
    response: z.string(),
    contentType: 'application/zip',
    errors: [401, 404, 409, 410, 429],
    example: { ...example, query: { token: 'download token from POST /v1/compliance/audit-exports' } },
    handle: async (input, { runtime, requestId, request }) => {
      const job = await authorizeDownload({ runtime }, downloadToken(request), input.params.job_id!);
      const ctx = { runtime, requestId, principal: null };
      const limits = rateLimitHeadersOf(await countRouteGroup(runtime, ctx, job.tenantId, 'compliance_bundle_download'));
      const etag = `"${job.bundleSha256}"`;
      const headers = {
        ...limits,
        'content-type': 'application/zip',
        'content-length': String(job.bundleSizeBytes),
        'content-disposition': `attachment; filename="paybond-audit-export-${job.id}.zip"`,
        etag,
        'cache-control': 'private, no-store',
      };
      if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } });
      if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
      await recordAudit(runtime.db, ctx, {
        tenantId: job.tenantId,
        eventType: 'compliance.export_downloaded',
        resource: 'audit_export',
        resourceId: job.id,
        actor: { type: 'download_token', id: null },
        details: { bundle_sha256: job.bundleSha256, bundle_size_bytes: job.bundleSizeBytes },
      });
      const body = Readable.toWeb(chunkReader(runtime.db, { jobId: job.id, attempt: job.attempts })) as ReadableStream<Uint8Array>;
      return new Response(body, { status: 200, headers });
    },
  });

export const complianceRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/v1/compliance/audit-exports',
    summary: 'Create an export job (a signed ZIP of the filtered records, built by the gateway) and return it with a short-lived download token.',
    tag,
    body: auditExportCreateInput,
    example: { body: { filter: { time_start: '2026-01-01T00:00:00Z', includes: ['audit', 'ledger', 'harbor'] }, disclosure_tier: 'standard', retention_hours: 168 } },
    errors: [422],
    status: 201,
    operation: `mutation($input: AuditExportCreateInput!) { auditExportCreate(input: $input) { job { ${JOB} } ${DOWNLOAD} ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: JOB_SHAPE,
  }),
  operation({
    method: 'GET',
    path: '/v1/compliance/audit-exports',
    summary: 'List the tenant’s export jobs, newest first (limit, cursor; status).',
    tag,
    query: pageQuery.extend({
      limit: z.coerce.number().int().min(1).max(200).optional(),
      status: exportStatus.optional(),
    }),
    operation: `query($first: Int, $after: String, $status: AuditExportStatus) { auditExports(first: $first, after: $after, status: $status) {
      tenant_realm_id: tenantRealmId edges { node { ${JOB} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => ({ ...pageVariables(query), status: query.status }),
    shape: { page: 'jobs' },
  }),
  operation({
    method: 'GET',
    path: '/v1/compliance/audit-exports/{job_id}',
    summary: 'One export job; ?issue_download=1 mints a fresh download token (pending, running or ready jobs).',
    tag,
    query: z.object({ issue_download: z.enum(['0', '1', 'true', 'false']).optional() }),
    example,
    errors: [404],
    operation: `query($jobId: String!, $issueDownload: Boolean) { auditExport(jobId: $jobId, issueDownload: $issueDownload) { job { ${JOB} } ${DOWNLOAD} } }`,
    variables: ({ params, query }) => ({ jobId: params.job_id, issueDownload: query.issue_download === '1' || query.issue_download === 'true' }),
    shape: JOB_SHAPE,
  }),
  operation({
    method: 'POST',
    path: '/v1/compliance/audit-exports/{job_id}/verify',
    summary: 'Re-verify the stored ZIP (its SHA-256 and size against the job), the signed manifest, every listed artifact digest and the ledger proofs; reports each check.',
    tag,
    example,
    errors: [404, 409, 410],
    operation: `query($jobId: String!) { auditExportVerification(jobId: $jobId) { ${VERIFICATION} } }`,
    variables: ({ params }) => ({ jobId: params.job_id }),
  }),
  operation({
    method: 'DELETE',
    path: '/v1/compliance/audit-exports/{job_id}',
    summary: 'Revoke the job and remove the stored bundle; its download tokens answer 410 from then on.',
    tag,
    example,
    errors: [404],
    operation: `mutation($jobId: String!) { auditExportDelete(jobId: $jobId) { job { ${JOB} } ${USER_ERRORS} } }`,
    variables: ({ params }) => ({ jobId: params.job_id }),
    shape: { pick: 'job' },
  }),
  bundleDownload('GET'),
  bundleDownload('POST'),
  handler({
    method: 'GET',
    path: '/v1/compliance/ledger/verifier-pack',
    summary: 'Download the tenant’s current ledger verifier pack (JSONL: signed checkpoint, every event, older checkpoints with consistency proofs) for paybond-verify.',
    tag,
    auth: EXPORT_DOWNLOADER,
    errors: [429],
    response: z.string(),
    contentType: 'application/jsonl',
    handle: async (_input, { runtime, requestId, principal }) => {
      const tenantId = principal!.tenantId;
      const limits = rateLimitHeadersOf(await countRouteGroup(runtime, { runtime, requestId, principal }, tenantId, 'compliance_bundle_download'));
      const { stream, header } = await verifierPack(runtime, tenantId);
      const size = header.event_count;
      return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
        status: 200,
        headers: {
          ...limits,
          'content-type': 'application/jsonl',
          'content-disposition': `attachment; filename="paybond-verifier-pack-${tenantId}-${size}.jsonl"`,
          'cache-control': 'private, no-store',
        },
      });
    },
  }),
  operation({
    method: 'POST',
    path: '/v1/compliance/ledger/verifier-pack/verify',
    summary: 'Re-verify an uploaded verifier pack (the JSONL file as the body) against the gateway’s key, without reading the live ledger.',
    tag,
    upload: 'application/jsonl',
    errors: [413, 422],
    operation: `query($pack: String!) { ledgerVerifierPackVerification(pack: $pack) { ${VERIFICATION} } }`,
    variables: ({ upload }) => ({ pack: upload ?? '' }),
  }),
];
