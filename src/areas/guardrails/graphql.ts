import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { connectionArgs, policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import { auditDecision } from '../../kernel/audit/service.ts';
import { HUMAN, HUMAN_ADMIN, READER } from '../../kernel/policy.ts';
import { activePolicy, guardrailMode, guardrailPolicyInput, policyHistory, updatePolicy, type GuardrailPolicyView } from './policy.ts';

import './limits.ts';

export const AREA = 'guardrails' as const;

const GuardrailModeEnum = enumFromZod(guardrailMode);
const AuditDecisionEnum = enumFromZod(auditDecision);

const GuardrailPolicyType = builder.objectRef<GuardrailPolicyView>('GuardrailPolicy').implement({
  description: 'An immutable guardrail policy version (or the unconfigured default: version 0).',
  fields: (t) => ({
    configured: t.exposeBoolean('configured', { description: 'False until the tenant saves a policy.' }),
    version: t.exposeInt('version', { description: 'Version number (0 = unconfigured).' }),
    mode: t.field({ type: GuardrailModeEnum, description: 'enforce or observe.', resolve: (p) => p.mode }),
    allowedTemplates: t.exposeStringList('allowedTemplates', { description: 'Allowed policy templates (empty: all).' }),
    allowRawPredicates: t.exposeBoolean('allowRawPredicates', { description: 'Whether hand-written predicates are allowed.' }),
    maxIntentAmountCents: t.field({ type: 'JSON', description: 'Largest intent amount per currency.', resolve: (p) => p.maxIntentAmountCents }),
    lifecycleConfirmations: t.field({ type: 'JSON', description: 'Lifecycle actions that need confirm: true.', resolve: (p) => p.lifecycleConfirmations }),
    rateLimitProfile: t.field({ type: 'JSON', description: 'Route-group limit overrides.', resolve: (p) => p.rateLimitProfile }),
    createdAt: t.field({ type: 'DateTime', nullable: true, description: 'When this version was saved.', resolve: (p) => p.createdAt }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Who saved it.' }),
  }),
});

const GuardrailPolicyInput = inputFromZod('GuardrailPolicyInput', guardrailPolicyInput, 'A new guardrail policy version.');

const GuardrailPayload = builder.objectRef<{ policy?: GuardrailPolicyView; userErrors: UserErrorShape[] }>('GuardrailPolicyUpdatePayload').implement({
  description: 'The saved guardrail policy version.',
  fields: (t) => ({
    policy: t.field({ type: GuardrailPolicyType, nullable: true, description: 'The new version.', resolve: (p) => p.policy ?? null }),
    userErrors: userErrorsField(t),
  }),
});

builder.prismaNode('AuditEvent', {
  description: 'A redacted audit event: every sensitive write and every high-signal denial.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    eventId: t.exposeString('id', { description: 'Event id.' }),
    eventType: t.exposeString('eventType', { description: 'What happened, e.g. harbor.intent.created.' }),
    resource: t.exposeString('resource', { description: 'Kind of object concerned.' }),
    resourceId: t.exposeString('resourceId', { nullable: true, description: 'Its id.' }),
    decision: t.field({ type: AuditDecisionEnum, description: 'The decision recorded.', resolve: (e) => e.decision as z.infer<typeof auditDecision> }),
    actorType: t.exposeString('actorType', { description: 'Kind of credential that acted.' }),
    actorId: t.exposeString('actorId', { nullable: true, description: 'Its id.' }),
    requestId: t.exposeString('requestId', { nullable: true, description: 'x-request-id of the request.' }),
    idempotencyKeySha256Hex: t.exposeString('idempotencyKeySha256', { nullable: true, description: 'SHA-256 of the Idempotency-Key, when one was sent.' }),
    details: t.expose('details', { type: 'JSON', description: 'Redacted specifics.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was recorded.' }),
  }),
});

builder.queryFields((t) => ({
  guardrailPolicy: t.field({
    ...policy(READER),
    type: GuardrailPolicyType,
    description: 'The active guardrail policy, or the unconfigured default.',
    resolve: (_r, _a, ctx) => activePolicy(ctx.runtime.db, principalOf(ctx).tenantId),
  }),
  guardrailPolicyHistory: t.field({
    ...policy(READER),
    type: [GuardrailPolicyType],
    description: 'Recent guardrail policy versions, newest first.',
    args: { limit: t.arg.int({ required: false, description: 'How many (1–100, default 20).' }) },
    validate: z.object({ limit: z.number().int().min(1).max(100).nullish() }),
    resolve: (_r, { limit }, ctx) => policyHistory({ ...ctx, principal: principalOf(ctx) }, limit ?? 20),
  }),
  auditEvents: t.prismaConnection(
    {
      ...policy(HUMAN),
      type: 'AuditEvent',
      cursor: 'id',
      totalCount: (_p, a, ctx) => ctx.runtime.db.auditEvent.count({ where: auditFilter(principalOf(ctx).tenantId, a) }),
      description: 'The tenant’s redacted audit trail, newest first.',
      args: {
        eventType: t.arg.string({ required: false, description: 'Only this event type.' }),
        resource: t.arg.string({ required: false, description: 'Only this resource kind.' }),
        decision: t.arg({ type: AuditDecisionEnum, required: false, description: 'Only this decision.' }),
        requestId: t.arg.string({ required: false, description: 'Only events of this request.' }),
        idempotencyKeySha256Hex: t.arg.string({ required: false, description: 'Only events of this Idempotency-Key (its SHA-256).' }),
        createdAfter: t.arg({ type: 'DateTime', required: false, description: 'Recorded at or after.' }),
        createdBefore: t.arg({ type: 'DateTime', required: false, description: 'Recorded before.' }),
      },
      validate: connectionArgs.extend({ idempotencyKeySha256Hex: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters').nullish() }).passthrough(),
      resolve: (query, _r, a, ctx) =>
        ctx.runtime.db.auditEvent.findMany({
          ...query,
          where: auditFilter(principalOf(ctx).tenantId, a),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'AuditEventConnection', description: 'A page of audit events.' },
    { name: 'AuditEventEdge', description: 'An audit event in a page.' },
  ),
}));

interface AuditFilter {
  eventType?: string | null;
  resource?: string | null;
  decision?: string | null;
  requestId?: string | null;
  idempotencyKeySha256Hex?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

function auditFilter(tenantId: string, a: AuditFilter) {
  return {
    tenantId,
    ...(a.eventType ? { eventType: a.eventType } : {}),
    ...(a.resource ? { resource: a.resource } : {}),
    ...(a.decision ? { decision: a.decision } : {}),
    ...(a.requestId ? { requestId: a.requestId } : {}),
    ...(a.idempotencyKeySha256Hex ? { idempotencyKeySha256: a.idempotencyKeySha256Hex } : {}),
    ...(a.createdAfter || a.createdBefore ? { createdAt: { ...(a.createdAfter ? { gte: a.createdAfter } : {}), ...(a.createdBefore ? { lt: a.createdBefore } : {}) } } : {}),
  };
}

builder.mutationFields((t) => ({
  guardrailPolicyUpdate: t.field({
    ...policy({ ...HUMAN_ADMIN, rateLimit: 'guardrail_policy_mutation' }),
    type: GuardrailPayload,
    description: 'Insert a new immutable guardrail policy version (audited in the same transaction).',
    args: { input: t.arg({ type: GuardrailPolicyInput, required: true, description: 'The policy.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ policy: await updatePolicy({ ...ctx, principal: principalOf(ctx) }, input) })),
  }),
}));
