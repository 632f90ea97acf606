import { describe, expect, it } from 'vitest';
import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { createTestModel, getStateNodes } from 'xstate/graph';
import {
  applyTargetEvent,
  createTargetSnapshot,
  persistTarget,
  restoreTarget,
  type TargetEvent,
  type TargetSnapshot,
  TargetUpdateStatus,
  targetMachine,
  targetStatusOf,
} from '../src/index.js';

const STATUS_OF_STATE: Record<string, TargetUpdateStatus> = {
  unknown: 'UNKNOWN',
  registered: 'REGISTERED',
  pending: 'PENDING',
  inSync: 'IN_SYNC',
  error: 'ERROR',
};

const input = { controllerId: 'dev-target', createdAt: 1_000 };

// Two sets are enough to take the "assigned is not what was installed" branch.
const EVENTS: TargetEvent[] = [
  { type: 'target.contacted', at: 2_001 },
  { type: 'target.assigned', distributionSetId: 1, at: 2_002 },
  { type: 'target.assigned', distributionSetId: 2, at: 2_003 },
  ...[1, 2].flatMap((distributionSetId) =>
    [true, false].map(
      (othersActive): TargetEvent => ({
        type: 'target.actionSucceeded',
        distributionSetId,
        othersActive,
        at: 2_004,
      }),
    ),
  ),
  ...(['target.actionDownloaded', 'target.actionFailed', 'target.actionCanceled'] as const).flatMap(
    (type) => [true, false].map((othersActive): TargetEvent => ({ type, othersActive, at: 2_005 })),
  ),
];
const EVENT_TYPES = [...new Set(EVENTS.map((e) => e.type))];

/**
 * ARCHITECTURE.md's rules, written independently of the machine: first contact -> REGISTERED,
 * assignment -> PENDING, anything still active -> PENDING, success/download-only/cancel -> IN_SYNC,
 * failure -> ERROR.
 */
function expectedAfter(before: TargetUpdateStatus, event: TargetEvent): TargetUpdateStatus {
  switch (event.type) {
    case 'target.contacted':
      return before === 'UNKNOWN' ? 'REGISTERED' : before;
    case 'target.assigned':
      return 'PENDING';
    case 'target.actionFailed':
      return event.othersActive ? 'PENDING' : 'ERROR';
    default:
      return event.othersActive ? 'PENDING' : 'IN_SYNC';
  }
}

// The context fields that steer guards are part of the key; timestamps are not.
const keyOf = (s: TargetSnapshot) =>
  JSON.stringify([
    s.value,
    s.context.assignedDistributionSetId ?? null,
    s.context.installedDistributionSetId ?? null,
  ]);
const serializeState = (s: TargetSnapshot, event?: TargetEvent, prev?: TargetSnapshot) =>
  JSON.stringify([keyOf(s), event ? JSON.stringify(event) : null, prev ? keyOf(prev) : null]);

const allNodes: AnyStateNode[] = [targetMachine.root, ...getStateNodes(targetMachine.root)];
const defined: Array<{ key: string; def: AnyTransitionDefinition }> = allNodes.flatMap((node) =>
  [...node.transitions.entries()].flatMap(([type, defs]) =>
    defs.map((def, i) => ({ key: `${node.id} --${type}[${i}]`, def })),
  ),
);
const keyOfDefinition = new Map(defined.map((d) => [d.def, d.key]));
function acceptedTypes(node: AnyStateNode): string[] {
  const types = new Set<string>();
  for (let n: AnyStateNode | undefined = node; n; n = n.parent)
    for (const t of n.transitions.keys()) types.add(t);
  return [...types];
}
const expectedPairs = new Set(
  allNodes
    .filter((n) => n.type === 'atomic')
    .flatMap((n) => acceptedTypes(n).map((t) => `${n.id} --${t}`)),
);

const takenDefinitions = new Set<string>();
const takenPairs = new Set<string>();
const reachedStatuses = new Set<TargetUpdateStatus>();

const model = createTestModel(targetMachine, { input, events: EVENTS, serializeState });

describe('target machine, model-based', () => {
  for (const path of model.getShortestPaths()) {
    const title = `${path.steps.map((s) => s.event.type).join(' → ')} ⇒ ${String(path.state.value)}`;
    it(title, async () => {
      let sut = createTargetSnapshot(input);
      const events: Record<string, (step: { event: TargetEvent; state: TargetSnapshot }) => void> =
        {};
      for (const type of EVENT_TYPES) {
        events[type] = ({ event }) => {
          const from = restoreTarget(JSON.parse(JSON.stringify(persistTarget(sut))));
          for (const d of targetMachine.getTransitionData(from, event)) {
            takenDefinitions.add(keyOfDefinition.get(d) ?? `unknown ${d.eventType}`);
          }
          takenPairs.add(`target.${String(from.value)} --${event.type}`);
          const next = applyTargetEvent(from, event);
          expect(targetStatusOf(next)).toBe(expectedAfter(targetStatusOf(from), event));
          if (event.type === 'target.actionSucceeded') {
            expect(next.context.installedDistributionSetId).toBe(event.distributionSetId);
          }
          if (event.type === 'target.assigned')
            expect(next.context.assignedDistributionSetId).toBe(event.distributionSetId);
          if (event.type === 'target.contacted') expect(next.context.lastContactAt).toBe(event.at);
          // hawkBit's IN_SYNC: what is assigned is installed.
          if (targetStatusOf(next) === 'IN_SYNC') {
            expect(next.context.assignedDistributionSetId).toBe(
              next.context.installedDistributionSetId,
            );
          }
          sut = next;
        };
      }
      await path.test({
        states: {
          '*': (state) => {
            expect(targetStatusOf(state)).toBe(STATUS_OF_STATE[String(state.value)]);
            expect(sut.value).toEqual(state.value);
            expect(keyOf(sut)).toBe(keyOf(state));
            reachedStatuses.add(targetStatusOf(sut));
          },
        },
        events,
      });
    });
  }

  it('takes every transition the machine defines', () => {
    expect([...takenDefinitions].sort()).toEqual(defined.map((d) => d.key).sort());
  });
  it('takes every (state, event type) pair the machine accepts', () => {
    expect([...takenPairs].sort()).toEqual([...expectedPairs].sort());
  });
  it('reaches all 5 TargetUpdateStatus values', () => {
    expect([...reachedStatuses].sort()).toEqual([...TargetUpdateStatus.options].sort());
  });
});
