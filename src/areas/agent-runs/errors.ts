import { defineErrorCodes } from '../../kernel/errors.ts';

/** Agent-run trace codes: the bounds of what a run may store. */
export const agentRunErrorCodes = defineErrorCodes({
  agent_run_event_too_large: 413,
  agent_run_event_limit: 409,
});

type AgentRunErrorCodes = typeof agentRunErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends AgentRunErrorCodes {}
}
