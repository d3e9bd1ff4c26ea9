import { z } from 'zod';
import { builder, type SchemaTypes } from '../../graphql/builder.ts';
import { authed, connectionArgs, ONE_TIME_SECRET, policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import { formatVerifierKey, type VerifyReport } from '../../evidence/index.ts';
import { disclosureTier } from './artifacts.ts';
import { auditExportCreateInput, createExport, EXPORT_DOWNLOADER, EXPORT_READER, EXPORT_WRITER, deleteExport, downloadPath, exportStatus, getExport, type ExportStatus, type IssuedExport } from './jobs.ts';
import { verifyStoredExport, verifyUploadedPack } from './verify.ts';
import './errors.ts';
import './limits.ts';
import './runner.ts';

export const AREA = 'compliance' as const;


const ExportStatusEnum = enumFromZod(exportStatus);
const DisclosureTierEnum = enumFromZod(disclosureTier);

export const AuditExportType = builder.prismaNode('ComplianceExportJob', {
  name: 'AuditExport',
  description: 'A compliance audit export job and, once ready, its signed ZIP bundle.',
  id: { field: 'id' },
  // Another tenant's job resolves to null, like one that does not exist.
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    jobId: t.exposeString('id', { description: 'Job id (the REST id).' }),
    status: t.field({ type: ExportStatusEnum, description: 'Where the job is.', resolve: (j) => j.status as ExportStatus }),
    tenantRealmId: t.exposeString('tenantId', { description: 'Tenant the export belongs to (tenant_realm_id in the manifest).' }),
    disclosureTier: t.field({ type: DisclosureTierEnum, description: 'How much personal data the bundle discloses.', resolve: (j) => j.disclosureTier as z.infer<typeof disclosureTier> }),
    filter: t.expose('filter', { type: 'JSON', description: 'The filter as requested (snake_case, as signed into the manifest).' }),
    retentionHours: t.exposeInt('retentionHours', { description: 'Hours the bundle is kept after the job was created.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why the job failed (a stable code), when it did.' }),
    attempts: t.exposeInt('attempts', { description: 'Times a node started building it (a crash makes another node start again).' }),
    manifestSha256: t.exposeString('manifestSha256', { nullable: true, description: 'SHA-256 (hex) of manifest.json, once ready.' }),
    bundleSha256: t.exposeString('bundleSha256', { nullable: true, description: 'SHA-256 (hex) of the ZIP, once ready (also its ETag).' }),
    bundleSizeBytes: t.exposeInt('bundleSizeBytes', { nullable: true, description: 'Size of the ZIP in bytes, once ready.' }),
    checkpointTreeSize: t.exposeInt('checkpointTreeSize', { nullable: true, description: 'Ledger size of the signed checkpoint in the bundle, when the ledger is included.' }),
    downloadPath: t.string({ description: 'Where to download the ZIP with a download token.', resolve: (j) => downloadPath(j.id) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the export was requested (records after it are not included).' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When a node first started building it.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it became ready or failed.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the gateway deletes the bundle.' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'When it was deleted on request.' }),
  }),
});

const downloadFields = <T extends Partial<IssuedExport>>(t: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, T>) => ({
  downloadToken: t.string({
    ...ONE_TIME_SECRET,
    nullable: true,
    description: 'A short-lived token (minutes) that downloads this job’s bundle only (never replayed from an idempotency record).',
    resolve: (p: T) => p.download?.token ?? null,
  }),
  downloadTokenExpiresAt: t.field({ type: 'DateTime', nullable: true, description: 'When the download token stops working.', resolve: (p: T) => p.download?.expiresAt ?? null }),
});

const AuditExportDetail = builder.objectRef<IssuedExport>('AuditExportDetail').implement({
  description: 'An export job, with a fresh download token when one was asked for.',
  fields: (t) => ({
    job: t.field({ type: AuditExportType, description: 'The job.', resolve: (p) => p.job }),
    ...downloadFields(t),
  }),
});

const AuditExportPayload = builder.objectRef<Partial<IssuedExport> & { userErrors: UserErrorShape[] }>('AuditExportPayload').implement({
  description: 'An export job after a change.',
  fields: (t) => ({
    job: t.field({ type: AuditExportType, nullable: true, description: 'The job, when the change was made.', resolve: (p) => p.job ?? null }),
    ...downloadFields(t),
    userErrors: userErrorsField(t),
  }),
});

// ─── Verification reports ───────────────────────────────────────────────────

const VerificationStatusEnum = builder.enumType('EvidenceVerificationStatus', {
  description: 'Outcome of an evidence verification.',
  values: { pass: { value: 'pass', description: 'Every check held.' }, fail: { value: 'fail', description: 'At least one check failed; failures lists them.' } } as const,
});

type Failure = VerifyReport['failures'][number];
const FailureType = builder.objectRef<Failure>('EvidenceVerificationFailure').implement({
  description: 'One failed check: where (file, row) and which check.',
  fields: (t) => ({
    file: t.exposeString('file', { description: 'File inside the bundle, or the pack.' }),
    row: t.int({ nullable: true, description: '1-based line in the file, when the failure is about one row.', resolve: (f) => f.row ?? null }),
    check: t.exposeString('check', { description: 'Stable snake_case name of the check.' }),
    message: t.exposeString('message', { description: 'What is wrong.' }),
  }),
});

