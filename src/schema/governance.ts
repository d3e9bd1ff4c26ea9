import { z } from 'zod';
import { builder } from '../builder.ts';
import type { PolicyVersion } from '../generated/prisma/client.ts';
import { guardrailPolicyInput, policyHistory, activePolicy, updatePolicy, type GuardrailPolicyView } from '../domain/guardrails/policy.ts';
import {
  changeStatus,
  createDraft,
  draftInput,
  preview,
  previewInput,
  rollback,
  rollbackInput,
  TEMPLATES,
  testInput,
  testPolicy,
  versionRefInput,
  type LifecycleAction,
} from '../domain/harbor/policies.ts';
import { authed, compact, connectionArgs, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from './common.ts';

const reader = { harborRead: true } as const;
const writer = { harborWrite: true } as const;

// ─── Guardrail policy ───────────────────────────────────────────────────────

const GuardrailPolicyType = builder.objectRef<GuardrailPolicyView>('GuardrailPolicy').implement({
  description: 'An immutable guardrail policy version (or the unconfigured default: version 0).',
  fields: (t) => ({
    configured: t.exposeBoolean('configured'),
    version: t.exposeInt('version'),
    mode: t.exposeString('mode'),
    allowedTemplates: t.exposeStringList('allowedTemplates'),
    allowRawPredicates: t.exposeBoolean('allowRawPredicates'),
    maxIntentAmountCents: t.field({ type: 'JSON', resolve: (p) => p.maxIntentAmountCents }),
    lifecycleConfirmations: t.field({ type: 'JSON', resolve: (p) => p.lifecycleConfirmations }),
    rateLimitProfile: t.field({ type: 'JSON', resolve: (p) => p.rateLimitProfile }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.createdAt }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
  }),
});

const GuardrailPolicyInput = builder.inputType('GuardrailPolicyInput', {
  fields: (t) => ({
    mode: t.string({ description: 'enforce | observe' }),
    allowedTemplates: t.stringList({ required: false, description: 'Empty or absent: every template.' }),
    allowRawPredicates: t.boolean({ required: false }),
    maxIntentAmountCents: t.field({ type: 'JSON', required: false, description: '{ "<currency>": <max cents> }' }),
    lifecycleConfirmations: t.field({ type: 'JSON', required: false, description: '{ "publish"|"deprecate"|"retire": true }' }),
    rateLimitProfile: t.field({ type: 'JSON', required: false, description: '{ "<group>": { "limit": n, "window_seconds": s } }' }),
  }),
});

const GuardrailPayload = builder.objectRef<{ policy?: GuardrailPolicyView; userErrors: UserErrorShape[] }>('GuardrailPolicyUpdatePayload').implement({
  fields: (t) => ({
    policy: t.field({ type: GuardrailPolicyType, nullable: true, resolve: (p) => p.policy ?? null }),
    userErrors: userErrorsField(t),
  }),
});

// ─── Audit events ───────────────────────────────────────────────────────────

builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    eventId: t.exposeString('id'),
    eventType: t.exposeString('eventType'),
    resource: t.exposeString('resource'),
    resourceId: t.exposeString('resourceId', { nullable: true }),
    decision: t.exposeString('decision'),
    actorType: t.exposeString('actorType'),
    actorId: t.exposeString('actorId', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    idempotencyKeySha256Hex: t.exposeString('idempotencyKeySha256', { nullable: true }),
    details: t.expose('details', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

// ─── Policy lifecycle ───────────────────────────────────────────────────────

const PolicyVersionType = builder.objectRef<PolicyVersion>('PolicyVersion').implement({
  fields: (t) => ({
    templateId: t.exposeString('templateId'),
    seq: t.exposeInt('seq'),
    status: t.exposeString('status'),
    digestHex: t.exposeString('digestHex'),
    parameters: t.expose('parameters', { type: 'JSON' }),
    predicate: t.expose('predicate', { type: 'JSON' }),
    rawPredicate: t.exposeBoolean('rawPredicate'),
    reason: t.exposeString('reason', { nullable: true }),
    rolledBackFromSeq: t.exposeInt('rolledBackFromSeq', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime', nullable: true }),
  }),
});

interface TemplateView {
  templateId: string;
  title: string;
  description: string;
  parametersSchema: unknown;
}

const PolicyTemplateType = builder.objectRef<TemplateView>('PolicyTemplate').implement({
  fields: (t) => ({
    templateId: t.exposeString('templateId'),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    parametersSchema: t.field({ type: 'JSON', resolve: (v) => v.parametersSchema }),
  }),
});

const templates: TemplateView[] = Object.entries(TEMPLATES).map(([templateId, t]) => ({
  templateId,
  title: t.title,
  description: t.description,
  parametersSchema: (() => {
    const schema = z.toJSONSchema(t.parameters) as Record<string, unknown>;
    delete schema.$schema;
    return schema;
  })(),
}));

const PolicyPreviewType = builder.objectRef<{ templateId: string; predicate: unknown; digestHex?: string; passed?: boolean }>('PolicyPreview').implement({
  fields: (t) => ({
    templateId: t.exposeString('templateId'),
    predicate: t.field({ type: 'JSON', resolve: (p) => p.predicate }),
    digestHex: t.string({ nullable: true, resolve: (p) => p.digestHex ?? null }),
    passed: t.boolean({ nullable: true, resolve: (p) => p.passed ?? null }),
  }),
});

const PolicyVersionPayload = builder.objectRef<{ version?: PolicyVersion; userErrors: UserErrorShape[] }>('PolicyVersionPayload').implement({
  fields: (t) => ({
    version: t.field({ type: PolicyVersionType, nullable: true, resolve: (p) => p.version ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PolicyPreviewPayload = builder.objectRef<{ preview?: { templateId: string; predicate: unknown; digestHex?: string; passed?: boolean }; userErrors: UserErrorShape[] }>('PolicyPreviewPayload').implement({
  fields: (t) => ({
    preview: t.field({ type: PolicyPreviewType, nullable: true, resolve: (p) => p.preview ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PolicyDraftInput = builder.inputType('PolicyDraftInput', {
  fields: (t) => ({ templateId: t.string(), parameters: t.field({ type: 'JSON', required: false }) }),
});
const PolicyVersionRefInput = builder.inputType('PolicyVersionRefInput', {
  fields: (t) => ({ templateId: t.string(), seq: t.int(), confirm: t.boolean({ required: false }) }),
});
const PolicyRollbackInput = builder.inputType('PolicyRollbackInput', {
  fields: (t) => ({
    templateId: t.string({ required: false }),
    targetSeq: t.int({ required: false }),
    expectedCurrentHeadSeq: t.int({ required: false }),
    expectedTargetDigestHex: t.string({ required: false }),
    reason: t.string({ required: false }),
    confirm: t.boolean({ required: false }),
  }),
});
const PolicyTestInput = builder.inputType('PolicyTestInput', {
  fields: (t) => ({
    templateId: t.string(),
    parameters: t.field({ type: 'JSON', required: false }),
    evidence: t.field({ type: 'JSON', required: false }),
    amountCents: t.int({ required: false }),
  }),
});

// ─── Fields ─────────────────────────────────────────────────────────────────

builder.queryFields((t) => ({
  guardrailPolicy: t.field({
    type: GuardrailPolicyType,
    authScopes: reader,
    resolve: (_r, _a, ctx) => activePolicy(ctx.runtime.db, principalOf(ctx).tenantId),
  }),
  guardrailPolicyHistory: t.field({
    type: [GuardrailPolicyType],
    authScopes: reader,
    args: { limit: t.arg.int({ required: false }) },
    validate: z.object({ limit: z.number().int().min(1).max(100).nullish() }),
    resolve: (_r, { limit }, ctx) => policyHistory(authed(ctx), limit ?? 20),
  }),
  auditEvents: t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    authScopes: { principals: ['user'] },
    args: {
      eventType: t.arg.string({ required: false }),
      resource: t.arg.string({ required: false }),
      decision: t.arg.string({ required: false }),
      requestId: t.arg.string({ required: false }),
      idempotencyKeySha256Hex: t.arg.string({ required: false }),
      createdAfter: t.arg({ type: 'DateTime', required: false }),
      createdBefore: t.arg({ type: 'DateTime', required: false }),
    },
    validate: connectionArgs.extend({ idempotencyKeySha256Hex: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters').nullish() }).passthrough(),
    resolve: (query, _r, a, ctx) =>
      ctx.runtime.db.auditEvent.findMany({
        ...query,
        where: {
          tenantId: principalOf(ctx).tenantId,
          ...compact({ eventType: a.eventType, resource: a.resource, decision: a.decision, requestId: a.requestId, idempotencyKeySha256: a.idempotencyKeySha256Hex }),
          ...(a.createdAfter || a.createdBefore ? { createdAt: compact({ gte: a.createdAfter, lt: a.createdBefore }) } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
  policyTemplates: t.field({ type: [PolicyTemplateType], authScopes: reader, resolve: () => templates }),
  policyVersions: t.field({
    type: [PolicyVersionType],
    authScopes: reader,
    args: { templateId: t.arg.string({ required: true }) },
    resolve: (_r, { templateId }, ctx) =>
      ctx.runtime.db.policyVersion.findMany({ where: { tenantId: principalOf(ctx).tenantId, templateId }, orderBy: { seq: 'desc' }, take: 200 }),
  }),
  policyPreview: t.field({
    type: PolicyPreviewPayload,
    description: 'Materialise a template with parameters: the predicate and its content digest.',
    authScopes: reader,
    args: { input: t.arg({ type: PolicyDraftInput, required: true, validate: previewInput }) },
    resolve: (_r, { input }, _ctx) => withUserErrors(async () => ({ preview: preview(compact(input) as never) })),
  }),
  policyTest: t.field({
    type: PolicyPreviewPayload,
    description: 'Evaluate a template with parameters against sample evidence.',
    authScopes: reader,
    args: { input: t.arg({ type: PolicyTestInput, required: true, validate: testInput }) },
    resolve: (_r, { input }, _ctx) => withUserErrors(async () => ({ preview: testPolicy(compact(input) as never) })),
  }),
}));

const lifecycleField = (action: LifecycleAction, description: string) =>
  builder.mutationField(`policy${action[0]!.toUpperCase()}${action.slice(1)}`, (t) =>
    t.field({
      type: PolicyVersionPayload,
      description,
      authScopes: writer,
      args: { input: t.arg({ type: PolicyVersionRefInput, required: true, validate: versionRefInput }) },
      resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ version: await changeStatus(authed(ctx), action, compact(input) as never) })),
    }),
  );
lifecycleField('publish', 'Publish a draft: it becomes the head of its template.');
lifecycleField('deprecate', 'Deprecate a published version (no longer a head).');
lifecycleField('retire', 'Retire a version for good.');

builder.mutationFields((t) => ({
  guardrailPolicyUpdate: t.field({
    type: GuardrailPayload,
    description: 'Insert a new immutable guardrail policy version (audited in the same transaction).',
    authScopes: { tenantAdmin: true },
    args: { input: t.arg({ type: GuardrailPolicyInput, required: true, validate: guardrailPolicyInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ policy: await updatePolicy(authed(ctx), input as never) })),
  }),
  policyDraftCreate: t.field({
    type: PolicyVersionPayload,
    authScopes: writer,
    args: { input: t.arg({ type: PolicyDraftInput, required: true, validate: draftInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ version: await createDraft(authed(ctx), compact(input) as never) })),
  }),
  policyRollback: t.field({
    type: PolicyVersionPayload,
    description: 'Re-publish an earlier version as head: needs the expected head, the target digest, a reason and confirm: true.',
    authScopes: writer,
    args: { input: t.arg({ type: PolicyRollbackInput, required: true, validate: rollbackInput }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ version: await rollback(authed(ctx), compact(input) as never) })),
  }),
}));

