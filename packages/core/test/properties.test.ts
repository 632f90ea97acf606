import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition } from 'xstate';
import {
  ActionEvent,
  type ActionInput,
  type ActionSnapshot,
  ActionStatus,
  actionMachine,
  applyActionEvent,
  applyTargetEvent,
  createActionSnapshot,
  createTargetSnapshot,
  deriveTargetStatus,
  MemoryUpdateStore,
  persistAction,
  persistTarget,
  restoreAction,
  restoreTarget,
  type TargetEvent,
  TargetUpdateStatus,
  targetStatusOf,
  UpdateService,
} from '../src/index.js';
import { actionEventBody, actionInputFor, reportFields, targetEventBody } from './arbitraries.js';

const withReport = fc.tuple(
  actionEventBody,
  reportFields.map(([messages]) => messages),
  reportFields.map(([, code]) => code),
);

function toEvent(
  [body, messages, code]: [object, string[] | undefined, number | undefined],
  at: number,
): ActionEvent {
  const event = { ...body, at } as ActionEvent;
  if (messages) event.messages = messages;
  if (code !== undefined) event.code = code;
  return ActionEvent.parse(event);
}

const actionInput = actionInputFor(1, 'dev-prop');

const roundTrip = (s: ActionSnapshot) =>
  restoreAction(JSON.parse(JSON.stringify(persistAction(s))));

describe('action machine properties', () => {
  it('never moves a final action, stays inside the enums, bounds its history and round-trips through JSON', () => {
    fc.assert(
      fc.property(actionInput, fc.array(withReport, { maxLength: 40 }), (input, reports) => {
        let snapshot = createActionSnapshot(input);
        let at = 2_000;
        for (const report of reports) {
          const event = toEvent(report, at++);
          const before = JSON.stringify(persistAction(snapshot));
          const wasDone = snapshot.status === 'done';
          const result = applyActionEvent(snapshot, event);
          if (wasDone) expect(result).toMatchObject({ ok: false, reason: 'ACTION_CLOSED' });
          // A refusal, whatever its reason, changes nothing, not even the snapshot it was given.
          expect(JSON.stringify(persistAction(snapshot))).toBe(before);
          if (result.ok) {
            // The restored snapshot behaves like the original on the same event.
            const again = applyActionEvent(roundTrip(snapshot), event);
            expect(again.ok && persistAction(again.snapshot)).toEqual(
              persistAction(result.snapshot),
            );
            snapshot = result.snapshot;
          } else {
            expect(ActionStatus.options).toContain(result.status);
          }
          expect(ActionStatus.options).toContain(snapshot.context.status);
          expect(snapshot.context.history.length).toBeLessThanOrEqual(input.maxHistory ?? 1000);
          for (const entry of snapshot.context.history)
            expect(ActionStatus.options).toContain(entry.status);
          const restored = roundTrip(snapshot);
          expect(restored.value).toEqual(snapshot.value);
          expect(restored.context).toEqual(snapshot.context);
          expect(restored.status).toBe(snapshot.status);
        }
      }),
      { numRuns: 300 },
    );
  });
});

const targetEvent = targetEventBody;

