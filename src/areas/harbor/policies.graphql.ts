import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import type { PolicyVersion } from '../../generated/prisma/client.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { READER, type FieldPolicy } from '../../kernel/policy.ts';
import { TEMPLATES } from '../../kernel/policy-templates.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import { DomainError } from '../../kernel/errors.ts';
import { validatePolicyDocument, type PolicyIssue, type PolicyValidation } from './policy-validate.ts';
import {
  changeStatus,
  createDraft,
  draftInput,
  preview,
  previewInput,
  rollback,
  rollbackInput,
  testInput,
  testPolicy,
  versionRefInput,
  type LifecycleAction,
} from './policies.ts';

/**
 * Managed-policy lifecycle writes, limited as one group. Agents never change the policies that bind
 * them: only tenant writers may (human sessions with harbor:write, i.e. tenant admins, and
 * service-account keys); agent JWTs, PATs and Harbor tokens are refused.
 */
const LIFECYCLE: FieldPolicy = { principals: ['user', 'api_key'], scope: 'harbor:write', rateLimit: 'policy_lifecycle_mutation' };
const PREVIEW: FieldPolicy = { ...READER, rateLimit: 'policy_sandbox_preview_test' };

export const policyVersionStatus = describedEnum('PolicyVersionStatus', 'Lifecycle status of a managed policy version.', {
  draft: 'Created, not in force.',
  published: 'The head of its template: new signing_version 7 intents bind to it.',
  deprecated: 'No longer the head; existing intents keep it.',
  retired: 'Withdrawn for good.',
});
const PolicyVersionStatusEnum = enumFromZod(policyVersionStatus);

const PolicyVersionType = builder.prismaObject('PolicyVersion', {
  description: 'A managed policy version: a template, its parameters and the predicate they materialise.',
  fields: (t) => ({
    templateId: t.exposeString('templateId', { description: 'Policy template id.' }),
    seq: t.exposeInt('seq', { description: 'Sequence number within the template.' }),
    status: t.field({ type: PolicyVersionStatusEnum, description: 'Lifecycle status.', resolve: (v) => v.status as z.infer<typeof policyVersionStatus> }),
    digestHex: t.exposeString('digestHex', { description: 'Content digest a signing_version 7 intent binds to.' }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'Template parameters.' }),
    predicate: t.expose('predicate', { type: 'JSON', description: 'Materialised predicate.' }),
    rawPredicate: t.exposeBoolean('rawPredicate', { description: 'True for hand-written predicates.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Reason given for a rollback.' }),
    rolledBackFromSeq: t.exposeInt('rolledBackFromSeq', { nullable: true, description: 'Version a rollback re-published.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the version was created.' }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime', nullable: true, description: 'When it was published.' }),
  }),
});

interface TemplateView {
  templateId: string;
  title: string;
  description: string;
  parametersSchema: unknown;
}

