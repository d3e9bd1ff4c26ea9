/**
 * npm run admin -- <command> …   Operator commands that act for a named tenant admin (audited).
 */
import { z } from 'zod';
import { createApiKey } from '../src/areas/identity/api-keys.ts';
import { setAgentSecurityMode } from '../src/areas/agents/mode.ts';
import { createPat } from '../src/areas/agents/pats.ts';
import { gatewayUrl, runCommand, UsageError } from './cli.ts';
import { adminPrincipal, commandContext, openRuntime } from './operator.ts';

const usage = `usage: npm run admin -- <command> --tenant <tenant id> --as <admin email> [options]

Commands (each acts for the named tenant admin and is audited):
  api-key    --name <name> [--expires-in-days <n>]   create a service-account API key (printed once)
  agent-mode --on | --off                            turn Agent Security Mode on or off
  pat        --name <name> [--expires-in-days <n>]   create a personal access token for an agent
                                                     (printed once; turns Agent Security Mode on first
                                                     when --enable-agent-mode is given)

Example: npm run admin -- pat --tenant ten_… --as admin@acme.test --name "my agent" --enable-agent-mode`;

const common = z.object({
  tenant: z.string({ error: '--tenant is required' }).min(1),
  as: z.email({ error: '--as must be the email of a tenant admin' }),
});
const days = z.coerce.number().int().min(1).max(730).optional();

runCommand({
  usage,
  positionals: true,
  options: {
    tenant: { type: 'string' },
    as: { type: 'string' },
    name: { type: 'string' },
    'expires-in-days': { type: 'string' },
    on: { type: 'boolean' },
    off: { type: 'boolean' },
    'enable-agent-mode': { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const [command, ...extra] = positionals;
    if (!command) throw new UsageError('Name a command.');
    if (extra.length) throw new UsageError(`Unexpected argument ${extra[0]}`);
    const base = common.safeParse(values);
    if (!base.success) throw new UsageError(base.error.issues[0]!.message);
    const expires = days.safeParse(values['expires-in-days']);
    if (!expires.success) throw new UsageError('--expires-in-days must be a whole number of days (1–730)');
    const name = values.name?.trim();
    if ((command === 'api-key' || command === 'pat') && !name) throw new UsageError('--name is required');
    if (command === 'agent-mode' && values.on === values.off) throw new UsageError('Give exactly one of --on and --off');
    if (!['api-key', 'pat', 'agent-mode'].includes(command)) throw new UsageError(`Unknown command ${command}`);

    const runtime = await openRuntime();
    try {
      const principal = await adminPrincipal(runtime, base.data.tenant, base.data.as);
      const ctx = commandContext(runtime, principal);
      const url = gatewayUrl(runtime.config);
      if (command === 'agent-mode' || values['enable-agent-mode']) {
        const tenant = await setAgentSecurityMode(ctx, command === 'agent-mode' ? Boolean(values.on) : true);
        console.log(`Agent Security Mode is ${tenant.agentSecurityMode ? 'on' : 'off'} for ${tenant.id}.`);
      }
      if (command === 'api-key') {
        const expiresAt = expires.data ? new Date(runtime.clock.now().getTime() + expires.data * 86_400_000) : undefined;
        const issued = await createApiKey(ctx, { name: name!, expiresAt });
        console.log(`API key ${issued.apiKey.id} (shown once, store it now):\n  ${issued.secret}\n\nTry it:  curl -H "authorization: Bearer <key>" ${url}/v1/auth/principal`);
      }
      if (command === 'pat') {
        const issued = await createPat(ctx, { name: name!, expiresInDays: expires.data });
        console.log(
          `Personal access token ${issued.pat.id} (shown once, store it in the agent's secret store):\n  ${issued.token}\n\n` +
            `Run an agent:  GATEWAY_URL=${url} PAYBOND_PAT=<token> node --import tsx examples/agent-runtime.ts`,
        );
      }
      return 0;
    } finally {
      await runtime.close();
    }
  },
});