describe('target machine properties', () => {
  it('stays inside the enum and round-trips through JSON', () => {
    fc.assert(
      fc.property(fc.array(targetEvent, { maxLength: 30 }), (events) => {
        let snapshot = createTargetSnapshot({ controllerId: 'dev-t', createdAt: 1 });
        let at = 10;
        for (const body of events) {
          snapshot = applyTargetEvent(snapshot, { ...body, at: at++ } as TargetEvent);
          expect(TargetUpdateStatus.options).toContain(targetStatusOf(snapshot));
          const restored = restoreTarget(JSON.parse(JSON.stringify(persistTarget(snapshot))));
          expect(restored.value).toEqual(snapshot.value);
          expect(restored.context).toEqual(snapshot.context);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---- the service: every target's status agrees with its actions

const TARGETS = ['t-0', 't-1', 't-2'] as const;

type Command =
  | {
      kind: 'assign';
      target: number;
      set: number;
      confirmationRequired: boolean;
      scheduled: boolean;
      downloadOnly: boolean;
    }
  | { kind: 'report'; action: number; report: [object, string[] | undefined, number | undefined] }
  | { kind: 'cancel'; action: number }
  | { kind: 'forceQuit'; action: number }
  | { kind: 'contact'; target: number }
  | { kind: 'autoConfirm'; target: number; active: boolean };

const decisive = fc.constantFrom<object>(
  { type: 'action.start' },
  { type: 'action.confirmed' },
  { type: 'action.downloaded' },
  { type: 'action.finished', result: 'success' },
  { type: 'action.finished', result: 'failure' },
  { type: 'action.canceled' },
  { type: 'action.deviceCanceled' },
  { type: 'cancel.confirmed' },
  { type: 'cancel.rejected' },
  { type: 'cancel.failed' },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('assign' as const),
      target: fc.nat(2),
      set: fc.nat(2),
      confirmationRequired: fc.boolean(),
      scheduled: fc.boolean(),
      downloadOnly: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      action: fc.nat(3),
      report: withReport,
    }),
  },
  // The reports that close actions or keep several alive, often enough to meet each other.
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      action: fc.nat(3),
      report: fc.tuple(decisive, fc.constant(undefined), fc.constant(undefined)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), action: fc.nat(3) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('forceQuit' as const), action: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('contact' as const), target: fc.nat(2) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('autoConfirm' as const),
      target: fc.nat(2),
      active: fc.boolean(),
    }),
  },
);

async function run(commands: Command[]): Promise<void> {
  let now = 1_000;
  const store = new MemoryUpdateStore();
  const service = new UpdateService({
    store,
    clock: () => now++,
    maxHistory: 5,
  });
  const module = await service.createSoftwareModule({ type: 'os', name: 'os', version: '1' });
  const sets = [];
  for (const version of ['1', '2', '3']) {
    sets.push(await service.createDistributionSet({ name: 'os', version, modules: [module.id] }));
  }
  for (const controllerId of TARGETS) await service.createTarget({ controllerId });
  const actionIds: number[] = [];
  // Counting from the newest keeps most reports on actions that are still alive.
  const pick = (i: number) => actionIds[actionIds.length - 1 - (i % Math.max(1, actionIds.length))];

  for (const c of commands) {
    if (c.kind === 'assign') {
      const { actions } = await service.assign(sets[c.set]!.id, [
        {
          controllerId: TARGETS[c.target]!,
          confirmationRequired: c.confirmationRequired,
          scheduled: c.scheduled,
          type: c.downloadOnly ? 'downloadonly' : 'forced',
        },
      ]);
      actionIds.push(...actions.map((a) => a.id));
    } else if (c.kind === 'contact') {
      await service.contact(TARGETS[c.target]!);
    } else if (c.kind === 'autoConfirm') {
      await service.setAutoConfirm(TARGETS[c.target]!, { active: c.active });
    } else {
      const id = pick(c.action);
      if (id === undefined) continue;
      const before = await store.getAction(id);
      const result =
        c.kind === 'cancel'
          ? await service.cancel(id)
          : c.kind === 'forceQuit'
            ? await service.forceQuit(id)
            : await service.apply(id, toEvent(c.report, service.now()));
      if (!result.ok) expect(await store.getAction(id)).toBe(before);
    }
    for (const controllerId of TARGETS) {
      const target = (await service.getTarget(controllerId))!;
      const actions = await service.listActions(controllerId);
      expect(target.updateStatus, `${controllerId} after ${JSON.stringify(c)}`).toBe(
        deriveTargetStatus(actions, target.lastContactAt !== undefined),
      );
      for (const a of actions) expect(ActionStatus.options).toContain(a.status);
    }
  }
}

describe('UpdateService properties', () => {
  it("keeps every target's status equal to deriveTargetStatus(its actions)", async () => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 50 }), run), {
      numRuns: 1500,
    });
  });
});