const ManifestSummaryType = builder.objectRef<NonNullable<VerifyReport['manifest']>>('EvidenceManifestSummary').implement({
  description: 'What the signed manifest says the bundle is.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'Manifest kind.' }),
    tenantRealmId: t.exposeString('tenantRealmId', { description: 'Tenant it was exported from.' }),
    jobId: t.exposeString('jobId', { description: 'Job it was built by.' }),
    generatedAt: t.exposeString('generatedAt', { description: 'When it was built (RFC 3339).' }),
    disclosureTier: t.exposeString('disclosureTier', { description: 'Disclosure tier.' }),
  }),
});

const CheckpointSummaryType = builder.objectRef<NonNullable<VerifyReport['checkpoint']>>('EvidenceCheckpointSummary').implement({
  description: 'The signed ledger checkpoint the evidence is proven against.',
  fields: (t) => ({
    origin: t.exposeString('origin', { description: 'Log name it is signed under.' }),
    treeSize: t.exposeInt('treeSize', { description: 'Ledger events it covers.' }),
    rootHashBase64: t.exposeString('rootHashBase64', { description: 'Merkle root (base64).' }),
    time: t.exposeString('time', { nullable: true, description: 'When it was signed (RFC 3339).' }),
    verifierKey: t.exposeString('verifierKey', { description: 'C2SP verifier key it was checked with.' }),
  }),
});

const LedgerSummaryType = builder.objectRef<NonNullable<VerifyReport['ledger']>>('EvidenceLedgerSummary').implement({
  description: 'The ledger events checked.',
  fields: (t) => ({
    events: t.exposeInt('events', { description: 'Event rows checked.' }),
    proofMode: t.exposeString('proofMode', { description: 'full (the rows form the whole tree) or inclusion (each row carries its proof).' }),
    previousCheckpoints: t.exposeInt('previousCheckpoints', { description: 'Older checkpoints proven consistent.' }),
  }),
});

const ArtifactSummaryType = builder.objectRef<NonNullable<VerifyReport['artifacts']>[number]>('EvidenceArtifactSummary').implement({
  description: 'One artifact of a bundle, as checked.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Path inside the ZIP.' }),
    role: t.exposeString('role', { description: 'records, ledger_events, checkpoint or checkpoint_history.' }),
    rows: t.exposeInt('rows', { description: 'Rows read.' }),
    sizeBytes: t.exposeInt('sizeBytes', { description: 'Bytes read.' }),
  }),
});

const VerificationType = builder.objectRef<VerifyReport>('EvidenceVerification').implement({
  description: 'A re-verification of an export bundle or a verifier pack with the gateway’s key pinned: every check paybond-verify makes.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok', { description: 'True when every check held.' }),
    status: t.field({ type: VerificationStatusEnum, description: 'pass or fail.', resolve: (r) => (r.ok ? 'pass' : 'fail') }),
    format: t.exposeString('format', { description: 'bundle or pack.' }),
    failures: t.field({ type: [FailureType], description: 'Every failure, in the order found (at most 100); the first is the one to show.', resolve: (r) => r.failures }),
    checks: t.expose('checks', { type: 'JSON', description: 'Checks that ran, by name, with how many items each covered.' }),
    signingPublicKeyHex: t.exposeString('signingPublicKeyHex', { nullable: true, description: 'Ed25519 key the signatures were checked with (the gateway’s).' }),
    manifest: t.field({ type: ManifestSummaryType, nullable: true, description: 'The signed manifest (bundles).', resolve: (r) => r.manifest ?? null }),
    checkpoint: t.field({ type: CheckpointSummaryType, nullable: true, description: 'The signed checkpoint, when it verified.', resolve: (r) => r.checkpoint ?? null }),
    ledger: t.field({ type: LedgerSummaryType, nullable: true, description: 'The ledger rows checked.', resolve: (r) => r.ledger ?? null }),
    artifacts: t.field({ type: [ArtifactSummaryType], nullable: true, description: 'Artifacts checked (bundles).', resolve: (r) => r.artifacts ?? null }),
  }),
});

// ─── Checkpoints ────────────────────────────────────────────────────────────

builder.prismaObject('LedgerCheckpoint', {
  description: 'A signed checkpoint of the tenant’s ledger Merkle tree (C2SP signed note).',
  fields: (t) => ({
    treeSize: t.exposeInt('treeSize', { description: 'Ledger events it covers.' }),
    rootHash: t.exposeString('rootHash', { description: 'Merkle root (base64).' }),
    origin: t.exposeString('origin', { description: 'Log name it is signed under.' }),
    signingPublicKeyHex: t.exposeString('signingKey', { description: 'Hex Ed25519 public key that signed it.' }),
    verifierKey: t.string({ description: 'C2SP verifier key (name+id+key): pin it to verify packs and bundles offline.', resolve: (c) => formatVerifierKey(c.origin, Buffer.from(c.signingKey, 'hex')) }),
    note: t.exposeString('note', { description: 'The signed note, byte for byte.' }),
    reason: t.exposeString('reason', { description: 'export, verifier_pack, evidence or scheduled.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was signed.' }),
  }),
});

