import { z } from 'zod';
import type { ComplianceExportJob } from '../../generated/prisma/client.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { newId } from '../../crypto/hash.ts';
import { signToken, verifyToken, type IssuedToken } from '../../crypto/jwt.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { isTenantAdmin } from '../../kernel/roles.ts';
import type { FieldPolicy } from '../../kernel/policy.ts';
import { disclosureTier, exportFilter, filterToJson } from './artifacts.ts';
import { abortLocalJob, startJobs } from './runner.ts';
import { deleteChunks } from './storage.ts';
import './errors.ts';

export const exportStatus = describedEnum('AuditExportStatus', 'Where an export job is.', {
  pending: 'Waiting for a node to build it.',
  running: 'Being built.',
  ready: 'Built: download it with a download token.',
  failed: 'Could not be built; error names the reason.',
  expired: 'Its retention ended: the bundle was deleted.',
  deleted: 'Deleted on request: the bundle was removed and its download tokens stopped working.',
});
export type ExportStatus = z.infer<typeof exportStatus>;

export const auditExportCreateInput = z
  .object({
    filter: exportFilter.default({}).describe('What to export; every field given narrows it.'),
    disclosureTier: disclosureTier.default('standard').describe('standard (default) or extended (tenant admins only).'),
    retentionHours: z.number().int().min(1).max(720).default(168).describe('Hours the bundle is kept before the gateway deletes it (default 168, at most 720).'),
  })
  .refine((input) => !input.filter.timeStart || !input.filter.timeEnd || Date.parse(input.filter.timeStart) < Date.parse(input.filter.timeEnd), {
    message: 'time_end must be after time_start',
    path: ['filter', 'timeEnd'],
  });
export type AuditExportCreateInput = z.infer<typeof auditExportCreateInput>;

type Ctx = ServiceContext & { principal: Principal };

/** Compliance data is for the tenant's people and machines, never for agents or their PATs. */
export const EXPORT_READER: FieldPolicy = { principals: ['user', 'api_key', 'harbor'], scope: 'harbor:read' };
export const EXPORT_WRITER: FieldPolicy = { ...EXPORT_READER, scope: 'harbor:write' };
/** Reading a whole bundle or pack back (download, verification) is counted like a download. */
export const EXPORT_DOWNLOADER: FieldPolicy = { ...EXPORT_READER, rateLimit: 'compliance_bundle_download' };

/** Download tokens: their own JWT kind, bound to one job, its tenant and this purpose; minutes long. */
const DOWNLOAD_TOKEN_KIND = 'export_download';
const DOWNLOAD_PURPOSE = 'compliance_bundle_download';
export const DOWNLOAD_TOKEN_TTL_SECONDS = 600;

export const downloadPath = (jobId: string) => `/v1/compliance/audit-exports/${encodeURIComponent(jobId)}/bundle`;

/** Jobs whose bundle may still be downloaded (or soon): a download token is worth minting for them. */
const LIVE: ReadonlySet<string> = new Set(['pending', 'running', 'ready']);

export function mintDownloadToken(ctx: Pick<ServiceContext, 'runtime'>, job: ComplianceExportJob): Promise<IssuedToken> {
  return signToken(ctx.runtime.keys, DOWNLOAD_TOKEN_KIND, { sub: job.id, tid: job.tenantId, pur: DOWNLOAD_PURPOSE }, ctx.runtime.clock.now(), DOWNLOAD_TOKEN_TTL_SECONDS);
}

export interface IssuedExport {
  job: ComplianceExportJob;
  download: IssuedToken | null;
}

/** Queue an export (audited with it) and start building it on this node; any node may finish it. */
export async function createExport(ctx: Ctx, input: AuditExportCreateInput): Promise<IssuedExport> {
  const { runtime, principal } = ctx;
  if (input.disclosureTier === 'extended' && !isTenantAdmin(principal)) {
    throw new DomainError('forbidden', 'The extended disclosure tier needs a tenant admin (tenant_admin role or tenant.admin entitlement)');
  }
  const now = runtime.clock.now();
  const filter = filterToJson(input.filter);
  const job = await runtime.db.$transaction(async (tx) => {
    const created = await tx.complianceExportJob.create({
      data: {
        id: newId('exp'),
        tenantId: principal.tenantId,
        status: 'pending',
        disclosureTier: input.disclosureTier,
        filter,
        retentionHours: input.retentionHours,
        requestedBy: `${principal.kind}:${principal.subjectId}`,
        createdAt: now,
        expiresAt: new Date(now.getTime() + input.retentionHours * 3600_000),
      },
    });
    await recordAudit(tx, ctx, {
      tenantId: principal.tenantId,
      eventType: 'compliance.export_created',
      resource: 'audit_export',
      resourceId: created.id,
      details: { disclosure_tier: input.disclosureTier, retention_hours: input.retentionHours, filter },
    });
    return created;
  });
  startJobs(runtime);
  return { job, download: await mintDownloadToken(ctx, job) };
}

