/**
 * For bench/webhooks.ts: an endpoint of the benchmark tenant (BENCH_TENANT_ID, BENCH_ORG_ID) to
 * RECEIVER_URL, subscribed to every event type. Prints {"endpointId": …}.
 */
import { loadConfig } from '../src/config.ts';
import { createRuntime } from '../src/runtime.ts';
import { createEndpoint } from '../src/areas/webhooks/endpoints.ts';

const runtime = await createRuntime({ ...loadConfig(), LOG_LEVEL: 'warn' });
const { endpoint } = await createEndpoint(
  {
    runtime,
    requestId: 'bench-seed',
    principal: {
      kind: 'user',
      subjectId: 'bench',
      userId: 'bench',
      tenantId: process.env.BENCH_TENANT_ID!,
      organizationId: process.env.BENCH_ORG_ID!,
      environment: 'sandbox',
      roles: ['tenant_admin'],
      entitlements: ['tenant.admin'],
      scopes: ['harbor:read', 'harbor:write'],
      authMethod: 'seed',
    },
  },
  { url: `${process.env.RECEIVER_URL}/hooks` },
);
await runtime.close();
console.log(JSON.stringify({ endpointId: endpoint.id }));
process.exit(0);
