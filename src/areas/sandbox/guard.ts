import './errors.ts';
import type { HttpBinding, Principal, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { TENANT_HEADER } from '../../kernel/http/headers.ts';
import { findLiveMaterial } from '../settlement/live-material.ts';

/** Body keys that name a tenant: tenant scope comes from the credential only. */
const TENANT_FIELDS = new Set(['tenant', 'tenant_id', 'tenantId', 'tenant_uuid', 'organization_id', 'organizationId', 'org_id']);

/**
 * What the caller actually sent: the JSON body of a REST call (including keys the route does not
 * declare, which REST validation would drop), or the GraphQL input.
 */
export function sentBody(http: HttpBinding, input: unknown): unknown {
  if (!http.route || !http.rawBody?.byteLength) return input;
  return JSON.parse(Buffer.from(http.rawBody).toString('utf8')) as unknown;
}

/** Sandbox guardrail routes take tenant scope from the credential alone: any tenant hint is refused. */
export function refuseTenantFields(http: HttpBinding, body: unknown): void {
  if (http.headers.has(TENANT_HEADER)) {
    throw new DomainError('tenant_field_not_allowed', 'Sandbox guardrail routes take the tenant from the API key: do not send x-tenant-id', { field: [TENANT_HEADER] });
  }
  const named = body && typeof body === 'object' ? Object.keys(body).filter((k) => TENANT_FIELDS.has(k)) : [];
  if (named.length) {
    throw new DomainError('tenant_field_not_allowed', `Sandbox guardrail routes take the tenant from the API key: remove ${named.join(', ')}`, { field: named });
  }
}

/** The Connect accounts the caller's organization has linked live: naming one in a sandbox body is live material. */
async function liveAccountIds(rt: Runtime, principal: Principal): Promise<Set<string>> {
  const rows = await rt.db.$queryRaw<Array<{ accountId: string }>>`
    SELECT d."linkedAccountId" AS "accountId" FROM "StripeDestination" d JOIN "Tenant" t ON t."id" = d."tenantId"
    WHERE t."organizationId" = ${principal.organizationId} AND d."linkedAccountId" IS NOT NULL`;
  return new Set(rows.map((r) => r.accountId));
}

/**
 * A sandbox body never carries live provider material (live keys, webhook secrets, live mode
 * flags, live account ids): 422, with where it was found and never the value, and nothing stored.
 */
export async function refuseLiveMaterial(rt: Runtime, principal: Principal, body: unknown): Promise<void> {
  const accounts = JSON.stringify(body ?? null).includes('acct_') ? await liveAccountIds(rt, principal) : undefined;
  const findings = findLiveMaterial(body, { liveAccountIds: accounts });
  if (findings.length) {
    throw new DomainError('live_provider_material', 'Sandbox requests must not carry live provider material (live keys, secrets, live mode flags or live account ids)', {
      details: { findings: findings.map(({ kind, path, where, hint }) => ({ kind, path, where, hint })) },
    });
  }
}
