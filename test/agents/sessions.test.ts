import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createTestGateway, expectError, gqlOk, rest, type TestGateway } from '../helpers/gateway.ts';
import { addMember, createOrg, type TestOrg } from '../helpers/factories.ts';
import { agentSession, createPat, enableAgentMode, keypair, registrationSignature } from '../helpers/agent.ts';
import { ed, keyThumbprint, toBase58 } from '../../src/crypto/ed25519.ts';
import { ManualClock } from '../../src/clock.ts';

let gw: TestGateway;
let org: TestOrg;
const clock = new ManualClock(new Date());
beforeAll(async () => {
  gw = await createTestGateway({ clock });
  org = await createOrg(gw);
  await enableAgentMode(gw, org);
});
afterAll(() => gw.close());

describe('PAT → runtime JWT bound to an ephemeral key', () => {
  it('issues a 15-minute JWT whose cnf.jkt is the thumbprint of the session key', async () => {
    const { token } = await createPat(gw, org);
    const key = keypair();
    const res = await rest(gw, 'POST', '/api/agent/auth/pat', { token, session_pubkey: key.base58, label: 'worker-7' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      agent_id: key.base58,
      scope: 'agent:settlement',
      requires_signed_requests: true,
      tenant_id: org.tenants.sandbox,
      environment: 'sandbox',
    });
    const claims = decodeJwt(res.body.access_token);
    expect(decodeProtectedHeader(res.body.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'paybond-agent+jwt' });
    expect(claims).toMatchObject({ sub: key.base58, jti: res.body.session_id, tid: org.tenants.sandbox, env: 'sandbox', scope: 'agent:settlement' });
    expect((claims.cnf as { jkt: string }).jkt).toBe(await keyThumbprint(key.publicKey));
    expect(claims.exp! - claims.iat!).toBe(900);

    const me = await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: res.body.access_token });
    expect(me.body).toMatchObject({ agent_id: key.base58, session_id: res.body.session_id, auth_method: 'pat_ed25519_session', key_thumbprint: res.body.key_thumbprint });
    const session = await gw.runtime.db.agentSession.findUniqueOrThrow({ where: { id: res.body.session_id } });
    expect(session).toMatchObject({ label: 'worker-7', patId: expect.any(String), publicKey: key.base58 });
  });

  it('without a key, issues a runtime-only token that cannot sign', async () => {
    const { token, tokenId } = await createPat(gw, org);
    const res = await rest(gw, 'POST', '/api/agent/auth/pat', { token });
    expect(res.body).toMatchObject({ agent_id: `pat:${tokenId}`, scope: 'agent:runtime', requires_signed_requests: false, key_thumbprint: null });
  });

  it.each([
    ['not base58', 'O0Il-not-base58'],
    ['31 bytes', toBase58(new Uint8Array(31).fill(9))],
    ['33 bytes', toBase58(new Uint8Array(33).fill(9))],
    ['hex instead of base58', Buffer.from(keypair().publicKey).toString('hex')],
    ['a small-order point', toBase58(Buffer.from('0100000000000000000000000000000000000000000000000000000000000000', 'hex'))],
  ])('rejects a session_pubkey that is %s with 400', async (_name, sessionPubkey) => {
    const { token } = await createPat(gw, org);
    expectError(await rest(gw, 'POST', '/api/agent/auth/pat', { token, session_pubkey: sessionPubkey }), 400, 'invalid_request');
  });

  it('rejects unknown, expired and malformed PATs with 401', async () => {
    expectError(await rest(gw, 'POST', '/api/agent/auth/pat', { token: 'paybond_pat_nope', session_pubkey: keypair().base58 }), 401, 'invalid_credentials');
    const short = await createPat(gw, org, 'sandbox', { name: 'short', expiresInDays: 1 });
    clock.advance(86_401);
    try {
      expectError(await rest(gw, 'POST', '/api/agent/auth/pat', { token: short.token, session_pubkey: keypair().base58 }), 401, 'token_expired');
    } finally {
      clock.advance(-86_401);
    }
    expectError(await rest(gw, 'POST', '/api/agent/auth/pat', {}), 400, 'invalid_request');
  });

  it('expires with the clock and can be revoked by an admin', async () => {
    const agent = await agentSession(gw, org);
    clock.advance(901);
    try {
      expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token }), 401, 'token_expired');
    } finally {
      clock.advance(-901);
    }
    const list = await rest(gw, 'GET', '/api/agent/sessions', undefined, { token: org.admin.token.sandbox });
    expect(list.body.sessions.map((s: { session_id: string }) => s.session_id)).toContain(agent.sessionId);
    const reader = await addMember(gw, org, 'read_only');
    expectError(await rest(gw, 'POST', `/api/agent/sessions/${agent.sessionId}/revoke`, undefined, { token: reader.token.sandbox }), 403, 'forbidden');
    const revoked = await rest(gw, 'POST', `/api/agent/sessions/${agent.sessionId}/revoke`, undefined, { token: org.admin.token.sandbox });
    expect(revoked.body).toMatchObject({ session_id: agent.sessionId, status: 'revoked', revoked_reason: 'revoked_by_admin' });
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: agent.token }), 401, 'credential_revoked');
    const other = await createOrg(gw);
    await enableAgentMode(gw, other);
    expectError(await rest(gw, 'POST', `/api/agent/sessions/${agent.sessionId}/revoke`, undefined, { token: other.admin.token.sandbox }), 404, 'not_found');
  });

  it('has GraphQL twins', async () => {
    const { token } = await createPat(gw, org);
    const key = keypair();
    const data = await gqlOk(
      gw,
      'mutation($input: AgentSessionFromPatInput!) { agentSessionCreateFromPat(input: $input) { agentToken { accessToken agentId scope } userErrors { code } } }',
      { input: { token, sessionPubkey: key.base58 } },
    );
    expect(data.agentSessionCreateFromPat.agentToken).toMatchObject({ agentId: key.base58, scope: 'agent:settlement' });
    const me = await gqlOk(gw, '{ agentIdentity { agentId requiresSignedRequests } }', {}, { token: data.agentSessionCreateFromPat.agentToken.accessToken });
    expect(me.agentIdentity).toEqual({ agentId: key.base58, requiresSignedRequests: true });
    const sessions = await gqlOk(gw, '{ agentSessions(first: 100) { edges { node { agentId status } } } }', {}, { token: org.admin.token.sandbox });
    expect(sessions.agentSessions.edges.map((e: { node: { agentId: string } }) => e.node.agentId)).toContain(key.base58);
  });
});

