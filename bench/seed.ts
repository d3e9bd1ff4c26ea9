/**
 * Prepare a benchmark database before its server starts (PGlite is one process per data dir):
 * an organization with Agent Security Mode on, a PAT, a high harbor write limit (the default
 * 120/min would make P1 measure 429s) and `INTENTS` intents to read. Prints credentials as JSON.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { createRuntime } from '../src/runtime.ts';
import { hashPassword, newId } from '../src/crypto/hash.ts';
import { createOrganization } from '../src/areas/identity/organizations.ts';
import { createApiKey } from '../src/areas/identity/api-keys.ts';
import { createPat } from '../src/areas/agents/pats.ts';
import { setAgentSecurityMode } from '../src/areas/agents/mode.ts';
import { updatePolicy } from '../src/areas/guardrails/policy.ts';
import type { Principal } from '../src/context.ts';

const runtime = await createRuntime({ ...loadConfig(), LOG_LEVEL: 'warn' });
const now = runtime.clock.now();

/** One organization (its sandbox tenant): agent mode on, a high limit profile, an API key and a PAT. */
async function seedTenant(n: number) {
  const org = await runtime.db.$transaction(async (tx) =>
    createOrganization(tx, { name: `Bench Co ${n}`, admin: { email: `bench-${randomUUID()}@bench.test`, passwordHash: await hashPassword(randomUUID()) } }, now),
  );
  const principal: Principal = {
    kind: 'user',
    subjectId: org.userId,
    userId: org.userId,
    tenantId: org.tenants.sandbox,
    organizationId: org.organizationId,
    environment: 'sandbox',
    roles: ['tenant_admin'],
    entitlements: ['tenant.admin'],
    scopes: ['harbor:read', 'harbor:write'],
    authMethod: 'seed',
  };
  const ctx = { runtime, principal, requestId: 'bench-seed' };
  await setAgentSecurityMode(ctx, true);
  await updatePolicy(ctx, {
    mode: 'enforce',
    allowedTemplates: [],
    allowRawPredicates: true,
    maxIntentAmountCents: {},
    lifecycleConfirmations: {},
    // The P2 read is a caller-written document: it spends the query-cost budget (src/plugins/cost.ts) too.
    rateLimitProfile: { harbor_intent_mutation: { limit: 1_000_000, window_seconds: 60 }, policy_sandbox_preview_test: { limit: 1_000_000, window_seconds: 60 }, graphql_query_cost: { limit: 1_000_000, window_seconds: 1 } },
  });
  const apiKey = await createApiKey(ctx, { name: 'bench' });
  const pat = await createPat(ctx, { name: 'bench runtime' });
  return { org, apiKey, pat };
}

// TENANTS=n seeds n organizations (the multi-tenant P1); the first one is also the read's tenant.
const seeded = [];
for (let n = 0; n < Number(process.env.TENANTS ?? 1); n++) seeded.push(await seedTenant(n));
const { org, apiKey, pat } = seeded[0]!;
const intents = Number(process.env.INTENTS ?? 40);
await runtime.db.harborIntent.createMany({
  data: Array.from({ length: intents }, (_, i) => ({
    id: newId('int'),
    tenantId: org.tenants.sandbox,
    intentId: randomUUID(),
    state: 'funded',
    principalDid: 'did:bench:principal',
    payeeDid: 'did:bench:payee',
    amountCents: 1000 + i,
    currency: 'usd',
    settlementRail: 'stripe_connect',
    settlementMode: 'simulated',
    deadline: new Date(now.getTime() + 86_400_000),
    budget: { max: 1000 + i },
    evidenceSchema: {},
    predicate: { version: 1, root: { op: 'true' } },
    allowedTools: ['*'],
    source: 'bench',
    createdAt: new Date(now.getTime() - i * 1000),
    updatedAt: now,
  })),
});
await runtime.close();
console.log(JSON.stringify({ tenantId: org.tenants.sandbox, organizationId: org.organizationId, apiKey: apiKey.secret, pat: pat.token, pats: seeded.map((s) => s.pat.token) }));
process.exit(0);