// ─── Queries ────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  auditExports: t.prismaConnection(
    {
      ...policy(EXPORT_READER),
      type: 'ComplianceExportJob',
      cursor: 'id',
      description: 'The tenant’s export jobs, newest first.',
      // The SDK lists up to 200 at a time.
      maxSize: 200,
      args: { status: t.arg({ type: ExportStatusEnum, required: false, description: 'Only jobs with this status.' }) },
      validate: connectionArgs.extend({ first: z.number().int().min(1).max(200).nullish() }).passthrough(),
      totalCount: (_p, args, ctx) => ctx.runtime.db.complianceExportJob.count({ where: { tenantId: principalOf(ctx).tenantId, ...(args.status ? { status: args.status } : {}) } }),
      resolve: (query, _r, args, ctx) =>
        ctx.runtime.db.complianceExportJob.findMany({
          ...query,
          where: { tenantId: principalOf(ctx).tenantId, ...(args.status ? { status: args.status } : {}) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    {
      name: 'AuditExportConnection',
      description: 'A page of export jobs.',
      fields: (c) => ({ tenantRealmId: c.string({ description: 'Tenant of the jobs.', resolve: (_conn, _a, ctx) => principalOf(ctx).tenantId }) }),
    },
    { name: 'AuditExportEdge', description: 'An export job in a page.' },
  ),
  auditExport: t.field({
    ...policy(EXPORT_READER),
    type: AuditExportDetail,
    nullable: true,
    description: 'One export job of the tenant (null when there is none); issueDownload mints a fresh download token while the job is pending, running or ready.',
    args: {
      jobId: t.arg.string({ required: true, description: 'The job id.' }),
      issueDownload: t.arg.boolean({ required: false, description: 'Mint a fresh download token.' }),
    },
    resolve: (_r, { jobId, issueDownload }, ctx) => getExport(authed(ctx), jobId, issueDownload ?? false),
  }),
  auditExportVerification: t.field({
    ...policy(EXPORT_DOWNLOADER),
    type: VerificationType,
    nullable: true,
    description: 'Re-verify a ready export as stored: the ZIP’s SHA-256 and size against the job, the signed manifest, every artifact digest, ledger chain links and proofs.',
    args: { jobId: t.arg.string({ required: true, description: 'The job id.' }) },
    resolve: (_r, { jobId }, ctx) => verifyStoredExport(authed(ctx), jobId),
  }),
  ledgerVerifierPackVerification: t.field({
    ...policy(EXPORT_DOWNLOADER),
    type: VerificationType,
    description: 'Verify a ledger verifier pack (its JSONL text) against the gateway’s key, without reading the live ledger.',
    args: { pack: t.arg.string({ required: true, description: 'The verifier pack: JSONL text, header line first.' }) },
    resolve: (_r, { pack }, ctx) => verifyUploadedPack(ctx.runtime, Buffer.from(pack, 'utf8')),
  }),
  ledgerCheckpoints: t.prismaConnection(
    {
      ...policy(EXPORT_READER),
      type: 'LedgerCheckpoint',
      cursor: 'id',
      description: 'Signed checkpoints of the tenant’s ledger, largest first.',
      validate: connectionArgs.passthrough(),
      resolve: (query, _r, _a, ctx) => ctx.runtime.db.ledgerCheckpoint.findMany({ ...query, where: { tenantId: principalOf(ctx).tenantId }, orderBy: [{ treeSize: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'LedgerCheckpointConnection', description: 'A page of signed checkpoints.' },
    { name: 'LedgerCheckpointEdge', description: 'A signed checkpoint in a page.' },
  ),
}));

// ─── Mutations ──────────────────────────────────────────────────────────────

const AuditExportCreateInput = inputFromZod('AuditExportCreateInput', auditExportCreateInput, 'What to export, how much to disclose, and how long to keep it.');

builder.mutationFields((t) => ({
  auditExportCreate: t.field({
    ...policy({ ...EXPORT_WRITER, rateLimit: 'compliance_export_create' }),
    type: AuditExportPayload,
    description: 'Queue a compliance export: a signed ZIP of the filtered records, built by the gateway; returns the job and a short-lived download token.',
    args: { input: t.arg({ type: AuditExportCreateInput, required: true, description: 'The export.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(() => createExport(authed(ctx), input)),
  }),
  auditExportDelete: t.field({
    ...policy({ ...EXPORT_WRITER, rateLimit: null }),
    type: AuditExportPayload,
    description: 'Revoke an export: its bundle is removed and its download tokens stop working (410).',
    args: { jobId: t.arg.string({ required: true, description: 'The job id.' }) },
    resolve: (_r, { jobId }, ctx) => withUserErrors(async () => ({ job: await deleteExport(authed(ctx), jobId) })),
  }),
}));
