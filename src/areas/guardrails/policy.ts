import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import type { Principal, Runtime, ServiceContext } from '../../context.ts';
import type { GuardrailPolicyVersion, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import type { Tx } from '../../db.ts';
import { isRouteGroup, OVERRIDE_BOUNDS } from '../../kernel/limits/groups.ts';
import { TEMPLATES } from '../../kernel/policy-templates.ts';
import { describedEnum } from '../../kernel/json-schema.ts';

const override = z
  .object({
    limit: z.number().int().positive().max(OVERRIDE_BOUNDS.limit, `must be at most ${OVERRIDE_BOUNDS.limit}`),
    window_seconds: z.number().int().positive().max(OVERRIDE_BOUNDS.windowSeconds, `must be at most ${OVERRIDE_BOUNDS.windowSeconds}`),
  })
  .strict();

export const guardrailMode = describedEnum('GuardrailMode', 'How a guardrail policy treats a violation.', {
  enforce: 'Refuse the change (403 guardrail_violation).',
  observe: 'Let it through, after an audit event with decision observed_violation (fails closed with 503 if that cannot be written).',
});

export const guardrailPolicyInput = z.object({
  mode: guardrailMode,
  allowedTemplates: z
    .array(z.string().refine((t) => t in TEMPLATES, { message: 'unknown policy template' }))
    .max(50)
    .default([])
    .describe('Policy templates intents and lifecycle changes may use; empty: every template.'),
  allowRawPredicates: z.boolean().default(true).describe('Whether hand-written predicates are allowed.'),
  maxIntentAmountCents: z
    .record(z.string().regex(/^[a-z]{3,10}$/, 'currency codes are lower case'), z.number().int().min(1).max(2_000_000_000))
    .default({})
    .describe('Largest intent amount per currency: { "<currency>": <cents> }.'),
  lifecycleConfirmations: z
    .object({
      publish: z.boolean().optional().describe('Publishing needs confirm: true.'),
      deprecate: z.boolean().optional().describe('Deprecating needs confirm: true.'),
      retire: z.boolean().optional().describe('Retiring needs confirm: true.'),
    })
    .strict()
    .default({})
    .describe('Lifecycle actions that need an explicit confirmation (rollback always does).'),
  rateLimitProfile: z
    .record(z.string(), override)
    .refine((profile) => Object.keys(profile).every(isRouteGroup), { message: 'names a route group that does not exist' })
    .default({})
    .describe('Route-group limit overrides: { "<group>": { "limit": n, "window_seconds": s } }.'),
});
export type GuardrailPolicyInput = z.infer<typeof guardrailPolicyInput>;

/** What a tenant gets before it saves a policy: observe nothing, restrict nothing. */
export interface GuardrailPolicyView {
  configured: boolean;
  version: number;
  mode: 'enforce' | 'observe';
  allowedTemplates: string[];
  allowRawPredicates: boolean;
  maxIntentAmountCents: Record<string, number>;
  lifecycleConfirmations: Record<string, boolean>;
  rateLimitProfile: Record<string, { limit: number; window_seconds: number }>;
  createdAt: Date | null;
  createdBy: string | null;
}

export const UNCONFIGURED: GuardrailPolicyView = {
  configured: false,
  version: 0,
  mode: 'enforce',
  allowedTemplates: [],
  allowRawPredicates: true,
  maxIntentAmountCents: {},
  lifecycleConfirmations: {},
  rateLimitProfile: {},
  createdAt: null,
  createdBy: null,
};

export const toView = (row: GuardrailPolicyVersion): GuardrailPolicyView => ({
  configured: true,
  version: row.version,
  mode: row.mode as 'enforce' | 'observe',
  allowedTemplates: row.allowedTemplates,
  allowRawPredicates: row.allowRawPredicates,
  maxIntentAmountCents: row.maxIntentAmountCents as Record<string, number>,
  lifecycleConfirmations: row.lifecycleConfirmations as Record<string, boolean>,
  rateLimitProfile: row.rateLimitProfile as Record<string, { limit: number; window_seconds: number }>,
  createdAt: row.createdAt,
  createdBy: row.createdBy,
});

export async function activePolicy(db: Pick<PrismaClient, 'guardrailPolicyVersion'> | Tx, tenantId: string): Promise<GuardrailPolicyView> {
  const row = await (db as Tx).guardrailPolicyVersion.findFirst({ where: { tenantId }, orderBy: { version: 'desc' } });
  return row ? toView(row) : UNCONFIGURED;
}

/** The active policy through this node's cache (invalidated on every node when a version is saved: src/kernel/cache.ts). */
export function currentPolicy(runtime: Runtime, tenantId: string): Promise<GuardrailPolicyView> {
  return runtime.cache.get(`guardrail_policy:${tenantId}`, () => activePolicy(runtime.db, tenantId), () => tenantId);
}

export async function policyHistory(ctx: ServiceContext & { principal: Principal }, limit = 20): Promise<GuardrailPolicyView[]> {
  const rows = await ctx.runtime.db.guardrailPolicyVersion.findMany({
    where: { tenantId: ctx.principal.tenantId },
    orderBy: { version: 'desc' },
    take: limit,
  });
  return rows.map(toView);
}

/** Insert a new immutable version; the redacted audit event commits in the same transaction. */
export async function updatePolicy(ctx: ServiceContext & { principal: Principal }, input: GuardrailPolicyInput): Promise<GuardrailPolicyView> {
  return ctx.runtime.db.$transaction(async (tx) => {
    const current = await activePolicy(tx, ctx.principal.tenantId);
    const row = await tx.guardrailPolicyVersion.create({
      data: {
        id: newId('grd'),
        tenantId: ctx.principal.tenantId,
        version: current.version + 1,
        mode: input.mode,
        allowedTemplates: input.allowedTemplates,
        allowRawPredicates: input.allowRawPredicates,
        maxIntentAmountCents: input.maxIntentAmountCents as Prisma.InputJsonValue,
        lifecycleConfirmations: input.lifecycleConfirmations as Prisma.InputJsonValue,
        rateLimitProfile: input.rateLimitProfile as Prisma.InputJsonValue,
        createdBy: ctx.principal.subjectId,
        createdAt: ctx.runtime.clock.now(),
      },
    });
    await recordAudit(tx, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'guardrail.policy_updated',
      resource: 'guardrail_policy',
      resourceId: String(row.version),
      details: { mode: input.mode, previous_version: current.version, allowed_templates: input.allowedTemplates, allow_raw_predicates: input.allowRawPredicates },
    });
    return toView(row);
  });
}
