import { describe, expect, it } from 'vitest';
import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { createTestModel, getStateNodes } from 'xstate/graph';
import {
  ActionEvent,
  type ActionInput,
  type ActionSnapshot,
  ActionStatus,
  actionMachine,
  applyActionEvent,
  createActionSnapshot,
  isActionActive,
  persistAction,
  restoreAction,
  stateKeyOf,
} from '../src/index.js';

/** What ARCHITECTURE.md says each state node shows; written here, independently of the machine. */
const STATUS_OF_STATE: Record<string, ActionStatus> = {
  scheduled: 'SCHEDULED',
  waitingForConfirmation: 'WAIT_FOR_CONFIRMATION',
  'running.running': 'RUNNING',
  'running.retrieved': 'RETRIEVED',
  'running.download': 'DOWNLOAD',
  'running.downloaded': 'DOWNLOADED',
  'running.warning': 'WARNING',
  canceling: 'CANCELING',
  finished: 'FINISHED',
  error: 'ERROR',
  canceled: 'CANCELED',
  downloadOnlyDone: 'DOWNLOADED',
};
const INACTIVE = new Set(['scheduled', 'finished', 'error', 'canceled', 'downloadOnlyDone']);

const base: ActionInput = {
  id: 7,
  controllerId: 'dev-model',
  distributionSetId: 3,
  distributionSetName: 'os',
  distributionSetVersion: '1.0',
  type: 'forced',
  weight: 500,
  confirmationRequired: false,
  createdAt: 1_000,
};

const INPUTS: Record<string, ActionInput> = {
  plain: base,
  confirmationRequired: { ...base, confirmationRequired: true },
  scheduled: { ...base, scheduled: true },
  // Needed to take both branches of `action.start`.
  scheduledWithConfirmation: { ...base, scheduled: true, confirmationRequired: true },
  downloadonly: { ...base, type: 'downloadonly' },
};

/** Every event type with the payloads that take each of its guarded branches. */
const EVENTS: ActionEvent[] = [
  { type: 'action.start', at: 2_001 },
  { type: 'action.retrieved', at: 2_002, messages: ['fetched'] },
  { type: 'action.download', at: 2_003 },
  { type: 'action.downloaded', at: 2_004, code: 200 },
  { type: 'action.proceeding', at: 2_005 },
  { type: 'action.rejected', at: 2_006, messages: ['not now'] },
  { type: 'action.deviceCanceled', at: 2_007 },
  { type: 'action.canceled', at: 2_008 },
  { type: 'action.finished', result: 'success', at: 2_009 },
  { type: 'action.finished', result: 'failure', at: 2_010, code: 17 },
  { type: 'action.finished', result: 'success', warning: true, at: 2_011 },
  { type: 'action.finished', result: 'failure', warning: true, at: 2_021 },
  { type: 'action.confirmed', at: 2_012 },
  { type: 'action.denied', at: 2_013 },
  { type: 'cancel.requested', at: 2_014 },
  { type: 'cancel.confirmed', at: 2_015 },
  { type: 'cancel.rejected', at: 2_016 },
  { type: 'cancel.failed', at: 2_017 },
  { type: 'cancel.progress', reported: 'DOWNLOAD', at: 2_018 },
  { type: 'cancel.progress', reported: 'CANCELING', at: 2_019 },
  { type: 'action.forceQuit', at: 2_020 },
];
const EVENT_TYPES = [...new Set(EVENTS.map((e) => e.type))];

// The key a traversal vertex has: the state node and its status. History and timestamps grow
// without bound, so they stay out; the input fields are constant within one model.
const keyOf = (s: ActionSnapshot) => JSON.stringify([s.value, s.context.status]);

// Keying on (previous vertex, event, vertex) turns every edge into a vertex, so the shortest
// paths to all vertices take every transition, not just reach every state.
const serializeState = (s: ActionSnapshot, event?: ActionEvent, prev?: ActionSnapshot) =>
  JSON.stringify([keyOf(s), event ? JSON.stringify(event) : null, prev ? keyOf(prev) : null]);

