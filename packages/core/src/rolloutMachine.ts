import { setup } from 'xstate';
import { z } from 'zod';
import { createInertScope } from './inertScope.js';

/** hawkBit's rollout states, spelled as on the wire. */
export const RolloutStatus = z.enum([
  'creating',
  'waiting_for_approval',
  'approval_denied',
  'ready',
  'starting',
  'running',
  'paused',
  'stopping',
  'stopped',
  'finished',
  'deleting',
  'deleted',
]);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

/**
 * What moves a rollout. `rollout.created` ends group filling (approval is needed when the tenant
 * asks for it and the creator may not approve); `rollout.started`, `rollout.stopped` and
 * `rollout.deleted` end the work the states before them stand for.
 */
export type RolloutEvent =
  | { type: 'rollout.created'; approvalNeeded: boolean }
  | { type: 'rollout.approve' }
  | { type: 'rollout.deny' }
  | { type: 'rollout.start' }
  | { type: 'rollout.started' }
  | { type: 'rollout.pause' }
  | { type: 'rollout.resume' }
  | { type: 'rollout.finished' }
  | { type: 'rollout.stop' }
  | { type: 'rollout.stopped' }
  | { type: 'rollout.delete' }
  | { type: 'rollout.deleted' };

const STOP = { 'rollout.stop': { target: 'stopping' } } as const;
const DELETE = { 'rollout.delete': { target: 'deleting' } } as const;

/**
 * A rollout's life, as hawkBit's executor and management service allow it: creating -> ready
 * (or waiting_for_approval -> ready | approval_denied) -> starting -> running <-> paused ->
 * finished; every state before the end may stop; every state but deleting and deleted may be
 * deleted. An event a state does not name changes nothing: that is the API's illegal state.
 */
export const rolloutMachine = setup({
  types: { events: {} as RolloutEvent },
  guards: {
    approvalNeeded: ({ event }) => event.type === 'rollout.created' && event.approvalNeeded,
  },
}).createMachine({
  id: 'rollout',
  initial: 'creating',
  states: {
    creating: {
      on: {
        'rollout.created': [
          { guard: 'approvalNeeded', target: 'waiting_for_approval' },
          { target: 'ready' },
        ],
        ...STOP,
        ...DELETE,
      },
    },
    waiting_for_approval: {
      on: {
        'rollout.approve': { target: 'ready' },
        'rollout.deny': { target: 'approval_denied' },
        ...STOP,
        ...DELETE,
      },
    },
    approval_denied: { on: { ...STOP, ...DELETE } },
    ready: { on: { 'rollout.start': { target: 'starting' }, ...STOP, ...DELETE } },
    starting: { on: { 'rollout.started': { target: 'running' }, ...STOP, ...DELETE } },
    running: {
      on: {
        'rollout.pause': { target: 'paused' },
        'rollout.finished': { target: 'finished' },
        ...STOP,
        ...DELETE,
      },
    },
    paused: { on: { 'rollout.resume': { target: 'running' }, ...STOP, ...DELETE } },
    stopping: { on: { 'rollout.stopped': { target: 'stopped' }, ...DELETE } },
    stopped: { on: { ...DELETE } },
    finished: { on: { ...DELETE } },
    deleting: { on: { 'rollout.deleted': { target: 'deleted' } } },
    deleted: { type: 'final' },
  },
});

/** hawkBit's rollout-group states. */
export const RolloutGroupStatus = z.enum([
  'creating',
  'ready',
  'scheduled',
  'running',
  'finished',
  'error',
]);
export type RolloutGroupStatus = z.infer<typeof RolloutGroupStatus>;

export type RolloutGroupEvent =
  | { type: 'group.filled' }
  | { type: 'group.schedule' }
  | { type: 'group.start' }
  | { type: 'group.complete' }
  | { type: 'group.fail' }
  | { type: 'group.stop' };

const GROUP_STOP = { 'group.stop': { target: 'finished' } } as const;

/**
 * A group's life: filled (creating -> ready), its actions written when the rollout starts
 * (scheduled), started (running), then finished when every action ended or error when its error
 * condition tripped. Stopping the rollout finishes every open group, as hawkBit does.
 */
export const rolloutGroupMachine = setup({
  types: { events: {} as RolloutGroupEvent },
}).createMachine({
  id: 'rolloutGroup',
  initial: 'creating',
  states: {
    creating: { on: { 'group.filled': { target: 'ready' }, ...GROUP_STOP } },
    ready: { on: { 'group.schedule': { target: 'scheduled' }, ...GROUP_STOP } },
    scheduled: { on: { 'group.start': { target: 'running' }, ...GROUP_STOP } },
    running: {
      on: {
        'group.complete': { target: 'finished' },
        'group.fail': { target: 'error' },
        ...GROUP_STOP,
      },
    },
    finished: { type: 'final' },
    error: { type: 'final' },
  },
});

const scope = createInertScope();

/**
 * The status a stored rollout moves to on `event`, by the machine itself; undefined when the
 * machine does not take the event in that state (hawkBit's `rollout.illegalState`).
 */
export function rolloutStatusAfter(
  status: RolloutStatus,
  event: RolloutEvent,
): RolloutStatus | undefined {
  const snapshot = rolloutMachine.resolveState({ value: status, context: {} });
  if (!snapshot.can(event)) return undefined;
  return RolloutStatus.parse(rolloutMachine.transition(snapshot, event, scope).value);
}

/** As `rolloutStatusAfter`, for a group. */
export function rolloutGroupStatusAfter(
  status: RolloutGroupStatus,
  event: RolloutGroupEvent,
): RolloutGroupStatus | undefined {
  const snapshot = rolloutGroupMachine.resolveState({ value: status, context: {} });
  if (!snapshot.can(event)) return undefined;
  return RolloutGroupStatus.parse(rolloutGroupMachine.transition(snapshot, event, scope).value);
}
