import './errors.ts';
import { z } from 'zod';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import type { PolicyVersion, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import type { Tx } from '../../db.ts';
import { enforceLifecycleGuardrails, recordRollbackAttempt } from '../guardrails/enforce.ts';
import { evaluatePredicate, matchesSchema } from '../../kernel/predicate.ts';
import { materialize, policyDigest, RAW_TEMPLATE, TEMPLATES, templateId } from '../../kernel/policy-templates.ts';

export const publishedHead = (db: Pick<PrismaClient, 'policyVersion'> | Tx, tenantId: string, template: string) =>
  (db as Tx).policyVersion.findFirst({ where: { tenantId, templateId: template, status: 'published' }, orderBy: { seq: 'desc' } });

type PolicyCtx = ServiceContext & { principal: Principal };

async function nextSeq(tx: Tx, tenantId: string, template: string): Promise<number> {
  const last = await tx.policyVersion.findFirst({ where: { tenantId, templateId: template }, orderBy: { seq: 'desc' }, select: { seq: true } });
  return (last?.seq ?? 0) + 1;
}

const parameters = z.record(z.string(), z.unknown()).optional().describe('Template parameters (see the template’s parameters schema).');
export const draftInput = z.object({ templateId, parameters });

export async function createDraft(ctx: PolicyCtx, input: z.infer<typeof draftInput>): Promise<PolicyVersion> {
  const { predicate, parameters } = materialize(input.templateId, input.parameters);
  await enforceLifecycleGuardrails(ctx, { action: 'create_draft', templateId: input.templateId, rawPredicate: input.templateId === RAW_TEMPLATE });
  return ctx.runtime.db.$transaction(async (tx) => {
    // The unique (tenant, template, seq) index turns a concurrent duplicate into a conflict.
    const seq = await nextSeq(tx, ctx.principal.tenantId, input.templateId);
    const version = await tx.policyVersion.create({
      data: {
        id: newId('pol'),
        tenantId: ctx.principal.tenantId,
        templateId: input.templateId,
        seq,
        status: 'draft',
        parameters: parameters as Prisma.InputJsonValue,
        predicate: predicate as Prisma.InputJsonValue,
        digestHex: policyDigest(input.templateId, parameters, predicate),
        rawPredicate: input.templateId === RAW_TEMPLATE,
        createdBy: ctx.principal.subjectId,
        createdAt: ctx.runtime.clock.now(),
      },
    });
    await recordAudit(tx, ctx, { tenantId: ctx.principal.tenantId, eventType: 'policy.draft_created', resource: 'policy_version', resourceId: `${input.templateId}@${seq}` });
    return version;
  });
}

const lifecycle = {
  publish: { from: ['draft'], to: 'published' },
  deprecate: { from: ['published'], to: 'deprecated' },
  retire: { from: ['published', 'deprecated', 'draft'], to: 'retired' },
} as const;
export type LifecycleAction = keyof typeof lifecycle;

export const versionRefInput = z.object({
  templateId,
  seq: z.number().int().min(1).describe('Version sequence number.'),
  confirm: z.boolean().optional().describe('Explicit confirmation, when the guardrail policy requires it.'),
});

export async function changeStatus(ctx: PolicyCtx, action: LifecycleAction, input: z.infer<typeof versionRefInput>): Promise<PolicyVersion> {
  const rule = lifecycle[action];
  const version = await ctx.runtime.db.policyVersion.findUnique({
    where: { tenantId_templateId_seq: { tenantId: ctx.principal.tenantId, templateId: input.templateId, seq: input.seq } },
  });
  if (!version) throw notFound('Policy version');
  await enforceLifecycleGuardrails(ctx, { action, templateId: input.templateId, rawPredicate: version.rawPredicate, confirmed: input.confirm });
  return ctx.runtime.db.$transaction(async (tx) => {
    const now = ctx.runtime.clock.now();
    const { count } = await tx.policyVersion.updateMany({
      where: { id: version.id, status: { in: [...rule.from] } },
      data: { status: rule.to, ...(action === 'publish' ? { publishedAt: now } : {}) },
    });
    if (count !== 1) {
      throw new DomainError('invalid_state_transition', `Cannot ${action} version ${input.seq} of ${input.templateId} in status ${version.status}`);
    }
    await recordAudit(tx, ctx, { tenantId: ctx.principal.tenantId, eventType: `policy.${action}`, resource: 'policy_version', resourceId: `${input.templateId}@${input.seq}` });
    return tx.policyVersion.findUniqueOrThrow({ where: { id: version.id } });
  });
}

export const rollbackInput = z.object({
  templateId: z.string().max(128).optional().describe('Template whose head is rolled back.'),
  targetSeq: z.number().int().min(1).optional().describe('Version to re-publish.'),
  expectedCurrentHeadSeq: z.number().int().min(1).optional().describe('The head the caller saw (409 when it moved).'),
  expectedTargetDigestHex: z.string().max(128).optional().describe('Digest of the target the caller saw (409 when it differs).'),
  reason: z.string().max(1000).optional().describe('Human reason, at least 12 characters.'),
  confirm: z.boolean().optional().describe('Must be true.'),
});
export const MIN_ROLLBACK_REASON = 12;

/**
 * Re-publish an earlier version as the new head. Every precondition is explicit: 428 when the
 * confirmation fields are missing, 400 for a missing or short human reason, 409 when the head or
 * the target digest moved. An audit event is written before any change, for refused and confirmed
 * attempts alike (503 if it cannot be); an outcome event follows.
 */
export async function rollback(ctx: PolicyCtx, input: z.infer<typeof rollbackInput>): Promise<PolicyVersion> {
  const missing = (['templateId', 'targetSeq', 'expectedCurrentHeadSeq', 'expectedTargetDigestHex'] as const).filter((k) => input[k] === undefined);
  let refusal: DomainError | null = null;
  if (missing.length || input.confirm !== true) {
    refusal = new DomainError('precondition_required', 'Rollback needs template_id, target_seq, expected_current_head_seq, expected_target_digest_hex and confirm: true', {
      details: { missing: [...missing, ...(input.confirm === true ? [] : ['confirm'])] },
    });
  } else if (!input.reason || input.reason.trim().length < MIN_ROLLBACK_REASON) {
    refusal = new DomainError('invalid_request', `reason must explain the rollback in at least ${MIN_ROLLBACK_REASON} characters`, { field: ['reason'] });
  }
  const head = input.templateId ? await publishedHead(ctx.runtime.db, ctx.principal.tenantId, input.templateId) : null;
  const target = input.templateId && input.targetSeq
    ? await ctx.runtime.db.policyVersion.findUnique({
        where: { tenantId_templateId_seq: { tenantId: ctx.principal.tenantId, templateId: input.templateId, seq: input.targetSeq } },
      })
    : null;
  if (!refusal) {
    if (!head || head.seq !== input.expectedCurrentHeadSeq) {
      refusal = new DomainError('conflict', 'The current head is not the expected one', { details: { current_head_seq: head?.seq ?? null } });
    } else if (!target || target.digestHex !== input.expectedTargetDigestHex || target.status === 'draft' || target.status === 'retired') {
      refusal = new DomainError('conflict', 'The target version is missing, not rollback-able, or its digest does not match', {
        details: { target_digest_hex: target?.digestHex ?? null, target_status: target?.status ?? null },
      });
    } else if (target.seq === head.seq) {
      refusal = new DomainError('conflict', 'The target is already the head');
    }
  }
  await recordRollbackAttempt(ctx, {
    templateId: input.templateId ?? null,
    targetSeq: input.targetSeq ?? null,
    headSeq: head?.seq ?? null,
    decision: refusal ? 'rejected' : 'confirmed',
    code: refusal?.code ?? null,
  });
  if (refusal) throw refusal;
  await enforceLifecycleGuardrails(ctx, { action: 'rollback', templateId: target!.templateId, rawPredicate: target!.rawPredicate });
  const created = await ctx.runtime.db.$transaction(async (tx) => {
    const now = ctx.runtime.clock.now();
    const current = await publishedHead(tx, ctx.principal.tenantId, target!.templateId);
    if (current?.seq !== head!.seq) throw new DomainError('conflict', 'The head moved during the rollback');
    return tx.policyVersion.create({
      data: {
        id: newId('pol'),
        tenantId: ctx.principal.tenantId,
        templateId: target!.templateId,
        seq: await nextSeq(tx, ctx.principal.tenantId, target!.templateId),
        status: 'published',
        parameters: target!.parameters as Prisma.InputJsonValue,
        predicate: target!.predicate as Prisma.InputJsonValue,
        digestHex: target!.digestHex,
        rawPredicate: target!.rawPredicate,
        reason: input.reason!.trim(),
        rolledBackFromSeq: target!.seq,
        createdBy: ctx.principal.subjectId,
        createdAt: now,
        publishedAt: now,
      },
    });
  });
  await recordRollbackAttempt(ctx, { templateId: created.templateId, targetSeq: target!.seq, headSeq: created.seq, decision: 'completed', code: null }, { bestEffort: true });
  return created;
}

export const previewInput = z.object({ templateId, parameters });
export const testInput = previewInput.extend({
  evidence: z.unknown().describe('Sample evidence to evaluate the predicate against.'),
  amountCents: z.number().int().min(0).max(2_000_000_000).optional().describe('Intent amount the budget operators compare with.'),
  evidenceSchema: z.record(z.string(), z.unknown()).optional().describe('JSON schema the evidence must match (reported as schema_valid).'),
});

/** A predicate in plain words (the human summary of a preview). */
export function describePredicate(node: unknown): string {
  const n = (node ?? {}) as { op?: string; path?: unknown; value?: unknown; args?: unknown[]; arg?: unknown; root?: unknown };
  if (n.root !== undefined && n.op === undefined) return describePredicate(n.root);
  const where = Array.isArray(n.path) ? n.path.join('.') : String(n.path ?? '');
  switch (n.op) {
    case 'true':
      return 'always releases';
    case 'false':
      return 'never releases';
    case 'eq':
      return `${where} equals ${JSON.stringify(n.value)}`;
    case 'ne':
      return `${where} is not ${JSON.stringify(n.value)}`;
    case 'in':
      return `${where} is one of ${JSON.stringify(n.value)}`;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `${where} ${{ gt: '>', gte: '≥', lt: '<', lte: '≤' }[n.op]} ${JSON.stringify(n.value)}`;
    case 'lte_budget':
      return `${where} is within the intent amount`;
    case 'exists':
      return `${where} is present`;
    case 'and':
    case 'or':
      return (n.args ?? []).map((a) => `(${describePredicate(a)})`).join(n.op === 'and' ? ' and ' : ' or ');
    case 'not':
      return `not (${describePredicate(n.arg ?? n.args?.[0])})`;
    default:
      return `${n.op ?? 'predicate'}${where ? ` on ${where}` : ''}`;
  }
}

export function preview(input: z.infer<typeof previewInput>) {
  const { predicate, parameters } = materialize(input.templateId, input.parameters);
  const template = TEMPLATES[input.templateId]!;
  return {
    templateId: input.templateId,
    predicate,
    materializedDsl: predicate,
    humanSummary: `${template.title}: releases when ${describePredicate(predicate)}.`,
    digestHex: policyDigest(input.templateId, parameters, predicate),
  };
}

export function testPolicy(input: z.infer<typeof testInput>) {
  const { predicate } = materialize(input.templateId, input.parameters);
  const passed = evaluatePredicate(predicate, input.evidence, { amountCents: input.amountCents ?? 0 });
  const schemaValid = input.evidenceSchema ? matchesSchema(input.evidenceSchema, input.evidence) : null;
  return {
    templateId: input.templateId,
    predicate,
    materializedDsl: predicate,
    passed,
    predicateEvaluation: { passed, schemaValid, amountCents: input.amountCents ?? 0, templateId: input.templateId },
  };
}
