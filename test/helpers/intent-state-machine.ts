import type { IntentAction } from '../../src/areas/settlement/lifecycle-types.ts';
import * as harborStateMachine from '../../src/areas/harbor/state-machine.ts';

/** The gateway's real intent state machine, for tests that check this area's plans against it. */
export const stateMachine = harborStateMachine;

/** The state after `actions` from `state`, or the first refused step. */
export function applyActions(state: string, actions: readonly IntentAction[]): { ok: true; state: string } | { ok: false; at: number; state: string; action: IntentAction } {
  let current = state;
  for (const [at, action] of actions.entries()) {
    if (!stateMachine.canTransition(current, action)) return { ok: false, at, state: current, action };
    current = stateMachine.nextState(current, action);
  }
  return { ok: true, state: current };
}
