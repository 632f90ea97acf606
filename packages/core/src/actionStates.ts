import { ACTIVE, actionMachine } from './actionMachine.js';
import type { PersistedSnapshot } from './persistence.js';

/*
 * The action machine's state sets, read from its definition rather than listed again: a state
 * added to the machine (or made final, or tagged active) changes every reader at once.
 */

const roots = actionMachine.root.states;

/** Top-level states of type `final`: a closed action. */
export const FINAL_ACTION_STATES: ReadonlySet<string> = new Set(
  Object.keys(roots).filter((key) => roots[key]!.type === 'final'),
);

/** Top-level states tagged `active` (hawkBit's `active`; tags of a parent cover its children). */
export const ACTIVE_ACTION_STATES: ReadonlySet<string> = new Set(
  Object.keys(roots).filter((key) => roots[key]!.tags.includes(ACTIVE)),
);

/** The top-level state of a persisted value (`running` for `{ running: 'download' }`). */
export function rootStateOf(value: PersistedSnapshot['value']): string {
  if (typeof value === 'string') return value;
  for (const parent in value) return parent;
  return '';
}

/** hawkBit: active until closed; a scheduled action is not active yet. Read from a persisted value. */
export function isActiveStateValue(value: PersistedSnapshot['value']): boolean {
  return ACTIVE_ACTION_STATES.has(rootStateOf(value));
}
