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

// During a move both may exist (one re-exporting the other); the areas/ one is the real one.
const path = Object.keys(found).sort((a, b) => Number(b.includes('/areas/')) - Number(a.includes('/areas/')))[0];
if (!path) throw new Error('no harbor/state-machine.ts found under src/');
export const stateMachine = found[path]!;

/** The state after `actions` from `state`, or the first refused step. */
export function applyActions(state: string, actions: readonly IntentAction[]): { ok: true; state: string } | { ok: false; at: number; state: string; action: IntentAction } {
  let current = state;
  for (const [at, action] of actions.entries()) {
    if (!stateMachine.canTransition(current, action)) return { ok: false, at, state: current, action };
    current = stateMachine.nextState(current, action);
  }
  return { ok: true, state: current };
}
