import { describe, expect, it } from 'vitest';
import { evaluateRoleMappings, roleMappingRule, storedRules, type RoleMappingRule } from '../../src/areas/sso/roles.ts';

/** Role mappings: ordered rules per tenant, the default role, and the entitlement allowlist. */

const rule = (r: Partial<RoleMappingRule> & Pick<RoleMappingRule, 'claim' | 'role'>): RoleMappingRule => roleMappingRule.parse(r);

describe('evaluateRoleMappings', () => {
  const rules = [
    rule({ claim: 'groups', equals: 'admins', tenant: 'both', role: 'tenant_admin', entitlements: ['tenant.admin'] }),
    rule({ claim: 'groups', in: ['eng', 'ops'], tenant: 'sandbox', role: 'tenant_admin' }),
    rule({ claim: 'email_domain', equals: 'contractors.test', tenant: 'live', role: 'read_only', entitlements: ['signal.review'] }),
  ];

  it('the first matching rule per tenant decides; live and sandbox are separate', () => {
    expect(evaluateRoleMappings(rules, null, { groups: ['admins', 'eng'] })).toEqual({
      live: { role: 'tenant_admin', entitlements: ['tenant.admin'] },
      sandbox: { role: 'tenant_admin', entitlements: ['tenant.admin'] },
    });
    expect(evaluateRoleMappings(rules, null, { groups: ['ops'] })).toEqual({ live: null, sandbox: { role: 'tenant_admin', entitlements: [] } });
    expect(evaluateRoleMappings(rules, null, { groups: [], email_domain: ['contractors.test'] })).toEqual({
      live: { role: 'read_only', entitlements: ['signal.review'] },
      sandbox: null,
    });
  });

  it('falls back to the default role, or to no access', () => {
    expect(evaluateRoleMappings(rules, 'read_only', { groups: ['sales'] })).toEqual({
      live: { role: 'read_only', entitlements: [] },
      sandbox: { role: 'read_only', entitlements: [] },
    });
    expect(evaluateRoleMappings(rules, null, { groups: ['sales'] })).toEqual({ live: null, sandbox: null });
  });

  it('drops entitlements outside the allowlist from stored rules and ignores malformed ones', () => {
    const stored = storedRules([{ claim: 'groups', equals: 'x', role: 'tenant_admin', entitlements: ['tenant.admin', 'root'] }, { claim: 'groups' }, 'junk']);
    expect(stored).toHaveLength(1);
    expect(evaluateRoleMappings(stored, null, { groups: ['x'] }).live).toEqual({ role: 'tenant_admin', entitlements: ['tenant.admin'] });
  });

  it('a rule needs exactly one of equals or in', () => {
    expect(roleMappingRule.safeParse({ claim: 'groups', role: 'read_only' }).success).toBe(false);
    expect(roleMappingRule.safeParse({ claim: 'groups', equals: 'a', in: ['b'], role: 'read_only' }).success).toBe(false);
  });
});
