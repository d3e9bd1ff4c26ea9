import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, expectError, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { enableAgentMode, keypair, registrationSignature } from '../helpers/agent.ts';

/** Finding 2 of issue 11: a trusted agent key is registered by proof of possession, in one tenant only. */
let gw: TestGateway;
let a: TestOrg;
let b: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  a = await createOrg(gw, 'Owner');
  b = await createOrg(gw, 'Squatter');
  await enableAgentMode(gw, a, 'sandbox');
  await enableAgentMode(gw, b, 'sandbox');
});
afterAll(() => gw?.close());

const register = (org: TestOrg, body: Record<string, unknown>) => rest(gw, 'POST', '/v1/admin/protocol/agent-keys', body, { token: org.admin.token.sandbox });
const nonce = (key: ReturnType<typeof keypair>) => rest(gw, 'GET', `/api/agent/auth/nonce?agent_pubkey=${key.base58}`);

describe('trusted agent keys are owned by proof', () => {
  it('another tenant cannot register a key it does not hold, nor replay the owner’s proof', async () => {
    const key = keypair();
    const owner = await register(a, { key_id: 'kid-a', public_key: key.base58, registration_signature: registrationSignature(key, a.tenants.sandbox, 'kid-a') });
    expect(owner.status).toBe(201);
    // B only has public material: no signature, a made-up one, or A's own proof (which names A's tenant).
    expectError(await register(b, { key_id: 'kid-a', public_key: key.base58 }), 400, 'invalid_request');
    expectError(await register(b, { key_id: 'kid-a', public_key: key.base58, registration_signature: 'A'.repeat(86) + '==' }), 400, 'invalid_request');
    expectError(
      await register(b, { key_id: 'kid-a', public_key: key.base58, registration_signature: registrationSignature(key, a.tenants.sandbox, 'kid-a') }),
      400,
      'invalid_request',
    );
    // A's agents are unaffected: the nonce sign-in still names A's key, and never becomes ambiguous.
    const challenge = await nonce(key);
    expect(challenge.status, JSON.stringify(challenge.body)).toBe(200);
    expect(challenge.body.tenant_id).toBe(a.tenants.sandbox);
  });

  it('a key is active in one tenant only, even for its owner', async () => {
    const key = keypair();
    expect((await register(a, { key_id: 'kid-one', public_key: key.base58, registration_signature: registrationSignature(key, a.tenants.sandbox, 'kid-one') })).status).toBe(201);
    expectError(await register(b, { key_id: 'kid-one', public_key: key.base58, registration_signature: registrationSignature(key, b.tenants.sandbox, 'kid-one') }), 409, 'conflict');
    // Once A revokes it, nothing signs in anywhere with it (B never registered it).
    await rest(gw, 'POST', '/v1/admin/protocol/agent-keys/kid-one/revoke', undefined, { token: a.admin.token.sandbox });
    expectError(await nonce(key), 401, 'invalid_credentials');
  });
});
