import { newId } from '../src/crypto/hash.ts';
import { loadConfig } from '../src/config.ts';
import type { Principal, Runtime } from '../src/context.ts';
import { createRuntime } from '../src/runtime.ts';
import { progress, UsageError } from './cli.ts';

/**
 * The operator's own principal for a command: a tenant admin of one tenant, acting through the
 * CLI (audit rows say actor `user` with the admin's id and auth method `cli`). Commands act for a
 * named human admin so that every change stays attributable to a person.
 */
export async function adminPrincipal(runtime: Runtime, tenantId: string, email: string): Promise<Principal> {
  const tenant = await runtime.db.tenant.findUnique({ where: { id: tenantId } });
  if (!tenant) throw new UsageError(`No tenant ${tenantId} (bootstrap prints the tenant ids).`);
  const membership = await runtime.db.membership.findFirst({ where: { tenantId, user: { email: email.trim().toLowerCase() } } });
  if (!membership || (membership.role !== 'tenant_admin' && !membership.entitlements.includes('tenant.admin'))) {
    throw new UsageError(`${email} is not a tenant admin of ${tenantId}.`);
  }
  return {
    kind: 'user',
    subjectId: membership.userId,
    userId: membership.userId,
    tenantId,
    organizationId: tenant.organizationId,
    environment: tenant.environment,
    roles: [membership.role],
    entitlements: membership.entitlements,
    scopes: ['harbor:read', 'harbor:write'],
    authMethod: 'cli',
  };
}

/** Open the configured database for a command, with a progress line (the first start migrates). */
export async function openRuntime(): Promise<Runtime> {
  const config = loadConfig();
  progress(`opening the ${config.database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL database'}`);
  return createRuntime({ ...config, LOG_LEVEL: 'warn' });
}

export const commandContext = <P extends Principal | null>(runtime: Runtime, principal: P) => ({ runtime, principal, requestId: newId('cli') });
