import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, gql, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { agentSession, createPat, enableAgentMode, keypair } from '../helpers/agent.ts';
import { sha256Hex } from '../../src/crypto/hash.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

describe('Agent Security Mode', () => {
  it('is off by default, and agent controls answer 403 agent_security_mode_disabled until an admin turns it on', async () => {
    const org = await createOrg(gw);
    const token = org.admin.token.sandbox;
    expect((await rest(gw, 'GET', '/api/agent/security-mode', undefined, { token })).body).toEqual({ enabled: false, tenant_id: org.tenants.sandbox });
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x' }, { token }), 403, 'agent_security_mode_disabled');
    expectError(await rest(gw, 'GET', '/api/agent/pats', undefined, { token }), 403, 'agent_security_mode_disabled');
    expectError(await rest(gw, 'GET', '/api/agent/sessions', undefined, { token }), 403, 'agent_security_mode_disabled');
    expectError(await rest(gw, 'GET', '/v1/admin/protocol/agent-keys', undefined, { token }), 403, 'agent_security_mode_disabled');
    expectError(
      await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: 'kid-1', public_key: keypair().base58 }, { token }),
      403,
      'agent_security_mode_disabled',
    );
    const viaGraphql = await gqlOk(gw, 'mutation { personalAccessTokenCreate(input: { name: "x" }) { token userErrors { code } } }', {}, { token });
    expect(viaGraphql.personalAccessTokenCreate.userErrors[0].code).toBe('AGENT_SECURITY_MODE_DISABLED');
    // The normal host surface is unchanged.
    expect((await rest(gw, 'GET', '/v1/admin/api-keys', undefined, { token })).status).toBe(200);

    await enableAgentMode(gw, org);
    expect((await rest(gw, 'GET', '/api/agent/security-mode', undefined, { token })).body.enabled).toBe(true);
    expect((await rest(gw, 'GET', '/api/agent/pats', undefined, { token })).status).toBe(200);
    // Per tenant: the live tenant is still off.
    expectError(await rest(gw, 'GET', '/api/agent/pats', undefined, { token: org.admin.token.live }), 403, 'agent_security_mode_disabled');
    const audit = await gw.runtime.db.auditEvent.findMany({ where: { tenantId: org.tenants.sandbox, eventType: 'agent_security_mode.enabled' } });
    expect(audit).toHaveLength(1);
  });

  it('only tenant admins can change it', async () => {
    const org = await createOrg(gw);
    const reader = await addMember(gw, org, 'read_only');
    expectError(await rest(gw, 'POST', '/api/agent/security-mode', { enabled: true }, { token: reader.token.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/api/agent/security-mode', { enabled: true }, { token: org.apiKey.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/api/agent/security-mode', { enabled: 'yes' }, { token: org.admin.token.sandbox }), 400, 'invalid_request');
    const res = await gql(gw, 'mutation { agentSecurityModeSet(enabled: true) { tenant { agentSecurityMode } } }', {}, { token: reader.token.sandbox });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('turning it off stops PATs and agent JWTs at once', async () => {
    const org = await createOrg(gw);
    const agent = await agentSession(gw, org);
    expect((await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token })).status).toBe(200);
    expect((await rest(gw, 'POST', '/api/agent/security-mode', { enabled: false }, { token: org.admin.token.sandbox })).status).toBe(200);
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token }), 403, 'agent_security_mode_disabled');
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: agent.pat }), 403, 'agent_security_mode_disabled');
  });
});