describe('trusted agent keys and the nonce sign-in', () => {
  it('registers, updates, lists and revokes keys', async () => {
    const token = org.admin.token.sandbox;
    const first = keypair();
    const created = await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: 'Kid-Main', public_key: first.base58, label: 'main', registration_signature: registrationSignature(first, org.tenants.sandbox, 'kid-main') }, { token });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key_id: 'kid-main', public_key_base58: first.base58, status: 'active', created: true });
    const second = keypair();
    const updated = await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: 'kid-main', public_key_ed25519_hex: Buffer.from(second.publicKey).toString('hex'), registration_signature: registrationSignature(second, org.tenants.sandbox, 'kid-main') }, { token });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ public_key_base58: second.base58, label: 'main', created: false });
    const list = await rest(gw, 'GET', '/v1/admin/protocol/agent-keys', undefined, { token });
    expect(list.body.keys.map((k: { key_id: string }) => k.key_id)).toContain('kid-main');
    const revoked = await rest(gw, 'POST', '/v1/admin/protocol/agent-keys/kid-main/revoke', undefined, { token });
    expect(revoked.body.status).toBe('revoked');
    const third = keypair();
    expectError(await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: 'kid-main', public_key: third.base58, registration_signature: registrationSignature(third, org.tenants.sandbox, 'kid-main') }, { token }), 409, 'conflict');
    expectError(await rest(gw, 'POST', '/v1/admin/protocol/agent-keys/nope/revoke', undefined, { token }), 404, 'not_found');
    expectError(await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: 'kid-x', public_key: 'zz' }, { token }), 400, 'invalid_request');
    expectError(await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: '-bad id', public_key: keypair().base58 }, { token }), 400, 'invalid_request');
  });

  async function registered(keyId: string) {
    const key = keypair();
    const res = await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: keyId, public_key: key.base58, registration_signature: registrationSignature(key, org.tenants.sandbox, keyId) }, { token: org.admin.token.sandbox });
    expect(res.status).toBe(201);
    return key;
  }
  const signNonce = (key: ReturnType<typeof keypair>, nonce: string) => ed.sign(new TextEncoder().encode(nonce), key.secretKey);

  it('signs in with a nonce signed by a registered key; the nonce works once', async () => {
    const key = await registered('kid-nonce');
    const nonce = await rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${key.base58}`);
    expect(nonce.status).toBe(200);
    expect(nonce.body.nonce).toMatch(/^[A-Za-z0-9]{32}$/);
    const body = { agent_pubkey: key.base58, nonce: nonce.body.nonce, signature: toBase58(signNonce(key, nonce.body.nonce)) };
    const token = await rest(gw, 'POST', '/api/agent/auth/token', body);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ agent_id: key.base58, scope: 'agent:settlement', tenant_id: org.tenants.sandbox });
    const me = await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token: token.body.access_token });
    expect(me.body.auth_method).toBe('ed25519_session');
    expectError(await rest(gw, 'POST', '/api/agent/auth/token', body), 401, 'nonce_invalid');
  });

  it('accepts base64 signatures and refuses wrong signatures, expired nonces and other keys', async () => {
    const key = await registered('kid-nonce-2');
    const fresh = async () => (await rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${key.base58}`)).body.nonce as string;
    const n1 = await fresh();
    const b64 = Buffer.from(signNonce(key, n1)).toString('base64');
    expect((await rest(gw, 'POST', '/api/agent/auth/token', { agent_pubkey: key.base58, nonce: n1, signature: b64 })).status).toBe(200);

    const n2 = await fresh();
    const intruder = keypair();
    expectError(await rest(gw, 'POST', '/api/agent/auth/token', { agent_pubkey: key.base58, nonce: n2, signature: toBase58(signNonce(intruder, n2)) }), 401, 'nonce_invalid');
    expectError(await rest(gw, 'POST', '/api/agent/auth/token', { agent_pubkey: intruder.base58, nonce: n2, signature: toBase58(signNonce(intruder, n2)) }), 401, 'nonce_invalid');
    const n3 = await fresh();
    clock.advance(301);
    try {
      expectError(await rest(gw, 'POST', '/api/agent/auth/token', { agent_pubkey: key.base58, nonce: n3, signature: toBase58(signNonce(key, n3)) }), 401, 'nonce_invalid');
    } finally {
      clock.advance(-301);
    }
    expectError(await rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${keypair().base58}`), 401, 'invalid_credentials');
    expectError(await rest(gw, 'GET', '/api/agent/auth/nonce?agent_pubkey=xyz'), 400, 'invalid_request');
    expectError(await rest(gw, 'GET', '/api/agent/auth/nonce'), 400, 'invalid_request');
  });

  it('two concurrent redemptions of one nonce: exactly one wins', async () => {
    const key = await registered('kid-race');
    const { nonce } = (await rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${key.base58}`)).body;
    const body = { agent_pubkey: key.base58, nonce, signature: toBase58(signNonce(key, nonce)) };
    const results = await Promise.all(Array.from({ length: 10 }, () => rest(gw, 'POST', '/api/agent/auth/token', body)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(9);
  });

  it('revoking the key ends its sessions', async () => {
    const key = await registered('kid-revoke');
    const { nonce } = (await rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${key.base58}`)).body;
    const token = (await rest(gw, 'POST', '/api/agent/auth/token', { agent_pubkey: key.base58, nonce, signature: toBase58(signNonce(key, nonce)) })).body.access_token;
    expect((await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token })).status).toBe(200);
    await rest(gw, 'POST', '/v1/admin/protocol/agent-keys/kid-revoke/revoke', undefined, { token: org.admin.token.sandbox });
    expectError(await rest(gw, 'GET', '/api/agent/auth/me', undefined, { token }), 401, 'credential_revoked');
    expectError(await rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${key.base58}`), 401, 'invalid_credentials');
  });
});
