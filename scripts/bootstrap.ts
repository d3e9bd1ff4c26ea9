/**
 * npm run bootstrap -- --org "Acme" --email admin@acme.test [--password <pw>]
 *
 * Creates an organization (live + sandbox tenants) with an admin, and prints a sandbox API key
 * once. Honours DATA_DIR / DATABASE_URL. With the embedded database, run it before `npm start`
 * (PGlite is one process per data directory); it says so if the server holds the database.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../src/config.ts';
import { StartupError } from '../src/db.ts';
import { createRuntime } from '../src/app.ts';
import { hashPassword, newId } from '../src/crypto/hash.ts';
import { createOrganization, normalizeEmail } from '../src/areas/identity/organizations.ts';
import { createApiKey } from '../src/areas/identity/api-keys.ts';
import { recordAudit } from '../src/kernel/audit/service.ts';
import type { Principal } from '../src/context.ts';

const args = z.object({
  org: z.string().trim().min(1, '--org is required').max(100),
  email: z.email('--email must be an email address'),
  password: z.string().min(12, '--password must be at least 12 characters').optional(),
});

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { org: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } } });
  const parsed = args.safeParse(values);
  if (!parsed.success) {
    console.error(`${parsed.error.issues[0]!.message}\nusage: npm run bootstrap -- --org "Acme" --email admin@acme.test [--password <pw>]`);
    return 2;
  }
  const config = loadConfig();
  const runtime = await createRuntime({ ...config, LOG_LEVEL: 'warn' });
  try {
    const email = normalizeEmail(parsed.data.email);
    if (await runtime.db.user.findUnique({ where: { email } })) {
      console.error(`A user with email ${email} already exists; sign in instead.`);
      return 1;
    }
    const password = parsed.data.password ?? randomBytes(12).toString('base64url');
    const now = runtime.clock.now();
    const requestId = newId('bootstrap');
    const org = await runtime.db.$transaction(async (tx) => {
      const created = await createOrganization(tx, { name: parsed.data.org, admin: { email, passwordHash: await hashPassword(password) } }, now);
      for (const tenantId of Object.values(created.tenants)) {
        await recordAudit(tx, { runtime, principal: null, requestId }, {
          tenantId,
          eventType: 'organization.bootstrapped',
          resource: 'organization',
          resourceId: created.organizationId,
          actor: { type: 'cli', id: null },
        });
      }
      return created;
    });
    const principal: Principal = {
      kind: 'user',
      subjectId: org.userId,
      userId: org.userId,
      tenantId: org.tenants.sandbox,
      organizationId: org.organizationId,
      environment: 'sandbox',
      roles: ['tenant_admin'],
      entitlements: ['tenant.admin'],
      scopes: [],
      authMethod: 'cli',
    };
    const key = await createApiKey({ runtime, principal, requestId }, { name: 'bootstrap sandbox key' });
    console.log(
      [
        `Organization  ${parsed.data.org} (${org.organizationId})`,
        `Tenants       live ${org.tenants.live} · sandbox ${org.tenants.sandbox}`,
        `Admin         ${email}${parsed.data.password ? '' : `  password: ${password}`}`,
        '',
        'Sandbox API key (shown once, store it now):',
        `  ${key.secret}`,
        '',
        'Try it:  curl -H "authorization: Bearer <key>" http://localhost:4000/v1/auth/principal',
      ].join('\n'),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError || error instanceof StartupError ? error.message : error);
    process.exit(1);
  },
);
