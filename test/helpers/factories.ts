import { randomBytes } from 'node:crypto';
import { hashPassword, newId } from '../../src/crypto/hash.ts';
import { createOrganization } from '../../src/areas/identity/organizations.ts';
import { openSession } from '../../src/areas/identity/sessions.ts';
import { createApiKey } from '../../src/areas/identity/api-keys.ts';
import type { Environment, Principal } from '../../src/context.ts';
import type { TestGateway } from './gateway.ts';

export const TEST_PASSWORD = 'correct horse battery staple';
let passwordHash: Promise<string> | undefined;
const testPasswordHash = () => (passwordHash ??= hashPassword(TEST_PASSWORD));

export interface TestUser {
  userId: string;
  email: string;
  /** Session access tokens per environment. */
  token: Record<Environment, string>;
  refreshToken: Record<Environment, string>;
}

export interface TestOrg {
  organizationId: string;
  tenants: Record<Environment, string>;
  admin: TestUser;
  /** A sandbox and a live API key (full secrets). */
  apiKey: Record<Environment, string>;
  apiKeyId: Record<Environment, string>;
}

const uniqueEmail = (label: string) => `${label}-${randomBytes(5).toString('hex')}@example.test`;

async function sessions(gw: TestGateway, userId: string, tenants: Record<Environment, string>) {
  const token = {} as Record<Environment, string>;
  const refreshToken = {} as Record<Environment, string>;
  for (const env of ['live', 'sandbox'] as const) {
    const s = await gw.runtime.db.$transaction((tx) => openSession(gw.runtime, tx, userId, tenants[env]));
    token[env] = s.accessToken;
    refreshToken[env] = s.refreshToken;
  }
  return { token, refreshToken };
}

export const adminPrincipal = (org: Pick<TestOrg, 'organizationId' | 'tenants'>, userId: string, env: Environment): Principal => ({
  kind: 'user',
  subjectId: userId,
  userId,
  tenantId: org.tenants[env],
  organizationId: org.organizationId,
  environment: env,
  roles: ['tenant_admin'],
  entitlements: ['tenant.admin'],
  scopes: ['harbor:read', 'harbor:write'],
  authMethod: 'session',
});

/** A fresh organization (own tenants, admin, sessions, API keys): each test owns its data. */
export async function createOrg(gw: TestGateway, name = 'Test Org'): Promise<TestOrg> {
  const email = uniqueEmail('admin');
  const created = await gw.runtime.db.$transaction(async (tx) =>
    createOrganization(tx, { name, admin: { email, passwordHash: await testPasswordHash() } }, gw.runtime.clock.now()),
  );
  const admin = { userId: created.userId, email, ...(await sessions(gw, created.userId, created.tenants)) };
  const apiKey = {} as Record<Environment, string>;
  const apiKeyId = {} as Record<Environment, string>;
  for (const env of ['live', 'sandbox'] as const) {
    const issued = await createApiKey(
      { runtime: gw.runtime, principal: adminPrincipal(created, created.userId, env), requestId: 'test' },
      { name: `${env} key` },
    );
    apiKey[env] = issued.secret;
    apiKeyId[env] = issued.apiKey.id;
  }
  return { organizationId: created.organizationId, tenants: created.tenants, admin, apiKey, apiKeyId };
}

/** Another user of `org` with the given role in both tenants. */
export async function addMember(gw: TestGateway, org: TestOrg, role: 'read_only' | 'tenant_admin', entitlements: string[] = []): Promise<TestUser> {
  const email = uniqueEmail(role);
  const userId = newId('usr');
  await gw.runtime.db.user.create({ data: { id: userId, email, passwordHash: await testPasswordHash() } });
  for (const tenantId of Object.values(org.tenants)) {
    await gw.runtime.db.membership.create({ data: { id: newId('mem'), userId, tenantId, role, entitlements } });
  }
  return { userId, email, ...(await sessions(gw, userId, org.tenants)) };
}
