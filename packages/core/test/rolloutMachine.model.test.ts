import { describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import {
  type RolloutEvent,
  type RolloutGroupEvent,
  RolloutGroupStatus,
  RolloutStatus,
  rolloutGroupMachine,
  rolloutGroupStatusAfter,
  rolloutMachine,
  rolloutStatusAfter,
} from '../src/index.js';

const ROLLOUT_EVENTS: RolloutEvent[] = [
  { type: 'rollout.created', approvalNeeded: false },
  { type: 'rollout.created', approvalNeeded: true },
  { type: 'rollout.approve' },
  { type: 'rollout.deny' },
  { type: 'rollout.start' },
  { type: 'rollout.started' },
  { type: 'rollout.pause' },
  { type: 'rollout.resume' },
  { type: 'rollout.finished' },
  { type: 'rollout.stop' },
  { type: 'rollout.stopped' },
  { type: 'rollout.delete' },
  { type: 'rollout.deleted' },
];

const STOPPABLE: RolloutStatus[] = [
  'creating',
  'ready',
  'waiting_for_approval',
  'starting',
  'running',
  'paused',
  'approval_denied',
];

/**
 * hawkBit's rules, written apart from the machine (RolloutHelper, JpaRolloutManagement,
 * JpaRolloutExecutor as the protocol notes give them).
 */
function expectedRollout(status: RolloutStatus, event: RolloutEvent): RolloutStatus | undefined {
  switch (event.type) {
    case 'rollout.created':
      if (status !== 'creating') return undefined;
      return event.approvalNeeded ? 'waiting_for_approval' : 'ready';
    case 'rollout.approve':
      return status === 'waiting_for_approval' ? 'ready' : undefined;
    case 'rollout.deny':
      return status === 'waiting_for_approval' ? 'approval_denied' : undefined;
    case 'rollout.start':
      return status === 'ready' ? 'starting' : undefined;
    case 'rollout.started':
      return status === 'starting' ? 'running' : undefined;
    case 'rollout.pause':
      return status === 'running' ? 'paused' : undefined;
    case 'rollout.resume':
      return status === 'paused' ? 'running' : undefined;
    case 'rollout.finished':
      return status === 'running' ? 'finished' : undefined;
    case 'rollout.stop':
      return STOPPABLE.includes(status) ? 'stopping' : undefined;
    case 'rollout.stopped':
      return status === 'stopping' ? 'stopped' : undefined;
    case 'rollout.delete':
      return status === 'deleting' || status === 'deleted' ? undefined : 'deleting';
    case 'rollout.deleted':
      return status === 'deleting' ? 'deleted' : undefined;
  }
}

const GROUP_EVENTS: RolloutGroupEvent[] = [
  { type: 'group.filled' },
  { type: 'group.schedule' },
  { type: 'group.start' },
  { type: 'group.complete' },
  { type: 'group.fail' },
  { type: 'group.stop' },
];

function expectedGroup(
  status: RolloutGroupStatus,
  event: RolloutGroupEvent,
): RolloutGroupStatus | undefined {
  const open = status !== 'finished' && status !== 'error';
  switch (event.type) {
    case 'group.filled':
      return status === 'creating' ? 'ready' : undefined;
    case 'group.schedule':
      return status === 'ready' ? 'scheduled' : undefined;
    case 'group.start':
      return status === 'scheduled' ? 'running' : undefined;
    case 'group.complete':
      return status === 'running' ? 'finished' : undefined;
    case 'group.fail':
      return status === 'running' ? 'error' : undefined;
    case 'group.stop':
      return open ? 'finished' : undefined;
  }
}

describe('rollout machine, model-based', () => {
  const reached = new Set<string>();
  const model = createTestModel(rolloutMachine, { events: ROLLOUT_EVENTS });
  for (const path of model.getShortestPaths()) {
    it(`${path.steps.map((s) => s.event.type).join(' → ') || '(start)'} ⇒ ${String(path.state.value)}`, () => {
      let status: RolloutStatus = 'creating';
      reached.add(status);
      for (const step of path.steps) {
        const next = rolloutStatusAfter(status, step.event as RolloutEvent);
        expect(next).toBe(expectedRollout(status, step.event as RolloutEvent));
        status = next ?? status;
        reached.add(status);
      }
      expect(status).toBe(path.state.value);
      reached.add(status);
    });
  }
  it('reaches every state, and takes or refuses every event in every state as hawkBit does', () => {
    expect([...reached].sort()).toEqual([...RolloutStatus.options].sort());
    for (const status of RolloutStatus.options) {
      for (const event of ROLLOUT_EVENTS) {
        expect(rolloutStatusAfter(status, event), `${status} --${event.type}`).toBe(
          expectedRollout(status, event),
        );
      }
    }
  });
});

describe('rollout group machine, model-based', () => {
  const reached = new Set<string>();
  const model = createTestModel(rolloutGroupMachine, { events: GROUP_EVENTS });
  for (const path of model.getShortestPaths()) {
    it(`${path.steps.map((s) => s.event.type).join(' → ') || '(start)'} ⇒ ${String(path.state.value)}`, () => {
      let status: RolloutGroupStatus = 'creating';
      reached.add(status);
      for (const step of path.steps) {
        const next = rolloutGroupStatusAfter(status, step.event as RolloutGroupEvent);
        expect(next).toBe(expectedGroup(status, step.event as RolloutGroupEvent));
        status = next ?? status;
        reached.add(status);
      }
      expect(status).toBe(path.state.value);
      reached.add(status);
    });
  }
  it('reaches every state, and takes or refuses every event in every state', () => {
    expect([...reached].sort()).toEqual([...RolloutGroupStatus.options].sort());
    for (const status of RolloutGroupStatus.options) {
      for (const event of GROUP_EVENTS) {
        expect(rolloutGroupStatusAfter(status, event), `${status} --${event.type}`).toBe(
          expectedGroup(status, event),
        );
      }
    }
  });
});