const PolicyTemplateType = builder.objectRef<TemplateView>('PolicyTemplate').implement({
  description: 'A parameterised predicate a tenant can version and publish.',
  fields: (t) => ({
    templateId: t.exposeString('templateId', { description: 'Template id.' }),
    title: t.exposeString('title', { description: 'Short name.' }),
    description: t.exposeString('description', { description: 'What it checks.' }),
    parametersSchema: t.field({ type: 'JSON', description: 'JSON Schema of its parameters.', resolve: (v) => v.parametersSchema }),
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

interface PreviewView {
  templateId: string;
  predicate: unknown;
  materializedDsl?: unknown;
  humanSummary?: string;
  digestHex?: string;
  passed?: boolean;
  predicateEvaluation?: { passed: boolean; schemaValid: boolean | null; amountCents: number; templateId: string };
}

const PredicateEvaluationType = builder
  .objectRef<NonNullable<PreviewView['predicateEvaluation']>>('PolicyPredicateEvaluation')
  .implement({
    description: 'How sample evidence fared against a materialised predicate.',
    fields: (t) => ({
      passed: t.exposeBoolean('passed', { description: 'Whether the predicate held.' }),
      schemaValid: t.boolean({ nullable: true, description: 'Whether the evidence matched evidence_schema (null when none was given).', resolve: (e) => e.schemaValid }),
      amountCents: t.exposeInt('amountCents', { description: 'Intent amount the budget operators compared with.' }),
      templateId: t.exposeString('templateId', { description: 'Template evaluated.' }),
    }),
  });

const PolicyPreviewType = builder.objectRef<PreviewView>('PolicyPreview').implement({
  description: 'A template materialised with parameters (and evaluated, for a test).',
  fields: (t) => ({
    templateId: t.exposeString('templateId', { description: 'Template id.' }),
    predicate: t.field({ type: 'JSON', description: 'The materialised predicate.', resolve: (p) => p.predicate }),
    digestHex: t.string({ nullable: true, description: 'Content digest (preview).', resolve: (p) => p.digestHex ?? null }),
    passed: t.boolean({ nullable: true, description: 'Whether the sample evidence passed (test).', resolve: (p) => p.passed ?? null }),
    materializedDsl: t.field({ type: 'JSON', description: 'The materialised predicate DSL (same as predicate).', resolve: (p) => p.materializedDsl ?? p.predicate }),
    humanSummary: t.string({ nullable: true, description: 'The predicate in plain words (preview).', resolve: (p) => p.humanSummary ?? null }),
    predicateEvaluation: t.field({ type: PredicateEvaluationType, nullable: true, description: 'The evaluation (test).', resolve: (p) => p.predicateEvaluation ?? null }),
  }),
});

const PolicyIssueType = builder.objectRef<PolicyIssue>('PolicyDocumentIssue').implement({
  description: 'A problem found in a policy document.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Dotted path in the document.' }),
    code: t.exposeString('code', { description: 'Stable code.' }),
    message: t.exposeString('message', { description: 'What is wrong.' }),
  }),
});

const PolicyCheckType = builder.objectRef<{ name: string; passed: boolean }>('PolicyDocumentCheck').implement({
  description: 'One check of a policy validation.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'schema or registry.' }),
    passed: t.exposeBoolean('passed', { description: 'Whether it passed.' }),
  }),
});

const PolicyValidationType = builder.objectRef<PolicyValidation>('PolicyDocumentValidation').implement({
  description: 'A paybond.policy.yaml document checked against its schema and the tenant’s registry.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Both checks passed.' }),
    localValid: t.exposeBoolean('localValid', { description: 'The document matches the policy schema.' }),
    remoteValid: t.exposeBoolean('remoteValid', { description: 'Every preset, vendor pack, template and bound version exists for the tenant.' }),
    policyName: t.exposeString('policyName', { nullable: true, description: 'The document’s name.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant the registry was read for.' }),
    errors: t.field({ type: [PolicyIssueType], description: 'Problems that make it invalid.', resolve: (v) => v.errors }),
    warnings: t.field({ type: [PolicyIssueType], description: 'Problems that do not.', resolve: (v) => v.warnings }),
    checks: t.field({ type: [PolicyCheckType], description: 'Each check and its outcome.', resolve: (v) => v.checks }),
  }),
});

const PolicyVersionHistoryType = builder.objectRef<{ templateId: string; headSeq: number | null; versions: PolicyVersion[] }>('PolicyVersionHistory').implement({
  description: 'The versions of one template.',
  fields: (t) => ({
    templateId: t.exposeString('templateId', { description: 'Template id.' }),
    headSeq: t.exposeInt('headSeq', { nullable: true, description: 'The published head, if any.' }),
    versions: t.field({ type: [PolicyVersionType], description: 'Newest first (at most 200).', resolve: (h) => h.versions }),
  }),
});

