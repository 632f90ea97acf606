import { describe, expect, it } from 'vitest';
import {
  ACTIVE_ACTION_STATES,
  FINAL_ACTION_STATES,
  isActiveStateValue,
} from '../src/actionStates.js';
import { actionMachine } from '../src/index.js';

describe('the action state sets, read from the machine', () => {
  it('are the final states and the states tagged active', () => {
    expect([...FINAL_ACTION_STATES].sort()).toEqual([
      'canceled',
      'downloadOnlyDone',
      'error',
      'finished',
    ]);
    expect([...ACTIVE_ACTION_STATES].sort()).toEqual([
      'canceling',
      'running',
      'waitingForConfirmation',
    ]);
    for (const key of FINAL_ACTION_STATES) expect(ACTIVE_ACTION_STATES.has(key)).toBe(false);
  });

  it('say active for every running child and not for scheduled or a closed action', () => {
    const running = actionMachine.root.states.running!;
    for (const child of Object.keys(running.states))
      expect(isActiveStateValue({ running: child })).toBe(true);
    expect(isActiveStateValue('scheduled')).toBe(false);
    expect(isActiveStateValue('finished')).toBe(false);
    expect(isActiveStateValue('nowhere')).toBe(false);
  });
});
