import './errors.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { currentPolicy, type GuardrailPolicyView } from './policy.ts';

type Ctx = ServiceContext & { principal: Principal };

export interface Violation {
  kind: 'raw_predicate' | 'template_not_allowed' | 'max_amount';
  message: string;
}

function violations(policy: GuardrailPolicyView, subject: { rawPredicate: boolean; templateId: string | null; amountCents?: number; currency?: string }): Violation[] {
  const found: Violation[] = [];
  if (subject.rawPredicate && !policy.allowRawPredicates) found.push({ kind: 'raw_predicate', message: 'raw predicates are not allowed by the guardrail policy' });
  if (policy.allowedTemplates.length && subject.templateId && !policy.allowedTemplates.includes(subject.templateId)) {
    found.push({ kind: 'template_not_allowed', message: `policy template ${subject.templateId} is not allowed` });
  }
  if (subject.amountCents !== undefined && subject.currency) {
    const max = policy.maxIntentAmountCents[subject.currency.toLowerCase()];
    if (max !== undefined && subject.amountCents > max) {
      found.push({ kind: 'max_amount', message: `amount ${subject.amountCents} exceeds the maximum of ${max} ${subject.currency.toLowerCase()} cents` });
    }
  }
  return found;
}

/**
 * Apply the active guardrail policy before a Harbor write. Enforce: violations are refused with
 * 403 guardrail_violation, nothing written (the denial itself is audited). Observe: the action goes
 * ahead, but only after an audit event with decision=observed_violation is stored; if that write
 * fails the action fails closed with 503 guardrail_audit_unavailable.
 */
async function apply(ctx: Ctx, action: string, resourceId: string | null, found: Violation[], policy: GuardrailPolicyView, idempotencyKey?: string | null) {
  if (!found.length) return;
  const details = { action, policy_version: policy.version, mode: policy.mode, violations: found.map((v) => v.kind) };
  if (policy.mode === 'enforce') {
    await recordAudit(ctx.runtime.db, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'guardrail.violation',
      resource: action,
      resourceId,
      decision: 'denied',
      details,
      idempotencyKey,
    }).catch((error: unknown) => ctx.runtime.log.error({ err: error }, 'guardrail denial audit failed'));
    throw new DomainError('guardrail_violation', found.map((v) => v.message).join('; '), { details: { violations: found } });
  }
  try {
    await recordAudit(ctx.runtime.db, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'guardrail.violation',
      resource: action,
      resourceId,
      decision: 'observed_violation',
      details,
      idempotencyKey,
    });
  } catch (error) {
    ctx.runtime.log.error({ err: error }, 'observe-mode guardrail audit failed: failing closed');
    throw new DomainError('guardrail_audit_unavailable', 'The guardrail audit trail is unavailable; the change was not made');
  }
}

export async function enforceIntentGuardrails(
  ctx: Ctx,
  intent: { amountCents: number; currency: string; rawPredicate: boolean; templateId: string | null; intentId: string; idempotencyKey?: string | null },
): Promise<void> {
  const policy = await currentPolicy(ctx.runtime, ctx.principal.tenantId);
  if (!policy.configured) return;
  await apply(ctx, 'harbor.intent.create', intent.intentId, violations(policy, intent), policy, intent.idempotencyKey);
}

export async function enforceLifecycleGuardrails(
  ctx: Ctx,
  change: { action: string; templateId: string; rawPredicate: boolean; confirmed?: boolean },
): Promise<void> {
  const policy = await currentPolicy(ctx.runtime, ctx.principal.tenantId);
  if (!policy.configured) return;
  if (policy.lifecycleConfirmations[change.action] && !change.confirmed) {
    throw new DomainError('precondition_required', `The guardrail policy requires confirm: true to ${change.action} a policy version`, {
      details: { missing: ['confirm'] },
    });
  }
  await apply(ctx, `policy.${change.action}`, change.templateId, violations(policy, change), policy);
}

/**
 * The guardrail.policy_rollback audit event. Before the change (refused and confirmed attempts)
 * it must be stored, or the rollback answers 503; the outcome event after it is best-effort and
 * never masks a completed rollback.
 */
export async function recordRollbackAttempt(
  ctx: Ctx,
  attempt: { templateId: string | null; targetSeq: number | null; headSeq: number | null; decision: 'rejected' | 'confirmed' | 'completed'; code: string | null },
  options: { bestEffort?: boolean } = {},
): Promise<void> {
  try {
    await recordAudit(ctx.runtime.db, ctx, {
      tenantId: ctx.principal.tenantId,
      eventType: 'guardrail.policy_rollback',
      resource: 'policy_version',
      resourceId: attempt.templateId,
      decision: attempt.decision,
      details: { target_seq: attempt.targetSeq, head_seq: attempt.headSeq, refusal_code: attempt.code },
    });
  } catch (error) {
    ctx.runtime.log.error({ err: error }, 'rollback audit failed');
    if (!options.bestEffort) throw new DomainError('guardrail_audit_unavailable', 'The rollback audit trail is unavailable; nothing was changed');
  }
}
