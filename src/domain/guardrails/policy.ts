import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import type { GuardrailPolicyVersion, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import { recordAudit, type Tx } from '../audit/service.ts';
import { OVERRIDE_BOUNDS, ROUTE_GROUPS } from '../limits/groups.ts';
import { TEMPLATES } from '../harbor/policies.ts';

const override = z
  .object({
    limit: z.number().int().positive().max(OVERRIDE_BOUNDS.limit, `must be at most ${OVERRIDE_BOUNDS.limit}`),
    window_seconds: z.number().int().positive().max(OVERRIDE_BOUNDS.windowSeconds, `must be at most ${OVERRIDE_BOUNDS.windowSeconds}`),
  })
  .strict();

export const guardrailPolicyInput = z.object({
  mode: z.enum(['enforce', 'observe']),
  allowedTemplates: z
    .array(z.string().refine((t) => t in TEMPLATES, { message: 'unknown policy template' }))
    .max(50)
    .default([]),
  allowRawPredicates: z.boolean().default(true),
  maxIntentAmountCents: z
    .record(z.string().regex(/^[a-z]{3,10}$/, 'currency codes are lower case'), z.number().int().min(1).max(2_000_000_000))
    .default({}),
  lifecycleConfirmations: z
    .object({ publish: z.boolean().optional(), deprecate: z.boolean().optional(), retire: z.boolean().optional() })
    .strict()
    .default({}),
  rateLimitProfile: z.partialRecord(z.enum(ROUTE_GROUPS as [string, ...string[]]), override).default({}),
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
