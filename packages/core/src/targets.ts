import { initialTransition, transition } from 'xstate';
import { type TargetEvent, type TargetInput, type TargetSnapshot, targetMachine, targetStatusOfState } from './targetMachine.js';
import type { TargetUpdateStatus } from './vocabulary.js';

export function createTargetSnapshot(input: TargetInput): TargetSnapshot {
  return initialTransition(targetMachine, input)[0];
}

export function applyTargetEvent(snapshot: TargetSnapshot, event: TargetEvent): TargetSnapshot {
  return transition(targetMachine, snapshot, event)[0];
}

export function targetStatusOf(snapshot: TargetSnapshot): TargetUpdateStatus {
  return targetStatusOfState(snapshot.value);
}
