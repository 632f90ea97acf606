import { createInertScope } from './inertScope.js';
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