export function findExport(ctx: Ctx, jobId: string): Promise<ComplianceExportJob | null> {
  return ctx.runtime.db.complianceExportJob.findFirst({ where: { id: jobId, tenantId: ctx.principal.tenantId } });
}

/** A job of the caller's tenant, with a fresh download token when asked for and the job is live. */
export async function getExport(ctx: Ctx, jobId: string, issueDownload: boolean): Promise<IssuedExport | null> {
  const job = await findExport(ctx, jobId);
  if (!job) return null;
  return { job, download: issueDownload && LIVE.has(job.status) ? await mintDownloadToken(ctx, job) : null };
}

/**
 * Revoke a job: its status becomes deleted (audited), its bundle rows go, its download tokens
 * answer 410 from then on, and a node still building it stops at its next lease renewal.
 * Deleting a deleted job answers it again.
 */
export async function deleteExport(ctx: Ctx, jobId: string): Promise<ComplianceExportJob> {
  const { runtime, principal } = ctx;
  const job = await runtime.db.$transaction(async (tx) => {
    const current = await tx.complianceExportJob.findFirst({ where: { id: jobId, tenantId: principal.tenantId } });
    if (!current) throw new DomainError('not_found', 'No such export');
    if (current.status === 'deleted') return current;
    const deleted = await tx.complianceExportJob.update({
      where: { id: jobId },
      data: { status: 'deleted', deletedAt: runtime.clock.now(), leaseOwner: null, leaseExpiresAt: null },
    });
    await recordAudit(tx, ctx, { tenantId: principal.tenantId, eventType: 'compliance.export_deleted', resource: 'audit_export', resourceId: jobId, details: { previous_status: current.status } });
    return deleted;
  });
  abortLocalJob(runtime, jobId);
  await deleteChunks(runtime.db, jobId);
  return job;
}

/**
 * The job a download token opens, when its bundle can be read: 401 for a missing, malformed,
 * foreign-purpose or expired token; 404 for a token of another job (or tenant); 410 once the job
 * is deleted or expired; 409 while it is not ready.
 */
export async function authorizeDownload(ctx: Pick<ServiceContext, 'runtime'>, token: string | null, jobId: string): Promise<ComplianceExportJob> {
  if (!token) throw new DomainError('download_token_invalid', 'Send the download token as ?token= or Authorization: Bearer');
  let claims: { sub: string; tid?: unknown; pur?: unknown };
  try {
    claims = await verifyToken<{ tid?: unknown; pur?: unknown }>(ctx.runtime.keys, DOWNLOAD_TOKEN_KIND, token, ctx.runtime.clock.now());
  } catch (error) {
    if (error instanceof DomainError && error.code === 'token_expired') {
      throw new DomainError('download_token_expired', 'The download token has expired: get a fresh one with ?issue_download=1');
    }
    throw new DomainError('download_token_invalid', 'The download token is not valid');
  }
  if (claims.pur !== DOWNLOAD_PURPOSE || typeof claims.tid !== 'string') throw new DomainError('download_token_invalid', 'The download token is not valid');
  const job = claims.sub === jobId ? await ctx.runtime.db.complianceExportJob.findFirst({ where: { id: jobId, tenantId: claims.tid } }) : null;
  if (!job) throw new DomainError('not_found', 'No such export');
  if (job.status === 'deleted') throw new DomainError('export_deleted', 'This export was deleted');
  if (job.status === 'expired') throw new DomainError('export_expired', 'This export expired and its bundle was deleted');
  if (job.status !== 'ready') throw new DomainError('export_not_ready', `The export is ${job.status}`, { details: { status: job.status, ...(job.error ? { error: job.error } : {}) } });
  return job;
}
