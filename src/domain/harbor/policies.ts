import { z } from 'zod';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { DomainError, notFound } from '../../errors.ts';
import type { PolicyVersion, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import { recordAudit, type Tx } from '../audit/service.ts';
import { enforceLifecycleGuardrails, recordRollbackAttempt } from '../guardrails/enforce.ts';
import { evaluatePredicate, validatePredicate } from './predicate.ts';

const path = z.array(z.union([z.string().min(1), z.number().int().min(0)])).min(1).max(16);

interface Template {
  title: string;
  description: string;
  parameters: z.ZodType;
  materialize(params: Record<string, unknown>): unknown;
}

const eq = (p: unknown, value: unknown) => ({ op: 'eq', path: p, value });

/** The managed-policy catalogue: parameterised predicates a tenant can version and publish. */
export const TEMPLATES: Record<string, Template> = {
  true_v1: {
    title: 'Always release',
    description: 'Evidence is recorded; settlement always releases (sandbox and trusted vendors).',
    parameters: z.object({}).strict(),
    materialize: () => ({ version: 1, root: { op: 'true' } }),
  },
  api_response_v1: {
    title: 'API response OK',
    description: 'Release when the evidence reports the expected HTTP status.',
    parameters: z.object({ http_status_path: path, expected_http_status: z.number().int().min(100).max(599) }).strict(),
    materialize: (p) => ({ version: 1, root: eq(p.http_status_path, p.expected_http_status) }),
  },
  webhook_confirmation_v1: {
    title: 'Webhook confirmed',
    description: 'Release when the evidence carries the expected webhook event type.',
    parameters: z.object({ event_type_path: path, expected_event_type: z.string().min(1).max(200) }).strict(),
    materialize: (p) => ({ version: 1, root: eq(p.event_type_path, p.expected_event_type) }),
  },
  artifact_hash_v1: {
    title: 'Artifact attested',
    description: 'Release when the evidence reports the expected attested operation.',
    parameters: z.object({ operation_path: path, expected_operation: z.string().min(1).max(200) }).strict(),
    materialize: (p) => ({ version: 1, root: eq(p.operation_path, p.expected_operation) }),
  },
  completion_budget_v1: {
    title: 'Completed within budget',
    description: 'Release when the status is the expected one and the reported cost is within the intent amount.',
    parameters: z.object({ status_path: path, expected_status: z.string().min(1).max(200), cost_path: path }).strict(),
    materialize: (p) => ({ version: 1, root: { op: 'and', args: [eq(p.status_path, p.expected_status), { op: 'lte_budget', path: p.cost_path }] } }),
  },
  raw_predicate_v1: {
    title: 'Raw predicate',
    description: 'A hand-written predicate. Guardrails can forbid raw predicates.',
    parameters: z.object({ predicate: z.record(z.string(), z.unknown()) }).strict(),
    materialize: (p) => p.predicate,
  },
};

export const RAW_TEMPLATE = 'raw_predicate_v1';

export const templateId = z.string().refine((t) => t in TEMPLATES, { message: `must be one of ${Object.keys(TEMPLATES).join(', ')}` });

/** Parameters → predicate for a template, validated. */
export function materialize(template: string, parameters: unknown): { predicate: unknown; parameters: Record<string, unknown> } {
  const t = TEMPLATES[template];
  if (!t) throw new DomainError('invalid_request', `Unknown template ${template}`, { field: ['templateId'] });
  const checked = t.parameters.safeParse(parameters ?? {});
  if (!checked.success) {
    throw new DomainError('invalid_request', `parameters: ${checked.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`, {
      field: ['parameters'],
    });
  }
  const params = checked.data as Record<string, unknown>;
  const predicate = t.materialize(params);
  validatePredicate(predicate);
  return { predicate, parameters: params };
}

/** The content digest a v7 intent signature binds to. */
export const policyDigest = (template: string, parameters: unknown, predicate: unknown) =>
  sha256Hex(canonicalJson({ template_id: template, parameters, predicate }));

export const publishedHead = (db: Pick<PrismaClient, 'policyVersion'> | Tx, tenantId: string, template: string) =>
  (db as Tx).policyVersion.findFirst({ where: { tenantId, templateId: template, status: 'published' }, orderBy: { seq: 'desc' } });

type PolicyCtx = ServiceContext & { principal: Principal };

async function nextSeq(tx: Tx, tenantId: string, template: string): Promise<number> {
  const last = await tx.policyVersion.findFirst({ where: { tenantId, templateId: template }, orderBy: { seq: 'desc' }, select: { seq: true } });
  return (last?.seq ?? 0) + 1;
}

export const draftInput = z.object({ templateId, parameters: z.record(z.string(), z.unknown()).optional() });

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

export const versionRefInput = z.object({ templateId, seq: z.number().int().min(1), confirm: z.boolean().optional() });

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
  templateId: z.string().max(128).optional(),
  targetSeq: z.number().int().min(1).optional(),
  expectedCurrentHeadSeq: z.number().int().min(1).optional(),
  expectedTargetDigestHex: z.string().max(128).optional(),
  reason: z.string().max(1000).optional(),
  confirm: z.boolean().optional(),
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

export const previewInput = z.object({ templateId, parameters: z.record(z.string(), z.unknown()).optional() });
export const testInput = previewInput.extend({
  evidence: z.unknown(),
  amountCents: z.number().int().min(0).max(2_000_000_000).optional(),
});

export function preview(input: z.infer<typeof previewInput>) {
  const { predicate, parameters } = materialize(input.templateId, input.parameters);
  return { templateId: input.templateId, predicate, digestHex: policyDigest(input.templateId, parameters, predicate) };
}

export function testPolicy(input: z.infer<typeof testInput>) {
  const { predicate } = materialize(input.templateId, input.parameters);
  return { templateId: input.templateId, predicate, passed: evaluatePredicate(predicate, input.evidence, { amountCents: input.amountCents ?? 0 }) };
}
