import './errors.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { Tx } from '../../db.ts';
import { recordAudit } from '../../kernel/audit/service.ts';

export const modeDisabled = () =>
  new DomainError(
    'agent_security_mode_disabled',
    'Agent Security Mode is off for this tenant; a tenant admin can turn it on (agentSecurityModeSet / POST /api/agent/security-mode)',
  );

/** Agent controls exist only while the tenant has opted into Agent Security Mode. */
export async function requireAgentMode(db: Pick<Tx, 'tenant'>, tenantId: string): Promise<void> {
  const tenant = await db.tenant.findUnique({ where: { id: tenantId }, select: { agentSecurityMode: true } });
  if (!tenant?.agentSecurityMode) throw modeDisabled();
}

export async function setAgentSecurityMode(ctx: ServiceContext & { principal: Principal }, enabled: boolean) {
  const { principal } = ctx;
  return ctx.runtime.db.$transaction(async (tx) => {
    const before = await tx.tenant.findUniqueOrThrow({ where: { id: principal.tenantId } });
    const tenant = await tx.tenant.update({ where: { id: principal.tenantId }, data: { agentSecurityMode: enabled } });
    if (before.agentSecurityMode !== enabled) {
      await recordAudit(tx, ctx, {
        tenantId: principal.tenantId,
        eventType: enabled ? 'agent_security_mode.enabled' : 'agent_security_mode.disabled',
        resource: 'tenant',
        resourceId: principal.tenantId,
      });
    }
    return tenant;
  });
}
