import { createInertScope } from './inertScope.js';
import { type PersistedSnapshot, persistTarget, restoreTarget } from './persistence.js';
import {
  type TargetEvent,
  type TargetInput,
  type TargetSnapshot,
  targetMachine,
  targetStatusOfState,
} from './targetMachine.js';
import type { TargetUpdateStatus } from './vocabulary.js';

const scope = createInertScope();

export function createTargetSnapshot(input: TargetInput): TargetSnapshot {
  return targetMachine.getInitialSnapshot(scope, input);
}

export function applyTargetEvent(snapshot: TargetSnapshot, event: TargetEvent): TargetSnapshot {
  return targetMachine.transition(snapshot, event, scope);
}

export function targetStatusOf(snapshot: TargetSnapshot): TargetUpdateStatus {
  return targetStatusOfState(snapshot.value);
}

/**
 * One target event on a persisted target, by the target machine itself: targets move on an
 * assignment and a close only (not on every report), so the restore costs little. A hand-written
 * replay of the six events used to stand here; it was a second statement of the machine.
 */
export function stepPersistedTarget(
  state: PersistedSnapshot,
  event: TargetEvent,
): PersistedSnapshot {
  return persistTarget(applyTargetEvent(restoreTarget(state), event));
}
