import { newId } from '../../crypto/hash.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import { isTenantAdmin } from '../../kernel/roles.ts';
import { ARBITRATION_PACKAGE_KIND, createBundle, type BundleSummary, type RecordsArtifactInput } from '../../evidence/index.ts';
import { GATEWAY_VERSION } from '../../version.ts';
import { discloser, snakeRow, type DisclosureTier } from '../compliance/artifacts.ts';
import { checkpointSigner, ledgerEvidence } from '../compliance/checkpoints.ts';
import type { CaseCtx } from './cases.ts';

/*
 * The signed arbitration package of a case: the same evidence bundle as a compliance export
 * (src/evidence/bundle.ts, docs/evidence-format.md §4) with kind paybond.arbitration_package_manifest_v1,
 * signed with the gateway's Ed25519 key. It holds the case, its notes, evidence references and
 * assignment history, the intent with its evidence submissions, and the intent's ledger events
 * with inclusion proofs against a freshly signed checkpoint (compliance/checkpoints.ts
 * ledgerEvidence), so `paybond-verify` checks it offline.
 */

export interface ArbitrationPackage {
  packageId: string;
  caseId: string;
  bytes: Buffer;
  summary: BundleSummary;
}

export const ARBITRATION_ARTIFACTS = ['case.jsonl', 'notes.jsonl', 'evidence_references.jsonl', 'assignments.jsonl', 'intent.jsonl', 'intent_evidence.jsonl'] as const;

export async function arbitrationPackage(ctx: CaseCtx, caseId: string, tier: DisclosureTier): Promise<ArbitrationPackage> {
  const { runtime, principal } = ctx;
  const tenantId = principal.tenantId;
  if (tier === 'extended' && !isTenantAdmin(principal)) {
    throw new DomainError('forbidden', 'The extended disclosure tier needs a tenant admin (tenant_admin role or tenant.admin entitlement)');
  }
  const row = await runtime.db.disputeCase.findFirst({
    where: { id: caseId, tenantId },
    include: { notes: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }, evidence: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }, assignments: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
  });
  if (!row) throw notFound('Dispute case');
  const { notes, evidence, assignments, ...caseRow } = row;
  const disclose = discloser(tier, runtime.keys.hmacSecret);
  const rows = (items: Array<Record<string, unknown>>) => items.map((item) => disclose(snakeRow(item)));
  const intent = row.intentId ? await runtime.db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId: row.intentId } } }) : null;
  const submissions = intent
    ? await runtime.db.$queryRaw<Array<Record<string, unknown>>>`
        SELECT e."id", e."createdAt", i."intentId", e."payload", e."payloadDigest", e."artifacts", e."artifactsDigest", e."payeeDid", e."submittedAt", e."predicatePassed", e."schemaValid"
        FROM "IntentEvidence" e JOIN "HarborIntent" i ON i."id" = e."intentRowId"
        WHERE e."tenantId" = ${tenantId} AND e."intentRowId" = ${intent.id} ORDER BY e."createdAt", e."id"`
    : [];
  const artifacts: RecordsArtifactInput[] = [
    { path: 'case.jsonl', rows: rows([caseRow]) },
    { path: 'notes.jsonl', rows: rows(notes) },
    { path: 'evidence_references.jsonl', rows: rows(evidence) },
    { path: 'assignments.jsonl', rows: rows(assignments) },
    { path: 'intent.jsonl', rows: intent ? rows([intent]) : [] },
    { path: 'intent_evidence.jsonl', rows: rows(submissions) },
  ];
  const ledger = intent ? await ledgerEvidence(runtime, tenantId, { intentId: intent.intentId }) : undefined;
  const packageId = newId('arb');
  const { stream, summary } = createBundle({
    kind: ARBITRATION_PACKAGE_KIND,
    tenantRealmId: tenantId,
    jobId: packageId,
    generatedAt: runtime.clock.now(),
    gatewayBuildVersion: GATEWAY_VERSION,
    scoreModelVersion: 'none',
    disclosureTier: tier,
    redactionProfile: `${tier}_v1`,
    exportFilter: { case_id: caseId },
    artifacts,
    ledger,
    signer: checkpointSigner(runtime),
  });
  // One case's records and one intent's events: small enough to hold, so the answer has a Content-Length and an ETag.
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const done = await summary;
  await recordAudit(runtime.db, ctx, {
    tenantId,
    eventType: 'disputes.arbitration_exported',
    resource: 'dispute_case',
    resourceId: caseId,
    details: {
      package_id: packageId,
      disclosure_tier: tier,
      bundle_sha256: done.bundleSha256,
      manifest_sha256: done.manifestSha256,
      bundle_size_bytes: done.bundleSizeBytes,
      checkpoint_tree_size: done.manifest.checkpoint_last_ledger_seq ?? null,
    },
  });
  return { packageId, caseId, bytes: Buffer.concat(chunks), summary: done };
}