describe('restoring bad snapshots', () => {
  const good = persistAction(
    createActionSnapshot({
      id: 1,
      controllerId: 'd',
      distributionSetId: 1,
      distributionSetName: 'os',
      distributionSetVersion: '1',
      type: 'forced',
      weight: 1,
      confirmationRequired: false,
      createdAt: 1,
    }),
  );
  it.each([
    ['not an object', 42],
    ['a wrong version', { ...good, v: 2 }],
    ['an unknown state', { ...good, value: 'exploded' }],
    ['a status outside the enum', { ...good, context: { ...good.context, status: 'DONE' } }],
    [
      'a bad history entry',
      { ...good, context: { ...good.context, history: [{ status: 'RUNNING', at: -1 }] } },
    ],
    ['a zero maxHistory', { ...good, context: { ...good.context, maxHistory: 0 } }],
  ])('refuses %s with INVALID_SNAPSHOT', (_name, bad) => {
    expect(() => restoreAction(bad)).toThrow(expect.objectContaining({ code: 'INVALID_SNAPSHOT' }));
  });
  it('refuses a bad target snapshot with INVALID_SNAPSHOT', () => {
    const target = persistTarget(createTargetSnapshot({ controllerId: 'd', createdAt: 1 }));
    expect(() => restoreTarget({ ...target, value: 'nowhere' })).toThrow(
      expect.objectContaining({ code: 'INVALID_SNAPSHOT' }),
    );
    expect(() => restoreTarget({ ...target, context: { createdAt: 1 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_SNAPSHOT' }),
    );
  });
});

describe('createActionSnapshot', () => {
  it("equals the machine's own initial snapshot for any input", () => {
    const input = fc.record(
      {
        id: fc.integer({ min: 1, max: 10 ** 6 }),
        controllerId: fc.string({ minLength: 1, maxLength: 8 }),
        distributionSetId: fc.integer({ min: 1, max: 100 }),
        distributionSetName: fc.string(),
        distributionSetVersion: fc.string(),
        type: fc.constantFrom('forced', 'soft', 'timeforced', 'downloadonly'),
        weight: fc.integer({ min: 0, max: 1000 }),
        confirmationRequired: fc.boolean(),
        createdAt: fc.integer({ min: 0, max: 2 ** 42 }),
        forcedTime: fc.integer({ min: 0, max: 2 ** 42 }),
        maintenanceWindow: fc.constant({
          schedule: '0 0 3 ? * *',
          duration: '01:00:00',
          timezone: '+00:00',
        }),
        scheduled: fc.boolean(),
        maxHistory: fc.integer({ min: 1, max: 2000 }),
      },
      {
        requiredKeys: [
          'id',
          'controllerId',
          'distributionSetId',
          'distributionSetName',
          'distributionSetVersion',
          'type',
          'weight',
          'confirmationRequired',
          'createdAt',
        ],
      },
    ) as fc.Arbitrary<ActionInput>;
    fc.assert(
      fc.property(input, withReport, (i, report) => {
        const fast = createActionSnapshot(i);
        const [reference] = initialTransition(actionMachine, i);
        expect(fast.value).toEqual(reference.value);
        expect(fast.context).toStrictEqual(reference.context);
        // Byte-identical when persisted, key order included.
        expect(JSON.stringify(persistAction(fast))).toBe(JSON.stringify(persistAction(reference)));
        expect(fast.status).toBe(reference.status);
        const event = toEvent(report, 5);
        const a = applyActionEvent(fast, event);
        const b = applyActionEvent(reference, event);
        expect(a.ok).toBe(b.ok);
        if (a.ok && b.ok) expect(persistAction(a.snapshot)).toEqual(persistAction(b.snapshot));
      }),
      { numRuns: 500 },
    );
  });
});
