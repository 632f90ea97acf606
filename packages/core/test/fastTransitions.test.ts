import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newPersistedAction, stepPersistedAction } from '../src/fastTransitions.js';
import {
  type ActionEvent,
  type ActionInput,
  applyActionEvent,
  applyTargetEvent,
  createActionSnapshot,
  createTargetSnapshot,
  type PersistedSnapshot,
  persistAction,
  persistTarget,
  restoreAction,
  restoreTarget,
  type TargetEvent,
} from '../src/index.js';
import { stepPersistedTarget } from '../src/targets.js';
import { actionEventBody, actionInputFor, reportFields, targetEventBody } from './arbitraries.js';

const report = fc.tuple(
  actionEventBody,
  reportFields.map(([messages]) => messages),
  reportFields.map(([, code]) => code),
  // Whether the fast path gets the object it wrote or a JSON copy (a store that serialises).
  fc.boolean(),
);

const input = actionInputFor(7, 'dev-fast');

/** A forced, unconfirmed action of target `d` with the given id. */
const plainInput = (id: number): ActionInput => ({
  id,
  controllerId: 'd',
  distributionSetId: 1,
  distributionSetName: 'os',
  distributionSetVersion: '1',
  type: 'forced',
  weight: 1,
  confirmationRequired: false,
  createdAt: 1,
});

describe('the persisted fast path', () => {
  it('gives exactly the snapshot, status, history and refusal of the xstate path', () => {
    fc.assert(
      fc.property(input, fc.array(report, { maxLength: 30 }), (actionInput, reports) => {
        let fast: PersistedSnapshot = newPersistedAction(actionInput);
        let slow = createActionSnapshot(actionInput);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(persistAction(slow)));
        let at = 1_000;
        for (const [body, messages, code, copy] of reports) {
          at += 3;
          const event = { ...body, at } as ActionEvent;
          if (messages) event.messages = messages;
          if (code !== undefined) event.code = code;
          const x = applyActionEvent(slow, event);
          const f = stepPersistedAction(copy ? JSON.parse(JSON.stringify(fast)) : fast, event);
          if (!x.ok) {
            expect(f).toEqual(x);
            continue;
          }
          expect(f.ok).toBe(true);
          if (!f.ok) return;
          expect(f.changedStatus).toBe(x.changedStatus);
          expect(f.closed).toBe(x.closed);
          // Byte for byte: same keys, same order, same values.
          expect(JSON.stringify(f.state)).toBe(JSON.stringify(persistAction(x.snapshot)));
          expect(Object.keys(f.state.context)).toEqual(Object.keys(x.snapshot.context));
          fast = f.state;
          slow = x.snapshot;
        }
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a state value of another machine or a malformed context like restoreAction', () => {
    const good = newPersistedAction(plainInput(1));
    const event: ActionEvent = { type: 'action.retrieved', at: 2 };
    for (const bad of [
      { ...good, value: 'nowhere' },
      { ...good, value: { running: 'nowhere' } },
      { ...good, context: { ...good.context, history: 'x' } },
      { ...good, v: 2 },
    ]) {
      expect(() => stepPersistedAction(bad as PersistedSnapshot, event)).toThrow(
        expect.objectContaining({ code: 'INVALID_SNAPSHOT' }),
      );
      expect(() => restoreAction(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_SNAPSHOT' }),
      );
    }
  });

  it('writes snapshots that look, copy and serialise as plain persisted records', () => {
    const written = newPersistedAction(plainInput(2));
    const step = stepPersistedAction(written, { type: 'action.retrieved', at: 2 });
    if (!step.ok) throw new Error('retrieved was refused');
    for (const state of [written, step.state]) {
      expect(Object.keys(state)).toEqual(['v', 'value', 'context']);
      expect(JSON.parse(JSON.stringify(state))).toEqual({ ...state });
      expect(structuredClone(state)).toEqual({ ...state });
    }
  });
});

const targetEvent = targetEventBody;

describe('the persisted target step', () => {
  it('gives exactly the snapshot of the xstate path', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(targetEvent, fc.boolean()), { maxLength: 25 }), (events) => {
        let slow = createTargetSnapshot({ controllerId: 'dev-t', createdAt: 5 });
        let fast = persistTarget(slow);
        let at = 5;
        for (const [body, copy] of events) {
          at += 2;
          const event = { ...body, at } as TargetEvent;
          slow = applyTargetEvent(slow, event);
          // A JSON copy drops keys set to undefined, so xstate gets the very same input.
          const given: PersistedSnapshot = copy ? JSON.parse(JSON.stringify(fast)) : fast;
          const expected = persistTarget(applyTargetEvent(restoreTarget(given), event));
          fast = stepPersistedTarget(given, event);
          expect(fast.value).toBe(expected.value);
          expect(Object.keys(fast.context)).toEqual(Object.keys(expected.context));
          expect(JSON.stringify(fast)).toBe(JSON.stringify(expected));
          expect(JSON.parse(JSON.stringify(fast))).toEqual(
            JSON.parse(JSON.stringify(persistTarget(slow))),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