// ---- the transitions the machine defines, read from its definition

interface DefinedTransition {
  key: string;
  def: AnyTransitionDefinition;
}
const allNodes: AnyStateNode[] = [actionMachine.root, ...getStateNodes(actionMachine.root)];
const defined: DefinedTransition[] = allNodes.flatMap((node) => [
  ...[...node.transitions.entries()].flatMap(([type, defs]) =>
    defs.map((def, i) => ({ key: `${node.id} --${type}[${i}]`, def })),
  ),
  ...(node.always ?? []).map((def, i) => ({ key: `${node.id} --(always)[${i}]`, def })),
]);
const keyOfDefinition = new Map(defined.map((d) => [d.def, d.key]));
const leafIds = allNodes.filter((n) => n.type === 'atomic' || n.type === 'final').map((n) => n.id);

/** (leaf state, event type) pairs the machine accepts: a leaf takes its own and its ancestors' events. */
function acceptedTypes(node: AnyStateNode): string[] {
  const types = new Set<string>();
  for (let n: AnyStateNode | undefined = node; n; n = n.parent)
    for (const t of n.transitions.keys()) types.add(t);
  return [...types];
}
const expectedPairs = new Set(
  allNodes
    .filter((n) => (n.type === 'atomic' || n.type === 'final') && n.always === undefined)
    .flatMap((n) => acceptedTypes(n).map((t) => `${n.id} --${t}`)),
);

const takenDefinitions = new Set<string>();
const takenPairs = new Set<string>();
const reachedStates = new Set<string>();
const reachedStatuses = new Set<ActionStatus>();
const recordedStatuses = new Set<ActionStatus>();
/** Statuses only ever written as a history entry, never the action's status (hawkBit's too). */
const ENTRY_ONLY: ReadonlySet<ActionStatus> = new Set(['CANCEL_REJECTED']);

/** The system under test goes through the public API and a JSON round-trip at every step. */
function throughJson(s: ActionSnapshot): ActionSnapshot {
  return restoreAction(JSON.parse(JSON.stringify(persistAction(s))));
}

function checkSnapshot(model: ActionSnapshot, sut: ActionSnapshot): void {
  const state = stateKeyOf(model);
  expect(stateKeyOf(sut)).toBe(state);
  expect(model.context.status).toBe(STATUS_OF_STATE[state]);
  expect(sut.context.status).toBe(model.context.status);
  expect(isActionActive(sut)).toBe(!INACTIVE.has(state));
  expect(sut.context.history.every((h) => ActionStatus.safeParse(h.status).success)).toBe(true);
  reachedStates.add(state);
  reachedStatuses.add(model.context.status);
  for (const h of sut.context.history) recordedStatuses.add(h.status);
}

/** Every event the state does not take is refused, with the right reason, and changes nothing. */
function checkRefusals(sut: ActionSnapshot): void {
  const node = actionMachine.getStateNodeById(`#action.${stateKeyOf(sut)}`);
  const accepted = new Set(acceptedTypes(node));
  const before = JSON.stringify(persistAction(sut));
  for (const event of EVENTS) {
    if (sut.status !== 'done' && accepted.has(event.type)) continue;
    const result = applyActionEvent(sut, event);
    expect(result).toMatchObject({
      ok: false,
      reason: sut.status === 'done' ? 'ACTION_CLOSED' : 'EVENT_NOT_ALLOWED',
      status: sut.context.status,
    });
  }
  expect(JSON.stringify(persistAction(sut))).toBe(before);
}