const PolicyVersionPayload = builder.objectRef<{ version?: PolicyVersion; userErrors: UserErrorShape[] }>('PolicyVersionPayload').implement({
  description: 'A policy version after a lifecycle change.',
  fields: (t) => ({
    version: t.field({ type: PolicyVersionType, nullable: true, description: 'The version.', resolve: (p) => p.version ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PolicyPreviewPayload = builder.objectRef<{ preview?: PreviewView; userErrors: UserErrorShape[] }>('PolicyPreviewPayload').implement({
  description: 'A preview or test of a template.',
  fields: (t) => ({
    preview: t.field({ type: PolicyPreviewType, nullable: true, description: 'The result.', resolve: (p) => p.preview ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const PolicyDraftInput = inputFromZod('PolicyDraftInput', draftInput, 'A template and its parameters.');
const PolicyVersionRefInput = inputFromZod('PolicyVersionRefInput', versionRefInput, 'One version of a template.');
const PolicyRollbackInput = inputFromZod('PolicyRollbackInput', rollbackInput, 'A confirmed rollback.');
const PolicyTestInput = inputFromZod('PolicyTestInput', testInput, 'A template, its parameters and sample evidence.');

builder.queryFields((t) => ({
  policyTemplates: t.field({ ...policy(READER), type: [PolicyTemplateType], description: 'The managed-policy template catalogue.', resolve: () => templates }),
  policyVersions: t.field({
    ...policy(READER),
    type: PolicyVersionHistoryType,
    description: 'Versions of one template, newest first, with its current head.',
    args: { templateId: t.arg.string({ required: true, description: 'Template id.' }) },
    resolve: async (_r, { templateId }, ctx) => {
      const versions = await ctx.runtime.db.policyVersion.findMany({ where: { tenantId: principalOf(ctx).tenantId, templateId }, orderBy: { seq: 'desc' }, take: 200 });
      return { templateId, headSeq: versions.find((v) => v.status === 'published')?.seq ?? null, versions };
    },
  }),
  policyPreview: t.field({
    ...policy(PREVIEW),
    type: PolicyPreviewPayload,
    description: 'Materialise a template with parameters: the predicate and its content digest.',
    args: { input: t.arg({ type: PolicyDraftInput, required: true, description: 'Template and parameters.' }) },
    resolve: (_r, { input }) => withUserErrors(async () => ({ preview: preview(input) })),
  }),
  policyValidate: t.field({
    ...policy(PREVIEW),
    type: PolicyValidationType,
    description: 'Validate a paybond.policy.yaml document (as JSON) against the policy schema and the tenant’s registry.',
    args: {
      document: t.arg({ type: 'JSON', required: true, description: 'The policy document.' }),
      strict: t.arg.boolean({ required: false, description: 'Side-effecting tools must be in intent.allowed_tools when that list is set.' }),
      resolveInheritance: t.arg.boolean({ required: false, description: 'Resolve v2 inheritance server-side (reported as not supported).' }),
    },
    resolve: (_r, { document, strict, resolveInheritance }, ctx) => {
      if (!document || typeof document !== 'object' || Array.isArray(document)) throw new DomainError('invalid_request', 'document must be a JSON object');
      return validatePolicyDocument(ctx.runtime, principalOf(ctx), document as Record<string, unknown>, { strict: strict ? '1' : undefined, resolve_inheritance: resolveInheritance ? '1' : undefined });
    },
  }),
  policyTest: t.field({
    ...policy(PREVIEW),
    type: PolicyPreviewPayload,
    description: 'Evaluate a template with parameters against sample evidence.',
    args: { input: t.arg({ type: PolicyTestInput, required: true, description: 'Template, parameters and evidence.' }) },
    resolve: (_r, { input }) => withUserErrors(async () => ({ preview: testPolicy(input) })),
  }),
}));

const lifecycleField = (action: LifecycleAction, description: string) =>
  builder.mutationField(`policy${action[0]!.toUpperCase()}${action.slice(1)}`, (t) =>
    t.field({
      ...policy(LIFECYCLE),
      type: PolicyVersionPayload,
      description,
      args: { input: t.arg({ type: PolicyVersionRefInput, required: true, description: 'The version.' }) },
      resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ version: await changeStatus({ ...ctx, principal: principalOf(ctx) }, action, input) })),
    }),
  );
lifecycleField('publish', 'Publish a draft: it becomes the head of its template.');
lifecycleField('deprecate', 'Deprecate a published version (no longer a head).');
lifecycleField('retire', 'Retire a version for good.');

builder.mutationFields((t) => ({
  policyDraftCreate: t.field({
    ...policy(LIFECYCLE),
    type: PolicyVersionPayload,
    description: 'Create a draft version of a template with parameters.',
    args: { input: t.arg({ type: PolicyDraftInput, required: true, description: 'Template and parameters.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ version: await createDraft({ ...ctx, principal: principalOf(ctx) }, input) })),
  }),
  policyRollback: t.field({
    ...policy(LIFECYCLE),
    type: PolicyVersionPayload,
    description: 'Re-publish an earlier version as head: needs the expected head, the target digest, a reason and confirm: true.',
    args: { input: t.arg({ type: PolicyRollbackInput, required: true, description: 'The rollback.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ version: await rollback({ ...ctx, principal: principalOf(ctx) }, input) })),
  }),
}));