describe('personal access tokens', () => {
  let org: TestOrg;
  beforeAll(async () => {
    org = await createOrg(gw);
    await enableAgentMode(gw, org);
  });

  it('creates a token shown once, stored only as a hash, with Payknot field names', async () => {
    const res = await rest(gw, 'POST', '/api/agent/pats', { name: 'ops bot', expiresInDays: 30 }, { token: org.admin.token.sandbox });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ok: true, name: 'ops bot', scope: 'agent:runtime', status: 'active' });
    expect(res.body.token).toMatch(/^paybond_pat_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    expect(res.body.tokenHint).toBe(`${res.body.token.slice(0, 18)}...`);
    expect(res.body.tokenId).toBe(res.body.id);
    expect(new Date(res.body.expiresAt).getTime() - new Date(res.body.createdAt).getTime()).toBe(30 * 86_400_000);
    const row = await gw.runtime.db.personalAccessToken.findUniqueOrThrow({ where: { id: res.body.tokenId } });
    expect(row.tokenHash).toBe(sha256Hex(res.body.token));
    expect(JSON.stringify(row)).not.toContain(res.body.token);
    const list = await rest(gw, 'GET', '/api/agent/pats', undefined, { token: org.admin.token.sandbox });
    expect(list.body.tokens.find((t: { id: string }) => t.id === res.body.tokenId)).toMatchObject({ name: 'ops bot', tokenHint: res.body.tokenHint });
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);
    // snake_case input works too.
    expect((await rest(gw, 'POST', '/api/agent/pats', { name: 'snake', expires_in_days: 1 }, { token: org.admin.token.sandbox })).status).toBe(201);
  });

  it('validates input', async () => {
    const token = org.admin.token.sandbox;
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: '' }, { token }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x', expiresInDays: 366 }, { token }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x', expiresInDays: -1 }, { token }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x', expiresInDays: 1.5 }, { token }), 400, 'invalid_request');
  });

  it('works as a bearer credential for host read APIs, but not for writes', async () => {
    const { token } = await createPat(gw, org);
    const principal = await rest(gw, 'GET', '/v1/auth/principal', undefined, { token });
    expect(principal.body).toMatchObject({ principal_type: 'pat', tenant_id: org.tenants.sandbox, auth_method: 'pat' });
    const me = await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token });
    expect(me.body).toMatchObject({ auth_method: 'pat', requires_signed_requests: false, tenant_id: org.tenants.sandbox });
    expectError(await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'x' }, { token }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x' }, { token }), 403, 'forbidden');
  });

  it('only a human session with admin rights creates or revokes', async () => {
    const reader = await addMember(gw, org, 'read_only');
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x' }, { token: reader.token.sandbox }), 403, 'forbidden');
    expectError(await rest(gw, 'POST', '/api/agent/pats', { name: 'x' }, { token: org.apiKey.sandbox }), 403, 'forbidden');
    const { tokenId } = await createPat(gw, org);
    expectError(await rest(gw, 'POST', '/api/agent/pats/revoke', { tokenId }, { token: reader.token.sandbox }), 403, 'forbidden');
  });

  it('revoking a PAT kills the PAT and every session derived from it, immediately', async () => {
    const agent = await agentSession(gw, org);
    const second = await rest(gw, 'POST', '/api/agent/auth/pat', { token: agent.pat, session_pubkey: keypair().base58 });
    expect((await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token })).status).toBe(200);
    const revoked = await rest(gw, 'POST', '/api/agent/pats/revoke', { tokenId: agent.patId }, { token: org.admin.token.sandbox });
    expect(revoked.body).toMatchObject({ ok: true, tokenId: agent.patId, status: 'revoked' });
    expectError(await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: agent.pat }), 401, 'credential_revoked');
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token }), 401, 'credential_revoked');
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: second.body.access_token }), 401, 'credential_revoked');
    expectError(await rest(gw, 'POST', '/api/agent/auth/pat', { token: agent.pat, session_pubkey: keypair().base58 }), 401, 'credential_revoked');
    const sessions = await gw.runtime.db.agentSession.findMany({ where: { patId: agent.patId } });
    expect(sessions.every((s) => s.revokedReason === 'pat_revoked')).toBe(true);
  });

  it("answers 404 for another tenant's PAT", async () => {
    const other = await createOrg(gw);
    await enableAgentMode(gw, other);
    const theirs = await createPat(gw, other);
    expectError(await rest(gw, 'POST', '/api/agent/pats/revoke', { tokenId: theirs.tokenId }, { token: org.admin.token.sandbox }), 404, 'not_found');
    expect((await rest(gw, 'GET', '/v1/auth/principal', undefined, { token: theirs.token })).status).toBe(200);
  });
});
