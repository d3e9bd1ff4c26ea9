/// <reference types="vite/client" />
import type { IntentAction } from '../../src/areas/settlement/lifecycle-types.ts';

/**
 * The gateway's real intent state machine, for tests that check this area's plans against it.
 * Found by glob so the tests keep working whichever folder (src/domain or src/areas) holds it.
 */
const found = import.meta.glob<{
  INTENT_STATES: readonly string[];
  nextState(from: string, action: IntentAction): string;
  canTransition(from: string, action: IntentAction): boolean;
}>('../../src/*/harbor/state-machine.ts', { eager: true });

const modules = Object.values(found);
if (modules.length !== 1) throw new Error(`expected exactly one harbor/state-machine.ts, found ${Object.keys(found).join(', ') || 'none'}`);
export const stateMachine = modules[0]!;

/** The state after `actions` from `state`, or the first refused step. */
export function applyActions(state: string, actions: readonly IntentAction[]): { ok: true; state: string } | { ok: false; at: number; state: string; action: IntentAction } {
  let current = state;
  for (const [at, action] of actions.entries()) {
    if (!stateMachine.canTransition(current, action)) return { ok: false, at, state: current, action };
    current = stateMachine.nextState(current, action);
  }
  return { ok: true, state: current };
}