for (const [name, input] of Object.entries(INPUTS)) {
  const model = createTestModel(actionMachine, { input, events: EVENTS, serializeState });
  const paths = model.getShortestPaths();

  describe(`action machine, model-based (${name})`, () => {
    it('starts where its input says (the eventless transitions of `created`)', () => {
      const initial = createActionSnapshot(input);
      const expected = input.scheduled
        ? 'scheduled'
        : input.confirmationRequired
          ? 'waitingForConfirmation'
          : 'running.running';
      expect(stateKeyOf(initial)).toBe(expected);
      // The first eventless branch whose target holds the initial state is the one taken.
      const always = actionMachine.root.states.created?.always ?? [];
      const taken = always.findIndex(
        (d) => d.target?.[0]?.id === `action.${expected.split('.')[0]}`,
      );
      expect(taken).toBeGreaterThanOrEqual(0);
      takenDefinitions.add(`action.created --(always)[${taken}]`);
      expect(initial.context.history).toEqual([
        { status: STATUS_OF_STATE[expected], at: input.createdAt },
      ]);
    });

    for (const path of paths) {
      // xstate's own description prints the vertex's whole context; the event list reads better.
      const title = `${path.steps.map((s) => s.event.type).join(' → ')} ⇒ ${stateKeyOf(path.state)}`;
      it(title, async () => {
        let sut = createActionSnapshot(input);
        const events: Record<
          string,
          (step: { event: ActionEvent; state: ActionSnapshot }) => void
        > = {};
        for (const type of EVENT_TYPES) {
          events[type] = (step) => {
            const event = ActionEvent.parse(step.event);
            const from = throughJson(sut);
            const definitions = actionMachine.getTransitionData(from, event);
            const result = applyActionEvent(from, event);
            if (!result.ok)
              throw new Error(`refused ${event.type} in ${stateKeyOf(from)}: ${result.message}`);
            for (const d of definitions)
              takenDefinitions.add(keyOfDefinition.get(d) ?? `unknown ${d.eventType}`);
            takenPairs.add(`action.${stateKeyOf(from)} --${event.type}`);
            expect(result.snapshot.context.lastModifiedAt).toBe(event.at);
            expect(result.closed).toBe(result.snapshot.status === 'done');
            // One history entry per accepted report; a finish with a warning adds the WARNING
            // first, a rejected cancel its CANCEL_REJECTED before RUNNING.
            const added =
              (event.type === 'action.finished' && event.warning) ||
              event.type === 'cancel.rejected'
                ? 2
                : 1;
            expect(result.snapshot.context.history.length).toBe(
              from.context.history.length + added,
            );
            if (event.type === 'cancel.rejected') {
              // hawkBit: the rejected cancel is kept in the history, the action runs again.
              expect(result.snapshot.context.status).toBe('RUNNING');
              expect(stateKeyOf(result.snapshot)).toBe('running.running');
              expect(result.snapshot.context.history.slice(-2).map((h) => h.status)).toEqual([
                'CANCEL_REJECTED',
                'RUNNING',
              ]);
            }
            expect(result.snapshot.context.history.at(-1)?.at).toBe(event.at);
            sut = result.snapshot;
          };
        }
        await path.test({
          states: {
            '*': (state) => {
              checkSnapshot(state, sut);
              checkRefusals(sut);
            },
          },
          events,
        });
      });
    }
  });
}

describe('action machine, coverage of the generated paths', () => {
  it('takes every transition the machine defines, and only those', () => {
    expect([...takenDefinitions].sort()).toEqual(defined.map((d) => d.key).sort());
  });
  it('takes every (state, event type) pair the machine accepts', () => {
    expect([...takenPairs].sort()).toEqual([...expectedPairs].sort());
  });
  it('reaches every state node and records all 12 ActionStatus values', () => {
    expect([...reachedStates].sort()).toEqual(Object.keys(STATUS_OF_STATE).sort());
    expect(leafIds.filter((id) => id !== 'action.created').sort()).toEqual(
      Object.keys(STATUS_OF_STATE)
        .map((s) => `action.${s}`)
        .sort(),
    );
    expect([...reachedStatuses].sort()).toEqual(
      ActionStatus.options.filter((s) => !ENTRY_ONLY.has(s)).sort(),
    );
    expect([...recordedStatuses].sort()).toEqual([...ActionStatus.options].sort());
  });
});
