import { z } from 'zod';
import type { Environment } from '../../context.ts';
import { describedEnum } from '../../kernel/json-schema.ts';

/** Roles a mapping may give (the membership roles). */
export const mappedRole = describedEnum('SsoMappedRole', 'A membership role an SSO role mapping gives.', {
  tenant_admin: 'Administers the tenant.',
  read_only: 'Reads the tenant.',
});

export const mappingTenant = describedEnum('SsoMappingTenant', 'Which tenant(s) of the organization a role mapping rule applies to.', {
  live: 'The live tenant only.',
  sandbox: 'The sandbox tenant only.',
  both: 'Both tenants.',
});

/** The only entitlements a mapping may grant; anything else is refused when the mapping is saved. */
export const MAPPABLE_ENTITLEMENTS = ['tenant.admin', 'signal.review', 'support.agent'] as const;

export const roleMappingRule = z
  .object({
    claim: z.string().min(1).max(100).describe('Claim (OIDC) or attribute (SAML) to test, e.g. groups; `email` and `email_domain` are also available.'),
    equals: z.string().max(256).optional().describe('Matches when the claim equals this value (or, for a list claim, contains it).'),
    in: z.array(z.string().max(256)).min(1).max(50).optional().describe('Matches when the claim (or one of its values) is one of these.'),
    tenant: mappingTenant.default('both').describe('live, sandbox or both.'),
    role: mappedRole.describe('Role given when the rule matches.'),
    entitlements: z.array(z.string().max(64)).max(20).default([]).describe('Entitlements given with the role (tenant.admin, signal.review, support.agent).'),
  })
  .describe('One role mapping rule.')
  .refine((r) => (r.equals === undefined) !== (r.in === undefined), { message: 'give exactly one of equals or in' });

export type RoleMappingRule = z.infer<typeof roleMappingRule>;

export interface Grant {
  role: 'tenant_admin' | 'read_only';
  entitlements: string[];
}

/** Claims a rule can test: every claim/attribute as a list of strings. */
export type MappingClaims = Record<string, string[]>;

const matches = (rule: RoleMappingRule, claims: MappingClaims): boolean => {
  const values = claims[rule.claim] ?? [];
  if (rule.equals !== undefined) return values.includes(rule.equals);
  return values.some((v) => rule.in!.includes(v));
};

/**
 * The role per tenant: the first rule that matches and applies to that tenant; otherwise the
 * default role; otherwise no access there. Entitlements outside MAPPABLE_ENTITLEMENTS are dropped
 * (they are refused when saved; this guards rows written before a narrowing of the list).
 */
export function evaluateRoleMappings(rules: RoleMappingRule[], defaultRole: string | null, claims: MappingClaims): Record<Environment, Grant | null> {
  const out = { live: null, sandbox: null } as Record<Environment, Grant | null>;
  for (const env of ['live', 'sandbox'] as const) {
    const rule = rules.find((r) => (r.tenant === 'both' || r.tenant === env) && matches(r, claims));
    if (rule) out[env] = { role: rule.role, entitlements: rule.entitlements.filter((e) => (MAPPABLE_ENTITLEMENTS as readonly string[]).includes(e)) };
    else if (defaultRole === 'tenant_admin' || defaultRole === 'read_only') out[env] = { role: defaultRole, entitlements: [] };
  }
  return out;
}

/** Rules as stored (JSON) → typed, dropping anything malformed. */
export const storedRules = (value: unknown): RoleMappingRule[] =>
  Array.isArray(value) ? value.flatMap((r) => (roleMappingRule.safeParse(r).success ? [roleMappingRule.parse(r)] : [])) : [];
