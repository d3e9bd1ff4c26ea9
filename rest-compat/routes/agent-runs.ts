import { agentRunUpsertInput, traceEventsInput } from '../../src/areas/agent-runs/runs.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';

/** Agent-run trace reporting (the Paybond Kit SDK's gateway trace reporter). */
const tag = 'Agent runs';
const USER_ERRORS = 'userErrors { code message field details }';
const RUN = snakeFields('runId intentId operation sandbox allowedTools completionPreset eventCount createdAt updatedAt');

export const agentRunsRoutes: RestRoute[] = [
  operation({
    method: 'PUT',
    path: '/v1/agent-runs/{run_id}',
    summary: 'Register or update an agent run (idempotent upsert): intent, operation, sandbox, allowed tools, completion preset.',
    tag,
    body: agentRunUpsertInput,
    example: { params: { run_id: 'run-2026-11-30-a' }, body: { intent_id: '7f0c2f4e-1d2b-4c3a-9e8f-0a1b2c3d4e5f', operation: 'vendor.book', sandbox: true, allowed_tools: ['vendor.book'], completion_preset: 'api_response_ok' } },
    operation: `mutation($runId: String!, $input: AgentRunUpsertInput!) { agentRunUpsert(runId: $runId, input: $input) { run { ${RUN} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ runId: params.run_id, input: body }),
    shape: { pick: 'run' },
  }),
  operation({
    method: 'POST',
    path: '/v1/agent-runs/{run_id}/trace-events',
    summary: 'Append trace events to an agent run (at most 50 per call, 8 KiB each, 1000 per run; redacted before storage).',
    tag,
    body: traceEventsInput,
    errors: [409],
    example: { params: { run_id: 'run-2026-11-30-a' }, body: { events: [{ type: 'tool_selected', runId: 'run-2026-11-30-a', toolName: 'vendor.book', toolCallId: 'c1', operation: 'vendor.book', recordedAt: '2026-11-30T00:00:00Z' }] } },
    operation: `mutation($runId: String!, $input: AgentRunTraceEventsInput!) { agentRunTraceEventsAppend(runId: $runId, input: $input) { accepted run { ${RUN} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ runId: params.run_id, input: body }),
    shape: { spread: ['run'] },
  }),
];
