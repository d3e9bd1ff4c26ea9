import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { connectionArgs, policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { inputFromZod } from '../../graphql/inputs.ts';
import type { AgentRun } from '../../generated/prisma/client.ts';
import { READER } from '../../kernel/policy.ts';
import { agentRunUpsertInput, appendTraceEvents, traceEventsInput, upsertAgentRun } from './runs.ts';
import './errors.ts';
import './limits.ts';

export const AREA = 'agent-runs' as const;

/** Trace reporting: the credentials the SDK writes Harbor with, counted in their own group. */
const TRACE_WRITE = { principals: ['user', 'api_key', 'harbor', 'agent'], scope: 'harbor:write', rateLimit: 'agent_run_trace' } as const;

builder.prismaObject('AgentRunTraceEvent', {
  description: 'One trace event of an agent run (redacted like audit rows).',
  fields: (t) => ({
    seq: t.exposeInt('seq', { description: 'Position in the run (from 1).' }),
    eventType: t.exposeString('eventType', { description: 'tool_selected, spend_authorized, spend_denied, approval_required, tool_executed, evidence_submitted or spend_finalized.' }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime', nullable: true, description: 'recordedAt as the agent reported it.' }),
    data: t.expose('data', { type: 'JSON', description: 'The event as reported, redacted.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the gateway stored it.' }),
  }),
});

export const AgentRunType = builder.prismaNode('AgentRun', {
  description: 'An agent run reported by the Paybond Kit SDK’s trace reporter, with its timeline.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    runId: t.exposeString('runId', { description: 'The run id the agent chose.' }),
    intentId: t.exposeString('intentId', { nullable: true, description: 'The Harbor intent it works under.' }),
    operation: t.exposeString('operation', { description: 'The operation.' }),
    sandbox: t.exposeBoolean('sandbox', { description: 'True for a sandbox run.' }),
    allowedTools: t.exposeStringList('allowedTools', { description: 'Tools it may call.' }),
    completionPreset: t.exposeString('completionPreset', { description: 'Completion preset of its evidence.' }),
    eventCount: t.exposeInt('eventCount', { description: 'Trace events stored.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'First seen.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change.' }),
    events: t.relatedConnection(
      'events',
      {
        cursor: 'id',
        description: 'Its trace events in order.',
        query: () => ({ orderBy: { seq: 'asc' } }),
      },
      { name: 'AgentRunEventsConnection', description: 'A page of an agent run’s trace events.' },
      { name: 'AgentRunEventsConnectionEdge', description: 'A trace event in a page.' },
    ),
  }),
});

builder.queryFields((t) => ({
  agentRuns: t.prismaConnection(
    {
      ...policy(READER),
      type: 'AgentRun',
      cursor: 'id',
      description: 'The tenant’s agent runs, most recently active first.',
      validate: connectionArgs,
      totalCount: (_p, _a, ctx) => ctx.runtime.db.agentRun.count({ where: { tenantId: principalOf(ctx).tenantId } }),
      resolve: (query, _r, _a, ctx) =>
        ctx.runtime.db.agentRun.findMany({ ...query, where: { tenantId: principalOf(ctx).tenantId }, orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'AgentRunConnection', description: 'A page of agent runs.' },
    { name: 'AgentRunEdge', description: 'An agent run in a page.' },
  ),
  agentRun: t.prismaField({
    ...policy(READER),
    type: 'AgentRun',
    nullable: true,
    description: 'One agent run of the caller’s tenant by its run id (null when there is none).',
    args: { runId: t.arg.string({ required: true, description: 'The run id.' }) },
    resolve: (query, _r, { runId }, ctx) => ctx.runtime.db.agentRun.findUnique({ ...query, where: { tenantId_runId: { tenantId: principalOf(ctx).tenantId, runId } } }),
  }),
}));

const RunPayload = builder.objectRef<{ run?: AgentRun; accepted?: number; userErrors: UserErrorShape[] }>('AgentRunPayload').implement({
  description: 'An agent run after a report.',
  fields: (t) => ({
    run: t.field({ type: AgentRunType, nullable: true, description: 'The run.', resolve: (p) => p.run ?? null }),
    accepted: t.int({ nullable: true, description: 'Trace events stored by this call.', resolve: (p) => p.accepted ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const UpsertInput = inputFromZod('AgentRunUpsertInput', agentRunUpsertInput, 'Run metadata as the SDK registers it.');
const EventsInput = inputFromZod('AgentRunTraceEventsInput', traceEventsInput, 'Trace events to append.');

builder.mutationFields((t) => ({
  agentRunUpsert: t.field({
    ...policy(TRACE_WRITE),
    type: RunPayload,
    description: 'Register (or update) an agent run.',
    args: {
      runId: t.arg.string({ required: true, description: 'The run id.' }),
      input: t.arg({ type: UpsertInput, required: true, description: 'Run metadata.' }),
    },
    resolve: (_r, { runId, input }, ctx) => withUserErrors(async () => ({ run: await upsertAgentRun({ ...ctx, principal: principalOf(ctx) }, runId, input as z.output<typeof agentRunUpsertInput>) })),
  }),
  agentRunTraceEventsAppend: t.field({
    ...policy(TRACE_WRITE),
    type: RunPayload,
    description: 'Append trace events to an agent run (bounded; redacted like audit rows).',
    args: {
      runId: t.arg.string({ required: true, description: 'The run id.' }),
      input: t.arg({ type: EventsInput, required: true, description: 'The events.' }),
    },
    resolve: (_r, { runId, input }, ctx) => withUserErrors(() => appendTraceEvents({ ...ctx, principal: principalOf(ctx) }, runId, input as z.output<typeof traceEventsInput>)),
  }),
}));
