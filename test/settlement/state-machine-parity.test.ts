import { describe, expect, it } from 'vitest';
import { INTENT_ACTIONS, INTENT_STATES } from '../../src/areas/settlement/lifecycle-types.ts';
import { applyActions, stateMachine } from '../helpers/intent-state-machine.ts';
import { SDK_RAILS } from '../../src/areas/settlement/config.ts';
import { SETTLEMENT_RAILS } from '../../src/areas/harbor/rails.ts';

describe('settlement lifecycle names', () => {
  it('list exactly the states of the Harbor state machine', () => {
    expect([...INTENT_STATES].sort()).toEqual([...stateMachine.INTENT_STATES].sort());
  });

  it('name only actions the Harbor state machine knows', () => {
    for (const action of INTENT_ACTIONS) {
      // Every known action is legal from at least one state; an unknown one would throw.
      expect(INTENT_STATES.some((s) => stateMachine.canTransition(s, action)), action).toBe(true);
    }
  });

  it('the default envelope lists exactly the rails Harbor knows', () => {
    expect([...SDK_RAILS].sort()).toEqual([...SETTLEMENT_RAILS].sort());
  });

  it('the helper reports the first refused step', () => {
    expect(applyActions('created', ['fund_succeeded', 'evidence'])).toEqual({ ok: true, state: 'evidence_submitted' });
    expect(applyActions('created', ['fund_succeeded', 'void'])).toEqual({ ok: false, at: 1, state: 'funded', action: 'void' });
  });
});
