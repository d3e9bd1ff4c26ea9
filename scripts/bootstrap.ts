/**
 * npm run bootstrap -- --org "Acme" --email admin@acme.test [--password <pw>]
 *
 * Creates an organization (live + sandbox tenants) with an admin, and prints a sandbox API key
 * once. Honours DATA_DIR / DATABASE_URL. With the embedded database, run it before `npm start`
 * (PGlite is one process per data directory); it says so if the server holds the database.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashPassword } from '../src/crypto/hash.ts';
import { createOrganization, normalizeEmail } from '../src/areas/identity/organizations.ts';
import { createApiKey } from '../src/areas/identity/api-keys.ts';
import { recordAudit } from '../src/kernel/audit/service.ts';
import { gatewayUrl, progress, runCommand, UsageError } from './cli.ts';
import { adminPrincipal, commandContext, openRuntime } from './operator.ts';

const usage = `usage: npm run bootstrap -- --org <name> --email <admin email> [--password <password>]

Creates an organization with a live and a sandbox tenant, its first admin, and a sandbox API key
(printed once). Without --password a random one is generated and printed.`;

const args = z.object({
  org: z.string({ error: '--org is required' }).trim().min(1, '--org is required').max(100),
  email: z.email({ error: '--email must be an email address' }),
  password: z.string().min(12, '--password must be at least 12 characters').optional(),
});

runCommand({
  usage,
  options: { org: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
  async run({ values }) {
    const parsed = args.safeParse(values);
    if (!parsed.success) throw new UsageError(parsed.error.issues[0]!.message);
    const runtime = await openRuntime();
    try {
      const email = normalizeEmail(parsed.data.email);
      if (await runtime.db.user.findUnique({ where: { email } })) {
        process.stderr.write(`A user with email ${email} already exists; sign in instead.\n`);
        return 1;
      }
      const password = parsed.data.password ?? randomBytes(12).toString('base64url');
      progress('creating the organization');
      const passwordHash = await hashPassword(password);
      const ctx = commandContext(runtime, null);
      const org = await runtime.db.$transaction(async (tx) => {
        const created = await createOrganization(tx, { name: parsed.data.org, admin: { email, passwordHash } }, runtime.clock.now());
        for (const tenantId of Object.values(created.tenants)) {
          await recordAudit(tx, ctx, { tenantId, eventType: 'organization.bootstrapped', resource: 'organization', resourceId: created.organizationId, actor: { type: 'cli', id: null } });
        }
        return created;
      });
      const principal = await adminPrincipal(runtime, org.tenants.sandbox, email);
      const key = await createApiKey(commandContext(runtime, principal), { name: 'bootstrap sandbox key' });
      console.log(
        [
          `Organization  ${parsed.data.org} (${org.organizationId})`,
          `Tenants       live ${org.tenants.live} · sandbox ${org.tenants.sandbox}`,
          `Admin         ${email}${parsed.data.password ? '' : `  password: ${password}`}`,
          '',
          'Sandbox API key (shown once, store it now):',
          `  ${key.secret}`,
          '',
          `Try it:  curl -H "authorization: Bearer <key>" ${gatewayUrl(runtime.config)}/v1/auth/principal`,
          ...(runtime.config.GRAPHIQL ? [`         or open ${gatewayUrl(runtime.config)}/graphql and put the key in the Headers tab`] : []),
        ].join('\n'),
      );
      return 0;
    } finally {
      await runtime.close();
    }
  },
});
